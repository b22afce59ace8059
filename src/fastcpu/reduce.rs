//! Deterministic sums over the batch: the same bits on 1 thread or 64.
//!
//! Samples are grouped in fixed chunks of `CHUNK` (independent of the thread count);
//! each chunk accumulates its samples in order into its own partial, chunks run in
//! parallel, and the partials are added in chunk order.

use rayon::prelude::*;

/// Samples per partial sum. Small enough to keep 16 cores busy at batch 32, large
/// enough that the partials cost little memory.
pub const CHUNK: usize = 2;

/// `out = sum_n part_n` for n in 0..batch, where `add_sample(n, scratch, acc)` adds sample
/// n's contribution into `acc` (same length as `out`). `scratch` comes from `init`, once
/// per rayon job rather than per sample (an im2col buffer is megabytes: allocating it per
/// sample cost page faults); `add_sample` must not depend on what it held before.
pub fn sum_over_batch<S>(
    batch: usize,
    out: &mut [f32],
    init: impl Fn() -> S + Sync + Send,
    add_sample: impl Fn(usize, &mut S, &mut [f32]) + Sync + Send,
) {
    let len = out.len();
    let chunks = batch.div_ceil(CHUNK);
    let mut partials = vec![0.0; chunks * len];
    if len > 0 {
        partials.par_chunks_mut(len).enumerate().for_each_init(init, |scratch, (chunk, acc)| {
            for n in chunk * CHUNK..((chunk + 1) * CHUNK).min(batch) {
                add_sample(n, scratch, acc);
            }
        });
    }
    out.fill(0.0);
    for partial in partials.chunks(len.max(1)) {
        for (o, &p) in out.iter_mut().zip(partial) {
            *o += p;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_every_sample_once() {
        let mut out = [0.0f32; 2];
        sum_over_batch(
            5,
            &mut out,
            || (),
            |n, _, acc| {
                acc[0] += n as f32;
                acc[1] += 1.0;
            },
        );
        assert_eq!(out, [10.0, 5.0]);
    }

    #[test]
    fn result_does_not_depend_on_thread_count() {
        let values: Vec<f32> = (0..33).map(|i| 1.0 / (i as f32 + 0.37)).collect();
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let mut out = [0.0f32];
                sum_over_batch(values.len(), &mut out, || (), |n, _, acc| acc[0] += values[n]);
                out[0]
            })
        };
        assert_eq!(run(1).to_bits(), run(3).to_bits());
    }
}
