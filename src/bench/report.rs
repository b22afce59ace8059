//! What the bench found, as a table for people and as JSON for scripts
//! (benches/compare_pytorch.py reads `presets[].throughput`).

use std::fmt::Write as _;

use serde::Serialize;

use crate::bench::budget::Budget;
use crate::bench::ceilings::Ceilings;
use crate::bench::device::BenchDevice;
use crate::bench::measure::{OpRow, Throughput};
use crate::bench::op::Pass;
use crate::bench::workload::Workload;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PresetReport {
    pub workload: Workload,
    /// Empty when the ops were not timed one by one.
    pub ops: Vec<OpRow>,
    pub throughput: Option<Throughput>,
    /// Why the preset did not run on this device.
    pub skipped: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BenchReport {
    /// The backend's name, e.g. "cpu (2 threads)" or "llvmpipe (...) (Vulkan)".
    pub device: String,
    /// How op times were taken.
    pub clock: String,
    /// Threads of the CPU backend (rayon's pool); the host threads on a GPU.
    pub threads: usize,
    pub unix_time: u64,
    pub ceilings: Ceilings,
    pub budget: Budget,
    pub presets: Vec<PresetReport>,
}

impl BenchReport {
    pub fn new(be: &dyn BenchDevice, ceilings: Ceilings, budget: Budget, presets: Vec<PresetReport>) -> Self {
        let unix_time =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        BenchReport {
            device: be.name(),
            clock: be.clock().to_string(),
            threads: rayon::current_num_threads(),
            unix_time,
            ceilings,
            budget,
            presets,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report is plain data")
    }

    /// Per preset: the op table with forward/backward/update totals, then one summary
    /// table of training and inference throughput.
    pub fn render(&self) -> String {
        let c = &self.ceilings;
        let mut out = String::new();
        let _ = writeln!(out, "device: {} (op times: {})", self.device, self.clock);
        let _ = writeln!(
            out,
            "ceilings: {:.1} GB/s ({}), {:.1} GFLOP/s ({})",
            c.copy_gb_per_s, c.copy_kernel, c.fma_gflop_per_s, c.fma_kernel
        );
        let b = &self.budget;
        let _ = writeln!(
            out,
            "runs: median of {}..{} per figure, more while under {} s",
            b.min_runs, b.max_runs, b.seconds
        );
        for p in &self.presets {
            let _ = writeln!(out, "\n{}", p.workload.describe());
            if let Some(reason) = &p.skipped {
                let _ = writeln!(out, "  skipped on this device: {reason}");
                continue;
            }
            if !p.ops.is_empty() {
                render_ops(&mut out, &p.ops);
            }
        }
        render_summary(&mut out, &self.presets);
        out
    }
}

fn ms(seconds: f64) -> String {
    format!("{:.3}", seconds * 1e3)
}

fn render_ops(out: &mut String, ops: &[OpRow]) {
    let _ = writeln!(
        out,
        "  {:<44} {:<8} {:>5} {:>10} {:>9} {:>6} {:>8} {:>6}",
        "op", "pass", "calls", "ms/step", "GFLOP/s", "%FMA", "GB/s", "%copy"
    );
    for r in ops {
        let _ = writeln!(
            out,
            "  {:<44} {:<8} {:>5} {:>10} {:>9.2} {:>5.1}% {:>8.2} {:>5.1}%",
            r.op,
            format!("{:?}", r.pass).to_lowercase(),
            r.calls,
            ms(r.seconds),
            r.gflop_per_s,
            100.0 * r.flop_fraction,
            r.gb_per_s,
            100.0 * r.bandwidth_fraction
        );
    }
    for pass in [Pass::Forward, Pass::Backward, Pass::Update, Pass::Memory] {
        let rows: Vec<&OpRow> = ops.iter().filter(|r| r.pass == pass).collect();
        if rows.is_empty() {
            continue;
        }
        let seconds: f64 = rows.iter().map(|r| r.seconds).sum();
        let flops: f64 = rows.iter().map(|r| r.flops).sum();
        let _ = writeln!(
            out,
            "  {:<44} {:<8} {:>5} {:>10} {:>9.2}",
            "total",
            format!("{pass:?}").to_lowercase(),
            rows.iter().map(|r| r.calls).sum::<usize>(),
            ms(seconds),
            if seconds > 0.0 { flops / seconds / 1e9 } else { 0.0 }
        );
    }
}

fn render_summary(out: &mut String, presets: &[PresetReport]) {
    let _ = writeln!(
        out,
        "\n{:<10} {:>5} {:>7} {:>13} {:>8} {:>11} {:>14} {:>11}",
        "preset",
        "batch",
        "length",
        "train ms/step",
        "steps/s",
        "train smp/s",
        "infer ms/batch",
        "infer smp/s"
    );
    for p in presets {
        let w = &p.workload;
        match &p.throughput {
            Some(t) => {
                let _ = writeln!(
                    out,
                    "{:<10} {:>5} {:>7} {:>13} {:>8.2} {:>11.1} {:>14} {:>11.1}",
                    w.preset,
                    w.batch,
                    w.length,
                    ms(t.train_step_seconds),
                    t.train_steps_per_s,
                    t.train_samples_per_s,
                    ms(t.infer_batch_seconds),
                    t.infer_samples_per_s
                );
            }
            None => {
                let _ = writeln!(out, "{:<10} {:>5} {:>7} skipped", w.preset, w.batch, w.length);
            }
        }
    }
}
