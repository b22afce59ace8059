//! The two measurements of one workload: every op of a training step timed on its own
//! (through `Profiled`), and whole training steps and inference batches per second.

use std::time::Instant;

use anyhow::Result;
use serde::Serialize;

use crate::bench::budget::{median, Budget};
use crate::bench::ceilings::Ceilings;
use crate::bench::device::BenchDevice;
use crate::bench::op::{Cost, Pass};
use crate::bench::profiled::{Call, Profiled};
use crate::bench::workload::{Prepared, Workload};

/// One op at one shape (calls of the same label summed, e.g. Adam over all parameters).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OpRow {
    pub op: String,
    pub pass: Pass,
    /// Calls per training step.
    pub calls: usize,
    /// Per training step: the median over runs.
    pub seconds: f64,
    pub flops: f64,
    pub bytes: f64,
    pub gflop_per_s: f64,
    pub gb_per_s: f64,
    /// Of the device's measured ceilings.
    pub flop_fraction: f64,
    pub bandwidth_fraction: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Throughput {
    /// Median seconds of one training step (forward, loss, backward, Adam).
    pub train_step_seconds: f64,
    pub train_steps_per_s: f64,
    pub train_samples_per_s: f64,
    /// Median seconds of one inference batch (forward in eval mode, probabilities).
    pub infer_batch_seconds: f64,
    pub infer_samples_per_s: f64,
    pub train_runs: usize,
    pub infer_runs: usize,
}

/// Whole steps on the backend itself (the GPU submits each step as one command buffer).
pub fn throughput(be: &mut dyn BenchDevice, w: &Workload, budget: &Budget) -> Result<Throughput> {
    let p = Prepared::new(be.as_backend(), w)?;
    let mut t = 0;
    // A lost device times as infinite (ending the repetitions); it stays lost, so the
    // `sync` after them reports it.
    let synced = |be: &mut dyn BenchDevice, start: Instant| {
        be.sync().map_or(f64::INFINITY, |()| start.elapsed().as_secs_f64())
    };
    let mut step = |be: &mut dyn BenchDevice| {
        t += 1;
        let start = Instant::now();
        p.train_step(be.as_backend(), t);
        synced(be, start)
    };
    step(be); // warm-up: pipelines, first touch of every buffer
    let train = budget.repeat(|| step(be));
    let infer = |be: &mut dyn BenchDevice| {
        let start = Instant::now();
        p.infer(be.as_backend());
        synced(be, start)
    };
    infer(be);
    let inference = budget.repeat(|| infer(be));
    be.sync()?;
    let (train_s, infer_s) = (median(&train), median(&inference));
    Ok(Throughput {
        train_step_seconds: train_s,
        train_steps_per_s: 1.0 / train_s,
        train_samples_per_s: w.batch as f64 / train_s,
        infer_batch_seconds: infer_s,
        infer_samples_per_s: w.batch as f64 / infer_s,
        train_runs: train.len(),
        infer_runs: inference.len(),
    })
}

/// Every op of a training step, each timed alone; rows in the order the step runs them.
pub fn profile_ops(
    be: &mut dyn BenchDevice,
    w: &Workload,
    budget: &Budget,
    ceilings: &Ceilings,
) -> Result<Vec<OpRow>> {
    let mut prof = Profiled::new(be);
    let p = Prepared::new(&mut prof, w)?;
    p.train_step(&mut prof, 1); // warm-up
    prof.calls.clear();
    let mut t = 1;
    let runs = budget.repeat(|| {
        t += 1;
        let before = prof.calls.len();
        p.train_step(&mut prof, t);
        prof.calls[before..].iter().map(|c| c.seconds).sum::<f64>()
    });
    let calls = std::mem::take(&mut prof.calls);
    // a lost device timed its ops as NaN: report it rather than rows of NaN
    be.sync()?;
    Ok(rows(&calls, runs.len(), ceilings))
}

/// Groups the calls of `runs` identical steps by label and pass: medians per call
/// position over the runs, summed within a group.
fn rows(calls: &[Call], runs: usize, ceilings: &Ceilings) -> Vec<OpRow> {
    let per_step = calls.len() / runs.max(1);
    let mut groups: Vec<(String, Pass, usize, f64, Cost)> = Vec::new();
    for (i, call) in calls.iter().take(per_step).enumerate() {
        let times: Vec<f64> = (0..runs).map(|r| calls[r * per_step + i].seconds).collect();
        let op = &call.op;
        let (label, pass) = (op.label(), op.pass());
        let at = match groups.iter().position(|g| g.0 == label && g.1 == pass) {
            Some(at) => at,
            None => {
                groups.push((label, pass, 0, 0.0, Cost::default()));
                groups.len() - 1
            }
        };
        let g = &mut groups[at];
        g.2 += 1;
        g.3 += median(&times);
        g.4 = g.4 + call.cost;
    }
    groups
        .into_iter()
        .map(|(op, pass, calls, seconds, cost)| {
            let rate = |amount: f64| if seconds > 0.0 { amount / seconds / 1e9 } else { 0.0 };
            let (gflop_per_s, gb_per_s) = (rate(cost.flops), rate(cost.bytes));
            OpRow {
                op,
                pass,
                calls,
                seconds,
                flops: cost.flops,
                bytes: cost.bytes,
                gflop_per_s,
                gb_per_s,
                flop_fraction: gflop_per_s / ceilings.fma_gflop_per_s,
                bandwidth_fraction: gb_per_s / ceilings.copy_gb_per_s,
            }
        })
        .collect()
}
