//! Device buffers behind `TensorId`s: created once at alloc, never freed or resized.

use super::precision::Precision;
use crate::backend::{AllocError, TensorId};

pub struct Tensor {
    pub buffer: wgpu::Buffer,
    pub len: usize,
    pub elem: Precision,
    /// An f16 parameter's f32 master copy (`Storage::Param`): Adam updates it and writes
    /// it rounded into `buffer`; uploads and downloads go through it.
    pub master: Option<TensorId>,
}

#[derive(Default)]
pub struct TensorStore {
    tensors: Vec<Tensor>,
    /// Bytes of every buffer created so far.
    pub allocated: u64,
    /// A test's stand-in for the device's memory: an allocation past it fails as out of
    /// memory (`GpuBackend::with_memory_budget`).
    pub budget: Option<u64>,
}

impl TensorStore {
    /// A zero-filled storage buffer (wgpu zero-initializes new buffers) of `len` elements
    /// of `elem`, with the f32 `master` of a parameter if it has one. It may be larger
    /// than one storage binding: ops that can bind it in windows split their dispatches
    /// (`Recorder::dispatch_rows`), the others refuse it when recording.
    pub fn alloc(
        &mut self,
        device: &wgpu::Device,
        limits: &wgpu::Limits,
        len: usize,
        elem: Precision,
        master: Option<TensorId>,
    ) -> Result<TensorId, AllocError> {
        let bytes = elem.buffer_bytes(len);
        let max = limits.max_buffer_size;
        if bytes > max {
            return Err(AllocError::TooLarge { bytes, max });
        }
        let out_of_memory = AllocError::OutOfMemory { bytes, allocated: self.allocated };
        if self.budget.is_some_and(|budget| self.allocated + bytes > budget) {
            return Err(out_of_memory);
        }
        // Without a scope, an allocation the device refuses is an uncaptured error: wgpu's
        // default handler panics. Scopes are per thread, and this pop is immediate.
        let scope = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        if pollster::block_on(scope.pop()).is_some() {
            return Err(out_of_memory);
        }
        self.allocated += bytes;
        self.tensors.push(Tensor { buffer, len, elem, master });
        Ok(TensorId(self.tensors.len() - 1))
    }

    pub fn get(&self, t: TensorId) -> &Tensor {
        self.tensors.get(t.0).unwrap_or_else(|| panic!("{t:?} was not allocated by this GPU backend"))
    }
}

/// A host-readable buffer reused by every download; grows to the largest tensor read.
#[derive(Default)]
pub struct Readback {
    buffer: Option<wgpu::Buffer>,
}

impl Readback {
    pub fn buffer(&mut self, device: &wgpu::Device, bytes: u64) -> &wgpu::Buffer {
        if self.buffer.as_ref().is_none_or(|b| b.size() < bytes) {
            self.buffer = Some(device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("readback"),
                size: bytes,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }));
        }
        self.buffer.as_ref().expect("just created")
    }
}
