//! One backend call as the bench sees it (`Counted`): which op, which pass, at which
//! shape, and the minimum work it implies. `Counted::cost` is the single place where
//! FLOPs and bytes are counted.
//!
//! Counting rules: FLOPs are the arithmetic a straightforward implementation cannot
//! avoid (a multiply-add is 2; a comparison, exp or sqrt is 1; multiplications by the
//! zero padding of a "same" convolution are not work). Bytes are every input tensor read
//! once plus every output tensor written once, each at its element size on the device;
//! tensors updated in place (running statistics, Adam moments) count as read and written.
//!
//! Element sizes follow `backend::Storage`: activations, gradients, inputs and the copy
//! of a parameter that kernels read are the backend's data elements (`data_bytes`: 4 in
//! f32, 2 with the GPU's f16 storage); Adam's moments, a parameter's f32 master,
//! batch-norm running and batch statistics and the loss are 4 bytes at every precision.

use serde::Serialize;

use crate::backend::{
    Activation, ActivationBackward, ActivationForward, BatchNormBackward, BatchNormEval, BatchNormTrain,
    ChannelShape, Conv1dBackward, Conv1dForward, Conv1dShape, DenseBackward, DenseForward, DenseShape,
    GlobalAvgPoolBackward, GlobalAvgPoolForward, LastStepBackward, LastStepForward, LstmBackward,
    LstmForward, LstmShape, MaxPoolBackward, MaxPoolForward, Op, PoolShape, SigmoidBce, Softmax, SoftmaxCe,
    TensorId,
};

const F32: usize = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Pass {
    Forward,
    Backward,
    /// The optimizer step.
    Update,
    /// Memory ops (copy, fill, accumulate) that belong to neither pass.
    Memory,
}

/// One backend call as the bench counts it: the op, and `n`, the elements of its data
/// tensor (`data_tensor`), which the work of an op without a shape (copy, activation,
/// Adam...) depends on. `dx` of a backward op says whether it also computes the input
/// gradient (not for a network's first layer).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Counted {
    pub op: Op,
    pub n: usize,
}

/// The tensor of `op` whose length is `Counted::n` and whose element size is that of the
/// op's data tensors (those not f32 at every precision by the op's contract).
pub fn data_tensor(op: &Op) -> TensorId {
    match *op {
        Op::Fill(o) => o.t,
        Op::AddAssign(o) => o.dst,
        Op::CopyTensor(o) => o.dst,
        Op::Conv1dForward(o) => o.x,
        Op::Conv1dBackward(o) => o.x,
        Op::MaxPoolForward(o) => o.x,
        Op::MaxPoolBackward(o) => o.x,
        Op::BatchNormTrain(o) => o.x,
        Op::BatchNormEval(o) => o.x,
        Op::BatchNormBackward(o) => o.x,
        Op::LstmForward(o) => o.x,
        Op::LstmBackward(o) => o.x,
        Op::LastStepForward(o) => o.h,
        Op::LastStepBackward(o) => o.dy,
        Op::DenseForward(o) => o.x,
        Op::DenseBackward(o) => o.x,
        Op::ActivationForward(o) => o.y,
        Op::ActivationBackward(o) => o.dx,
        Op::DropoutForward(o) => o.y,
        Op::DropoutBackward(o) => o.dx,
        Op::GlobalAvgPoolForward(o) => o.x,
        Op::GlobalAvgPoolBackward(o) => o.dx,
        Op::SigmoidBce(o) => o.logits,
        Op::SoftmaxCe(o) => o.logits,
        Op::Softmax(o) => o.logits,
        // the same length as the parameter
        Op::AdamStep(o) => o.grad,
    }
}

/// Minimum floating-point operations and memory traffic of one call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Cost {
    pub flops: f64,
    pub bytes: f64,
}

impl std::ops::Add for Cost {
    type Output = Cost;
    fn add(self, o: Cost) -> Cost {
        Cost { flops: self.flops + o.flops, bytes: self.bytes + o.bytes }
    }
}

/// `data` elements moved at `data_bytes` each, `f32s` at 4 bytes each.
fn cost(flops: usize, data: usize, data_bytes: usize, f32s: usize) -> Cost {
    Cost { flops: flops as f64, bytes: (data * data_bytes + f32s * F32) as f64 }
}

