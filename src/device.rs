//! `--device auto|gpu|cpu`: which backend runs the ops.

use anyhow::{bail, Result};
use clap::ValueEnum;

use crate::backend::Backend;
use crate::fastcpu::FastCpuBackend;
use crate::gpu::{list_adapters, GpuBackend, Precision};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum DeviceChoice {
    /// A hardware GPU when there is one, else the CPU backend.
    #[default]
    Auto,
    /// The WGSL kernels on the best adapter wgpu finds (software Vulkan when no GPU).
    Gpu,
    /// The fast CPU backend (blocked products on all cores; checked against the reference).
    Cpu,
}

/// Whether `choice` runs the WGSL kernels: auto does when wgpu sees a hardware GPU.
pub fn uses_gpu(choice: DeviceChoice) -> bool {
    match choice {
        DeviceChoice::Cpu => false,
        DeviceChoice::Gpu => true,
        DeviceChoice::Auto => hardware_gpu().is_some(),
    }
}

fn hardware_gpu() -> Option<crate::gpu::AdapterInfoRow> {
    list_adapters().into_iter().find(|a| a.device_type != "Cpu")
}

pub fn open(choice: DeviceChoice) -> Result<Box<dyn Backend>> {
    open_at(choice, Precision::F32)
}

/// `open` with the GPU backend storing data at `precision` (`--precision`).
pub fn open_at(choice: DeviceChoice, precision: Precision) -> Result<Box<dyn Backend>> {
    check_precision(choice, precision)?;
    Ok(match choice {
        DeviceChoice::Cpu => Box::new(FastCpuBackend::new()),
        DeviceChoice::Gpu => Box::new(GpuBackend::with_precision(precision)?),
        DeviceChoice::Auto => {
            match hardware_gpu() {
                Some(a) => {
                    eprintln!("--device auto: using the GPU {} ({})", a.name, a.backend);
                    Box::new(GpuBackend::with_precision(precision)?)
                }
                None => {
                    // Measured: llvmpipe runs these kernels 10-100x slower than the CPU backend.
                    eprintln!(
                        "--device auto: no hardware GPU found (software Vulkan, if any, is slower than the \
                         CPU backend); using the CPU backend. --device gpu forces the WGSL kernels."
                    );
                    Box::new(FastCpuBackend::new())
                }
            }
        }
    })
}

/// f16 storage is a GPU backend mode: the CPU backend computes and stores in f32.
pub fn check_precision(choice: DeviceChoice, precision: Precision) -> Result<()> {
    if precision != Precision::F32 && !uses_gpu(choice) {
        bail!(
            "--precision {precision} needs the GPU backend, and --device {} runs the CPU backend (always f32): \
             use --device gpu, or --precision f32",
            choice.to_possible_value().map_or("cpu".into(), |v| v.get_name().to_string())
        );
    }
    Ok(())
}
