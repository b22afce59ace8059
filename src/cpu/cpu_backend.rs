//! `CpuBackend`: the reference backend, the `Backend` trait over host vectors, each op a
//! call of the generic reference function with T = f32. The fast CPU backend
//! (`fastcpu::FastCpuBackend`) keeps its tensors in one of these and runs the ops it has
//! no faster version of through it.
//!
//! An op's outputs are taken out of the store (`std::mem::take`) while it runs, so
//! the inputs can be borrowed beside them; an output that illegally aliases an input
//! or another output shows up as an empty tensor and fails the op's length check.
//! Where the trait allows aliasing (activation, dropout), `map_into` runs the op from
//! the taken input into a reused scratch vector.

use super::{activation, adam, batchnorm, conv1d, dense, dropout, heads, lstm, pool};
use crate::backend::{
    Activation, ActivationBackward, ActivationForward, AdamStep, AddAssign, Backend, Conv1dBackward,
    Conv1dForward, CopyTensor, DenseBackward, DenseForward, DropoutBackward, DropoutForward, Fill,
    GlobalAvgPoolBackward, GlobalAvgPoolForward, LastStepBackward, LastStepForward, LstmForward,
    MaxPoolBackward, MaxPoolForward, Op, Softmax, TensorId,
};
use std::ops::Index;

/// Every tensor the backend owns, indexed by `TensorId`.
#[derive(Default)]
pub struct Tensors(Vec<Vec<f32>>);

impl Index<TensorId> for Tensors {
    type Output = [f32];
    fn index(&self, t: TensorId) -> &[f32] {
        &self.0[t.0]
    }
}

#[derive(Default)]
pub struct CpuBackend {
    tensors: Tensors,
    /// Reused as the output buffer of in-place ops.
    scratch: Vec<f32>,
}

impl CpuBackend {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `op` with `outs` (and `extra`, when given) writable and every other tensor
    /// readable through `Tensors`.
    pub(crate) fn with_outputs<const K: usize>(
        &mut self,
        outs: [TensorId; K],
        extra: Option<TensorId>,
        op: impl FnOnce(&Tensors, [&mut [f32]; K], Option<&mut [f32]>),
    ) {
        let mut taken = outs.map(|t| std::mem::take(&mut self.tensors.0[t.0]));
        let mut extra_taken = extra.map(|t| std::mem::take(&mut self.tensors.0[t.0]));
        op(&self.tensors, taken.each_mut().map(|v| v.as_mut_slice()), extra_taken.as_deref_mut());
        for (t, v) in outs.into_iter().zip(taken) {
            self.tensors.0[t.0] = v;
        }
        if let (Some(t), Some(v)) = (extra, extra_taken) {
            self.tensors.0[t.0] = v;
        }
    }

    /// dst = op(src) for an op that may run in place (src == dst).
    pub(crate) fn map_into(
        &mut self,
        src: TensorId,
        dst: TensorId,
        op: impl FnOnce(&Tensors, &[f32], &mut [f32]),
    ) {
        if src == dst {
            let input = std::mem::take(&mut self.tensors.0[src.0]);
            let mut out = std::mem::take(&mut self.scratch);
            out.resize(input.len(), 0.0);
            op(&self.tensors, &input, &mut out);
            self.tensors.0[dst.0] = out;
            self.scratch = input;
        } else {
            self.with_outputs([dst], None, |r, [d], _| op(r, &r[src], d));
        }
    }
}

impl Backend for CpuBackend {
    fn name(&self) -> String {
        "cpu reference".into()
    }

    fn alloc(&mut self, len: usize) -> TensorId {
        self.tensors.0.push(vec![0.0; len]);
        TensorId(self.tensors.0.len() - 1)
    }

    fn len(&self, t: TensorId) -> usize {
        self.tensors[t].len()
    }

    fn upload(&mut self, t: TensorId, data: &[f32]) {
        let dst = &mut self.tensors.0[t.0];
        assert_eq!(dst.len(), data.len(), "upload: length mismatch for {t:?}");
        dst.copy_from_slice(data);
    }

    fn download(&mut self, t: TensorId) -> Vec<f32> {
        self.tensors[t].to_vec()
    }

    fn flush(&mut self) {}