/// Multiply-adds of one conv1d over the whole batch, padding excluded: for each tap k,
/// only the output positions whose input position lies inside the series.
fn conv_macs(s: &Conv1dShape) -> usize {
    let valid_positions: usize = (0..s.kernel)
        .map(|k| {
            // t + k - pad_left in 0..len_in, t in 0..len_out
            let start = s.pad_left.saturating_sub(k);
            let end = (s.len_in + s.pad_left).saturating_sub(k).min(s.len_out);
            end.saturating_sub(start)
        })
        .sum();
    s.batch * s.c_out * s.c_in * valid_positions
}

/// FLOPs per element of a nonlinearity and of its derivative from the output.
fn activation_flops(f: Activation) -> (usize, usize) {
    match f {
        Activation::Relu => (1, 1),
        // 1 / (1 + exp(-x)): negate, exp, add, divide; derivative y (1 - y) dy
        Activation::Sigmoid => (4, 3),
        // tanh counted as one transcendental; derivative (1 - y^2) dy
        Activation::Tanh => (1, 3),
    }
}

impl Counted {
    pub fn pass(&self) -> Pass {
        match self.op {
            Op::Fill(_) | Op::AddAssign(_) | Op::CopyTensor(_) => Pass::Memory,
            Op::Conv1dForward(_)
            | Op::MaxPoolForward(_)
            | Op::BatchNormTrain(_)
            | Op::BatchNormEval(_)
            | Op::LstmForward(_)
            | Op::LastStepForward(_)
            | Op::DenseForward(_)
            | Op::ActivationForward(_)
            | Op::DropoutForward(_)
            | Op::GlobalAvgPoolForward(_)
            | Op::SigmoidBce(_)
            | Op::SoftmaxCe(_)
            | Op::Softmax(_) => Pass::Forward,
            Op::Conv1dBackward(_)
            | Op::MaxPoolBackward(_)
            | Op::BatchNormBackward(_)
            | Op::LstmBackward(_)
            | Op::LastStepBackward(_)
            | Op::DenseBackward(_)
            | Op::ActivationBackward(_)
            | Op::DropoutBackward(_)
            | Op::GlobalAvgPoolBackward(_) => Pass::Backward,
            Op::AdamStep(_) => Pass::Update,
        }
    }

    /// A short name with the shape, e.g. "conv1d 32x2x3197 k11 -> 8".
    pub fn label(&self) -> String {
        let conv = |s: &Conv1dShape| {
            format!("conv1d {}x{}x{} k{} -> {}", s.batch, s.c_in, s.len_in, s.kernel, s.c_out)
        };
        let chan = |s: &ChannelShape| format!("{}x{}x{}", s.batch, s.channels, s.len);
        let pool = |s: &PoolShape| {
            format!("max_pool {}x{}x{} p{} s{}", s.batch, s.channels, s.len_in, s.pool, s.stride)
        };
        let lstm = |s: &LstmShape| format!("{}x{}x{} -> {}", s.batch, s.time, s.input, s.hidden);
        let dense = |s: &DenseShape| format!("dense {}x{} -> {}", s.batch, s.input, s.output);
        let no_dx = |dx: Option<TensorId>| if dx.is_some() { "" } else { " (no dx)" };
        let n = self.n;
        match &self.op {
            Op::Fill(_) => format!("fill {n}"),
            Op::AddAssign(_) => format!("add_assign {n}"),
            Op::CopyTensor(_) => format!("copy {n}"),
            Op::Conv1dForward(o) => format!("{}{}", conv(&o.s), if o.relu { " + relu" } else { "" }),
            Op::Conv1dBackward(o) => format!("{}{}", conv(&o.s), no_dx(o.dx)),
            Op::MaxPoolForward(o) => pool(&o.s),
            Op::MaxPoolBackward(o) => pool(&o.s),
            Op::BatchNormTrain(o) => format!("batch_norm {}", chan(&o.s)),
            Op::BatchNormEval(o) => format!("batch_norm (eval) {}", chan(&o.s)),
            Op::BatchNormBackward(o) => {
                format!("batch_norm {}{}", chan(&o.s), if o.batch_stats { "" } else { " (fixed stats)" })
            }
            Op::LstmForward(o) => format!("lstm {}", lstm(&o.s)),
            Op::LstmBackward(o) => format!("lstm {}{}", lstm(&o.s), no_dx(o.dx)),
            Op::LastStepForward(o) => format!("last_step {}", lstm(&o.s)),
            Op::LastStepBackward(o) => format!("last_step {}", lstm(&o.s)),
            Op::DenseForward(o) => dense(&o.s),
            Op::DenseBackward(o) => format!("{}{}", dense(&o.s), no_dx(o.dx)),
            Op::ActivationForward(ActivationForward { f, .. })
            | Op::ActivationBackward(ActivationBackward { f, .. }) => {
                format!("{} {n}", format!("{f:?}").to_lowercase())
            }
            Op::DropoutForward(_) | Op::DropoutBackward(_) => format!("dropout {n}"),
            Op::GlobalAvgPoolForward(o) => format!("global_avg_pool {}", chan(&o.s)),
            Op::GlobalAvgPoolBackward(o) => format!("global_avg_pool {}", chan(&o.s)),
            Op::SigmoidBce(o) => format!("sigmoid_bce {}", o.batch),
            Op::SoftmaxCe(o) => format!("softmax_ce {}x{}", o.batch, o.classes),
            Op::Softmax(o) => format!("softmax {}x{}", o.batch, o.classes),
            // one call per parameter tensor: the bench sums them into one row
            Op::AdamStep(_) => "adam (all parameters)".to_string(),
        }
    }

