//! Kernel parameter blocks: `params!`, which defines each block once (in Rust, with its
//! WGSL declaration derived from it; the blocks are in `kernel_params`), and the
//! per-submission arena they are uploaded through.
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

/// Defines parameter blocks: for each `Name { field: type, ... }` a `#[repr(C)]` Pod
/// struct `Name` and `Name::layout()`, its members as the WGSL struct `Params` declares
/// them. A field is `u32`, `f32` or `[u32; N]`.
macro_rules! params {
    ($($(#[$meta:meta])* $name:ident { $($(#[$field_meta:meta])* $field:ident: $ty:ty),* $(,)? })*) => {$(
        $(#[$meta])*
        #[repr(C)]
        #[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
        pub struct $name { $($(#[$field_meta])* pub $field: $ty),* }

        impl $name {
            pub fn layout() -> $crate::gpu::params::Layout {
                use $crate::gpu::params::Field as _;
                let members = [$(<$ty>::members(stringify!($field), std::mem::offset_of!($name, $field))),*];
                $crate::gpu::params::Layout {
                    members: members.concat(),
                    size: std::mem::size_of::<$name>(),
                }
            }
        }
    )*};
}
pub(super) use params;

/// A 4-byte scalar of a parameter block.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Word {
    U32,
    F32,
}

/// One WGSL member of a parameter block: its name, byte offset and type.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub name: String,
    pub offset: usize,
    pub word: Word,
}

/// A parameter block as WGSL sees it.
pub struct Layout {
    pub members: Vec<Member>,
    pub size: usize,
}

impl Layout {
    /// The WGSL declaration of the block and its binding, `p` at binding 0.
    pub fn wgsl(&self) -> String {
        assert!(self.size as u64 <= PARAMS_BYTES, "params block larger than PARAMS_BYTES");
        let members: String = self
            .members
            .iter()
            .map(|m| {
                let ty = match m.word {
                    Word::U32 => "u32",
                    Word::F32 => "f32",
                };
                format!("    {}: {ty},\n", m.name)
            })
            .collect();
        format!("struct Params {{\n{members}}}\n@group(0) @binding(0) var<uniform> p: Params;\n")
    }
}

/// A field type of a parameter block.
pub trait Field {
    /// The WGSL members of a field `name` at byte `offset`.
    fn members(name: &str, offset: usize) -> Vec<Member>;
}

impl Field for u32 {
    fn members(name: &str, offset: usize) -> Vec<Member> {
        vec![Member { name: name.to_string(), offset, word: Word::U32 }]
    }
}

impl Field for f32 {
    fn members(name: &str, offset: usize) -> Vec<Member> {
        vec![Member { name: name.to_string(), offset, word: Word::F32 }]
    }
}

impl<const N: usize> Field for [u32; N] {
    fn members(name: &str, offset: usize) -> Vec<Member> {
        (0..N)
            .map(|i| Member { name: format!("{name}{}", i + 1), offset: offset + 4 * i, word: Word::U32 })
            .collect()
    }
}
