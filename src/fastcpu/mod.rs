//! The fast CPU backend (`--device cpu`): f32 only, free to block, pack, fuse and run on
//! all cores. The products of conv1d, dense and the LSTM run as cache-blocked GEMMs
//! (`gemm`, the `gemm` crate) split over the batch with `rayon`, except the LSTM's
//! per-step products, small and with weights fixed for a sequence, which run on a
//! micro-kernel of their own (`step_product`); every other op is the reference function
//! of `cpu/`. `tests/cpu_fast_ops.rs` checks it op by op against the
//! reference backend `cpu::CpuBackend`, as `tests/gpu_ops.rs` checks the GPU.

pub mod gemm;

mod conv1d;
mod dense;
mod fast_backend;
mod gate_math;
mod lstm;
mod reduce;
mod step_product;

pub use fast_backend::FastCpuBackend;
