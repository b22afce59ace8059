//! Batch norm over (batch, channels, len): statistics per channel over (batch, len),
//! M = batch * len elements. Per-channel sums run in parallel over channels, each in a
//! fixed order; elementwise passes run in parallel over (sample, channel) rows.

use super::check;
use super::real::Real;
use crate::backend::{BatchNormConfig, ChannelShape};
use rayon::prelude::*;

/// `BatchNormConfig` in the op's scalar type, so that the f64 checks use the exact
/// hyper-parameters instead of their f32 roundings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params<T> {
    pub eps: T,
    pub momentum: T,
    pub unbiased_running_var: bool,
}

impl<T: Real> Params<T> {
    pub fn from_config(cfg: &BatchNormConfig) -> Self {
        Params {
            eps: T::of(cfg.eps.into()),
            momentum: T::of(cfg.momentum.into()),
            unbiased_running_var: cfg.unbiased_running_var,
        }
    }
}

fn check_shapes<T>(s: &ChannelShape, x: &[T], gamma: &[T], y: &[T]) {
    check::len("batchnorm x", x.len(), s.batch * s.channels * s.len);
    check::len("batchnorm y/dy/dx", y.len(), x.len());
    check::len("batchnorm gamma", gamma.len(), s.channels);
}

/// Independent partial sums per channel: a fixed order (the same on any thread count)
/// that still lets the compiler keep the running sums in one vector register.
const LANES: usize = 8;

/// Row r of the (batch * channels) rows of `len` elements.
fn row<'a, T>(s: &ChannelShape, t: &'a [T], r: usize) -> &'a [T] {
    &t[r * s.len..(r + 1) * s.len]
}

/// For each channel c: the sum of `term(c, a_i, b_i)` over the elements i of channel c
/// (every (n, l)), element j of each row added into partial sum j % LANES.
fn per_channel_sum<T: Real>(
    s: &ChannelShape,
    a: &[T],
    b: &[T],
    term: impl Fn(usize, T, T) -> T + Sync,
) -> Vec<T> {
    (0..s.channels)
        .into_par_iter()
        .map(|c| {
            let mut lanes = [T::zero(); LANES];
            for n in 0..s.batch {
                let r = n * s.channels + c;
                let (a, b) = (row(s, a, r).chunks_exact(LANES), row(s, b, r).chunks_exact(LANES));
                let tail = a.remainder().iter().zip(b.remainder());
                for (a, b) in a.zip(b) {
                    for j in 0..LANES {
                        lanes[j] += term(c, a[j], b[j]);
                    }
                }
                for (lane, (&u, &v)) in lanes.iter_mut().zip(tail) {
                    *lane += term(c, u, v);
                }
            }
            lanes.into_iter().fold(T::zero(), |sum, v| sum + v)
        })
        .collect()
}

/// out_i = value(c, a_i, b_i) for every element i of channel c.
fn map_elements<T: Real>(
    s: &ChannelShape,
    out: &mut [T],
    a: &[T],
    b: &[T],
    value: impl Fn(usize, T, T) -> T + Sync,
) {
    out.par_chunks_mut(s.len.max(1)).enumerate().for_each(|(r, out)| {
        let c = r % s.channels;
        for (o, (&u, &v)) in out.iter_mut().zip(row(s, a, r).iter().zip(row(s, b, r))) {
            *o = value(c, u, v);
        }
    });
}

/// Normalizes with the batch statistics (biased variance), writes them as `mean` and
/// `inv_std` = 1/sqrt(var + eps), and updates the running statistics in place:
/// new = (1 - momentum) * old + momentum * batch (the variance times M/(M-1) when
/// `unbiased_running_var`, and M > 1).
pub fn forward_train<T: Real>(
    s: &ChannelShape,
    p: &Params<T>,
    x: &[T],
    [gamma, beta]: [&[T]; 2],
    [running_mean, running_var]: [&mut [T]; 2],
    y: &mut [T],
    [mean, inv_std]: [&mut [T]; 2],
) {
    check_shapes(s, x, gamma, y);
    for (what, t) in [
        ("beta", beta),
        ("running_mean", &*running_mean),
        ("running_var", &*running_var),
        ("mean", &*mean),
        ("inv_std", &*inv_std),
    ] {
        check::len(what, t.len(), s.channels);
    }
    let m = T::of((s.batch * s.len) as f64);
    let batch_mean: Vec<T> = per_channel_sum(s, x, x, |_, x, _| x).into_iter().map(|sum| sum / m).collect();
    let batch_var: Vec<T> = per_channel_sum(s, x, x, |c, x, _| (x - batch_mean[c]).powi(2))
        .into_iter()
        .map(|sum| sum / m)
        .collect();
    let unbias = if p.unbiased_running_var && s.batch * s.len > 1 { m / (m - T::one()) } else { T::one() };
    for c in 0..s.channels {
        mean[c] = batch_mean[c];
        inv_std[c] = T::one() / (batch_var[c] + p.eps).sqrt();
        running_mean[c] = (T::one() - p.momentum) * running_mean[c] + p.momentum * batch_mean[c];
        running_var[c] = (T::one() - p.momentum) * running_var[c] + p.momentum * batch_var[c] * unbias;
    }
    map_elements(s, y, x, x, |c, x, _| gamma[c] * (x - mean[c]) * inv_std[c] + beta[c]);
}

