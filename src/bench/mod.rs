//! `starskope bench` and `cargo bench`: every op of each preset's training step at the
//! shapes the preset uses, timed alone (forward and backward separately) and judged
//! against the device's own measured ceilings, then whole training steps and inference
//! batches per second.
//!
//! The parts: `op` names each backend call and counts its minimum FLOPs and bytes;
//! `profiled` is a backend wrapper that times every call of a real `Network` step;
//! `device` is the clock and ceilings of each backend; `ceilings` measures them;
//! `workload` builds a preset from its plan; `measure` runs it; `report` prints it.

pub mod budget;
pub mod ceilings;
pub mod device;
pub mod measure;
pub mod op;
pub mod profiled;
pub mod report;
pub mod workload;

use std::panic::{self, AssertUnwindSafe};

use anyhow::{anyhow, Result};

pub use budget::Budget;
pub use device::{open, BenchDevice};
pub use report::{BenchReport, PresetReport};
pub use workload::Workload;

use crate::model::presets::PRESETS;

#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Presets to run, in order; empty means all three.
    pub presets: Vec<String>,
    /// Overrides every preset's series length (reported beside the preset's own).
    pub length: Option<usize>,
    pub budget: Budget,
    /// Time each op alone as well as whole steps.
    pub ops: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { presets: Vec::new(), length: None, budget: Budget::FULL, ops: true }
    }
}

/// Runs the bench on `be`. A preset that cannot run on this device (a tensor larger than
/// it can bind) is reported as skipped with the reason, not as a failure of the rest.
pub fn run(be: &mut dyn BenchDevice, opts: &Options) -> Result<BenchReport> {
    let ceilings = be.ceilings(&opts.budget)?;
    let names: Vec<String> = if opts.presets.is_empty() {
        PRESETS.iter().map(|s| s.to_string()).collect()
    } else {
        opts.presets.clone()
    };
    let mut presets = Vec::new();
    for name in &names {
        let workload = Workload::new(name, opts.length)?;
        let measured = catch_panic(|| {
            let throughput = measure::throughput(be, &workload, &opts.budget)?;
            let ops = match opts.ops {
                true => measure::profile_ops(be, &workload, &opts.budget, &ceilings)?,
                false => Vec::new(),
            };
            Ok((throughput, ops))
        });
        presets.push(match measured {
            Ok((throughput, ops)) => {
                PresetReport { workload, ops, throughput: Some(throughput), skipped: None }
            }
            Err(e) => {
                PresetReport { workload, ops: Vec::new(), throughput: None, skipped: Some(format!("{e:#}")) }
            }
        });
    }
    Ok(BenchReport::new(be, ceilings, opts.budget, presets))
}

/// The backends panic on a tensor too large for the device (see `Backend::alloc`); here
/// that ends one preset with the backend's message, quietly, instead of the process.
fn catch_panic<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    let hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    panic::set_hook(hook);
    result.unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".to_string());
        Err(anyhow!("{message}"))
    })
}
