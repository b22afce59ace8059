//! The per-submission parameter arena.
//!
//! Every dispatch's small parameter block (shapes, the Adam step, the dropout key...)
//! is appended to one host-side byte vector at an aligned slot; on submit the whole
//! vector goes to one uniform buffer with a single `write_buffer`, and each dispatch
//! binds it with its own dynamic offset. In steady state (the same step over and over)
//! no buffer and no bind group is created.

/// Size of the uniform binding every kernel sees; each WGSL `Params` struct fits in it.
pub const PARAMS_BYTES: u64 = 64;

pub struct ParamsArena {
    /// The device's min_uniform_buffer_offset_alignment, at least PARAMS_BYTES.
    slot: u64,
    staged: Vec<u8>,
    buffer: wgpu::Buffer,
    /// Bumped whenever `buffer` is replaced, so cached bind groups that name it expire.
    pub generation: u64,
}

impl ParamsArena {
    pub fn new(device: &wgpu::Device, limits: &wgpu::Limits) -> Self {
        let slot = (limits.min_uniform_buffer_offset_alignment as u64).max(PARAMS_BYTES);
        ParamsArena { slot, staged: Vec::new(), buffer: create(device, 64 * slot), generation: 0 }
    }

    /// Appends one parameter block; returns its dynamic offset.
    pub fn push<P: bytemuck::Pod>(&mut self, params: &P) -> u32 {
        let bytes = bytemuck::bytes_of(params);
        assert!(bytes.len() as u64 <= PARAMS_BYTES, "params block larger than PARAMS_BYTES");
        let offset = self.staged.len();
        self.staged.resize(offset + self.slot as usize, 0);
        self.staged[offset..offset + bytes.len()].copy_from_slice(bytes);
        offset as u32
    }

    /// Makes the device buffer large enough for what is staged (doubling, so a step
    /// that grows settles after a few submissions).
    pub fn reserve(&mut self, device: &wgpu::Device) {
        let needed = self.staged.len() as u64;
        if needed > self.buffer.size() {
            self.buffer = create(device, needed.next_power_of_two());
            self.generation += 1;
        }
    }

    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.buffer
    }

    /// One write of every staged block; the arena is then empty for the next submission.
    pub fn upload(&mut self, queue: &wgpu::Queue) {
        if !self.staged.is_empty() {
            queue.write_buffer(&self.buffer, 0, &self.staged);
            self.staged.clear();
        }
    }
}

fn create(device: &wgpu::Device, size: u64) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("params arena"),
        size,
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}
