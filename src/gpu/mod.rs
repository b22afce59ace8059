//! The wgpu backend: hand-written WGSL kernels (shaders/) behind the `Backend` trait.
//!
//! Ops are recorded, not run: each appends a dispatch to the current submission, and
//! `flush()` (or a `download`) submits everything as one command buffer. See
//! `recorder` for the mechanics and `device` for adapter choice.

mod batchnorm;
mod ceilings;
mod conv;
mod dense;
pub mod device;
mod elementwise;
mod heads;
mod lstm;
mod optimizer;
mod params;
mod pipelines;
mod pool;
mod precision;
mod recorder;
mod reduce;
mod tensors;
mod timing;

use anyhow::{bail, Result};

pub use device::{
    list_adapters, silence_device_select_layer, AdapterInfoRow, DeviceLost, GpuContext, NO_ADAPTER_HELP,
};
pub use lstm::MAX_HIDDEN as LSTM_MAX_HIDDEN;
pub use precision::Precision;

use crate::backend::{
    Activation, AdamConfig, AllocError, Backend, BatchNormConfig, ChannelShape, Conv1dShape, DenseShape,
    LstmShape, LstmTensors, PoolShape, Scratch, Storage, TensorId, TensorLimits,
};
use recorder::Recorder;

pub struct GpuBackend {
    rec: Recorder,
    /// Created on the first timed run (bench only).
    timestamps: Option<timing::TimestampReader>,
}

impl GpuBackend {
    /// The best adapter this machine has (see `device`).
    pub fn new() -> Result<Self> {
        Ok(Self::with_context(GpuContext::new()?))
    }

    /// The best adapter this machine has, storing data at `precision`.
    pub fn with_precision(precision: Precision) -> Result<Self> {
        Self::with_context_precision(GpuContext::new()?, precision)
    }

    /// A backend on an already opened device (tests share one device this way).
    pub fn with_context(ctx: GpuContext) -> Self {
        GpuBackend { rec: Recorder::new(ctx, Precision::F32), timestamps: None }
    }

    /// `with_context` storing data at `precision`; f16 needs the adapter's SHADER_F16.
    pub fn with_context_precision(ctx: GpuContext, precision: Precision) -> Result<Self> {
        if precision == Precision::F16 && !ctx.features.contains(wgpu::Features::SHADER_F16) {
            bail!(
                "f16 storage needs the SHADER_F16 feature, and the adapter {} does not have it: use \
                 --precision f32 (`starskope devices` lists each adapter's features)",
                ctx.name()
            );
        }
        Ok(GpuBackend { rec: Recorder::new(ctx, precision), timestamps: None })
    }

    /// The element type of activations, gradients and parameters on the device.
    pub fn precision(&self) -> Precision {
        self.rec.precision
    }

    /// `alloc` that reports a tensor too large for this device, or a device out of
    /// memory, instead of panicking.
    pub fn try_alloc(&mut self, len: usize) -> Result<TensorId> {
        Ok(self.rec.alloc(len)?)
    }

    /// Fails every allocation that would take the bytes allocated past `bytes`, as a
    /// device out of memory does: tests of that path without exhausting a real device.
    pub fn with_memory_budget(mut self, bytes: u64) -> Self {
        self.rec.set_memory_budget(bytes);
        self
    }

    /// Binds at most `bytes` of a tensor at once (down from the device's
    /// max_storage_buffer_binding_size), so that tests can make small tensors take the
    /// split path that large ones take on a real device.
    pub fn with_binding_limit(mut self, bytes: u64) -> Self {
        self.rec.binding_limit = bytes.min(self.rec.ctx.limits.max_storage_buffer_binding_size);
        self
    }

    /// Bytes of every device buffer created for tensors so far (scratch included): a
    /// training step after `Network::build` must not add any.
    pub fn allocated_bytes(&self) -> u64 {
        self.rec.allocated_bytes()
    }

    /// Bind groups created so far: a repeated training step must not add any.
    pub fn bind_groups_created(&self) -> usize {
        self.rec.bind_groups_created
    }

    /// Command buffers submitted so far (each `flush`, or `download`, with work pending).
    pub fn submissions(&self) -> usize {
        self.rec.submissions
    }
}

impl Backend for GpuBackend {
    fn name(&self) -> String {
        match self.rec.precision {
            Precision::F32 => self.rec.ctx.name(),
            p => format!("{}, {p} storage", self.rec.ctx.name()),
        }
    }

    /// Panics with `try_alloc`'s message when the tensor cannot be bound on this device.
    fn alloc(&mut self, len: usize) -> TensorId {
        self.try_alloc(len).unwrap_or_else(|e| panic!("{e:#}"))
    }

    fn alloc_as(&mut self, len: usize, storage: Storage) -> TensorId {
        self.try_alloc_as(len, storage).unwrap_or_else(|e| panic!("{e:#}"))
    }

    fn try_alloc_as(&mut self, len: usize, storage: Storage) -> Result<TensorId, AllocError> {
        self.rec.alloc_as(len, storage)
    }

    fn tensor_bytes(&self, len: usize, storage: Storage) -> u64 {
        self.rec.tensor_bytes(len, storage)
    }

    fn tensor_limits(&self) -> Option<TensorLimits> {
        let limits = &self.rec.ctx.limits;
        Some(TensorLimits {
            binding: self.rec.binding_limit.min(limits.max_buffer_size),
            buffer: limits.max_buffer_size,
            slack: limits.min_storage_buffer_offset_alignment.into(),
            elem: self.rec.precision.bytes() as u64,
        })
    }

