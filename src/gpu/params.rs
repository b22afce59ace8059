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

/// A test that the module's `Params` block mirrors the WGSL struct `Params` of `shader`
/// as naga lays it out: the same size, and each field listed at the offset and with the
/// scalar type of the WGSL member of its name (an array field `off: [u32; 3]` mirrors the
/// members off1, off2, off3). List every field: a WGSL member left without its Rust twin
/// fails.
macro_rules! mirror_test {
    ($shader:expr, $params:ident { $($field:ident),* $(,)? }) => {
        #[cfg(test)]
        #[test]
        fn params_mirror_the_shader() {
            use $crate::gpu::params::Words as _;
            let p = <$params as bytemuck::Zeroable>::zeroed();
            let fields = [$((stringify!($field), std::mem::offset_of!($params, $field), p.$field.words())),*];
            $crate::gpu::params::check_mirror($shader, std::mem::size_of::<$params>(), &fields);
        }
    };
}
pub(super) use mirror_test;

/// A 4-byte scalar of a parameter block.
#[cfg(test)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Word {
    U32,
    F32,
}

/// One word of a field: its index within an array field (None: a scalar field), its type.
#[cfg(test)]
pub(super) type FieldWord = (Option<usize>, Word);

/// The words of one field.
#[cfg(test)]
pub(super) trait Words {
    fn words(&self) -> Vec<FieldWord>;
}

#[cfg(test)]
impl Words for u32 {
    fn words(&self) -> Vec<FieldWord> {
        vec![(None, Word::U32)]
    }
}

#[cfg(test)]
impl Words for f32 {
    fn words(&self) -> Vec<FieldWord> {
        vec![(None, Word::F32)]
    }
}

#[cfg(test)]
impl<const N: usize> Words for [u32; N] {
    fn words(&self) -> Vec<FieldWord> {
        (0..N).map(|i| (Some(i), Word::U32)).collect()
    }
}

/// See `assert_mirrors_wgsl`: `fields` are the Rust struct's (name, offset, words).
#[cfg(test)]
pub(super) fn check_mirror(
    shader: super::pipelines::Shader,
    size: usize,
    fields: &[(&str, usize, Vec<FieldWord>)],
) {
    use wgpu::naga;
    let source = shader.wgsl(super::precision::Precision::F32);
    let module = naga::front::wgsl::parse_str(&source)
        .unwrap_or_else(|e| panic!("{shader:?}: {}", e.emit_to_string(&source)));
    let (members, span) = module
        .types
        .iter()
        .find_map(|(_, t)| match (&t.name, &t.inner) {
            (Some(name), naga::TypeInner::Struct { members, span }) if name == "Params" => {
                Some((members.clone(), *span))
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("{shader:?}: no struct Params"));
    let wgsl: Vec<(String, usize, Word)> = members
        .iter()
        .map(|m| {
            let word = match module.types[m.ty].inner {
                naga::TypeInner::Scalar(naga::Scalar::U32) => Word::U32,
                naga::TypeInner::Scalar(naga::Scalar::F32) => Word::F32,
                ref other => panic!("{shader:?}: Params member {:?} is {other:?}, not u32 or f32", m.name),
            };
            (m.name.clone().unwrap_or_default(), m.offset as usize, word)
        })
        .collect();
    let rust: Vec<(String, usize, Word)> = fields
        .iter()
        .flat_map(|(name, offset, words)| {
            words.iter().map(move |&(index, word)| match index {
                Some(i) => (format!("{name}{}", i + 1), offset + 4 * i, word),
                None => (name.to_string(), *offset, word),
            })
        })
        .collect();
    assert_eq!(rust, wgsl, "{shader:?}: the Rust Params (left) against the WGSL struct (right)");
    assert_eq!(size, span as usize, "{shader:?}: Params size");
}
