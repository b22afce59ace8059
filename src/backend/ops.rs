//! Every op of the contract, each an argument struct naming its tensors, and `Op`, the
//! one list of them that `Backend::run` takes.
//!
//! A struct's doc is the op's definition; both backends, the profiler and the verifier
//! read the same fields, so adding an op is: its struct here, a variant of `Op`, and an
//! arm in each backend's `run`.

use super::{Activation, AdamConfig, BatchNormConfig, ChannelShape, Conv1dShape, DenseShape, LstmShape};
use super::{LstmTensors, PoolShape, TensorId};

/// t = value, every element.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fill {
    pub t: TensorId,
    pub value: f32,
}

/// dst += src, elementwise (same length). Sums the loss on the device, so that a step
/// needs no readback. dst and src may be the same tensor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AddAssign {
    pub dst: TensorId,
    pub src: TensorId,
}

/// dst = src (same length).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CopyTensor {
    pub src: TensorId,
    pub dst: TensorId,
}

/// y = conv(x) + b (see `Conv1dShape`); with `relu`, y = relu(conv(x) + b) as one op, so
/// that a backend can fuse them and never store the pre-activation (ReLU's backward needs
/// only y). A NaN passes through as in `ActivationForward`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Conv1dForward {
    pub s: Conv1dShape,
    pub x: TensorId,
    pub w: TensorId,
    pub b: TensorId,
    pub y: TensorId,
    pub relu: bool,
}

/// The backward of a layer y = f(x; w) + b of shape `S`: dw, db (and dx: None for the
/// first layer, which needs no gradient w.r.t. the data).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerBackward<S> {
    pub s: S,
    pub x: TensorId,
    pub w: TensorId,
    pub dy: TensorId,
    pub dx: Option<TensorId>,
    pub dw: TensorId,
    pub db: TensorId,
}

/// Conv1d's backward (see `Conv1dForward`).
pub type Conv1dBackward = LayerBackward<Conv1dShape>;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MaxPoolForward {
    pub s: PoolShape,
    pub x: TensorId,
    pub y: TensorId,
}

/// dx[argmax of window j] += dy[j]; zero elsewhere. The argmax is recomputed from x.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MaxPoolBackward {
    pub s: PoolShape,
    pub x: TensorId,
    pub dy: TensorId,
    pub dx: TensorId,
}

/// Training mode: normalizes with the batch statistics (biased variance), writes them to
/// `mean` and `inv_std` (1/sqrt(var+eps), per channel) for the backward pass, and updates
/// `running_mean`/`running_var` in place.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNormTrain {
    pub s: ChannelShape,
    pub cfg: BatchNormConfig,
    pub x: TensorId,
    pub gamma: TensorId,
    pub beta: TensorId,
    pub running_mean: TensorId,
    pub running_var: TensorId,
    pub y: TensorId,
    pub mean: TensorId,
    pub inv_std: TensorId,
}

/// Inference mode: normalizes with the running statistics.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNormEval {
    pub s: ChannelShape,
    pub cfg: BatchNormConfig,
    pub x: TensorId,
    pub gamma: TensorId,
    pub beta: TensorId,
    pub running_mean: TensorId,
    pub running_var: TensorId,
    pub y: TensorId,
}

/// `mean`/`inv_std` are what the forward pass normalized with. With `batch_stats` true
/// (training mode) the gradient flows through the batch statistics too:
/// dx = inv_std * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gamma;
/// with false (statistics are constants): dx = dy * gamma * inv_std.
/// dgamma = sum(dy * xhat), dbeta = sum(dy) either way.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNormBackward {
    pub s: ChannelShape,
    pub batch_stats: bool,
    pub x: TensorId,
    pub gamma: TensorId,
    pub mean: TensorId,
    pub inv_std: TensorId,
    pub dy: TensorId,
    pub dx: TensorId,
    pub dgamma: TensorId,
    pub dbeta: TensorId,
}

/// x (batch, time, input); w_ih (4H, input); w_hh (4H, H); b (4H). Writes `saved`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LstmForward {
    pub s: LstmShape,
    pub x: TensorId,
    pub w_ih: TensorId,
    pub w_hh: TensorId,
    pub b: TensorId,
    pub saved: LstmTensors,
}

/// `dh` is (batch, time, H): the upstream gradient of every h_t (zero where none flows,
/// e.g. all but the last step for a last-state layer). Backpropagation through time; `dx`
/// None for the first layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LstmBackward {
    pub s: LstmShape,
    pub x: TensorId,
    pub w_ih: TensorId,
    pub w_hh: TensorId,
    pub saved: LstmTensors,
    pub dh: TensorId,
    pub dx: Option<TensorId>,
    pub dw_ih: TensorId,
    pub dw_hh: TensorId,
    pub db: TensorId,
}

