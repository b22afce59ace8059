//! Batch norm over (batch, channels, len): statistics per channel over (batch, len),
//! M = batch * len elements. Each op runs channel by channel, the channels in parallel:
//! a channel's sums (each in a fixed order) and then its outputs, while its `batch` rows
//! are still in cache (a channel of fcn's 16 x 512 is 32 KiB; a pass over the whole
//! tensor per sum read it from memory each time).

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

/// The sum of `term(a_i, b_i)` over the elements i of channel c (every (n, l)), element j
/// of each row added into partial sum j % LANES.
fn channel_sum<T: Real>(s: &ChannelShape, c: usize, a: &[T], b: &[T], term: impl Fn(T, T) -> T) -> T {
    let mut lanes = [T::zero(); LANES];
    for n in 0..s.batch {
        let r = n * s.channels + c;
        let (a, b) = (row(s, a, r).chunks_exact(LANES), row(s, b, r).chunks_exact(LANES));
        let tail = a.remainder().iter().zip(b.remainder());
        for (a, b) in a.zip(b) {
            for j in 0..LANES {
                lanes[j] += term(a[j], b[j]);
            }
        }
        for (lane, (&u, &v)) in lanes.iter_mut().zip(tail) {
            *lane += term(u, v);
        }
    }
    lanes.into_iter().fold(T::zero(), |sum, v| sum + v)
}

/// Runs `per_channel(c, rows)` for every channel in parallel, `rows` being channel c's
/// `batch` rows of `out` (sample order); returns what each returned, in channel order.
fn by_channel<T: Send, R: Send>(
    s: &ChannelShape,
    out: &mut [T],
    per_channel: impl Fn(usize, Vec<&mut [T]>) -> R + Sync,
) -> Vec<R> {
    let mut rows: Vec<Vec<&mut [T]>> = (0..s.channels).map(|_| Vec::with_capacity(s.batch)).collect();
    if s.len > 0 {
        for (r, out_row) in out.chunks_mut(s.len).enumerate() {
            rows[r % s.channels].push(out_row);
        }
    }
    rows.into_par_iter().enumerate().map(|(c, rows)| per_channel(c, rows)).collect()
}

/// out_i = value(a_i, b_i) over channel c's `rows` of `out`.
fn map_channel<T: Real>(
    s: &ChannelShape,
    c: usize,
    rows: Vec<&mut [T]>,
    [a, b]: [&[T]; 2],
    value: impl Fn(T, T) -> T,
) {
    for (n, out) in rows.into_iter().enumerate() {
        let r = n * s.channels + c;
        for (o, (&u, &v)) in out.iter_mut().zip(row(s, a, r).iter().zip(row(s, b, r))) {
            *o = value(u, v);
        }
    }
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
    let stats = by_channel(s, y, |c, y_rows| {
        let mean = channel_sum(s, c, x, x, |x, _| x) / m;
        let var = channel_sum(s, c, x, x, |x, _| (x - mean).powi(2)) / m;
        let inv_std = T::one() / (var + p.eps).sqrt();
        map_channel(s, c, y_rows, [x, x], |x, _| gamma[c] * (x - mean) * inv_std + beta[c]);
        (mean, var, inv_std)
    });
    let unbias = if p.unbiased_running_var && s.batch * s.len > 1 { m / (m - T::one()) } else { T::one() };
    for (c, (batch_mean, batch_var, batch_inv_std)) in stats.into_iter().enumerate() {
        mean[c] = batch_mean;
        inv_std[c] = batch_inv_std;
        running_mean[c] = (T::one() - p.momentum) * running_mean[c] + p.momentum * batch_mean;
        running_var[c] = (T::one() - p.momentum) * running_var[c] + p.momentum * batch_var * unbias;
    }
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
    by_channel(s, y, |c, y_rows| {
        map_channel(s, c, y_rows, [x, x], |x, _| gamma[c] * (x - running_mean[c]) * inv_std[c] + beta[c])
    });
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
    let m = T::of((s.batch * s.len) as f64);
    let sums = by_channel(s, dx, |c, dx_rows| {
        let xhat = |x: T| (x - mean[c]) * inv_std[c];
        let dgamma = channel_sum(s, c, x, dy, |x, dy| dy * xhat(x));
        let dbeta = channel_sum(s, c, dy, dy, |dy, _| dy);
        if batch_stats {
            // mean(g) = gamma * dbeta / M and mean(g * xhat) = gamma * dgamma / M, g = dy * gamma
            let g = gamma[c];
            map_channel(s, c, dx_rows, [x, dy], |x, dy| {
                inv_std[c] * (dy * g - g * dbeta / m - xhat(x) * g * dgamma / m)
            });
        } else {
            map_channel(s, c, dx_rows, [dy, dy], |dy, _| dy * gamma[c] * inv_std[c]);
        }
        (dgamma, dbeta)
    });
    for (c, (g, b)) in sums.into_iter().enumerate() {
        dgamma[c] = g;
        dbeta[c] = b;
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
        for c in 0..s.channels {
            let sum = channel_sum(&s, c, &x64, &x64, |v, _| v);
            let want: f64 = (0..s.batch).flat_map(|n| row(&s, &x64, n * s.channels + c).iter()).sum();
            assert!((sum - want).abs() < 1e-12, "channel {c}: {sum} vs {want}");
        }
    }
}
