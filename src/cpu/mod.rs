//! The CPU reference backend: plain Rust, one file per layer, forward and backward
//! beside each other, generic over the scalar type (f32 to train, f64 to check). It is the
//! specification the fast CPU backend (`fastcpu/`) and the GPU backend are checked against;
//! conv1d, dense and the LSTM are written as their definitions, loops to read beside the
//! WGSL, not for speed.

pub mod activation;
pub mod adam;
pub mod batchnorm;
pub mod check;
pub mod conv1d;
pub mod dense;
pub mod dropout;
pub mod heads;
pub mod lstm;
pub mod pool;
pub mod real;

mod cpu_backend;
pub use cpu_backend::CpuBackend;