    fn run(&mut self, op: &Op) {
        match *op {
            Op::Fill(Fill { t, value }) => self.tensors.0[t.0].fill(value),
            Op::AddAssign(AddAssign { dst, src }) if src == dst => {
                self.tensors.0[dst.0].iter_mut().for_each(|v| *v += *v)
            }
            Op::AddAssign(AddAssign { dst, src }) => self.with_outputs([dst], None, |r, [d], _| {
                assert_eq!(d.len(), r[src].len(), "add_assign: length mismatch");
                d.iter_mut().zip(&r[src]).for_each(|(d, &s)| *d += s);
            }),
            Op::CopyTensor(CopyTensor { src, dst }) if src == dst => {}
            Op::CopyTensor(CopyTensor { src, dst }) => self.with_outputs([dst], None, |r, [d], _| {
                assert_eq!(d.len(), r[src].len(), "copy: length mismatch");
                d.copy_from_slice(&r[src]);
            }),
            Op::Conv1dForward(Conv1dForward { s, x, w, b, y, relu }) => {
                self.with_outputs([y], None, |r, [y], _| conv1d::forward(&s, &r[x], &r[w], &r[b], y));
                if relu {
                    self.map_into(y, y, |_, x, y| activation::forward(Activation::Relu, x, y));
                }
            }
            Op::Conv1dBackward(Conv1dBackward { s, x, w, dy, dx, dw, db }) => {
                self.with_outputs([dw, db], dx, |r, [dw, db], dx| {
                    conv1d::backward(&s, &r[x], &r[w], &r[dy], dx, dw, db)
                })
            }
            Op::MaxPoolForward(MaxPoolForward { s, x, y }) => {
                self.with_outputs([y], None, |r, [y], _| pool::maxpool_forward(&s, &r[x], y))
            }
            Op::MaxPoolBackward(MaxPoolBackward { s, x, dy, dx }) => {
                self.with_outputs([dx], None, |r, [dx], _| pool::maxpool_backward(&s, &r[x], &r[dy], dx))
            }
            Op::BatchNormTrain(o) => {
                let p = batchnorm::Params::from_config(&o.cfg);
                let outs = [o.running_mean, o.running_var, o.y, o.mean, o.inv_std];
                self.with_outputs(outs, None, |r, [rm, rv, y, mean, inv_std], _| {
                    let affine = [&r[o.gamma], &r[o.beta]];
                    batchnorm::forward_train(&o.s, &p, &r[o.x], affine, [rm, rv], y, [mean, inv_std])
                })
            }
            Op::BatchNormEval(o) => self.with_outputs([o.y], None, |r, [y], _| {
                let (affine, running) = ([&r[o.gamma], &r[o.beta]], [&r[o.running_mean], &r[o.running_var]]);
                batchnorm::forward_eval(&o.s, o.cfg.eps, &r[o.x], affine, running, y)
            }),
            Op::BatchNormBackward(o) => self.with_outputs([o.dx, o.dgamma, o.dbeta], None, |r, grads, _| {
                let stats = [&r[o.mean], &r[o.inv_std]];
                batchnorm::backward(&o.s, o.batch_stats, &r[o.x], &r[o.gamma], stats, &r[o.dy], grads)
            }),
            Op::LstmForward(LstmForward { s, x, w_ih, w_hh, b, saved }) => {
                self.with_outputs([saved.h, saved.c, saved.gates], None, |r, saved, _| {
                    lstm::forward(&s, &r[x], [&r[w_ih], &r[w_hh], &r[b]], saved)
                })
            }
            Op::LstmBackward(o) => self.with_outputs([o.dw_ih, o.dw_hh, o.db], o.dx, |r, grads, dx| {
                let saved = [&r[o.saved.h], &r[o.saved.c], &r[o.saved.gates]];
                lstm::backward(&o.s, &r[o.x], [&r[o.w_ih], &r[o.w_hh]], saved, &r[o.dh], dx, grads)
            }),
            Op::LastStepForward(LastStepForward { s, h, y }) => {
                self.with_outputs([y], None, |r, [y], _| lstm::last_step_forward(&s, &r[h], y))
            }
            Op::LastStepBackward(LastStepBackward { s, dy, dh }) => {
                self.with_outputs([dh], None, |r, [dh], _| lstm::last_step_backward(&s, &r[dy], dh))
            }
            Op::DenseForward(DenseForward { s, x, w, b, y }) => {
                self.with_outputs([y], None, |r, [y], _| dense::forward(&s, &r[x], &r[w], &r[b], y))
            }
            Op::DenseBackward(DenseBackward { s, x, w, dy, dx, dw, db }) => {
                self.with_outputs([dw, db], dx, |r, [dw, db], dx| {
                    dense::backward(&s, &r[x], &r[w], &r[dy], dx, dw, db)
                })
            }
            Op::ActivationForward(ActivationForward { f, x, y }) => {
                self.map_into(x, y, |_, x, y| activation::forward(f, x, y))
            }
            Op::ActivationBackward(ActivationBackward { f, y, dy, dx }) => {
                self.map_into(dy, dx, |r, dy, dx| activation::backward(f, &r[y], dy, dx))
            }
            Op::DropoutForward(DropoutForward { rate, key, x, y }) => {
                self.map_into(x, y, |_, x, y| dropout::apply(rate, key, x, y))
            }
            Op::DropoutBackward(DropoutBackward { rate, key, dy, dx }) => {
                self.map_into(dy, dx, |_, dy, dx| dropout::apply(rate, key, dy, dx))
            }
            Op::GlobalAvgPoolForward(GlobalAvgPoolForward { s, x, y }) => {
                self.with_outputs([y], None, |r, [y], _| pool::global_avg_pool_forward(&s, &r[x], y))
            }
            Op::GlobalAvgPoolBackward(GlobalAvgPoolBackward { s, dy, dx }) => {
                self.with_outputs([dx], None, |r, [dx], _| pool::global_avg_pool_backward(&s, &r[dy], dx))
            }
            Op::SigmoidBce(o) => {
                self.with_outputs([o.probs, o.loss, o.dlogits], None, |r, [probs, l, dz], _| {
                    assert_eq!(l.len(), 1, "sigmoid_bce: loss must have 1 element");
                    l[0] = heads::sigmoid_bce(o.batch, &r[o.logits], &r[o.targets], &r[o.weights], probs, dz);
                })
            }
            Op::SoftmaxCe(o) => {
                self.with_outputs([o.probs, o.loss, o.dlogits], None, |r, [probs, l, dz], _| {
                    assert_eq!(l.len(), 1, "softmax_ce: loss must have 1 element");
                    let (logits, labels, weights) = (&r[o.logits], &r[o.labels], &r[o.weights]);
                    l[0] = heads::softmax_ce(o.batch, o.classes, logits, labels, weights, probs, dz);
                })
            }
            Op::Softmax(Softmax { batch, classes, logits, probs }) => {
                self.with_outputs([probs], None, |r, [probs], _| {
                    heads::softmax(batch, classes, &r[logits], probs)
                })
            }
            Op::AdamStep(AdamStep { cfg, t, param, grad, m, v }) => {
                let p = adam::Params::from_config(&cfg);
                self.with_outputs([param, m, v], None, |r, [param, m, v], _| {
                    adam::step(&p, t, param, &r[grad], m, v)
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::PoolShape;

    #[test]
    fn in_place_activation_and_dropout_match_out_of_place() {
        let mut be = CpuBackend::new();
        let data: Vec<f32> = (0..50).map(|i| (i as f32 * 0.37).sin()).collect();
        let (a, b) = (be.alloc(50), be.alloc(50));
        be.upload(a, &data);
        let tanh = |x, y| ActivationForward { f: Activation::Tanh, x, y }.into();
        let dropout = |x| DropoutForward { rate: 0.3, key: 7, x, y: x }.into();
        be.run(&tanh(a, b));
        be.run(&dropout(b));
        be.run(&tanh(a, a));
        be.run(&dropout(a));
        assert_eq!(be.download(a), be.download(b));
        be.add_assign(a, a);
        let doubled: Vec<f32> = be.download(b).iter().map(|v| v * 2.0).collect();
        assert_eq!(be.download(a), doubled);
    }

    #[test]
    #[should_panic(expected = "expected")]
    fn aliased_output_is_caught() {
        let mut be = CpuBackend::new();
        let s = PoolShape { batch: 1, channels: 1, len_in: 4, pool: 2, stride: 2, len_out: 2 };
        let x = be.alloc(4);
        be.run(&MaxPoolBackward { s, x, dy: x, dx: x }.into());
    }
}
