//! `CpuBackend`: the `Backend` trait over host vectors, each op a call of the generic
//! reference function with T = f32.
//!
//! An op's outputs are taken out of the store (`std::mem::take`) while it runs, so
//! the inputs can be borrowed beside them; an output that illegally aliases an input
//! or another output shows up as an empty tensor and fails the op's length check.
//! Where the trait allows aliasing (activation, dropout), `map_into` runs the op from
//! the taken input into a reused scratch vector.

use super::{activation, adam, batchnorm, conv1d, dense, dropout, global_avg_pool, loss, lstm, maxpool};
use crate::backend::{
    Activation, AdamConfig, Backend, BatchNormConfig, ChannelShape, Conv1dShape, DenseShape, LstmShape,
    LstmTensors, PoolShape, TensorId,
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
    fn with_outputs<const K: usize>(
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
    fn map_into(&mut self, src: TensorId, dst: TensorId, op: impl FnOnce(&Tensors, &[f32], &mut [f32])) {
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
        format!("cpu ({} threads)", rayon::current_num_threads())
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

    fn fill(&mut self, t: TensorId, value: f32) {
        self.tensors.0[t.0].fill(value);
    }

    fn add_assign(&mut self, dst: TensorId, src: TensorId) {
        if src == dst {
            self.tensors.0[dst.0].iter_mut().for_each(|v| *v += *v);
        } else {
            self.with_outputs([dst], None, |r, [d], _| {
                assert_eq!(d.len(), r[src].len(), "add_assign: length mismatch");
                d.iter_mut().zip(&r[src]).for_each(|(d, &s)| *d += s);
            });
        }
    }

    fn copy(&mut self, src: TensorId, dst: TensorId) {
        if src != dst {
            self.with_outputs([dst], None, |r, [d], _| {
                assert_eq!(d.len(), r[src].len(), "copy: length mismatch");
                d.copy_from_slice(&r[src]);
            });
        }
    }

    fn flush(&mut self) {}

    fn conv1d_forward(&mut self, s: &Conv1dShape, x: TensorId, w: TensorId, b: TensorId, y: TensorId) {
        self.with_outputs([y], None, |r, [y], _| conv1d::forward(s, &r[x], &r[w], &r[b], y));
    }

    fn conv1d_backward(
        &mut self,
        s: &Conv1dShape,
        x: TensorId,
        w: TensorId,
        dy: TensorId,
        dx: Option<TensorId>,
        dw: TensorId,
        db: TensorId,
    ) {
        self.with_outputs([dw, db], dx, |r, [dw, db], dx| {
            conv1d::backward(s, &r[x], &r[w], &r[dy], dx, dw, db)
        });
    }

    fn maxpool_forward(&mut self, s: &PoolShape, x: TensorId, y: TensorId) {
        self.with_outputs([y], None, |r, [y], _| maxpool::forward(s, &r[x], y));
    }

    fn maxpool_backward(&mut self, s: &PoolShape, x: TensorId, dy: TensorId, dx: TensorId) {
        self.with_outputs([dx], None, |r, [dx], _| maxpool::backward(s, &r[x], &r[dy], dx));
    }

    fn batchnorm_forward_train(
        &mut self,
        s: &ChannelShape,
        cfg: &BatchNormConfig,
        x: TensorId,
        gamma: TensorId,
        beta: TensorId,
        running_mean: TensorId,
        running_var: TensorId,
        y: TensorId,
        mean: TensorId,
        inv_std: TensorId,
    ) {
        let p = batchnorm::Params::from_config(cfg);
        self.with_outputs(
            [running_mean, running_var, y, mean, inv_std],
            None,
            |r, [rm, rv, y, mean, inv_std], _| {
                batchnorm::forward_train(s, &p, &r[x], &r[gamma], &r[beta], rm, rv, y, mean, inv_std)
            },
        );
    }

    fn batchnorm_forward_eval(
        &mut self,
        s: &ChannelShape,
        cfg: &BatchNormConfig,
        x: TensorId,
        gamma: TensorId,
        beta: TensorId,
        running_mean: TensorId,
        running_var: TensorId,
        y: TensorId,
    ) {
        self.with_outputs([y], None, |r, [y], _| {
            batchnorm::forward_eval(
                s,
                cfg.eps,
                &r[x],
                &r[gamma],
                &r[beta],
                &r[running_mean],
                &r[running_var],
                y,
            )
        });
    }

    fn batchnorm_backward(
        &mut self,
        s: &ChannelShape,
        batch_stats: bool,
        x: TensorId,
        gamma: TensorId,
        mean: TensorId,
        inv_std: TensorId,
        dy: TensorId,
        dx: TensorId,
        dgamma: TensorId,
        dbeta: TensorId,
    ) {
        self.with_outputs([dx, dgamma, dbeta], None, |r, [dx, dgamma, dbeta], _| {
            batchnorm::backward(
                s,
                batch_stats,
                &r[x],
                &r[gamma],
                &r[mean],
                &r[inv_std],
                &r[dy],
                dx,
                dgamma,
                dbeta,
            )
        });
    }

    fn lstm_forward(
        &mut self,
        s: &LstmShape,
        x: TensorId,
        w_ih: TensorId,
        w_hh: TensorId,
        b: TensorId,
        saved: &LstmTensors,
    ) {
        self.with_outputs([saved.h, saved.c, saved.gates], None, |r, [h, c, gates], _| {
            lstm::forward(s, &r[x], &r[w_ih], &r[w_hh], &r[b], h, c, gates)
        });
    }

    fn lstm_backward(
        &mut self,
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
        self.with_outputs([dw_ih, dw_hh, db], dx, |r, [dw_ih, dw_hh, db], dx| {
            lstm::backward(
                s,
                &r[x],
                &r[w_ih],
                &r[w_hh],
                &r[saved.h],
                &r[saved.c],
                &r[saved.gates],
                &r[dh],
                dx,
                dw_ih,
                dw_hh,
                db,
            )
        });
    }

    fn last_step_forward(&mut self, s: &LstmShape, h: TensorId, y: TensorId) {
        self.with_outputs([y], None, |r, [y], _| lstm::last_step_forward(s, &r[h], y));
    }

    fn last_step_backward(&mut self, s: &LstmShape, dy: TensorId, dh: TensorId) {
        self.with_outputs([dh], None, |r, [dh], _| lstm::last_step_backward(s, &r[dy], dh));
    }

    fn dense_forward(&mut self, s: &DenseShape, x: TensorId, w: TensorId, b: TensorId, y: TensorId) {
        self.with_outputs([y], None, |r, [y], _| dense::forward(s, &r[x], &r[w], &r[b], y));
    }

    fn dense_backward(
        &mut self,
        s: &DenseShape,
        x: TensorId,
        w: TensorId,
        dy: TensorId,
        dx: Option<TensorId>,
        dw: TensorId,
        db: TensorId,
    ) {
        self.with_outputs([dw, db], dx, |r, [dw, db], dx| {
            dense::backward(s, &r[x], &r[w], &r[dy], dx, dw, db)
        });
    }

    fn activation_forward(&mut self, f: Activation, x: TensorId, y: TensorId) {
        self.map_into(x, y, |_, x, y| activation::forward(f, x, y));
    }

    fn activation_backward(&mut self, f: Activation, y: TensorId, dy: TensorId, dx: TensorId) {
        self.map_into(dy, dx, |r, dy, dx| activation::backward(f, &r[y], dy, dx));
    }

    fn dropout_forward(&mut self, rate: f32, key: u32, x: TensorId, y: TensorId) {
        self.map_into(x, y, |_, x, y| dropout::apply(rate, key, x, y));
    }

    fn dropout_backward(&mut self, rate: f32, key: u32, dy: TensorId, dx: TensorId) {
        self.map_into(dy, dx, |_, dy, dx| dropout::apply(rate, key, dy, dx));
    }

    fn global_avg_pool_forward(&mut self, s: &ChannelShape, x: TensorId, y: TensorId) {
        self.with_outputs([y], None, |r, [y], _| global_avg_pool::forward(s, &r[x], y));
    }

    fn global_avg_pool_backward(&mut self, s: &ChannelShape, dy: TensorId, dx: TensorId) {
        self.with_outputs([dx], None, |r, [dx], _| global_avg_pool::backward(s, &r[dy], dx));
    }

    fn sigmoid_bce(
        &mut self,
        batch: usize,
        logits: TensorId,
        targets: TensorId,
        weights: TensorId,
        probs: TensorId,
        loss: TensorId,
        dlogits: TensorId,
    ) {
        self.with_outputs([probs, loss, dlogits], None, |r, [probs, loss, dlogits], _| {
            assert_eq!(loss.len(), 1, "sigmoid_bce: loss must have 1 element");
            loss[0] = loss::sigmoid_bce(batch, &r[logits], &r[targets], &r[weights], probs, dlogits);
        });
    }

    fn softmax_ce(
        &mut self,
        batch: usize,
        classes: usize,
        logits: TensorId,
        labels: TensorId,
        weights: TensorId,
        probs: TensorId,
        loss: TensorId,
        dlogits: TensorId,
    ) {
        self.with_outputs([probs, loss, dlogits], None, |r, [probs, loss, dlogits], _| {
            assert_eq!(loss.len(), 1, "softmax_ce: loss must have 1 element");
            loss[0] = loss::softmax_ce(batch, classes, &r[logits], &r[labels], &r[weights], probs, dlogits);
        });
    }

    fn softmax_forward(&mut self, batch: usize, classes: usize, logits: TensorId, probs: TensorId) {
        self.with_outputs([probs], None, |r, [probs], _| {
            loss::softmax_forward(batch, classes, &r[logits], probs)
        });
    }

    fn adam_step(
        &mut self,
        cfg: &AdamConfig,
        t: u32,
        param: TensorId,
        grad: TensorId,
        m: TensorId,
        v: TensorId,
    ) {
        let p = adam::Params::from_config(cfg);
        self.with_outputs([param, m, v], None, |r, [param, m, v], _| {
            adam::step(&p, t, param, &r[grad], m, v)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_place_activation_and_dropout_match_out_of_place() {
        let mut be = CpuBackend::new();
        let data: Vec<f32> = (0..50).map(|i| (i as f32 * 0.37).sin()).collect();
        let (a, b) = (be.alloc(50), be.alloc(50));
        be.upload(a, &data);
        be.activation_forward(Activation::Tanh, a, b);
        be.dropout_forward(0.3, 7, b, b);
        be.activation_forward(Activation::Tanh, a, a);
        be.dropout_forward(0.3, 7, a, a);
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
        be.maxpool_backward(&s, x, x, x);
    }
}
