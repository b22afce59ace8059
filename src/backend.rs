//! The contract: the one list of ops (`ops::Op`, an argument struct per op) that every
//! backend implements.
//!
//! A model's forward and backward pass are written once, in `model::network`, as ops
//! run through this trait. The CPU reference backend (`cpu::CpuBackend`) is the
//! specification: plain loops, obviously right. The fast CPU backend
//! (`fastcpu::FastCpuBackend`) runs the same calls as blocked matrix products on all
//! cores; the GPU backend (`gpu::GpuBackend`) records them as WGSL dispatches into one
//! command submission per training step. Tests run the same calls through the reference
//! and each other backend and compare.
//!
//! Conventions shared by every op:
//! - tensors are contiguous f32, row-major; shapes are carried by the op's shape struct,
//!   not by the tensor;
//! - outputs are overwritten, never accumulated (each parameter belongs to one layer, so
//!   its gradient is written exactly once per step);
//! - an op may not read and write the same tensor unless its doc says so.

use serde::{Deserialize, Serialize};

mod ops;
pub use ops::*;

/// A tensor owned by a backend. Cheap to copy; meaningless to another backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorId(pub usize);

/// Conv1d, stride 1, channels-first: x (batch, c_in, len_in), weight (c_out, c_in, kernel),
/// bias (c_out), y (batch, c_out, len_out).
///
/// `y[n,o,t] = bias[o] + sum_{c,k} weight[o,c,k] * x[n,c,t+k-pad_left]`, with x read as 0
/// outside 0..len_in. "valid": pad_left 0, len_out = len_in - kernel + 1. "same" (Keras):
/// pad_left = (kernel-1)/2, len_out = len_in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv1dShape {
    pub batch: usize,
    pub c_in: usize,
    pub c_out: usize,
    pub len_in: usize,
    pub kernel: usize,
    pub pad_left: usize,
    pub len_out: usize,
}

/// Max-pool over the last axis of (batch, channels, len_in); window `pool`, step `stride`,
/// no padding, floor mode: len_out = (len_in - pool) / stride + 1. Ties go to the first
/// position of the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PoolShape {
    pub batch: usize,
    pub channels: usize,
    pub len_in: usize,
    pub pool: usize,
    pub stride: usize,
    pub len_out: usize,
}

/// Any (batch, channels, len) activation: batch norm, global average pooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChannelShape {
    pub batch: usize,
    pub channels: usize,
    pub len: usize,
}

/// Batch-norm hyper-parameters. `momentum` is the weight of the new batch statistic
/// (PyTorch's convention; Keras's decay 0.99 is momentum 0.01).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchNormConfig {
    pub eps: f32,
    pub momentum: f32,
    /// PyTorch updates the running variance with the unbiased batch variance
    /// (times M/(M-1)); Keras with the biased one.
    pub unbiased_running_var: bool,
}

impl BatchNormConfig {
    pub const KERAS: BatchNormConfig =
        BatchNormConfig { eps: 1e-3, momentum: 0.01, unbiased_running_var: false };
    pub const PYTORCH: BatchNormConfig =
        BatchNormConfig { eps: 1e-5, momentum: 0.1, unbiased_running_var: true };
}

/// One LSTM layer, batch-first: x (batch, time, input), gate order i, f, g, o,
/// h0 = c0 = 0, one bias vector (b = b_ih + b_hh in PyTorch terms).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LstmShape {
    pub batch: usize,
    pub time: usize,
    pub input: usize,
    pub hidden: usize,
}

/// Saved LSTM forward state, needed by the backward pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LstmTensors {
    /// (batch, time, hidden): h_t for every t. The layer's output when it returns sequences.
    pub h: TensorId,
    /// (batch, time, hidden): c_t for every t.
    pub c: TensorId,
    /// (batch, time, 4*hidden): the gate activations i, f, g, o after their nonlinearity.
    pub gates: TensorId,
}

