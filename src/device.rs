//! `--device auto|gpu|cpu`: which backend runs the ops.

use anyhow::Result;
use clap::ValueEnum;

use crate::backend::Backend;
use crate::cpu::CpuBackend;
use crate::gpu::{list_adapters, GpuBackend};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum DeviceChoice {
    /// A hardware GPU when there is one, else the CPU backend.
    #[default]
    Auto,
    /// The WGSL kernels on the best adapter wgpu finds (software Vulkan when no GPU).
    Gpu,
    /// The plain-Rust reference backend, on all cores.
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
    Ok(match choice {
        DeviceChoice::Cpu => Box::new(CpuBackend::new()),
        DeviceChoice::Gpu => Box::new(GpuBackend::new()?),
        DeviceChoice::Auto => {
            match hardware_gpu() {
                Some(a) => {
                    eprintln!("--device auto: using the GPU {} ({})", a.name, a.backend);
                    Box::new(GpuBackend::new()?)
                }
                None => {
                    // Measured: llvmpipe runs these kernels 10-100x slower than the CPU backend.
                    eprintln!(
                        "--device auto: no hardware GPU found (software Vulkan, if any, is slower than the \
                         CPU backend); using the CPU backend. --device gpu forces the WGSL kernels."
                    );
                    Box::new(CpuBackend::new())
                }
            }
        }
    })
}
