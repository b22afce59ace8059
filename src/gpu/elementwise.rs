//! fill, copy, add_assign, activations and dropout: shaders/elementwise.wgsl.

use super::pipelines::{Access::ReadWrite as RW, Kernel, Shader};
use super::recorder::{groups_1d, u, Bind, Recorder};
use crate::backend::{
    dropout_threshold, Activation, ActivationBackward, ActivationForward, AddAssign, CopyTensor, Fill,
    TensorId,
};

use super::kernel_params::Elementwise as Params;

const fn kernel(entry: &'static str, bindings: &'static [super::pipelines::Access]) -> Kernel {
    Kernel { shader: Shader::Elementwise, entry, bindings }
}

static FILL: Kernel = kernel("fill", &[RW]);
static COPY: Kernel = kernel("copy", &[RW, RW]);
static ADD_ASSIGN: Kernel = kernel("add_assign", &[RW, RW]);
static ACTIVATION_FORWARD: Kernel = kernel("activation_forward", &[RW, RW]);
static ACTIVATION_BACKWARD: Kernel = kernel("activation_backward", &[RW, RW, RW]);
static DROPOUT: Kernel = kernel("dropout", &[RW, RW]);

/// Elementwise over `params.n` elements, by chunks of elements when a tensor is too large
/// for one binding.
fn run(r: &mut Recorder, k: &'static Kernel, params: Params, tensors: &[TensorId]) {
    let binds: Vec<Bind> = tensors.iter().map(|t| Bind::Rows(*t, 1)).collect();
    r.dispatch_rows(k, params.n as usize, &binds, |chunk| {
        let p = Params { n: u(chunk.rows), first: u(chunk.first), off: chunk.offsets(), ..params };
        (p, groups_1d(chunk.rows, 64))
    });
}

fn sized(r: &Recorder, t: TensorId) -> Params {
    Params { n: u(r.len(t)), ..Default::default() }
}

fn same_len(r: &Recorder, a: TensorId, b: TensorId, op: &str) {
    assert_eq!(r.len(a), r.len(b), "{op}: tensors of different lengths");
}

pub fn fill(r: &mut Recorder, op: &Fill) {
    let Fill { t, value } = *op;
    let p = Params { value, ..sized(r, t) };
    run(r, &FILL, p, &[t]);
}

pub fn copy(r: &mut Recorder, op: &CopyTensor) {
    let CopyTensor { src, dst } = *op;
    same_len(r, src, dst, "copy");
    run(r, &COPY, sized(r, dst), &[src, dst]);
}

pub fn add_assign(r: &mut Recorder, op: &AddAssign) {
    let AddAssign { dst, src } = *op;
    same_len(r, src, dst, "add_assign");
    run(r, &ADD_ASSIGN, sized(r, dst), &[src, dst]);
}

fn kind(f: Activation) -> u32 {
    match f {
        Activation::Relu => 0,
        Activation::Sigmoid => 1,
        Activation::Tanh => 2,
    }
}

pub fn activation_forward(r: &mut Recorder, op: &ActivationForward) {
    let ActivationForward { f, x, y } = *op;
    same_len(r, x, y, "activation_forward");
    let p = Params { kind: kind(f), ..sized(r, y) };
    run(r, &ACTIVATION_FORWARD, p, &[x, y]);
}

pub fn activation_backward(r: &mut Recorder, op: &ActivationBackward) {
    let ActivationBackward { f, y, dy, dx } = *op;
    same_len(r, y, dx, "activation_backward");
    same_len(r, dy, dx, "activation_backward");
    let p = Params { kind: kind(f), ..sized(r, dx) };
    run(r, &ACTIVATION_BACKWARD, p, &[y, dy, dx]);
}

/// Forward (x -> y) and backward (dy -> dx) apply the same mask and scale.
pub fn dropout(r: &mut Recorder, rate: f32, key: u32, x: TensorId, y: TensorId) {
    same_len(r, x, y, "dropout");
    let p = Params { key, threshold: dropout_threshold(rate), rate, ..sized(r, y) };
    run(r, &DROPOUT, p, &[x, y]);
}
