//! `cargo bench`: the measurements of `starskope bench` (src/bench) on the CPU backend
//! and on the best GPU adapter (lavapipe on a machine without a GPU), with the quick
//! budget so that both finish in minutes on a 2-core machine. For the full budget, JSON
//! or other shapes, use `starskope bench`.
//!
//! Run with `cargo bench --bench kernels`; `-- --cpu` or `-- --gpu` runs one device only.

use std::process::ExitCode;

use starskope::bench::{self, Budget, Options};
use starskope::device::DeviceChoice;
use starskope::gpu::Precision;

fn main() -> ExitCode {
    // cargo passes `--bench` (and any filter) to a harness-less bench: only our flags count
    let args: Vec<String> = std::env::args().skip(1).collect();
    let only = |flag: &str| args.iter().any(|a| a == flag);
    let devices: Vec<DeviceChoice> = match (only("--cpu"), only("--gpu")) {
        (true, false) => vec![DeviceChoice::Cpu],
        (false, true) => vec![DeviceChoice::Gpu],
        _ => vec![DeviceChoice::Cpu, DeviceChoice::Gpu],
    };
    let opts = Options { budget: Budget::QUICK, ..Options::default() };
    let mut failed = false;
    for choice in devices {
        let result = bench::open(choice, Precision::F32).and_then(|mut be| bench::run(be.as_mut(), &opts));
        match result {
            Ok(report) => println!("{}", report.render()),
            Err(e) => {
                eprintln!("bench on {choice:?} failed: {e:#}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
