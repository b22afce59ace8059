//! What the bench needs from a backend beyond the ops: a clock for recorded work, a way
//! to wait for the device, and the device's own ceilings.

use std::time::Instant;

use anyhow::Result;

use crate::backend::Backend;
use crate::bench::ceilings::{self, Ceilings};
use crate::bench::Budget;
use crate::device::DeviceChoice;
use crate::fastcpu::FastCpuBackend;
use crate::gpu::{GpuBackend, Precision};

pub trait BenchDevice: Backend {
    /// This device as a plain backend (what `Network` runs on).
    fn as_backend(&mut self) -> &mut dyn Backend;

    /// Seconds the device spent on the ops `record` issues, with all earlier work done
    /// before the clock starts: wall clock on the CPU (its ops run when called), GPU
    /// timestamps around one compute pass (or a synchronized wall clock without them).
    fn time_ops(&mut self, record: &mut dyn FnMut(&mut dyn Backend)) -> f64;

    /// Blocks until every op issued so far has run; fails if the device was lost (then
    /// `time_ops` had returned NaN).
    fn sync(&mut self) -> Result<()>;

    /// How `time_ops` measures, for the report.
    fn clock(&self) -> &'static str;

    /// Memory bandwidth and arithmetic throughput this device reaches at best.
    fn ceilings(&mut self, budget: &Budget) -> Result<Ceilings>;
}

impl BenchDevice for FastCpuBackend {
    fn as_backend(&mut self) -> &mut dyn Backend {
        self
    }

    fn time_ops(&mut self, record: &mut dyn FnMut(&mut dyn Backend)) -> f64 {
        let start = Instant::now();
        record(self);
        start.elapsed().as_secs_f64()
    }

    fn sync(&mut self) -> Result<()> {
        Ok(())
    }

    fn clock(&self) -> &'static str {
        "wall clock"
    }

    fn ceilings(&mut self, budget: &Budget) -> Result<Ceilings> {
        Ok(ceilings::cpu(budget))
    }
}

impl BenchDevice for GpuBackend {
    fn as_backend(&mut self) -> &mut dyn Backend {
        self
    }

    fn time_ops(&mut self, record: &mut dyn FnMut(&mut dyn Backend)) -> f64 {
        self.time_recorded(|be| record(be)).map_or(f64::NAN, |d| d.as_secs_f64())
    }

    fn sync(&mut self) -> Result<()> {
        Ok(self.wait_idle()?)
    }

    fn clock(&self) -> &'static str {
        if self.has_timestamps() {
            "GPU timestamps"
        } else {
            "synchronized wall clock"
        }
    }

    fn ceilings(&mut self, budget: &Budget) -> Result<Ceilings> {
        ceilings::gpu(self, budget)
    }
}

/// The backend `--device` names, as a bench device, the GPU storing data at `precision`.
/// `auto` chooses as `device::open` does: a hardware GPU when there is one, else the CPU
/// backend.
pub fn open(choice: DeviceChoice, precision: Precision) -> Result<Box<dyn BenchDevice>> {
    crate::device::check_precision(choice, precision)?;
    Ok(if crate::device::uses_gpu(choice) {
        Box::new(GpuBackend::with_precision(precision)?)
    } else {
        Box::new(FastCpuBackend::new())
    })
}
