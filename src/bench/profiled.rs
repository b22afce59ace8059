//! `Profiled`: a backend that runs every op on an inner backend and records, per call,
//! the op (with its shape), its cost at the element sizes of its tensors on the inner
//! backend, and the device time it took. Running a real `Network` step through it gives
//! each op at exactly the shapes and precisions the model uses.

use std::collections::HashSet;

use crate::backend::{
    AllocError, Backend, Conv1dShape, LstmShape, Op, Scratch, Storage, TensorId, TensorLimits,
};
use crate::bench::device::BenchDevice;
use crate::bench::op::{data_tensor, Cost, Counted};

/// One timed backend call.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Call {
    pub op: Counted,
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

    fn flush(&mut self) {
        self.inner.flush();
    }

    fn run(&mut self, op: &Op) {
        let data = data_tensor(op);
        let counted = Counted { op: *op, n: self.len(data) };
        let cost = counted.cost(self.elem_bytes(data));
        let seconds = self.inner.time_ops(&mut |be: &mut dyn Backend| be.run(op));
        self.calls.push(Call { op: counted, cost, seconds });
    }
}