/// y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta.
pub fn forward_eval<T: Real>(
    s: &ChannelShape,
    eps: T,
    x: &[T],
    [gamma, beta]: [&[T]; 2],
    [running_mean, running_var]: [&[T]; 2],
    y: &mut [T],
) {
    check_shapes(s, x, gamma, y);
    for (what, t) in [("beta", beta), ("running_mean", running_mean), ("running_var", running_var)] {
        check::len(what, t.len(), s.channels);
    }
    let inv_std: Vec<T> = running_var.iter().map(|&v| T::one() / (v + eps).sqrt()).collect();
    map_elements(s, y, x, x, |c, x, _| gamma[c] * (x - running_mean[c]) * inv_std[c] + beta[c]);
}

/// `mean`/`inv_std` are what the forward pass normalized with; xhat = (x - mean) * inv_std.
/// batch_stats (training): dx = inv_std * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gamma.
/// Otherwise (constant statistics): dx = dy * gamma * inv_std.
/// dgamma = sum(dy * xhat), dbeta = sum(dy).
pub fn backward<T: Real>(
    s: &ChannelShape,
    batch_stats: bool,
    x: &[T],
    gamma: &[T],
    [mean, inv_std]: [&[T]; 2],
    dy: &[T],
    [dx, dgamma, dbeta]: [&mut [T]; 3],
) {
    check_shapes(s, x, gamma, dy);
    check::len("batchnorm dx", dx.len(), x.len());
    for (what, t) in [("mean", mean), ("inv_std", inv_std), ("dgamma", &*dgamma), ("dbeta", &*dbeta)] {
        check::len(what, t.len(), s.channels);
    }
    let xhat = |c: usize, x: T| (x - mean[c]) * inv_std[c];
    dgamma.copy_from_slice(&per_channel_sum(s, x, dy, |c, x, dy| dy * xhat(c, x)));
    dbeta.copy_from_slice(&per_channel_sum(s, dy, dy, |_, dy, _| dy));
    if batch_stats {
        // mean(g) = gamma * dbeta / M and mean(g * xhat) = gamma * dgamma / M
        let m = T::of((s.batch * s.len) as f64);
        map_elements(s, dx, x, dy, |c, x, dy| {
            let g = dy * gamma[c];
            inv_std[c] * (g - gamma[c] * dbeta[c] / m - xhat(c, x) * gamma[c] * dgamma[c] / m)
        });
    } else {
        map_elements(s, dx, dy, dy, |c, dy, _| dy * gamma[c] * inv_std[c]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-channel sums split rows into lanes: the same bits on any thread count,
    /// and (in f64) the plain sum, for a row length that leaves a remainder.
    #[test]
    fn statistics_are_exact_sums_and_independent_of_thread_count() {
        let s = ChannelShape { batch: 5, channels: 3, len: 21 };
        let x: Vec<f32> = (0..5 * 3 * 21).map(|i| (i as f32 * 0.913).sin() * 2.0 + 0.5).collect();
        let dy: Vec<f32> = (0..5 * 3 * 21).map(|i| (i as f32 * 0.271).cos()).collect();
        let gamma = [1.5f32, -0.5, 0.75];
        let p = Params { eps: 1e-3f32, momentum: 0.1, unbiased_running_var: true };
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let (mut rm, mut rv) = (vec![0.0; 3], vec![1.0; 3]);
                let (mut y, mut mean, mut inv_std) = (vec![0.0; x.len()], vec![0.0; 3], vec![0.0; 3]);
                let affine = [&gamma[..], &[0.1, 0.2, 0.3]];
                forward_train(&s, &p, &x, affine, [&mut rm, &mut rv], &mut y, [&mut mean, &mut inv_std]);
                let (mut dx, mut dgamma, mut dbeta) = (vec![0.0; x.len()], vec![0.0; 3], vec![0.0; 3]);
                let grads = [&mut dx[..], &mut dgamma, &mut dbeta];
                backward(&s, true, &x, &gamma, [&mean, &inv_std], &dy, grads);
                (y, mean, rv, dx, dgamma, dbeta)
            })
        };
        assert_eq!(run(1), run(3));

        let x64: Vec<f64> = x.iter().map(|&v| v.into()).collect();
        let sums = per_channel_sum(&s, &x64, &x64, |_, v, _| v);
        for (c, sum) in sums.iter().enumerate() {
            let want: f64 = (0..s.batch).flat_map(|n| row(&s, &x64, n * s.channels + c).iter()).sum();
            assert!((sum - want).abs() < 1e-12, "channel {c}: {sum} vs {want}");
        }
    }
}