/// Dense: x (batch, input), weight (output, input), bias (output); y = x weight^T + bias.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DenseShape {
    pub batch: usize,
    pub input: usize,
    pub output: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    Relu,
    Sigmoid,
    Tanh,
}

/// Adam (Kingma & Ba, Algorithm 1):
/// m' = b1 m + (1-b1) g;  v' = b2 v + (1-b2) g^2;
/// p' = p - lr * (m' / (1 - b1^t)) / (sqrt(v' / (1 - b2^t)) + eps)
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamConfig {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-7 }
    }
}

/// How a backend that stores tensors in reduced precision (the GPU backend's f16 mode)
/// keeps one; backends that store everything in f32 treat all alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Storage {
    /// Activations, gradients, inputs: the backend's storage precision (`alloc`).
    Data,
    /// A trainable parameter: storage precision for the kernels that read it, plus an f32
    /// master copy that `AdamStep` updates and `upload`/`download` go through.
    Param,
    /// f32 at every precision, for values whose small updates f16 would round away:
    /// Adam's moments, batch-norm running and batch statistics, the loss and its sums.
    F32,
}

/// Why a backend could not allocate a tensor.
#[derive(Debug, thiserror::Error)]
pub enum AllocError {
    #[error("a tensor of {bytes} bytes exceeds this device's largest buffer ({max} bytes); use a smaller batch or sequence length, or --device cpu")]
    TooLarge { bytes: u64, max: u64 },
    /// The device (or a test's budget) had no memory left for `bytes` more, having given
    /// `allocated` to the tensors created since the backend was.
    #[error("the device ran out of memory allocating a tensor of {bytes} bytes ({allocated} bytes were allocated before)")]
    OutOfMemory { bytes: u64, allocated: u64 },
    /// The device was lost: a buffer created now would be invalid, and its first use
    /// would panic in wgpu.
    #[error(transparent)]
    Lost(#[from] DeviceLost),
}

/// The device stopped working (driver reset, GPU removed, `Device::destroy`): every wait
/// on it fails with this instead of hanging or panicking. Long runs look for it in an
/// error's chain to say that the run can be resumed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the GPU device was lost ({reason}): {message}")]
pub struct DeviceLost {
    pub reason: String,
    pub message: String,
}

/// A working tensor (`Storage::Data`) a backend keeps for its own use inside an op, such
/// as the GPU's LSTM gate gradients: created once per purpose and size, shared by every
/// op that needs the same, never freed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Scratch {
    pub purpose: &'static str,
    pub len: usize,
}

/// The sizes a backend that binds tensors as GPU storage buffers can handle, in bytes,
/// and which ops bind a tensor whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TensorLimits {
    /// The most one storage binding covers: the limit of a tensor some op binds whole.
    pub binding: u64,
    /// The largest buffer: the limit of a tensor that only splitting ops touch.
    pub buffer: u64,
    /// How far before its first row a window may have to start (the binding offset
    /// alignment): one row of a split tensor, plus this, must fit one binding.
    pub slack: u64,
    /// Bytes per element of `Storage::Data` tensors.
    pub elem: u64,
    /// The op families that split a tensor larger than one binding into windows of rows;
    /// every other family binds its tensors whole.
    pub split: &'static [Family],
}

/// The ops, as one list (`ops::Op`), and the memory they work on.
pub trait Backend {
    /// e.g. "cpu (2 threads)" or "NVIDIA H100 (Vulkan)".
    fn name(&self) -> String;