    /// The minimum work of this call (see the module doc for the rules), with the
    /// backend's data tensors at `data_bytes` per element.
    pub fn cost(&self, data_bytes: usize) -> Cost {
        // every tensor of the op at the data element size; `f32s` of them at 4 bytes
        let c = |flops: usize, data: usize| cost(flops, data, data_bytes, 0);
        let mixed = |flops: usize, data: usize, f32s: usize| cost(flops, data, data_bytes, f32s);
        let n = self.n;
        match self.op {
            Op::Fill(_) => c(0, n),
            Op::AddAssign(_) => c(n, 3 * n),
            Op::CopyTensor(_) => c(0, 2 * n),
            Op::Conv1dForward(Conv1dForward { s, relu, .. }) => {
                let y = s.batch * s.c_out * s.len_out;
                let moved = s.batch * s.c_in * s.len_in + s.c_out * s.c_in * s.kernel + s.c_out + y;
                // with the ReLU: the conv's traffic (y written once, after the ReLU) and one
                // comparison per output
                let relu_flops = if relu { y } else { 0 };
                c(2 * conv_macs(&s) + y + relu_flops, moved)
            }
            Op::Conv1dBackward(Conv1dBackward { s, dx, .. }) => {
                let dx = dx.is_some();
                let (x, w, y) =
                    (s.batch * s.c_in * s.len_in, s.c_out * s.c_in * s.kernel, s.batch * s.c_out * s.len_out);
                // dW = dy x^T (one MAC per forward MAC), db = row sums of dy, dx = W^T dy
                let dx_macs = if dx { conv_macs(&s) } else { 0 };
                let moved = x + w + y + w + s.c_out + if dx { x } else { 0 };
                c(2 * conv_macs(&s) + y + 2 * dx_macs, moved)
            }
            Op::MaxPoolForward(MaxPoolForward { s, .. }) => {
                let (x, y) = (s.batch * s.channels * s.len_in, s.batch * s.channels * s.len_out);
                c(y * (s.pool - 1), x + y)
            }
            Op::MaxPoolBackward(MaxPoolBackward { s, .. }) => {
                // the argmax is recomputed from x; dx is written whole (zeros included)
                let (x, y) = (s.batch * s.channels * s.len_in, s.batch * s.channels * s.len_out);
                c(y * (s.pool - 1), x + y + x)
            }
            Op::BatchNormTrain(BatchNormTrain { s, .. }) => {
                let n = s.batch * s.channels * s.len;
                // sum and sum of squares (3), normalize and scale-shift (4); per channel:
                // read gamma, beta; f32: running mean/var (read and written), write mean, inv_std
                mixed(7 * n, n + n + s.channels * 2, s.channels * 6)
            }
            Op::BatchNormEval(BatchNormEval { s, .. }) => {
                let n = s.batch * s.channels * s.len;
                // per channel: gamma, beta; f32: running mean/var
                mixed(2 * n, n + n + s.channels * 2, s.channels * 2)
            }
            Op::BatchNormBackward(BatchNormBackward { s, batch_stats, .. }) => {
                let n = s.batch * s.channels * s.len;
                // xhat (2), dbeta and dgamma sums (3); dx: with batch statistics
                // g - mean(g) - xhat mean(g xhat), times inv_std (5), else dy gamma inv_std (2)
                let dx_flops = if batch_stats { 5 } else { 2 };
                // per channel: read gamma, write dgamma, dbeta; f32: read mean, inv_std
                mixed((5 + dx_flops) * n, n + n + n + s.channels * 3, s.channels * 2)
            }
            Op::LstmForward(LstmForward { s, .. }) => {
                let (h, steps) = (s.hidden, s.batch * s.time);
                // gates = W_ih x + W_hh h + b (8H(I+H) + 4H), 4H nonlinearities, and
                // c = f c + i g, h = o tanh(c) (5H), per sample and step
                let flops = steps * (8 * h * (s.input + h) + 13 * h);
                let weights = 4 * h * (s.input + h) + 4 * h;
                c(flops, steps * s.input + weights + steps * 6 * h)
            }
            Op::LstmBackward(LstmBackward { s, dx, .. }) => {
                let dx = dx.is_some();
                let (h, steps) = (s.hidden, s.batch * s.time);
                // gate and cell gradients (16H), dW_ih += dg x^T (8HI), dW_hh += dg h^T and
                // dh_prev = W_hh^T dg (16H^2), db (4H), dx = W_ih^T dg (8HI)
                let dx_flops = if dx { 8 * h * s.input } else { 0 };
                let flops = steps * (16 * h + 8 * h * s.input + 16 * h * h + 4 * h + dx_flops);
                let weights = 4 * h * (s.input + h) + 4 * h;
                // read x, W_ih, W_hh, h, c, gates, dh; write dW_ih, dW_hh, db, dx
                let moved = steps * s.input
                    + (weights - 4 * h)
                    + steps * 7 * h
                    + weights
                    + if dx { steps * s.input } else { 0 };
                c(flops, moved)
            }
            Op::LastStepForward(LastStepForward { s, .. }) => c(0, 2 * s.batch * s.hidden),
            Op::LastStepBackward(LastStepBackward { s, .. }) => {
                c(0, s.batch * s.hidden + s.batch * s.time * s.hidden)
            }
            Op::DenseForward(DenseForward { s, .. }) => {
                let y = s.batch * s.output;
                c(2 * s.batch * s.input * s.output + y, s.batch * s.input + s.output * s.input + s.output + y)
            }
            Op::DenseBackward(DenseBackward { s, dx, .. }) => {
                let dx = dx.is_some();
                let (x, w, y) = (s.batch * s.input, s.output * s.input, s.batch * s.output);
                let macs = s.batch * s.input * s.output;
                let dx_flops = if dx { 2 * macs } else { 0 };
                c(2 * macs + y + dx_flops, x + w + y + w + s.output + if dx { x } else { 0 })
            }
            Op::ActivationForward(ActivationForward { f, .. }) => c(activation_flops(f).0 * n, 2 * n),
            Op::ActivationBackward(ActivationBackward { f, .. }) => c(activation_flops(f).1 * n, 3 * n),
            Op::DropoutForward(_) | Op::DropoutBackward(_) => c(n, 2 * n),
            Op::GlobalAvgPoolForward(GlobalAvgPoolForward { s, .. }) => {
                let (x, y) = (s.batch * s.channels * s.len, s.batch * s.channels);
                c(x, x + y)
            }
            Op::GlobalAvgPoolBackward(GlobalAvgPoolBackward { s, .. }) => {
                let (x, y) = (s.batch * s.channels * s.len, s.batch * s.channels);
                c(y, x + y)
            }
            // per sample: stable BCE from the logit (~8), sigmoid (4), gradient (3);
            // logits, targets, weights, probs, dlogits, and the f32 loss
            Op::SigmoidBce(SigmoidBce { batch, .. }) => mixed(15 * batch, 5 * batch, 1),
            Op::SoftmaxCe(SoftmaxCe { batch, classes, .. }) => {
                // max, subtract, exp, sum, divide per logit (5K), log and weighting (4),
                // gradient (2K + 1)
                let k = classes;
                mixed(batch * (7 * k + 5), batch * k + 2 * batch + 2 * batch * k, 1)
            }
            Op::Softmax(Softmax { batch, classes, .. }) => c(5 * batch * classes, 2 * batch * classes),
            // m (3), v (4), bias corrections (2), sqrt, + eps, divide, * lr, subtract (5).
            // f32: m and v, and the parameter (its master below f32), read and written;
            // data: the gradient, and the kernels' rounded copy of the parameter if it
            // has one (written)
            Op::AdamStep(_) => {
                let rounded_copy = if data_bytes < F32 { n } else { 0 };
                mixed(14 * n, n + rounded_copy, 6 * n)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{AdamConfig, AdamStep, BatchNormConfig, CopyTensor, LstmTensors};

    const T: TensorId = TensorId(0);

    fn counted(op: impl Into<Op>) -> Counted {
        Counted { op: op.into(), n: 0 }
    }

    #[test]
    fn pool_and_batch_norm_counts() {
        // x (2, 3, 10), pool 2 stride 4: len_out 3; 18 outputs, one comparison each
        let s = PoolShape { batch: 2, channels: 3, len_in: 10, pool: 2, stride: 4, len_out: 3 };
        let forward = counted(MaxPoolForward { s, x: T, y: T });
        assert_eq!(forward.cost(4), Cost { flops: 18.0, bytes: (60.0 + 18.0) * 4.0 });
        let backward = counted(MaxPoolBackward { s, x: T, dy: T, dx: T });
        assert_eq!(backward.cost(4), Cost { flops: 18.0, bytes: (60.0 + 18.0 + 60.0) * 4.0 });
        let s = ChannelShape { batch: 2, channels: 3, len: 10 };
        let cfg = BatchNormConfig::KERAS;
        let (x, gamma, beta, running_mean, running_var, y, mean, inv_std) = (T, T, T, T, T, T, T, T);
        let train = BatchNormTrain { s, cfg, x, gamma, beta, running_mean, running_var, y, mean, inv_std };
        assert_eq!(counted(train).cost(4), Cost { flops: 420.0, bytes: (120.0 + 24.0) * 4.0 });
        let (dy, dx, dgamma, dbeta) = (T, T, T, T);
        let back = BatchNormBackward { s, batch_stats: true, x, gamma, mean, inv_std, dy, dx, dgamma, dbeta };
        assert_eq!(counted(back).cost(4), Cost { flops: 600.0, bytes: (180.0 + 15.0) * 4.0 });
    }

    #[test]
    fn lstm_forward_counts_the_two_matrix_products() {
        // per (sample, step): 8 H (I + H) + 13 H = 8*4*(3+4) + 52 = 276; 2 x 5 of them
        let s = LstmShape { batch: 2, time: 5, input: 3, hidden: 4 };
        let saved = LstmTensors { h: T, c: T, gates: T };
        let c = counted(LstmForward { s, x: T, w_ih: T, w_hh: T, b: T, saved }).cost(4);
        assert_eq!(c.flops, 2760.0);
        // x 30, W_ih 48, W_hh 64, b 16, h and c 40 each, gates 160
        assert_eq!(c.bytes, (30.0 + 48.0 + 64.0 + 16.0 + 240.0) * 4.0);
    }

    #[test]
    fn every_op_has_one_pass_and_a_label_with_its_shape() {
        let s = DenseShape { batch: 8, input: 5, output: 3 };
        assert_eq!(counted(DenseForward { s, x: T, w: T, b: T, y: T }).label(), "dense 8x5 -> 3");
        let backward = counted(DenseBackward { s, x: T, w: T, dy: T, dx: None, dw: T, db: T });
        assert_eq!(backward.label(), "dense 8x5 -> 3 (no dx)");
        let cfg = AdamConfig::default();
        let adam = Counted { op: AdamStep { cfg, t: 1, param: T, grad: T, m: T, v: T }.into(), n: 10 };
        assert_eq!(adam.pass(), Pass::Update);
        assert_eq!(adam.cost(4), Cost { flops: 140.0, bytes: 280.0 });
        assert_eq!(counted(CopyTensor { src: T, dst: T }).pass(), Pass::Memory);
        let relu = ActivationBackward { f: Activation::Relu, y: T, dy: T, dx: T };
        let relu = Counted { op: relu.into(), n: 7 };
        assert_eq!((relu.pass(), relu.label()), (Pass::Backward, "relu 7".to_string()));
    }
}
