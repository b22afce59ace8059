//! Adapter choice and device creation.
//!
//! One `GpuContext` per process is enough: it is cheap to clone (wgpu handles are
//! reference counted) and several `GpuBackend`s (e.g. parallel tests) may share it, and
//! with it the compiled pipelines.

use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, Context as _, Result};

use super::pipelines::PipelineCache;
use crate::backend::DeviceLost;

/// What a user with no adapter should do.
pub const NO_ADAPTER_HELP: &str = "No Vulkan/Metal/DX12 adapter found. On Debian/Ubuntu install the software Vulkan driver: apt-get install mesa-vulkan-drivers libvulkan1 (or use --device cpu)";

/// An opened device with what the kernels need to know about it.
#[derive(Clone)]
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    pub features: wgpu::Features,
    pub(super) pipelines: Arc<Mutex<PipelineCache>>,
    /// Set by the device's lost callback (which wgpu calls from inside a poll).
    lost: Arc<Mutex<Option<DeviceLost>>>,
}

/// How long one poll blocks before the lost flag is looked at again: short enough that a
/// loss is reported within a second, long enough not to spin.
const POLL_SLICE: Duration = Duration::from_millis(200);

impl GpuContext {
    /// Opens the best adapter (see `pick_adapter`) with its own limits.
    pub fn new() -> Result<Self> {
        pollster::block_on(Self::open())
    }

    async fn open() -> Result<Self> {
        let instance = new_instance();
        let adapter = pick_adapter(&instance).await?;
        // The adapter's own limits: wgpu's defaults (8 storage buffers, 16 KiB workgroup
        // memory, 128 MiB bindings) are lower than what most devices offer.
        let limits = adapter.limits();
        let wanted = wgpu::Features::SHADER_F16 | wgpu::Features::TIMESTAMP_QUERY;
        let features = adapter.features() & wanted;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("starskope"),
                required_features: features,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .with_context(|| format!("opening device on adapter {}", adapter.get_info().name))?;
        let lost = Arc::new(Mutex::new(None));
        let flag = Arc::clone(&lost);
        device.set_device_lost_callback(move |reason, message| {
            let reason = match reason {
                wgpu::DeviceLostReason::Destroyed => "destroyed",
                wgpu::DeviceLostReason::Unknown => "driver error or GPU reset",
            };
            let message = if message.is_empty() { "the driver gave no detail".to_string() } else { message };
            *flag.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(DeviceLost { reason: reason.into(), message });
        });
        let pipelines = Arc::new(Mutex::new(PipelineCache::new(&limits)));
        Ok(GpuContext { device, queue, info: adapter.get_info(), limits, features, pipelines, lost })
    }

    /// Why the device was lost, once its lost callback has run.
    pub fn lost(&self) -> Option<DeviceLost> {
        self.lost.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Blocks until everything submitted has run and its callbacks (buffer mappings) have
    /// fired, or fails once the device is lost. Waits in slices so that a loss that leaves
    /// the queue stuck is still seen. wgpu panics from `poll` on a lost device (after its
    /// lost callback ran): that panic becomes the loss's error, any other is re-raised.
    pub fn wait(&self) -> Result<(), DeviceLost> {
        loop {
            if let Some(lost) = self.lost() {
                return Err(lost);
            }
            let poll = wgpu::PollType::Wait { submission_index: None, timeout: Some(POLL_SLICE) };
            match panic::catch_unwind(AssertUnwindSafe(|| self.device.poll(poll))) {
                Ok(Ok(_)) => return self.lost().map_or(Ok(()), Err),
                Ok(Err(wgpu::PollError::Timeout)) => continue,
                Ok(Err(e)) => panic!("waiting for the GPU: {e}"),
                Err(payload) => return Err(self.lost().unwrap_or_else(|| panic::resume_unwind(payload))),
            }
        }
    }

    /// Fails if the device is lost, without waiting for it: a non-blocking poll first,
    /// since wgpu runs the lost callback (after `destroy`, or a driver's report) only
    /// inside a poll.
    pub fn check(&self) -> Result<(), DeviceLost> {
        if self.lost().is_none() {
            // a poll on a lost device may panic after running the callback (see `wait`)
            let polled = panic::catch_unwind(AssertUnwindSafe(|| self.device.poll(wgpu::PollType::Poll)));
            if let (Err(payload), None) = (polled, self.lost()) {
                panic::resume_unwind(payload);
            }
        }
        self.lost().map_or(Ok(()), Err)
    }

    /// e.g. "llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan)".
    pub fn name(&self) -> String {
        format!("{} ({:?})", self.info.name, self.info.backend)
    }
}

/// Mesa's device-select Vulkan layer prints `error: XDG_RUNTIME_DIR is invalid or not set`
/// twice on a machine without a display session: not an error of ours, but it is the first
/// thing a newcomer would read. wgpu enumerates every adapter itself, so the layer does
/// nothing for us; a user who picks a GPU through it (`MESA_VK_DEVICE_SELECT`) keeps it.
/// Setting the environment is only sound before other threads exist: call this first
/// thing in `main`.
pub fn silence_device_select_layer() {
    if std::env::var_os("MESA_VK_DEVICE_SELECT").is_none() && std::env::var_os("NODEVICE_SELECT").is_none() {
        std::env::set_var("NODEVICE_SELECT", "1");
    }
}

/// Vulkan, Metal and DX12 only: with GL allowed, a machine with no Vulkan driver silently
/// lands on a GL software rasterizer without subgroups or f16. `WGPU_BACKEND` overrides.
fn new_instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle().with_env();
    desc.backends = (wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12).with_env();
    wgpu::Instance::new(desc)
}

