//! The CPU reference backend: plain Rust, one file per layer, forward and backward
//! beside each other, generic over the scalar type (f32 to train, f64 to check).

pub mod activation;
pub mod adam;
pub mod batchnorm;
pub mod check;
pub mod conv1d;
pub mod dense;
pub mod dropout;
pub mod global_avg_pool;
pub mod loss;
pub mod lstm;
pub mod maxpool;
pub mod real;
pub mod reduce;

mod cpu_backend;
pub use cpu_backend::CpuBackend;
