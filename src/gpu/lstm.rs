//! LSTM layer: the input projection as one GEMM, the recurrence as one dispatch per
//! direction (shaders/lstm.wgsl), the weight gradients as GEMMs over dgates.

use super::dense::{column_sums, gemm, Operand};
use super::pipelines::{Access::Read as R, Access::ReadWrite as RW, Kernel, Shader};
use super::recorder::{groups_1d, u, Recorder};
use crate::backend::{LstmShape, LstmTensors, TensorId};

/// The size of the recurrent kernels' workgroup arrays (MAX_HIDDEN in shaders/lstm.wgsl).
pub const MAX_HIDDEN: usize = 256;

/// Mirrors `Params` in shaders/lstm.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    batch: u32,
    time: u32,
    input: u32,
    hidden: u32,
}

impl From<&LstmShape> for Params {
    fn from(s: &LstmShape) -> Self {
        Params { batch: u(s.batch), time: u(s.time), input: u(s.input), hidden: u(s.hidden) }
    }
}

const fn kernel(entry: &'static str, bindings: &'static [super::pipelines::Access]) -> Kernel {
    Kernel { shader: Shader::Lstm, entry, bindings }
}

static FORWARD_SEQUENCE: Kernel = kernel("lstm_forward_sequence", &[R, RW, RW, RW]);
static BACKWARD_SEQUENCE: Kernel = kernel("lstm_backward_sequence", &[R, R, R, R, RW]);
static LAST_STEP_FORWARD: Kernel = kernel("last_step_forward", &[R, RW]);
static LAST_STEP_BACKWARD: Kernel = kernel("last_step_backward", &[R, RW]);
static PREVIOUS_H: Kernel = kernel("previous_h", &[R, RW]);

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
pub fn forward(
    r: &mut Recorder,
    s: &LstmShape,
    x: TensorId,
    w_ih: TensorId,
    w_hh: TensorId,
    b: TensorId,
    saved: &LstmTensors,
) {
    check_hidden(s);
    let rows = s.batch * s.time;
    let xm = Operand::plain(x, rows, s.input);
    let wt = Operand::t(w_ih, 4 * s.hidden, s.input);
    gemm(r, xm, wt, Some(b), saved.gates);
    let tensors = [w_hh, saved.gates, saved.h, saved.c];
    r.dispatch(&FORWARD_SEQUENCE, &Params::from(s), &tensors, [u(s.batch), 1, 1]);
}

/// dgates by backpropagation through time, then dx = dgates W_ih,
/// dW_ih = dgates^T x, dW_hh = dgates^T h_{t-1}, db = column sums of dgates.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    r: &mut Recorder,
    s: &LstmShape,
    x: TensorId,
    w_ih: TensorId,
    w_hh: TensorId,
    saved: &LstmTensors,
    dh: TensorId,
    dx: Option<TensorId>,
    dw_ih: TensorId,
    dw_hh: TensorId,
    db: TensorId,
) {
    check_hidden(s);
    let rows = s.batch * s.time;
    let g4 = 4 * s.hidden;
    let p = Params::from(s);
    let dgates = r.scratch("lstm dgates", rows * g4);
    let tensors = [w_hh, saved.gates, saved.c, dh, dgates];
    r.dispatch(&BACKWARD_SEQUENCE, &p, &tensors, [u(s.batch), 1, 1]);
    if let Some(dx) = dx {
        gemm(r, Operand::plain(dgates, rows, g4), Operand::plain(w_ih, g4, s.input), None, dx);
    }
    let dgates_t = Operand::t(dgates, rows, g4);
    gemm(r, dgates_t, Operand::plain(x, rows, s.input), None, dw_ih);
    let h_prev = r.scratch("lstm h_prev", rows * s.hidden);
    r.dispatch(&PREVIOUS_H, &p, &[saved.h, h_prev], groups_1d(rows * s.hidden, 64));
    gemm(r, dgates_t, Operand::plain(h_prev, rows, s.hidden), None, dw_hh);
    column_sums(r, dgates, rows, g4, db);
}

pub fn last_step_forward(r: &mut Recorder, s: &LstmShape, h: TensorId, y: TensorId) {
    let n = s.batch * s.hidden;
    r.dispatch(&LAST_STEP_FORWARD, &Params::from(s), &[h, y], groups_1d(n, 64));
}

pub fn last_step_backward(r: &mut Recorder, s: &LstmShape, dy: TensorId, dh: TensorId) {
    let n = s.batch * s.time * s.hidden;
    r.dispatch(&LAST_STEP_BACKWARD, &Params::from(s), &[dy, dh], groups_1d(n, 64));
}