/// Lower is better: real GPUs before software ones.
fn type_rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu | wgpu::DeviceType::Other => 2,
        wgpu::DeviceType::Cpu => 3,
    }
}

/// `WGPU_ADAPTER_NAME` (a case-insensitive substring) wins; otherwise the best device type.
async fn pick_adapter(instance: &wgpu::Instance) -> Result<wgpu::Adapter> {
    let adapters = instance.enumerate_adapters(wgpu::Backends::all()).await;
    if adapters.is_empty() {
        return Err(anyhow!(NO_ADAPTER_HELP));
    }
    let wanted = std::env::var("WGPU_ADAPTER_NAME").ok().map(|s| s.to_lowercase());
    let names: Vec<String> = adapters.iter().map(|a| a.get_info().name).collect();
    let candidates = adapters.into_iter().filter(|a| match &wanted {
        Some(w) => a.get_info().name.to_lowercase().contains(w),
        None => true,
    });
    candidates.min_by_key(|a| type_rank(a.get_info().device_type)).ok_or_else(|| {
        anyhow!(
            "WGPU_ADAPTER_NAME={:?} matches none of the adapters found: {}",
            wanted.unwrap_or_default(),
            names.join(", ")
        )
    })
}

/// One line of `starskope devices`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterInfoRow {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub max_storage_buffer_binding_size: u64,
    pub max_buffer_size: u64,
    pub max_compute_workgroup_storage_size: u32,
    pub max_compute_invocations_per_workgroup: u32,
    pub max_storage_buffers_per_shader_stage: u32,
    pub f16: bool,
    pub subgroup: bool,
    pub timestamp: bool,
}

impl fmt::Display for AdapterInfoRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mib = |b: u64| b / (1024 * 1024);
        let yes = |b: bool| if b { "yes" } else { "no" };
        write!(
            f,
            "{} | {} | {} | driver {} | storage binding {} MiB, buffer {} MiB, \
             workgroup memory {} KiB, {} invocations/workgroup, {} storage buffers/stage | \
             f16 {}, subgroup {}, timestamp {}",
            self.name,
            self.backend,
            self.device_type,
            self.driver,
            mib(self.max_storage_buffer_binding_size),
            mib(self.max_buffer_size),
            self.max_compute_workgroup_storage_size / 1024,
            self.max_compute_invocations_per_workgroup,
            self.max_storage_buffers_per_shader_stage,
            yes(self.f16),
            yes(self.subgroup),
            yes(self.timestamp)
        )
    }
}

/// Every adapter the instance sees (same backend choice as `GpuContext::new`).
pub fn list_adapters() -> Vec<AdapterInfoRow> {
    let instance = new_instance();
    let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    adapters
        .iter()
        .map(|a| {
            let info = a.get_info();
            let limits = a.limits();
            let features = a.features();
            AdapterInfoRow {
                name: info.name,
                backend: format!("{:?}", info.backend),
                device_type: format!("{:?}", info.device_type),
                driver: format!("{} {}", info.driver, info.driver_info).trim().to_string(),
                max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
                max_buffer_size: limits.max_buffer_size,
                max_compute_workgroup_storage_size: limits.max_compute_workgroup_storage_size,
                max_compute_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
                max_storage_buffers_per_shader_stage: limits.max_storage_buffers_per_shader_stage,
                f16: features.contains(wgpu::Features::SHADER_F16),
                subgroup: features.contains(wgpu::Features::SUBGROUP),
                timestamp: features.contains(wgpu::Features::TIMESTAMP_QUERY),
            }
        })
        .collect()
}