    fn conv1d_scratch(&self, s: &Conv1dShape) -> Vec<Scratch> {
        vec![conv::scratch(s)]
    }

    fn lstm_scratch(&self, s: &LstmShape) -> Vec<Scratch> {
        lstm::scratch(s)
    }

    fn try_reserve_scratch(&mut self, s: Scratch) -> Result<u64, AllocError> {
        Ok(self.rec.reserve(s)?.1)
    }

    fn len(&self, t: TensorId) -> usize {
        self.rec.len(t)
    }

    fn upload(&mut self, t: TensorId, data: &[f32]) {
        self.rec.upload(t, data);
    }

    /// Panics with the loss's message on a lost device; `try_download` returns it.
    fn download(&mut self, t: TensorId) -> Vec<f32> {
        self.try_download(t).unwrap_or_else(|e| panic!("{e:#}"))
    }

    fn try_download(&mut self, t: TensorId) -> anyhow::Result<Vec<f32>> {
        Ok(self.rec.read(t)?)
    }

    fn fill(&mut self, t: TensorId, value: f32) {
        elementwise::fill(&mut self.rec, t, value);
    }

    fn add_assign(&mut self, dst: TensorId, src: TensorId) {
        elementwise::add_assign(&mut self.rec, dst, src);
    }

    fn copy(&mut self, src: TensorId, dst: TensorId) {
        elementwise::copy(&mut self.rec, src, dst);
    }

    fn flush(&mut self) {
        self.rec.submit();
    }

    fn conv1d_forward(&mut self, s: &Conv1dShape, x: TensorId, w: TensorId, b: TensorId, y: TensorId) {
        conv::forward(&mut self.rec, s, x, w, b, y, false);
    }

    /// One kernel: the pre-activation is never stored.
    fn conv1d_relu_forward(&mut self, s: &Conv1dShape, x: TensorId, w: TensorId, b: TensorId, y: TensorId) {
        conv::forward(&mut self.rec, s, x, w, b, y, true);
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
        conv::backward(&mut self.rec, s, x, w, dy, dx, dw, db);
    }

    fn maxpool_forward(&mut self, s: &PoolShape, x: TensorId, y: TensorId) {
        pool::maxpool_forward(&mut self.rec, s, x, y);
    }

    fn maxpool_backward(&mut self, s: &PoolShape, x: TensorId, dy: TensorId, dx: TensorId) {
        pool::maxpool_backward(&mut self.rec, s, x, dy, dx);
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
        batchnorm::forward_train(
            &mut self.rec,
            s,
            cfg,
            x,
            gamma,
            beta,
            running_mean,
            running_var,
            y,
            mean,
            inv_std,
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
        batchnorm::forward_eval(&mut self.rec, s, cfg, x, gamma, beta, running_mean, running_var, y);
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
        batchnorm::backward(&mut self.rec, s, batch_stats, x, gamma, mean, inv_std, dy, dx, dgamma, dbeta);
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
        lstm::forward(&mut self.rec, s, x, w_ih, w_hh, b, saved);
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
        lstm::backward(&mut self.rec, s, x, w_ih, w_hh, saved, dh, dx, dw_ih, dw_hh, db);
    }

    fn last_step_forward(&mut self, s: &LstmShape, h: TensorId, y: TensorId) {
        lstm::last_step_forward(&mut self.rec, s, h, y);
    }

    fn last_step_backward(&mut self, s: &LstmShape, dy: TensorId, dh: TensorId) {
        lstm::last_step_backward(&mut self.rec, s, dy, dh);
    }

    fn dense_forward(&mut self, s: &DenseShape, x: TensorId, w: TensorId, b: TensorId, y: TensorId) {
        dense::forward(&mut self.rec, s, x, w, b, y);
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
        dense::backward(&mut self.rec, s, x, w, dy, dx, dw, db);
    }

    fn activation_forward(&mut self, f: Activation, x: TensorId, y: TensorId) {
        elementwise::activation_forward(&mut self.rec, f, x, y);
    }

    fn activation_backward(&mut self, f: Activation, y: TensorId, dy: TensorId, dx: TensorId) {
        elementwise::activation_backward(&mut self.rec, f, y, dy, dx);
    }

    fn dropout_forward(&mut self, rate: f32, key: u32, x: TensorId, y: TensorId) {
        elementwise::dropout(&mut self.rec, rate, key, x, y);
    }

    fn dropout_backward(&mut self, rate: f32, key: u32, dy: TensorId, dx: TensorId) {
        elementwise::dropout(&mut self.rec, rate, key, dy, dx);
    }

    fn global_avg_pool_forward(&mut self, s: &ChannelShape, x: TensorId, y: TensorId) {
        pool::global_avg_pool_forward(&mut self.rec, s, x, y);
    }

    fn global_avg_pool_backward(&mut self, s: &ChannelShape, dy: TensorId, dx: TensorId) {
        pool::global_avg_pool_backward(&mut self.rec, s, dy, dx);
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
        heads::sigmoid_bce(&mut self.rec, batch, logits, targets, weights, probs, loss, dlogits);
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
        heads::softmax_ce(&mut self.rec, batch, classes, logits, labels, weights, probs, loss, dlogits);
    }

    fn softmax_forward(&mut self, batch: usize, classes: usize, logits: TensorId, probs: TensorId) {
        heads::softmax_forward(&mut self.rec, batch, classes, logits, probs);
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
        optimizer::adam_step(&mut self.rec, cfg, t, param, grad, m, v);
    }
}
