//! The CPU reference backend: plain Rust, one file per layer, forward and backward
//! beside each other, generic over the scalar type (f32 to train, f64 to check).

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
pub mod reduce;

mod cpu_backend;
pub use cpu_backend::CpuBackend;
