//! Output heads (shaders/heads.wgsl): probabilities, mean loss and its gradient.

use super::pipelines::{
    Access::Read as R, Access::ReadWrite as RW, Access::ReadWriteF32 as RW32, Kernel, Shader,
};
use super::recorder::{groups_1d, u, Recorder};
use crate::backend::{SigmoidBce, Softmax, SoftmaxCe};

use super::kernel_params::Heads as Params;

/// The loss is f32 at every precision (shaders/heads.wgsl).
const LOSS_BINDINGS: &[super::pipelines::Access] = &[R, R, R, RW, RW32, RW];

static SIGMOID_BCE: Kernel = Kernel { shader: Shader::Heads, entry: "sigmoid_bce", bindings: LOSS_BINDINGS };
static SOFTMAX_CE: Kernel = Kernel { shader: Shader::Heads, entry: "softmax_ce", bindings: LOSS_BINDINGS };
static SOFTMAX_FORWARD: Kernel =
    Kernel { shader: Shader::Heads, entry: "softmax_forward", bindings: &[R, RW] };

/// The loss heads run as ONE workgroup so that the loss is one deterministic reduction.
pub fn sigmoid_bce(r: &mut Recorder, op: &SigmoidBce) {
    let SigmoidBce { batch, logits, targets, weights, probs, loss, dlogits } = *op;
    let p = Params { batch: u(batch), classes: 1 };
    let tensors = [logits, targets, weights, probs, loss, dlogits];
    r.dispatch(&SIGMOID_BCE, &p, &tensors, [1, 1, 1]);
}

pub fn softmax_ce(r: &mut Recorder, op: &SoftmaxCe) {
    let SoftmaxCe { batch, classes, logits, labels, weights, probs, loss, dlogits } = *op;
    let p = Params { batch: u(batch), classes: u(classes) };
    let tensors = [logits, labels, weights, probs, loss, dlogits];
    r.dispatch(&SOFTMAX_CE, &p, &tensors, [1, 1, 1]);
}

pub fn softmax(r: &mut Recorder, op: &Softmax) {
    let Softmax { batch, classes, logits, probs } = *op;
    let p = Params { batch: u(batch), classes: u(classes) };
    r.dispatch(&SOFTMAX_FORWARD, &p, &[logits, probs], groups_1d(batch, 64));
}
