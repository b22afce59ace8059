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

/// For each channel c: the sum over n, l of `term(c, i)`, i = (n*channels + c)*len + l.
fn per_channel_sum<T: Real>(s: &ChannelShape, term: impl Fn(usize, usize) -> T + Sync) -> Vec<T> {
    (0..s.channels)
        .into_par_iter()
        .map(|c| {
            let mut sum = T::zero();
            for n in 0..s.batch {
                let row = (n * s.channels + c) * s.len;
                for i in row..row + s.len {
                    sum += term(c, i);
                }
            }
            sum
        })
        .collect()
}

/// out[i] = value(c, i) for every element i of channel c.
fn map_elements<T: Real>(s: &ChannelShape, out: &mut [T], value: impl Fn(usize, usize) -> T + Sync) {
    out.par_chunks_mut(s.len.max(1)).enumerate().for_each(|(r, row)| {
        let c = r % s.channels;
        for (l, o) in row.iter_mut().enumerate() {
            *o = value(c, r * s.len + l);
        }
    });
}

/// Normalizes with the batch statistics (biased variance), writes them as `mean` and
/// `inv_std` = 1/sqrt(var + eps), and updates the running statistics in place:
/// new = (1 - momentum) * old + momentum * batch (the variance times M/(M-1) when
/// `unbiased_running_var`, and M > 1).
#[allow(clippy::too_many_arguments)]
pub fn forward_train<T: Real>(
    s: &ChannelShape,
    p: &Params<T>,
    x: &[T],
    gamma: &[T],
    beta: &[T],
    running_mean: &mut [T],
    running_var: &mut [T],
    y: &mut [T],
    mean: &mut [T],
    inv_std: &mut [T],
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
    let batch_mean: Vec<T> = per_channel_sum(s, |_, i| x[i]).into_iter().map(|sum| sum / m).collect();
    let batch_var: Vec<T> =
        per_channel_sum(s, |c, i| (x[i] - batch_mean[c]).powi(2)).into_iter().map(|sum| sum / m).collect();
    let unbias = if p.unbiased_running_var && s.batch * s.len > 1 { m / (m - T::one()) } else { T::one() };
    for c in 0..s.channels {
        mean[c] = batch_mean[c];
        inv_std[c] = T::one() / (batch_var[c] + p.eps).sqrt();
        running_mean[c] = (T::one() - p.momentum) * running_mean[c] + p.momentum * batch_mean[c];
        running_var[c] = (T::one() - p.momentum) * running_var[c] + p.momentum * batch_var[c] * unbias;
    }
    map_elements(s, y, |c, i| gamma[c] * (x[i] - mean[c]) * inv_std[c] + beta[c]);
}

/// y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta.
#[allow(clippy::too_many_arguments)]
pub fn forward_eval<T: Real>(
    s: &ChannelShape,
    eps: T,
    x: &[T],
    gamma: &[T],
    beta: &[T],
    running_mean: &[T],
    running_var: &[T],
    y: &mut [T],
) {
    check_shapes(s, x, gamma, y);
    for (what, t) in [("beta", beta), ("running_mean", running_mean), ("running_var", running_var)] {
        check::len(what, t.len(), s.channels);
    }
    let inv_std: Vec<T> = running_var.iter().map(|&v| T::one() / (v + eps).sqrt()).collect();
    map_elements(s, y, |c, i| gamma[c] * (x[i] - running_mean[c]) * inv_std[c] + beta[c]);
}

/// `mean`/`inv_std` are what the forward pass normalized with; xhat = (x - mean) * inv_std.
/// batch_stats (training): dx = inv_std * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gamma.
/// Otherwise (constant statistics): dx = dy * gamma * inv_std.
/// dgamma = sum(dy * xhat), dbeta = sum(dy).
#[allow(clippy::too_many_arguments)]
pub fn backward<T: Real>(
    s: &ChannelShape,
    batch_stats: bool,
    x: &[T],
    gamma: &[T],
    mean: &[T],
    inv_std: &[T],
    dy: &[T],
    dx: &mut [T],
    dgamma: &mut [T],
    dbeta: &mut [T],
) {
    check_shapes(s, x, gamma, dy);
    check::len("batchnorm dx", dx.len(), x.len());
    for (what, t) in [("mean", mean), ("inv_std", inv_std), ("dgamma", &*dgamma), ("dbeta", &*dbeta)] {
        check::len(what, t.len(), s.channels);
    }
    let xhat = |c: usize, i: usize| (x[i] - mean[c]) * inv_std[c];
    dgamma.copy_from_slice(&per_channel_sum(s, |c, i| dy[i] * xhat(c, i)));
    dbeta.copy_from_slice(&per_channel_sum(s, |_, i| dy[i]));
    if batch_stats {
        // mean(g) = gamma * dbeta / M and mean(g * xhat) = gamma * dgamma / M
        let m = T::of((s.batch * s.len) as f64);
        map_elements(s, dx, |c, i| {
            let g = dy[i] * gamma[c];
            inv_std[c] * (g - gamma[c] * dbeta[c] / m - xhat(c, i) * gamma[c] * dgamma[c] / m)
        });
    } else {
        map_elements(s, dx, |c, i| dy[i] * gamma[c] * inv_std[c]);
    }
}
