//! `Profiled`: a backend that runs every op on an inner backend and records, per call,
//! the op (with its shape), its cost at the element sizes of its tensors on the inner
//! backend, and the device time it took. Running a real `Network` step through it gives
//! each op at exactly the shapes and precisions the model uses.

use std::collections::HashSet;

use crate::backend::{
    Activation, AdamConfig, AllocError, Backend, BatchNormConfig, ChannelShape, Conv1dShape, DenseShape,
    LstmShape, LstmTensors, PoolShape, Scratch, Storage, TensorId, TensorLimits,
};
use crate::bench::device::BenchDevice;
use crate::bench::op::{Cost, Op};

/// One timed backend call.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Call {
    pub op: Op,
    pub cost: Cost,
    pub seconds: f64,
}

pub struct Profiled<'a> {
    inner: &'a mut dyn BenchDevice,
    /// Every timed call in order.
    pub calls: Vec<Call>,
    /// Bytes per element of the inner backend's `Storage::Data` tensors (and of the copy
    /// of a parameter that kernels read).
    data_bytes: usize,
    /// The tensors allocated through this wrapper as `Storage::F32`: 4 bytes at every
    /// precision. Any other tensor is data.
    f32_tensors: HashSet<TensorId>,
}

impl<'a> Profiled<'a> {
    pub fn new(inner: &'a mut dyn BenchDevice) -> Self {
        let data_bytes = inner.tensor_limits().map_or(4, |l| l.elem as usize);
        Profiled { inner, calls: Vec::new(), data_bytes, f32_tensors: HashSet::new() }
    }

    /// Bytes per element of `t` on the inner backend.
    fn elem_bytes(&self, t: TensorId) -> usize {
        if self.f32_tensors.contains(&t) {
            4
        } else {
            self.data_bytes
        }
    }

    /// Times `run` as `op`, whose data tensors (those not f32 at every precision by the
    /// op's contract, see `op`) are like `data`.
    fn timed(&mut self, op: Op, data: TensorId, mut run: impl FnMut(&mut dyn Backend)) {
        let cost = op.cost(self.elem_bytes(data));
        let seconds = self.inner.time_ops(&mut run);
        self.calls.push(Call { op, cost, seconds });
    }

    fn note(&mut self, t: TensorId, storage: Storage) -> TensorId {
        if storage == Storage::F32 {
            self.f32_tensors.insert(t);
        }
        t
    }
}

