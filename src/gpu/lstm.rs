//! LSTM layer: the input projection as one GEMM, the recurrence as one persistent
//! dispatch per direction with W_hh on chip (shaders/lstm.wgsl), the weight gradients as
//! deterministic GEMMs over dgates.

use super::dense::{column_sums, gemm, weight_gradient, weight_gradient_scratch, Operand};
use super::pipelines::{Access::Read as R, Access::ReadWrite as RW, Kernel, Shader};
use super::recorder::{groups_1d, u, Bind, Recorder};
use crate::backend::{
    LastStepBackward, LastStepForward, LstmBackward, LstmForward, LstmShape, Scratch, TensorId,
};

/// The (batch row, unit) pairs of one workgroup of the sequence kernels, one per
/// invocation (SLOTS in shaders/lstm.wgsl): the largest hidden size.
pub const MAX_HIDDEN: usize = 256;

/// Workgroups the sequence kernels spread the batch over before a workgroup takes more
/// than one row: about one per multiprocessor of the largest GPUs (an H100 has 132), so
/// small batches fill as many as they can and large ones share each on-chip copy of W_hh.
const GROUPS_WANTED: usize = 128;

use super::kernel_params::Lstm as Params;

/// Batch rows per workgroup of the sequence kernels.
fn rows_per_group(s: &LstmShape) -> usize {
    s.batch.div_ceil(GROUPS_WANTED).clamp(1, MAX_HIDDEN / s.hidden.max(1))
}

/// Runs `kernel` over the batch rows of `s`, by chunks of rows when a tensor is too large
/// for one binding, `rows` a workgroup; `groups` gives the workgroups for a chunk of that
/// many rows.
fn per_batch_row(
    r: &mut Recorder,
    kernel: &'static Kernel,
    s: &LstmShape,
    rows: usize,
    binds: &[Bind],
    groups: impl Fn(usize) -> [u32; 3],
) {
    r.dispatch_rows(kernel, s.batch, binds, |chunk| {
        let p = Params {
            batch: u(chunk.rows),
            time: u(s.time),
            input: u(s.input),
            hidden: u(s.hidden),
            rows: u(rows),
            off: chunk.offsets(),
        };
        (p, groups(chunk.rows))
    });
}

/// Runs a sequence kernel over `s`'s batch rows, `rows_per_group` rows a workgroup.
fn per_row_group(r: &mut Recorder, kernel: &'static Kernel, s: &LstmShape, binds: &[Bind]) {
    let rows = rows_per_group(s);
    per_batch_row(r, kernel, s, rows, binds, |chunk_rows| [u(chunk_rows.div_ceil(rows)), 1, 1]);
}

/// W_hh packed by `kernel` (pack_forward or pack_backward) into the scratch tensor.
fn packed_w_hh(r: &mut Recorder, kernel: &'static Kernel, s: &LstmShape, w_hh: TensorId) -> TensorId {
    let [packed, ..] = own_scratch(s);
    let packed = r.scratch(packed.purpose, packed.len);
    let p = Params { batch: 0, time: 0, input: 0, hidden: u(s.hidden), rows: 0, off: [0; 5] };
    r.dispatch(kernel, &p, &[w_hh, packed], groups_1d(packed_len(s), 64));
    packed
}

fn packed_len(s: &LstmShape) -> usize {
    4 * s.hidden * s.hidden
}

const fn kernel(entry: &'static str, bindings: &'static [super::pipelines::Access]) -> Kernel {
    Kernel { shader: Shader::Lstm, entry, bindings }
}

static FORWARD_SEQUENCE: Kernel = kernel("lstm_forward_sequence", &[R, RW, RW, RW]);
static BACKWARD_SEQUENCE: Kernel = kernel("lstm_backward_sequence", &[R, R, R, R, RW]);
static LAST_STEP_FORWARD: Kernel = kernel("last_step_forward", &[R, RW]);
static LAST_STEP_BACKWARD: Kernel = kernel("last_step_backward", &[R, RW]);
static PREVIOUS_H: Kernel = kernel("previous_h", &[R, RW]);
static PACK_FORWARD: Kernel = kernel("pack_forward", &[R, RW]);
static PACK_BACKWARD: Kernel = kernel("pack_backward", &[R, RW]);

fn check_hidden(s: &LstmShape) {
    assert!(
        s.hidden <= MAX_HIDDEN,
        "the GPU LSTM supports at most {MAX_HIDDEN} hidden units per layer, got {}; \
         use a smaller layer or --device cpu",
        s.hidden
    );
}

