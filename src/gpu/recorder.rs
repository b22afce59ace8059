//! Records dispatches and submits them as one command buffer.
//!
//! An op appends a `Dispatch` (kernel, tensors, params offset, workgroup count); `submit`
//! writes the params arena once, encodes every dispatch into one compute pass (wgpu
//! inserts the barriers between dependent dispatches) and submits. Pipelines and bind
//! groups are cached, so a repeated training step creates no GPU object.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Result;

use super::device::GpuContext;
use super::params::{ParamsArena, PARAMS_BYTES};
use super::pipelines::{Access, Kernel};
use super::precision::Precision;
use super::tensors::{Readback, TensorStore};
use crate::backend::DeviceLost;
use crate::backend::{AllocError, Scratch, Storage, TensorId};

/// The most workgroups a dispatch may have along one dimension on every device.
const MAX_GROUPS_PER_DIM: u32 = 65535;

struct Dispatch {
    kernel: &'static Kernel,
    tensors: Vec<TensorId>,
    /// Per binding, the byte range bound (offset, size); None: the whole buffer.
    windows: Vec<Window>,
    params_offset: u32,
    groups: [u32; 3],
    /// The shader variant: the element type of the tensors at its `store` bindings.
    precision: Precision,
}

/// A bound byte range (offset, size) of a tensor's buffer; None: the whole buffer.
type Window = Option<(u64, u64)>;

