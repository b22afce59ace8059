//! Records dispatches and submits them as one command buffer.
//!
//! An op appends a `Dispatch` (kernel, tensors, params offset, workgroup count); `submit`
//! writes the params arena once, encodes every dispatch into one compute pass (wgpu
//! inserts the barriers between dependent dispatches) and submits. Pipelines and bind
//! groups are cached, so a repeated training step creates no GPU object.

use std::collections::HashMap;

use anyhow::Result;

use super::device::GpuContext;
use super::params::{ParamsArena, PARAMS_BYTES};
use super::pipelines::{Access, Kernel};
use super::tensors::{Readback, TensorStore};
use crate::backend::TensorId;

/// The most workgroups a dispatch may have along one dimension on every device.
const MAX_GROUPS_PER_DIM: u32 = 65535;

struct Dispatch {
    kernel: &'static Kernel,
    tensors: Vec<TensorId>,
    params_offset: u32,
    groups: [u32; 3],
}

type BindGroupKey = (&'static [Access], Vec<TensorId>);

pub struct Recorder {
    pub ctx: GpuContext,
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
    scratch: HashMap<(&'static str, usize), TensorId>,
}

impl Recorder {
    pub fn new(ctx: GpuContext) -> Self {
        let arena = ParamsArena::new(&ctx.device, &ctx.limits);
        Recorder {
            ctx,
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

    pub fn alloc(&mut self, len: usize) -> Result<TensorId> {
        self.tensors.alloc(&self.ctx.device, &self.ctx.limits, len)
    }

    pub fn len(&self, t: TensorId) -> usize {
        self.tensors.get(t).len
    }

    /// A tensor owned by the backend for one purpose and size; its contents are whatever
    /// the last user left.
    pub fn scratch(&mut self, purpose: &'static str, len: usize) -> TensorId {
        if let Some(t) = self.scratch.get(&(purpose, len)) {
            return *t;
        }
        let t = self.alloc(len).unwrap_or_else(|e| panic!("GPU scratch tensor for {purpose}: {e:#}"));
        self.scratch.insert((purpose, len), t);
        t
    }

    pub fn upload(&mut self, t: TensorId, data: &[f32]) {
        let len = self.len(t);
        assert_eq!(data.len(), len, "upload of {} values into a tensor of {len}", data.len());
        // write_buffer lands before the next submission: recorded ops that read the old
        // contents must be submitted first.
        self.submit(None);
        if !data.is_empty() {
            self.ctx.queue.write_buffer(&self.tensors.get(t).buffer, 0, bytemuck::cast_slice(data));
        }
    }

    /// Records one dispatch. `params` is the kernel's WGSL `Params` struct.
    pub fn dispatch<P: bytemuck::Pod>(
        &mut self,
        kernel: &'static Kernel,
        params: &P,
        tensors: &[TensorId],
        groups: [u32; 3],
    ) {
        assert_eq!(tensors.len(), kernel.bindings.len(), "{}: wrong number of tensors", kernel.entry);
        if groups.contains(&0) {
            return;
        }
        let params_offset = self.arena.push(params);
        self.pending.push(Dispatch { kernel, tensors: tensors.to_vec(), params_offset, groups });
    }

    /// Submits everything recorded, then, if asked, reads one tensor back (blocking).
    pub fn submit(&mut self, read: Option<TensorId>) -> Option<Vec<f32>> {
        self.submit_with(read, None)
    }

    /// Submits everything recorded with timestamps written at the start and the end of
    /// its compute pass (queries 0 and 1 of `queries`). False when nothing was recorded,
    /// so no timestamp was written.
    pub fn submit_timestamped(&mut self, queries: &wgpu::QuerySet) -> bool {
        let recorded = !self.pending.is_empty();
        self.submit_with(None, Some(queries));
        recorded
    }

    fn submit_with(&mut self, read: Option<TensorId>, queries: Option<&wgpu::QuerySet>) -> Option<Vec<f32>> {
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
                    let pipeline =
                        self.ctx.pipelines.lock().expect("pipeline cache").pipeline(&device, d.kernel);
                    let bind_group = self.bind_group(d.kernel.bindings, d.tensors);
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
        let bytes = read.map(|t| (t, (self.len(t) * 4) as u64));
        if let Some((t, n)) = bytes.filter(|(_, n)| *n > 0) {
            let staging = self.readback.buffer(&device, n);
            encoder.copy_buffer_to_buffer(&self.tensors.get(t).buffer, 0, staging, 0, n);
        }
        self.ctx.queue.submit([encoder.finish()]);
        self.submissions += 1;
        let (_, n) = bytes?;
        if n == 0 {
            return Some(Vec::new());
        }
        let staging = self.readback.buffer(&device, n).clone();
        staging.map_async(wgpu::MapMode::Read, 0..n, |r| r.expect("mapping the readback buffer"));
        device.poll(wgpu::PollType::wait_indefinitely()).expect("waiting for the GPU");
        let data = {
            let view = staging.get_mapped_range(0..n).expect("mapped readback range");
            bytemuck::cast_slice::<u8, f32>(&view).to_vec()
        };
        staging.unmap();
        Some(data)
    }

    fn bind_group(&mut self, bindings: &'static [Access], tensors: Vec<TensorId>) -> wgpu::BindGroup {
        let key = (bindings, tensors);
        if let Some(bg) = self.bind_groups.get(&key) {
            return bg.clone();
        }
        let layout = self.ctx.pipelines.lock().expect("pipeline cache").layout(&self.ctx.device, bindings);
        let params = wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: self.arena.buffer(),
                offset: 0,
                size: wgpu::BufferSize::new(PARAMS_BYTES),
            }),
        };
        let storage = key.1.iter().enumerate().map(|(i, t)| wgpu::BindGroupEntry {
            binding: i as u32 + 1,
            resource: self.tensors.get(*t).buffer.as_entire_binding(),
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
