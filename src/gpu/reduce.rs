//! Deterministic sums (shaders/reduce.wgsl): bias gradients of conv, dense and LSTM, and
//! the sum of per-sample conv weight gradients.

use super::pipelines::{Access::Read as R, Access::ReadWrite as RW, Kernel, Shader};
use super::recorder::{groups_1d, u, Bind, Recorder};
use crate::backend::{ChannelShape, TensorId};

use super::kernel_params::Reduce as Params;

static CHANNEL_SUM: Kernel = Kernel { shader: Shader::Reduce, entry: "channel_sum", bindings: &[R, RW] };

static COLUMN_SUM: Kernel = Kernel { shader: Shader::Reduce, entry: "column_sum", bindings: &[R, RW] };

/// out[c] = sum over (n, t) of x[n, c, t]; one workgroup per channel. An x too large for
/// one binding is summed by chunks of samples, each chunk's total added to out in order.
pub fn channel_sum(r: &mut Recorder, s: &ChannelShape, x: TensorId, out: TensorId) {
    let binds = [Bind::Rows(x, s.channels * s.len), Bind::Whole(out)];
    r.dispatch_rows(&CHANNEL_SUM, s.batch, &binds, |chunk| {
        let p = Params {
            batch: u(chunk.rows),
            channels: u(s.channels),
            len: u(s.len),
            accumulate: u32::from(chunk.first > 0),
            off: chunk.offsets(),
        };
        (p, [u(s.channels), 1, 1])
    });
}

/// out[j] = sum over r of x[r, j] for a (rows, cols) matrix of partial results (a
/// scratch tensor, within one binding), rows in order: one invocation per column for a
/// few hundred rows, else one workgroup per column (as many as one dispatch holds) adding
/// them as a tree, so that no invocation sums thousands of rows one by one.
pub fn row_sum(r: &mut Recorder, rows: usize, cols: usize, x: TensorId, out: TensorId) {
    if rows > 256 && cols <= 65535 {
        return channel_sum(r, &ChannelShape { batch: rows, channels: cols, len: 1 }, x, out);
    }
    let p = Params { batch: u(rows), channels: u(cols), len: 1, accumulate: 0, off: [0] };
    r.dispatch(&COLUMN_SUM, &p, &[x, out], groups_1d(cols, 64));
}
