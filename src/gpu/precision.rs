//! Storage precision of the GPU backend: f32, or f16 storage with f32 arithmetic.
//!
//! Every shader is compiled once per precision: the prelude declares `alias store = f32;`
//! or `enable f16; alias store = f16;` (and `STORE_BYTES`, its size), data bindings are
//! `array<store>`, every load is converted to f32 and every store rounds once
//! (`store(v)`), and all arithmetic, every accumulator and all workgroup memory stay f32,
//! except the LSTM's on-chip copy of its weights, kept as stored. f16 halves the bytes every kernel moves;
//! its unit roundoff is 2^-11 (4.9e-4) per stored value, and its range ends at 65504.
//!
//! Some tensors stay f32 at every precision (`Storage::F32`, `Storage::Param`'s master):
//! see the shaders' comments on Adam's moments, batch-norm statistics and the loss.

use half::f16;

/// The element type of a tensor, and the variant of a shader compiled for it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Precision {
    #[default]
    F32,
    /// f16 storage with f32 accumulation; needs the adapter feature SHADER_F16.
    F16,
}

impl Precision {
    /// Bytes per element.
    pub fn bytes(self) -> usize {
        match self {
            Precision::F32 => 4,
            Precision::F16 => 2,
        }
    }

    /// What a shader of this variant starts with (an `enable` must come first).
    pub(super) fn prelude(self) -> &'static str {
        match self {
            Precision::F32 => "alias store = f32;\nconst STORE_BYTES: u32 = 4u;\n",
            Precision::F16 => "enable f16;\nalias store = f16;\nconst STORE_BYTES: u32 = 2u;\n",
        }
    }

    /// `data` as this element type, padded with zeros to a multiple of 4 bytes (buffer
    /// sizes and copies must be). f16 rounds to nearest even; beyond 65504 gives inf.
    pub(super) fn encode(self, data: &[f32]) -> Vec<u8> {
        let mut bytes: Vec<u8> = match self {
            Precision::F32 => bytemuck::cast_slice(data).to_vec(),
            Precision::F16 => data.iter().flat_map(|&v| f16::from_f32(v).to_le_bytes()).collect(),
        };
        bytes.resize(bytes.len().next_multiple_of(4), 0);
        bytes
    }

    /// The first `len` elements of `bytes` as f32 (exact: every f16 is an f32).
    pub(super) fn decode(self, bytes: &[u8], len: usize) -> Vec<f32> {
        let used = &bytes[..len * self.bytes()];
        match self {
            Precision::F32 => {
                used.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
            }
            Precision::F16 => {
                used.chunks_exact(2).map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32()).collect()
            }
        }
    }

    /// Bytes of a buffer of `len` elements: never 0 (bindings may not be empty) and a
    /// multiple of 4.
    pub(super) fn buffer_bytes(self, len: usize) -> u64 {
        (len.max(1) * self.bytes()).next_multiple_of(4) as u64
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_round_trip_rounds_once_and_pads() {
        let data = [1.0f32, 1.0 + 1.0 / 4096.0, -3.5, 70000.0, 6e-8];
        let bytes = Precision::F16.encode(&data);
        assert_eq!(bytes.len(), 12, "5 halves padded to 12 bytes");
        let back = Precision::F16.decode(&bytes, data.len());
        // 1 + 2^-12 is a tie between 1 and 1 + 2^-10: to even, 1
        assert_eq!(back[..3], [1.0, 1.0, -3.5]);
        assert_eq!(back[3], f32::INFINITY);
        assert!((back[4] - 5.96e-8).abs() < 1e-10, "the smallest subnormal, {}", back[4]);
        let exact = [0.1f32, -7.25, f32::NAN];
        let back = Precision::F32.decode(&Precision::F32.encode(&exact), 3);
        assert_eq!(back[..2], exact[..2]);
        assert!(back[2].is_nan());
    }
}
