//! The wgpu backend: hand-written WGSL kernels (shaders/) behind the `Backend` trait.
//!
//! Ops are recorded, not run: each appends a dispatch to the current submission, and
//! `flush()` (or a `download`) submits everything as one command buffer. See
//! `recorder` for the mechanics and `device` for adapter choice.

mod adam;
mod batchnorm;
mod ceilings;
mod conv1d;
mod dense;
pub mod device;
mod elementwise;
mod heads;
mod kernel_params;
mod lstm;
mod params;
mod pipelines;
mod pool;
mod precision;
mod recorder;
mod reduce;
mod tensors;
mod timing;

use anyhow::{bail, Result};

pub use device::{list_adapters, silence_device_select_layer, AdapterInfoRow, GpuContext, NO_ADAPTER_HELP};
pub use lstm::MAX_HIDDEN as LSTM_MAX_HIDDEN;
pub use precision::Precision;

use crate::backend::{
    AllocError, Backend, Conv1dShape, DropoutBackward, DropoutForward, Family, LstmShape, Op, Scratch,
    Storage, TensorId, TensorLimits,
};
use recorder::Recorder;

/// The op families whose kernels take a tensor larger than one binding in windows of
/// rows (`Recorder::dispatch_rows`); the others bind each tensor whole.
const SPLIT: &[Family] = &[Family::Elementwise, Family::Lstm, Family::Dense];

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
            split: SPLIT,
        })
    }

    fn conv1d_scratch(&self, s: &Conv1dShape) -> Vec<Scratch> {
        vec![conv1d::scratch(s)]
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

    fn flush(&mut self) {
        self.rec.submit();
    }

    fn run(&mut self, op: &Op) {
        let r = &mut self.rec;
        match op {
            Op::Fill(o) => elementwise::fill(r, o),
            Op::AddAssign(o) => elementwise::add_assign(r, o),
            Op::CopyTensor(o) => elementwise::copy(r, o),
            Op::Conv1dForward(o) => conv1d::forward(r, o),
            Op::Conv1dBackward(o) => conv1d::backward(r, o),
            Op::MaxPoolForward(o) => pool::maxpool_forward(r, o),
            Op::MaxPoolBackward(o) => pool::maxpool_backward(r, o),
            Op::BatchNormTrain(o) => batchnorm::forward_train(r, o),
            Op::BatchNormEval(o) => batchnorm::forward_eval(r, o),
            Op::BatchNormBackward(o) => batchnorm::backward(r, o),
            Op::LstmForward(o) => lstm::forward(r, o),
            Op::LstmBackward(o) => lstm::backward(r, o),
            Op::LastStepForward(o) => lstm::last_step_forward(r, o),
            Op::LastStepBackward(o) => lstm::last_step_backward(r, o),
            Op::DenseForward(o) => dense::forward(r, o),
            Op::DenseBackward(o) => dense::backward(r, o),
            Op::ActivationForward(o) => elementwise::activation_forward(r, o),
            Op::ActivationBackward(o) => elementwise::activation_backward(r, o),
            // forward (x -> y) and backward (dy -> dx) apply the same mask and scale
            &Op::DropoutForward(DropoutForward { rate, key, x, y }) => {
                elementwise::dropout(r, rate, key, x, y)
            }
            &Op::DropoutBackward(DropoutBackward { rate, key, dy, dx }) => {
                elementwise::dropout(r, rate, key, dy, dx)
            }
            Op::GlobalAvgPoolForward(o) => pool::global_avg_pool_forward(r, o),
            Op::GlobalAvgPoolBackward(o) => pool::global_avg_pool_backward(r, o),
            Op::SigmoidBce(o) => heads::sigmoid_bce(r, o),
            Op::SoftmaxCe(o) => heads::softmax_ce(r, o),
            Op::Softmax(o) => heads::softmax(r, o),
            Op::AdamStep(o) => adam::adam_step(r, o),
        }
    }
}