    // ---- memory ----
    /// A new zero-filled tensor of `len` elements (`Storage::Data`).
    fn alloc(&mut self, len: usize) -> TensorId;
    /// A new zero-filled tensor kept as `storage` says. Ops check what they need: Adam's
    /// m and v, batch-norm running and batch statistics and the loss are `F32`, and Adam's
    /// parameter is a `Param`.
    fn alloc_as(&mut self, len: usize, storage: Storage) -> TensorId {
        let _ = storage;
        self.alloc(len)
    }
    /// `alloc_as` that reports a device out of memory instead of panicking.
    fn try_alloc_as(&mut self, len: usize, storage: Storage) -> Result<TensorId, AllocError> {
        Ok(self.alloc_as(len, storage))
    }
    /// The device memory `alloc_as(len, storage)` takes.
    fn tensor_bytes(&self, len: usize, storage: Storage) -> u64 {
        let _ = storage;
        4 * len as u64
    }
    /// What one tensor may hold, so that callers can size a batch before `alloc` fails.
    /// None: no such limit.
    fn tensor_limits(&self) -> Option<TensorLimits> {
        None
    }
    /// The scratch tensors `Conv1dBackward` of this shape uses besides its arguments.
    fn conv1d_scratch(&self, s: &Conv1dShape) -> Vec<Scratch> {
        let _ = s;
        Vec::new()
    }
    /// The scratch tensors `LstmForward` and `LstmBackward` of this shape use besides
    /// their arguments.
    fn lstm_scratch(&self, s: &LstmShape) -> Vec<Scratch> {
        let _ = s;
        Vec::new()
    }
    /// Creates the scratch tensor `s` now, unless it exists, so that an out-of-memory
    /// shows here (as `try_alloc_as`'s error) and not inside an op that cannot report
    /// it. Returns the bytes it allocated (0 if the tensor existed).
    fn try_reserve_scratch(&mut self, s: Scratch) -> Result<u64, AllocError> {
        let _ = s;
        Ok(0)
    }
    fn len(&self, t: TensorId) -> usize;
    fn upload(&mut self, t: TensorId, data: &[f32]);
    /// Blocks until every recorded op has run.
    fn download(&mut self, t: TensorId) -> Vec<f32>;
    /// `download` that reports a device that stopped working (as `DeviceLost`) instead
    /// of panicking: what long runs use.
    fn try_download(&mut self, t: TensorId) -> anyhow::Result<Vec<f32>> {
        Ok(self.download(t))
    }
    /// Ends a unit of work (one training step). The GPU backend submits everything
    /// recorded since the last flush as one command buffer; the CPU backend does nothing.
    fn flush(&mut self);

    // ---- ops ----
    /// Runs `op` (or records it, to run by the next `flush` or `download`).
    fn run(&mut self, op: &Op);
    /// `Fill`.
    fn fill(&mut self, t: TensorId, value: f32) {
        self.run(&Fill { t, value }.into());
    }
    /// `AddAssign`.
    fn add_assign(&mut self, dst: TensorId, src: TensorId) {
        self.run(&AddAssign { dst, src }.into());
    }
    /// `CopyTensor`.
    fn copy(&mut self, src: TensorId, dst: TensorId) {
        self.run(&CopyTensor { src, dst }.into());
    }
}

/// The counter-based random draw behind dropout, identical on every backend (the WGSL
/// twin is in shaders/elementwise.wgsl): PCG-style hashes of the key and the element index.
pub fn dropout_uniform_u32(key: u32, i: u32) -> u32 {
    pcg_hash(pcg_hash(i) ^ key)
}

/// Element i survives when its draw is at or above rate * 2^32.
pub fn dropout_keep(key: u32, i: u32, rate: f32) -> bool {
    dropout_uniform_u32(key, i) >= dropout_threshold(rate)
}

pub fn dropout_threshold(rate: f32) -> u32 {
    // f64: rate * 2^32 is exact enough and 1.0 maps to u32::MAX (drop all but a 2^-32 sliver)
    (rate as f64 * 4294967296.0).min(u32::MAX as f64) as u32
}

/// The dropout key for one layer at one step: every (seed, step, layer) gets its own mask.
pub fn dropout_key(seed: u64, step: u64, layer: usize) -> u32 {
    let mut z = seed
        .wrapping_add(step.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add((layer as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
    // splitmix64 finalizer
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as u32
}

pub fn pcg_hash(v: u32) -> u32 {
    let state = v.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277_803_737);
    (word >> 22) ^ word
}