type BindGroupKey = (&'static [Access], Vec<TensorId>, Vec<Window>);

/// How a split dispatch (`Recorder::dispatch_rows`) binds one tensor.
#[derive(Clone, Copy, Debug)]
pub enum Bind {
    /// The whole tensor in every chunk: it must fit one storage binding.
    Whole(TensorId),
    /// A row-major tensor with this many elements per row of the split axis. A chunk's
    /// kernel sees its first row at element `Chunk::offsets[binding]` of the binding.
    Rows(TensorId, usize),
}

/// One chunk of rows of a split dispatch.
#[derive(Clone, Debug)]
pub struct Chunk {
    /// The chunk's first row, and how many rows it has.
    pub first: usize,
    pub rows: usize,
    /// Per binding: where the chunk's first row is in the bound range, in elements
    /// (0 for `Bind::Whole`). Kernels add it to every index into that binding.
    pub offsets: Vec<u32>,
}

impl Chunk {
    /// The first `N` offsets, for a kernel's params.
    pub fn offsets<const N: usize>(&self) -> [u32; N] {
        std::array::from_fn(|i| self.offsets.get(i).copied().unwrap_or(0))
    }
}

pub struct Recorder {
    pub ctx: GpuContext,
    /// The element type of `Storage::Data` tensors.
    pub precision: Precision,
    /// The most bytes one storage binding may cover: the device's limit, or less to
    /// force splitting in tests (`GpuBackend::with_binding_limit`).
    pub binding_limit: u64,
    tensors: TensorStore,
    arena: ParamsArena,
    pending: Vec<Dispatch>,
    bind_groups: HashMap<BindGroupKey, wgpu::BindGroup>,
    bind_groups_generation: u64,
    /// How many bind groups were ever created: flat in steady state.
    pub bind_groups_created: usize,
    /// Command buffers submitted so far: one per training step.
    pub submissions: usize,
    readback: Readback,
    /// Backend-internal tensors (e.g. the LSTM's dgates), reused across steps by purpose.
    scratch: HashMap<Scratch, TensorId>,
}

impl Recorder {
    pub fn new(ctx: GpuContext, precision: Precision) -> Self {
        let arena = ParamsArena::new(&ctx.device, &ctx.limits);
        Recorder {
            binding_limit: ctx.limits.max_storage_buffer_binding_size,
            ctx,
            precision,
            tensors: TensorStore::default(),
            arena,
            pending: Vec::new(),
            bind_groups: HashMap::new(),
            bind_groups_generation: 0,
            bind_groups_created: 0,
            submissions: 0,
            readback: Readback::default(),
            scratch: HashMap::new(),
        }
    }

    pub fn alloc(&mut self, len: usize) -> Result<TensorId, AllocError> {
        self.alloc_as(len, Storage::Data)
    }

    pub fn alloc_as(&mut self, len: usize, storage: Storage) -> Result<TensorId, AllocError> {
        // a buffer created on a lost device is invalid: its first upload or binding would
        // be a validation error, which wgpu's default handler turns into a panic
        self.ctx.check()?;
        let (device, limits) = (&self.ctx.device, &self.ctx.limits);
        match (storage, self.precision) {
            (Storage::F32, _) | (Storage::Param, Precision::F32) => {
                self.tensors.alloc(device, limits, len, Precision::F32, None)
            }
            (Storage::Data, p) => self.tensors.alloc(device, limits, len, p, None),
            (Storage::Param, p) => {
                let master = self.tensors.alloc(device, limits, len, Precision::F32, None)?;
                self.tensors.alloc(device, limits, len, p, Some(master))
            }
        }
    }

    /// The bytes `alloc_as(len, storage)` creates: a parameter at reduced precision has
    /// an f32 master besides.
    pub fn tensor_bytes(&self, len: usize, storage: Storage) -> u64 {
        match (storage, self.precision) {
            (Storage::F32, _) | (Storage::Param, Precision::F32) => Precision::F32.buffer_bytes(len),
            (Storage::Data, p) => p.buffer_bytes(len),
            (Storage::Param, p) => Precision::F32.buffer_bytes(len) + p.buffer_bytes(len),
        }
    }

    pub fn allocated_bytes(&self) -> u64 {
        self.tensors.allocated
    }

    pub fn set_memory_budget(&mut self, bytes: u64) {
        self.tensors.budget = Some(bytes);
    }

    /// The element type of `t`.
    pub fn elem(&self, t: TensorId) -> Precision {
        self.tensors.get(t).elem
    }

    /// The f32 master copy of a reduced-precision parameter.
    pub fn master(&self, t: TensorId) -> Option<TensorId> {
        self.tensors.get(t).master
    }

    pub fn len(&self, t: TensorId) -> usize {
        self.tensors.get(t).len
    }

    /// A tensor owned by the backend for one purpose and size; its contents are whatever
    /// the last user left. `Network::build` reserves every scratch tensor its ops use
    /// (`reserve`), where running out of memory is an error; only ops called outside a
    /// network (tests, `verify`) create one here, and panic if the device has no room.
    pub fn scratch(&mut self, purpose: &'static str, len: usize) -> TensorId {
        let s = Scratch { purpose, len };
        self.reserve(s).unwrap_or_else(|e| panic!("GPU scratch tensor for {purpose}: {e:#}")).0
    }

    /// The scratch tensor `s`, created now if it does not exist, and the bytes created.
    pub fn reserve(&mut self, s: Scratch) -> Result<(TensorId, u64), AllocError> {
        if let Some(t) = self.scratch.get(&s) {
            return Ok((*t, 0));
        }
        let t = self.alloc(s.len)?;
        self.scratch.insert(s, t);
        Ok((t, self.tensor_bytes(s.len, Storage::Data)))
    }

    pub fn upload(&mut self, t: TensorId, data: &[f32]) {
        let len = self.len(t);
        assert_eq!(data.len(), len, "upload of {} values into a tensor of {len}", data.len());
        // write_buffer lands before the next submission: recorded ops that read the old
        // contents must be submitted first.
        self.submit();
        if data.is_empty() {
            return;
        }
        let tensor = self.tensors.get(t);
        self.ctx.queue.write_buffer(&tensor.buffer, 0, &tensor.elem.encode(data));
        if let Some(master) = tensor.master {
            let master = self.tensors.get(master);
            self.ctx.queue.write_buffer(&master.buffer, 0, &master.elem.encode(data));
        }
    }

    /// Records one dispatch binding every tensor whole. `params` is the kernel's WGSL
    /// `Params` struct.
    pub fn dispatch<P: bytemuck::Pod>(
        &mut self,
        kernel: &'static Kernel,
        params: &P,
        tensors: &[TensorId],
        groups: [u32; 3],
    ) {
        self.record(kernel, params, tensors, vec![None; tensors.len()], groups);
    }

    /// Records a kernel over `rows` rows as one dispatch per chunk of rows, each chunk
    /// binding only the rows it needs of every `Bind::Rows` tensor that does not fit one
    /// storage binding (a tensor that fits is bound whole, at an offset), so tensors up
    /// to the device's largest buffer work. `chunk` gives a chunk's params and
    /// workgroups: the kernel must treat the chunk as a problem of `Chunk::rows` rows and
    /// add `Chunk::offsets` to its indices. Chunks run in order, each a dispatch that
    /// sees the previous one's writes: a kernel that accumulates over rows adds chunk
    /// partials in a fixed order, so results stay deterministic. Everything fits in one
    /// binding in the common case: then there is one chunk, with all offsets 0.
    pub fn dispatch_rows<P: bytemuck::Pod>(
        &mut self,
        kernel: &'static Kernel,
        rows: usize,
        binds: &[Bind],
        mut chunk: impl FnMut(&Chunk) -> (P, [u32; 3]),
    ) {
        let per_chunk = self.rows_per_chunk(kernel, rows, binds);
        let tensors: Vec<TensorId> = binds
            .iter()
            .map(|b| match *b {
                Bind::Whole(t) | Bind::Rows(t, _) => t,
            })
            .collect();
        // one chunk even of 0 rows: a reduction over no rows still writes its zeros
        let mut first = 0;
        loop {
            let n = per_chunk.min(rows - first);
            let (windows, offsets) = binds.iter().map(|b| self.window(*b, first, n)).unzip();
            let (params, groups) = chunk(&Chunk { first, rows: n, offsets });
            self.record(kernel, &params, &tensors, windows, groups);
            first += n;
            if first >= rows {
                break;
            }
        }
    }

    /// The most rows a chunk of `dispatch_rows` may have: every `Rows` tensor too large
    /// to bind whole must have a chunk's rows within one binding, allowing for a window
    /// that starts up to one offset alignment before its first row.
    fn rows_per_chunk(&self, kernel: &Kernel, rows: usize, binds: &[Bind]) -> usize {
        let slack = self.ctx.limits.min_storage_buffer_offset_alignment as u64;
        let mut most = rows.max(1);
        for b in binds {
            if let Bind::Rows(t, row_len) = *b {
                if self.fits_binding(t) {
                    continue;
                }
                let row_bytes = (row_len * self.tensors.get(t).elem.bytes()) as u64;
                let fit = self.binding_limit.saturating_sub(slack) / row_bytes.max(1);
                assert!(
                    fit > 0,
                    "{}: one row of {row_bytes} bytes does not fit a storage binding of {} bytes; \
                     model::memory_fit::check_fits should have refused this shape",
                    kernel.entry,
                    self.binding_limit
                );
                most = most.min(fit as usize);
            }
        }
        most
    }

    fn fits_binding(&self, t: TensorId) -> bool {
        self.tensors.get(t).buffer.size() <= self.binding_limit
    }

    /// The window and element offset through which a chunk of `n` rows from row `first`
    /// sees `b`.
    fn window(&self, b: Bind, first: usize, n: usize) -> (Window, u32) {
        let (t, row_len) = match b {
            Bind::Whole(_) => return (None, 0),
            Bind::Rows(t, row_len) => (t, row_len),
        };
        if self.fits_binding(t) {
            return (None, u(first * row_len));
        }
        let tensor = self.tensors.get(t);
        let elem = tensor.elem.bytes() as u64;
        let align = self.ctx.limits.min_storage_buffer_offset_alignment as u64;
        let start = (first * row_len) as u64 * elem;
        let end = ((first + n) * row_len) as u64 * elem;
        let offset = start - start % align;
        // bindings are whole 4-byte words; buffers are padded to them
        let size = (end - offset).next_multiple_of(4).min(tensor.buffer.size() - offset);
        (Some((offset, size)), u(((start - offset) / elem) as usize))
    }

    fn record<P: bytemuck::Pod>(
        &mut self,
        kernel: &'static Kernel,
        params: &P,
        tensors: &[TensorId],
        windows: Vec<Window>,
        groups: [u32; 3],
    ) {
        assert_eq!(tensors.len(), kernel.bindings.len(), "{}: wrong number of tensors", kernel.entry);
        if groups.contains(&0) {
            return;
        }
        for (t, w) in tensors.iter().zip(&windows) {
            let bytes = w.map_or_else(|| self.tensors.get(*t).buffer.size(), |(_, size)| size);
            assert!(
                bytes <= self.binding_limit,
                "{}: a tensor of {bytes} bytes bound whole exceeds the storage binding limit of {} bytes; \
                 this kernel cannot split it, and model::memory_fit::check_fits should have refused the batch",
                kernel.entry,
                self.binding_limit
            );
        }
        let precision = self.variant(kernel, tensors);
        let params_offset = self.arena.push(params);
        let tensors = tensors.to_vec();
        self.pending.push(Dispatch { kernel, tensors, windows, params_offset, groups, precision });
    }

    /// The shader variant for `tensors`: the one element type of those at `store`
    /// bindings (f32 if none). Panics on a mix, or on a non-f32 tensor at an f32 binding:
    /// both are bugs in the caller's `alloc_as`, and the kernel would misread the bytes.
    fn variant(&self, kernel: &Kernel, tensors: &[TensorId]) -> Precision {
        let mut variant = None;
        for (i, (access, t)) in kernel.bindings.iter().zip(tensors).enumerate() {
            let elem = self.tensors.get(*t).elem;
            if access.always_f32() {
                assert!(
                    elem == Precision::F32,
                    "{}: binding {} needs an f32 tensor (Storage::F32), got {elem}",
                    kernel.entry,
                    i + 1
                );
            } else if variant.replace(elem).is_some_and(|v| v != elem) {
                panic!("{}: tensors of different precisions at its data bindings", kernel.entry);
            }
        }
        variant.unwrap_or(Precision::F32)
    }

    /// Submits everything recorded (no wait).
    pub fn submit(&mut self) {
        self.submit_with(None, None);
    }

    /// Submits everything recorded and reads `t` back, waiting for the device: the one
    /// place a lost device shows.
    pub fn read(&mut self, t: TensorId) -> Result<Vec<f32>, DeviceLost> {
        let Some((t, n)) = self.submit_with(Some(t), None) else { return Ok(Vec::new()) };
        let (len, elem) = (self.len(t), self.tensors.get(t).elem);
        let staging = self.readback.buffer(&self.ctx.device, n).clone();
        let mapped = map_read(&self.ctx, &staging, 0..n)?;
        let data = elem.decode(&mapped, len);
        drop(mapped);
        staging.unmap();
        Ok(data)
    }

    /// Submits everything recorded with timestamps written at the start and the end of
    /// its compute pass (queries 0 and 1 of `queries`). False when nothing was recorded,
    /// so no timestamp was written.
    pub fn submit_timestamped(&mut self, queries: &wgpu::QuerySet) -> bool {
        let recorded = !self.pending.is_empty();
        self.submit_with(None, Some(queries));
        recorded
    }

    /// Submits the recorded work, with `read` (or its f32 master) copied into the
    /// readback buffer after it: returns that tensor and the bytes copied, None when
    /// there is nothing to read (no `read`, or an empty tensor).
    fn submit_with(
        &mut self,
        read: Option<TensorId>,
        queries: Option<&wgpu::QuerySet>,
    ) -> Option<(TensorId, u64)> {
        if self.pending.is_empty() && read.is_none() {
            return None;
        }
        let device = self.ctx.device.clone();
        self.arena.reserve(&device);
        if self.arena.generation != self.bind_groups_generation {
            self.bind_groups.clear();
            self.bind_groups_generation = self.arena.generation;
        }
        let work: Vec<(wgpu::ComputePipeline, wgpu::BindGroup, u32, [u32; 3])> =
            std::mem::take(&mut self.pending)
                .into_iter()
                .map(|d| {
                    let pipeline = self.ctx.pipelines.lock().expect("pipeline cache").pipeline(
                        &device,
                        d.kernel,
                        d.precision,
                    );
                    let bind_group = self.bind_group((d.kernel.bindings, d.tensors, d.windows));
                    (pipeline, bind_group, d.params_offset, d.groups)
                })
                .collect();
        self.arena.upload(&self.ctx.queue);
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        if !work.is_empty() {
            let timestamp_writes = queries.map(|query_set| wgpu::ComputePassTimestampWrites {
                query_set,
                beginning_of_pass_write_index: Some(0),
                end_of_pass_write_index: Some(1),
            });
            let mut pass =
                encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes });
            for (pipeline, bind_group, offset, [x, y, z]) in &work {
                pass.set_pipeline(pipeline);
                pass.set_bind_group(0, bind_group, &[*offset]);
                pass.dispatch_workgroups(*x, *y, *z);
            }
        }
        // a parameter's master holds it in full precision
        let read = read.map(|t| self.tensors.get(t).master.unwrap_or(t));
        let copied = read
            .filter(|t| self.len(*t) > 0)
            .map(|t| (t, self.tensors.get(t).elem.buffer_bytes(self.len(t))));
        if let Some((t, n)) = copied {
            let staging = self.readback.buffer(&device, n);
            encoder.copy_buffer_to_buffer(&self.tensors.get(t).buffer, 0, staging, 0, n);
        }
        self.ctx.queue.submit([encoder.finish()]);
        self.submissions += 1;
        copied
    }

    fn bind_group(&mut self, key: BindGroupKey) -> wgpu::BindGroup {
        if let Some(bg) = self.bind_groups.get(&key) {
            return bg.clone();
        }
        let layout = self.ctx.pipelines.lock().expect("pipeline cache").layout(&self.ctx.device, key.0);
        let params = wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: self.arena.buffer(),
                offset: 0,
                size: wgpu::BufferSize::new(PARAMS_BYTES),
            }),
        };
        let storage = key.1.iter().zip(&key.2).enumerate().map(|(i, (t, window))| {
            let buffer = &self.tensors.get(*t).buffer;
            wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource: match *window {
                    None => buffer.as_entire_binding(),
                    Some((offset, size)) => wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer,
                        offset,
                        size: wgpu::BufferSize::new(size),
                    }),
                },
            }
        });
        let entries: Vec<_> = std::iter::once(params).chain(storage).collect();
        let bg = self.ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &layout,
            entries: &entries,
        });
        self.bind_groups.insert(key, bg.clone());
        self.bind_groups_created += 1;
        bg
    }
}

