//! The device's ceilings, measured by the bench itself: the bandwidth of a large copy
//! and the arithmetic rate of a loop that does nothing but FMAs. Each op's GB/s and
//! GFLOP/s are reported as fractions of these.

use anyhow::Result;
use rayon::prelude::*;
use serde::Serialize;
use std::time::Instant;

use crate::backend::DeviceLost;
use crate::backend::{Backend, Storage};
use crate::bench::budget::Budget;
use crate::fastcpu::gemm::{gemm, MatMut, MatRef};
use crate::gpu::GpuBackend;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ceilings {
    /// Bytes read plus bytes written per second by the copy, in GB/s (1e9).
    pub copy_gb_per_s: f64,
    pub fma_gflop_per_s: f64,
    /// What was run, for the report.
    pub copy_kernel: String,
    pub fma_kernel: String,
}

/// Large enough to leave every cache behind on CPUs and GPUs alike.
const COPY_BYTES: usize = 128 << 20;
/// The GPU FMA loop runs until one dispatch takes this long, so launch cost vanishes.
const FMA_TARGET_SECONDS: f64 = 0.05;
/// Side of the square SGEMM each CPU thread runs.
const GEMM_N: usize = 1024;

/// A ceiling is what the device reaches at best: the fastest of at least 5 runs, so that
/// other load on the machine lowers it as little as possible.
fn best_of(budget: &Budget, measure: impl FnMut() -> f64) -> f64 {
    let budget = Budget { min_runs: budget.min_runs.max(5), ..*budget };
    budget.repeat(measure).into_iter().fold(f64::INFINITY, f64::min)
}

/// On the CPU: a parallel memcpy over every rayon thread, and one 1024^3 SGEMM per thread
/// (the gemm crate, the kernel the CPU backend's conv and dense layers run on).
pub fn cpu(budget: &Budget) -> Ceilings {
    let n = COPY_BYTES / 4;
    let src: Vec<f32> = (0..n).map(|i| i as f32).collect();
    let mut dst = vec![0.0f32; n];
    let chunk = n.div_ceil(rayon::current_num_threads());
    let copy = || {
        let start = Instant::now();
        dst.par_chunks_mut(chunk).zip(src.par_chunks(chunk)).for_each(|(d, s)| d.copy_from_slice(s));
        start.elapsed().as_secs_f64()
    };
    let copy_s = best_of(budget, copy);

    let threads = rayon::current_num_threads();
    let a: Vec<f32> = (0..GEMM_N * GEMM_N).map(|i| (i % 7) as f32 * 0.1).collect();
    let mut outs = vec![vec![0.0f32; GEMM_N * GEMM_N]; threads];
    let product = || {
        let start = Instant::now();
        outs.par_iter_mut().for_each(|c| {
            let m = MatRef::row_major(&a, GEMM_N, GEMM_N);
            gemm(1.0, m, m.t(), 0.0, MatMut::row_major(c, GEMM_N, GEMM_N));
        });
        start.elapsed().as_secs_f64()
    };
    let gemm_s = best_of(budget, product);
    let gemm_flops = threads as f64 * 2.0 * (GEMM_N as f64).powi(3);
    Ceilings {
        copy_gb_per_s: 2.0 * (n * 4) as f64 / copy_s / 1e9,
        fma_gflop_per_s: gemm_flops / gemm_s / 1e9,
        copy_kernel: format!("parallel memcpy of {} MiB on {threads} threads", COPY_BYTES >> 20),
        fma_kernel: format!("{threads} x SGEMM {GEMM_N}^3 (the gemm crate), one per thread"),
    }
}

/// On the GPU: shaders/bench.wgsl's vec4 copy over the largest buffer up to 128 MiB the
/// device binds, and its FMA loop on 2^18 invocations with the trip count doubled until
/// one dispatch takes 50 ms.
pub fn gpu(be: &mut GpuBackend, budget: &Budget) -> Result<Ceilings> {
    let n = (be.max_binding_bytes().min(COPY_BYTES as u64) as usize / 4) & !3;
    let (src, dst) = (be.try_alloc_as(n, Storage::F32)?, be.try_alloc_as(n, Storage::F32)?);
    be.fill(src, 1.5);
    // warm-up: pipeline creation and first touch of the buffers
    be.record_copy_vec4(src, dst);
    be.wait_idle()?;
    // A lost device times as infinite (which ends the loops below); the `wait_idle`
    // after each measurement then reports the loss.
    let copy_s = best_of(budget, || seconds(be.time_recorded(|b| b.record_copy_vec4(src, dst))));
    be.wait_idle()?;

    let out = be.try_alloc_as(4 << 18, Storage::F32)?;
    let mut flops = 0.0;
    let mut fma = |be: &mut GpuBackend, iters: u32| {
        seconds(be.time_recorded(|b| flops = b.record_fma_peak(out, iters)))
    };
    fma(be, 1); // warm-up: pipeline creation
    let mut iters = 16u32;
    while fma(be, iters) < FMA_TARGET_SECONDS && iters < 1 << 20 {
        iters *= 2;
    }
    let fma_s = best_of(budget, || fma(be, iters));
    be.wait_idle()?;
    Ok(Ceilings {
        copy_gb_per_s: 2.0 * (n * 4) as f64 / copy_s / 1e9,
        fma_gflop_per_s: flops / fma_s / 1e9,
        copy_kernel: format!("copy_vec4 of {} MiB", (n * 4) >> 20),
        fma_kernel: format!("fma_peak, 2^18 invocations x {iters} trips x 32 FMA lanes"),
    })
}

fn seconds(timed: Result<std::time::Duration, DeviceLost>) -> f64 {
    timed.map_or(f64::INFINITY, |d| d.as_secs_f64())
}
