//! The wgpu backend: hand-written WGSL kernels (shaders/) behind the `Backend` trait.
//!
//! Ops are recorded, not run: each appends a dispatch to the current submission, and
//! `flush()` (or a `download`) submits everything as one command buffer. See
//! `recorder` for the mechanics and `device` for adapter choice.

pub mod device;
mod elementwise;
mod params;
mod pipelines;
mod recorder;
mod tensors;

use anyhow::Result;

pub use device::{list_adapters, AdapterInfoRow, GpuContext, NO_ADAPTER_HELP};

use crate::backend::TensorId;
use recorder::Recorder;

pub struct GpuBackend {
    rec: Recorder,
}

impl GpuBackend {
    /// The best adapter this machine has (see `device`).
    pub fn new() -> Result<Self> {
        Ok(Self::with_context(GpuContext::new()?))
    }

    /// A backend on an already opened device (tests share one device this way).
    pub fn with_context(ctx: GpuContext) -> Self {
        GpuBackend { rec: Recorder::new(ctx) }
    }

    /// `alloc` that reports a tensor too large for this device instead of panicking.
    pub fn try_alloc(&mut self, len: usize) -> Result<TensorId> {
        self.rec.alloc(len)
    }
}