/// How long a readback may wait for its mapping on a device that is not lost: far beyond
/// any dispatch (lavapipe's slowest, the LSTM at length 3197, take seconds).
const MAP_PATIENCE: std::time::Duration = std::time::Duration::from_secs(600);

/// Maps `range` of a MAP_READ buffer whose copy was submitted, waiting for the device:
/// an error if the device is lost before (or while) the mapping completes. The caller
/// unmaps after dropping the view.
pub fn map_read(
    ctx: &GpuContext,
    buffer: &wgpu::Buffer,
    range: std::ops::Range<u64>,
) -> Result<wgpu::BufferView, DeviceLost> {
    let done = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&done);
    buffer.map_async(wgpu::MapMode::Read, range.clone(), move |r| {
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
    });
    // A wait can end before the mapping's callback has run: when threads share a device
    // (tests do), the callback runs inside whichever thread's poll gets to it first, and
    // may still be running in another thread. Wait again until it has.
    let started = std::time::Instant::now();
    let result = loop {
        ctx.wait()?;
        if let Some(result) = done.lock().unwrap_or_else(|e| e.into_inner()).take() {
            break result;
        }
        assert!(started.elapsed() < MAP_PATIENCE, "a readback buffer was not mapped within {MAP_PATIENCE:?}");
        std::thread::yield_now();
    };
    match result {
        Ok(()) => Ok(buffer.get_mapped_range(range).expect("a range just mapped")),
        // a mapping fails only on a lost device whose callback has not run yet, or on a
        // bug (a range outside the buffer, a buffer already mapped)
        Err(failed) => {
            ctx.wait()?;
            Err(ctx.lost().unwrap_or_else(|| panic!("mapping a readback buffer failed: {failed:?}")))
        }
    }
}

/// Workgroups for `n` independent items, `wg` per workgroup, spread over x and y when
/// there are more than 65535 groups. Shaders recover the item index with `flat_id`.
pub fn groups_1d(n: usize, wg: u32) -> [u32; 3] {
    let groups = n.div_ceil(wg as usize) as u32;
    if groups <= MAX_GROUPS_PER_DIM {
        [groups, 1, 1]
    } else {
        [MAX_GROUPS_PER_DIM, groups.div_ceil(MAX_GROUPS_PER_DIM), 1]
    }
}

/// Shape numbers as the u32 the WGSL params hold.
pub fn u(n: usize) -> u32 {
    u32::try_from(n).expect("shape dimension above 2^32")
}
