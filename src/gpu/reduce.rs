//! Per-channel sums (shaders/reduce.wgsl): bias gradients of conv, dense and LSTM.

use super::pipelines::{Access::Read as R, Access::ReadWrite as RW, Kernel, Shader};
use super::recorder::{u, Recorder};
use crate::backend::{ChannelShape, TensorId};

/// Mirrors `Params` in shaders/reduce.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    batch: u32,
    channels: u32,
    len: u32,
}

static CHANNEL_SUM: Kernel = Kernel { shader: Shader::Reduce, entry: "channel_sum", bindings: &[R, RW] };

/// out[c] = sum over (n, t) of x[n, c, t]; one workgroup per channel.
pub fn channel_sum(r: &mut Recorder, s: &ChannelShape, x: TensorId, out: TensorId) {
    let p = Params { batch: u(s.batch), channels: u(s.channels), len: u(s.len) };
    r.dispatch(&CHANNEL_SUM, &p, &[x, out], [u(s.channels), 1, 1]);
}