/// y (batch, H) = h (batch, time, H) at the last time step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LastStepForward {
    pub s: LstmShape,
    pub h: TensorId,
    pub y: TensorId,
}

/// dh (batch, time, H) = dy at the last step, 0 elsewhere.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LastStepBackward {
    pub s: LstmShape,
    pub dy: TensorId,
    pub dh: TensorId,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DenseForward {
    pub s: DenseShape,
    pub x: TensorId,
    pub w: TensorId,
    pub b: TensorId,
    pub y: TensorId,
}

/// Dense's backward (see `DenseForward`).
pub type DenseBackward = LayerBackward<DenseShape>;

/// y = f(x); x and y may be the same tensor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ActivationForward {
    pub f: Activation,
    pub x: TensorId,
    pub y: TensorId,
}

/// dx = dy * f'(.) computed from the forward output y; dy and dx may be the same tensor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ActivationBackward {
    pub f: Activation,
    pub y: TensorId,
    pub dy: TensorId,
    pub dx: TensorId,
}

/// Inverted dropout: y = x * keep / (1 - rate), where keep for element i is
/// `dropout_keep(key, i, rate)` (the same draw on every backend). x and y may be the
/// same tensor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DropoutForward {
    pub rate: f32,
    pub key: u32,
    pub x: TensorId,
    pub y: TensorId,
}

/// dx = dy * keep / (1 - rate), with the same mask as the forward pass.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DropoutBackward {
    pub rate: f32,
    pub key: u32,
    pub dy: TensorId,
    pub dx: TensorId,
}

/// (batch, channels, len) -> (batch, channels): the mean over len.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GlobalAvgPoolForward {
    pub s: ChannelShape,
    pub x: TensorId,
    pub y: TensorId,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GlobalAvgPoolBackward {
    pub s: ChannelShape,
    pub dy: TensorId,
    pub dx: TensorId,
}

/// Output head, loss and gradient together: logits (batch, 1), targets (batch) in {0, 1},
/// weights (batch) per-sample loss weights. probs = sigmoid(logits); loss (1 element) =
/// mean_n w_n * bce_n computed stably from the logits; dlogits = w_n * (probs - t) / batch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SigmoidBce {
    pub batch: usize,
    pub logits: TensorId,
    pub targets: TensorId,
    pub weights: TensorId,
    pub probs: TensorId,
    pub loss: TensorId,
    pub dlogits: TensorId,
}

/// Output head: logits (batch, classes), labels (batch) class indices stored as f32,
/// weights (batch). probs = softmax(logits) (max-subtracted); loss = mean_n w_n * -log
/// probs[n, label]; dlogits = w_n * (probs - onehot) / batch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SoftmaxCe {
    pub batch: usize,
    pub classes: usize,
    pub logits: TensorId,
    pub labels: TensorId,
    pub weights: TensorId,
    pub probs: TensorId,
    pub loss: TensorId,
    pub dlogits: TensorId,
}

/// probs = softmax(logits) over rows of `classes`: inference without labels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Softmax {
    pub batch: usize,
    pub classes: usize,
    pub logits: TensorId,
    pub probs: TensorId,
}

/// One Adam step on every element; `t` is the 1-based index of this step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamStep {
    pub cfg: AdamConfig,
    pub t: u32,
    pub param: TensorId,
    pub grad: TensorId,
    pub m: TensorId,
    pub v: TensorId,
}

macro_rules! op_list {
    ($($name:ident),* $(,)?) => {
        /// One call of the contract. Every forward has its backward beside it.
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub enum Op {
            $($name($name),)*
        }

        $(impl From<$name> for Op {
            fn from(op: $name) -> Op {
                Op::$name(op)
            }
        })*
    };
}

op_list!(
    Fill,
    AddAssign,
    CopyTensor,
    Conv1dForward,
    Conv1dBackward,
    MaxPoolForward,
    MaxPoolBackward,
    BatchNormTrain,
    BatchNormEval,
    BatchNormBackward,
    LstmForward,
    LstmBackward,
    LastStepForward,
    LastStepBackward,
    DenseForward,
    DenseBackward,
    ActivationForward,
    ActivationBackward,
    DropoutForward,
    DropoutBackward,
    GlobalAvgPoolForward,
    GlobalAvgPoolBackward,
    SigmoidBce,
    SoftmaxCe,
    Softmax,
    AdamStep,
);

/// A family of ops that share their kernels and their way of binding tensors, as a
/// backend reports it (`TensorLimits::split`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// Fill, copy, add-assign, activations, dropout.
    Elementwise,
    Conv1d,
    MaxPool,
    BatchNorm,
    /// The LSTM and its last-step selection.
    Lstm,
    Dense,
    GlobalAvgPool,
    /// The loss heads and softmax.
    Heads,
    Adam,
}