impl Backend for Profiled<'_> {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn alloc(&mut self, len: usize) -> TensorId {
        self.inner.alloc(len)
    }

    fn alloc_as(&mut self, len: usize, storage: Storage) -> TensorId {
        let t = self.inner.alloc_as(len, storage);
        self.note(t, storage)
    }

    // the inner backend's limits and memory checks, so that a network built through this
    // wrapper is refused or sized exactly as on the backend itself
    fn try_alloc_as(&mut self, len: usize, storage: Storage) -> Result<TensorId, AllocError> {
        let t = self.inner.try_alloc_as(len, storage)?;
        Ok(self.note(t, storage))
    }

    fn tensor_bytes(&self, len: usize, storage: Storage) -> u64 {
        self.inner.tensor_bytes(len, storage)
    }

    fn tensor_limits(&self) -> Option<TensorLimits> {
        self.inner.tensor_limits()
    }

    fn conv1d_scratch(&self, s: &Conv1dShape) -> Vec<Scratch> {
        self.inner.conv1d_scratch(s)
    }

    fn lstm_scratch(&self, s: &LstmShape) -> Vec<Scratch> {
        self.inner.lstm_scratch(s)
    }

    fn try_reserve_scratch(&mut self, s: Scratch) -> Result<u64, AllocError> {
        self.inner.try_reserve_scratch(s)
    }

    fn len(&self, t: TensorId) -> usize {
        self.inner.len(t)
    }

    fn upload(&mut self, t: TensorId, data: &[f32]) {
        self.inner.upload(t, data);
    }

    fn download(&mut self, t: TensorId) -> Vec<f32> {
        self.inner.download(t)
    }

    fn try_download(&mut self, t: TensorId) -> anyhow::Result<Vec<f32>> {
        self.inner.try_download(t)
    }

    fn fill(&mut self, t: TensorId, value: f32) {
        let n = self.len(t);
        self.timed(Op::Fill { n }, t, |b| b.fill(t, value));
    }

    fn add_assign(&mut self, dst: TensorId, src: TensorId) {
        let n = self.len(dst);
        self.timed(Op::AddAssign { n }, dst, |b| b.add_assign(dst, src));
    }

    fn copy(&mut self, src: TensorId, dst: TensorId) {
        let n = self.len(dst);
        self.timed(Op::Copy { n }, dst, |b| b.copy(src, dst));
    }

    fn flush(&mut self) {
        self.inner.flush();
    }

    fn conv1d_forward(&mut self, s: &Conv1dShape, x: TensorId, w: TensorId, b: TensorId, y: TensorId) {
        self.timed(Op::ConvForward(*s), x, |be| be.conv1d_forward(s, x, w, b, y));
    }

    fn conv1d_relu_forward(&mut self, s: &Conv1dShape, x: TensorId, w: TensorId, b: TensorId, y: TensorId) {
        self.timed(Op::ConvReluForward(*s), x, |be| be.conv1d_relu_forward(s, x, w, b, y));
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
        let op = Op::ConvBackward { s: *s, dx: dx.is_some() };
        self.timed(op, x, |be| be.conv1d_backward(s, x, w, dy, dx, dw, db));
    }

    fn maxpool_forward(&mut self, s: &PoolShape, x: TensorId, y: TensorId) {
        self.timed(Op::MaxPoolForward(*s), x, |be| be.maxpool_forward(s, x, y));
    }

    fn maxpool_backward(&mut self, s: &PoolShape, x: TensorId, dy: TensorId, dx: TensorId) {
        self.timed(Op::MaxPoolBackward(*s), x, |be| be.maxpool_backward(s, x, dy, dx));
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
        self.timed(Op::BatchNormTrain(*s), x, |be| {
            be.batchnorm_forward_train(s, cfg, x, gamma, beta, running_mean, running_var, y, mean, inv_std)
        });
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
        self.timed(Op::BatchNormEval(*s), x, |be| {
            be.batchnorm_forward_eval(s, cfg, x, gamma, beta, running_mean, running_var, y)
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
        self.timed(Op::BatchNormBackward { s: *s, batch_stats }, x, |be| {
            be.batchnorm_backward(s, batch_stats, x, gamma, mean, inv_std, dy, dx, dgamma, dbeta)
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
        self.timed(Op::LstmForward(*s), x, |be| be.lstm_forward(s, x, w_ih, w_hh, b, saved));
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
        self.timed(Op::LstmBackward { s: *s, dx: dx.is_some() }, x, |be| {
            be.lstm_backward(s, x, w_ih, w_hh, saved, dh, dx, dw_ih, dw_hh, db)
        });
    }

    fn last_step_forward(&mut self, s: &LstmShape, h: TensorId, y: TensorId) {
        self.timed(Op::LastStepForward(*s), h, |be| be.last_step_forward(s, h, y));
    }

    fn last_step_backward(&mut self, s: &LstmShape, dy: TensorId, dh: TensorId) {
        self.timed(Op::LastStepBackward(*s), dy, |be| be.last_step_backward(s, dy, dh));
    }

    fn dense_forward(&mut self, s: &DenseShape, x: TensorId, w: TensorId, b: TensorId, y: TensorId) {
        self.timed(Op::DenseForward(*s), x, |be| be.dense_forward(s, x, w, b, y));
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
        let op = Op::DenseBackward { s: *s, dx: dx.is_some() };
        self.timed(op, x, |be| be.dense_backward(s, x, w, dy, dx, dw, db));
    }

    fn activation_forward(&mut self, f: Activation, x: TensorId, y: TensorId) {
        let n = self.len(y);
        self.timed(Op::ActivationForward { f, n }, y, |be| be.activation_forward(f, x, y));
    }

    fn activation_backward(&mut self, f: Activation, y: TensorId, dy: TensorId, dx: TensorId) {
        let n = self.len(dx);
        self.timed(Op::ActivationBackward { f, n }, dx, |be| be.activation_backward(f, y, dy, dx));
    }

    fn dropout_forward(&mut self, rate: f32, key: u32, x: TensorId, y: TensorId) {
        let n = self.len(y);
        self.timed(Op::DropoutForward { n }, y, |be| be.dropout_forward(rate, key, x, y));
    }

    fn dropout_backward(&mut self, rate: f32, key: u32, dy: TensorId, dx: TensorId) {
        let n = self.len(dx);
        self.timed(Op::DropoutBackward { n }, dx, |be| be.dropout_backward(rate, key, dy, dx));
    }

    fn global_avg_pool_forward(&mut self, s: &ChannelShape, x: TensorId, y: TensorId) {
        self.timed(Op::GlobalAvgPoolForward(*s), x, |be| be.global_avg_pool_forward(s, x, y));
    }

    fn global_avg_pool_backward(&mut self, s: &ChannelShape, dy: TensorId, dx: TensorId) {
        self.timed(Op::GlobalAvgPoolBackward(*s), dx, |be| be.global_avg_pool_backward(s, dy, dx));
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
        self.timed(Op::SigmoidBce { batch }, logits, |be| {
            be.sigmoid_bce(batch, logits, targets, weights, probs, loss, dlogits)
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
        self.timed(Op::SoftmaxCe { batch, classes }, logits, |be| {
            be.softmax_ce(batch, classes, logits, labels, weights, probs, loss, dlogits)
        });
    }

    fn softmax_forward(&mut self, batch: usize, classes: usize, logits: TensorId, probs: TensorId) {
        self.timed(Op::Softmax { batch, classes }, logits, |be| {
            be.softmax_forward(batch, classes, logits, probs)
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
        let n = self.len(param);
        self.timed(Op::Adam { n }, grad, |be| be.adam_step(cfg, t, param, grad, m, v));
    }
}