/// gates = x W_ih^T + b for all steps (GEMM), then the recurrence turns them into the
/// gate activations and writes h and c.
pub fn forward(r: &mut Recorder, op: &LstmForward) {
    let LstmForward { ref s, x, w_ih, w_hh, b, ref saved } = *op;
    check_hidden(s);
    let rows = s.batch * s.time;
    let xm = Operand::plain(x, rows, s.input);
    let wt = Operand::t(w_ih, 4 * s.hidden, s.input);
    gemm(r, xm, wt, Some(b), saved.gates);
    let packed = packed_w_hh(r, &PACK_FORWARD, s, w_hh);
    let (seq, gates) = (s.time * s.hidden, 4 * s.time * s.hidden);
    let binds = [
        Bind::Whole(packed),
        Bind::Rows(saved.gates, gates),
        Bind::Rows(saved.h, seq),
        Bind::Rows(saved.c, seq),
    ];
    per_row_group(r, &FORWARD_SEQUENCE, s, &binds);
}

/// W_hh packed for a sequence kernel; the gate gradients of every step; and h shifted
/// one step (h_{t-1}, 0 at t = 0).
fn own_scratch(s: &LstmShape) -> [Scratch; 3] {
    let rows = s.batch * s.time;
    [
        Scratch { purpose: "lstm W_hh packed", len: packed_len(s) },
        Scratch { purpose: "lstm dgates", len: rows * 4 * s.hidden },
        Scratch { purpose: "lstm h_prev", len: rows * s.hidden },
    ]
}

/// The scratch tensors `forward` and `backward` use: their own, and the weight
/// gradients' partial products.
pub fn scratch(s: &LstmShape) -> Vec<Scratch> {
    let rows = s.batch * s.time;
    let partials = [s.input, s.hidden].map(|n| weight_gradient_scratch(4 * s.hidden, n, rows));
    own_scratch(s).into_iter().chain(partials.into_iter().flatten()).collect()
}

/// dgates by backpropagation through time, then dx = dgates W_ih,
/// dW_ih = dgates^T x, dW_hh = dgates^T h_{t-1}, db = column sums of dgates.
pub fn backward(r: &mut Recorder, op: &LstmBackward) {
    let LstmBackward { ref s, x, w_ih, w_hh, ref saved, dh, dx, dw_ih, dw_hh, db } = *op;
    check_hidden(s);
    let rows = s.batch * s.time;
    let g4 = 4 * s.hidden;
    let (seq, gates) = (s.time * s.hidden, s.time * g4);
    let packed = packed_w_hh(r, &PACK_BACKWARD, s, w_hh);
    let [_, dgates, h_prev] = own_scratch(s).map(|t| r.scratch(t.purpose, t.len));
    let binds = [
        Bind::Whole(packed),
        Bind::Rows(saved.gates, gates),
        Bind::Rows(saved.c, seq),
        Bind::Rows(dh, seq),
        Bind::Rows(dgates, gates),
    ];
    per_row_group(r, &BACKWARD_SEQUENCE, s, &binds);
    if let Some(dx) = dx {
        gemm(r, Operand::plain(dgates, rows, g4), Operand::plain(w_ih, g4, s.input), None, dx);
    }
    let dgates_t = Operand::t(dgates, rows, g4);
    weight_gradient(r, dgates_t, Operand::plain(x, rows, s.input), dw_ih);
    let binds = [Bind::Rows(saved.h, seq), Bind::Rows(h_prev, seq)];
    per_batch_row(r, &PREVIOUS_H, s, 1, &binds, |rows| groups_1d(rows * seq, 64));
    weight_gradient(r, dgates_t, Operand::plain(h_prev, rows, s.hidden), dw_hh);
    column_sums(r, dgates, rows, g4, db);
}

pub fn last_step_forward(r: &mut Recorder, op: &LastStepForward) {
    let LastStepForward { ref s, h, y } = *op;
    let binds = [Bind::Rows(h, s.time * s.hidden), Bind::Rows(y, s.hidden)];
    per_batch_row(r, &LAST_STEP_FORWARD, s, 1, &binds, |rows| groups_1d(rows * s.hidden, 64));
}

pub fn last_step_backward(r: &mut Recorder, op: &LastStepBackward) {
    let LastStepBackward { ref s, dy, dh } = *op;
    let seq = s.time * s.hidden;
    let binds = [Bind::Rows(dy, s.hidden), Bind::Rows(dh, seq)];
    per_batch_row(r, &LAST_STEP_BACKWARD, s, 1, &binds, |rows| groups_1d(rows * seq, 64));
}
