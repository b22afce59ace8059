//! What a fast rotator leaves in a whitened light curve, taken out before the box search.
//!
//! A running fit over a day cannot follow spots that turn in one to three days: their
//! residual ripples at the rotation period, and the box search folds a ripple into a
//! transit at that period, losing the planet of some hosts and passing ordinary stars to
//! the network (benches/RESULTS.md, "The fast-rotation share"). A spot pattern repeats, so the best sinusoid with its first harmonic over the
//! whole series takes most of it. It is subtracted only where that lowers the robust
//! scatter by `GAIN`: a planet's transits fill a few percent of the cadences and barely
//! move the median deviation, so a planet's own period seldom qualifies.

use std::f64::consts::TAU;

use crate::series::robust_scale;

/// Periods looked at, cadences: 0.5 to 3 days at K2's 29.4-minute cadence.
const PERIODS: (f64, f64) = (24.0, 150.0);
/// Frequency step as a share of the series' resolution (1 / length).
const STEP: f64 = 1.0 / 3.0;
/// The ripple goes only if the robust scatter falls below this share of what it was: a
/// stricter share keeps fewer of the gains, subtracting everywhere costs weak hosts their
/// detection (benches/RESULTS.md, "The fast-rotation share").
const GAIN: f32 = 0.95;

/// Subtracts the best sinusoid and first harmonic of `PERIODS` from the `observed`
/// values (unit scatter, 0 elsewhere) and rescales them to unit scatter, if that lowers
/// their robust scatter by `GAIN`. Returns the factor the scatter was divided by (1 when
/// nothing was taken out).
pub fn remove_fast_rotation(values: &mut [f32], observed: &[bool]) -> f32 {
    let n = values.len();
    let count = observed.iter().filter(|&&o| o).count();
    if count == 0 || (n as f64) < 2.0 * PERIODS.1 {
        return 1.0;
    }
    let (frequency, coefficients) = best_sinusoid(values, observed, count);
    let ripple = |i: usize| {
        let phase = TAU * frequency * i as f64;
        let [s1, c1, s2, c2] = coefficients;
        (s1 * phase.sin() + c1 * phase.cos() + s2 * (2.0 * phase).sin() + c2 * (2.0 * phase).cos()) as f32
    };
    let without: Vec<f32> = (0..n).map(|i| if observed[i] { values[i] - ripple(i) } else { 0.0 }).collect();
    let (before, after) = (robust_scale(values, observed), robust_scale(&without, observed));
    if after > 0.0 && after < GAIN * before {
        for (v, w) in values.iter_mut().zip(&without) {
            *v = w / after;
        }
        return after;
    }
    1.0
}

/// The frequency (cycles per cadence) whose sinusoid and first harmonic explain most of
/// the variance, and their least-squares coefficients (sin, cos, sin 2x, cos 2x), the
/// terms taken as orthogonal over the `count` observed cadences.
fn best_sinusoid(values: &[f32], observed: &[bool], count: usize) -> (f64, [f64; 4]) {
    let n = values.len();
    let norm = 2.0 / count as f64;
    let mut best = (0.0, [0.0; 4], f64::NEG_INFINITY);
    let mut frequency = 1.0 / PERIODS.1;
    while frequency <= 1.0 / PERIODS.0 {
        // e^(i 2 pi f t), advanced by a rotation per cadence instead of a sin and cos each.
        let (step_sin, step_cos) = (TAU * frequency).sin_cos();
        let (mut sin, mut cos) = (0.0f64, 1.0f64);
        let mut sums = [0.0f64; 4];
        for (&v, &o) in values.iter().zip(observed) {
            if o {
                let y = f64::from(v);
                let (sin2, cos2) = (2.0 * sin * cos, cos * cos - sin * sin);
                sums[0] += y * sin;
                sums[1] += y * cos;
                sums[2] += y * sin2;
                sums[3] += y * cos2;
            }
            (sin, cos) = (sin * step_cos + cos * step_sin, cos * step_cos - sin * step_sin);
        }
        let coefficients = sums.map(|s| s * norm);
        let explained: f64 = coefficients.iter().map(|c| c * c).sum();
        if explained > best.2 {
            best = (frequency, coefficients, explained);
        }
        frequency += STEP / n as f64;
    }
    (best.0, best.1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transit::bls;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// A fully observed series of 3,197 cadences of unit Gaussian-like noise.
    fn noise(seed: u64) -> (Vec<f32>, Vec<bool>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = 3197;
        let values = (0..n).map(|_| (0..12).map(|_| rng.gen::<f32>()).sum::<f32>() - 6.0).collect();
        (values, vec![true; n])
    }

    fn add_transits(values: &mut [f32], period: usize, width: usize, depth: f32) {
        for t in (40..values.len() - width).step_by(period) {
            values[t..t + width].iter_mut().for_each(|v| *v -= depth);
        }
    }

    /// A 1.2-day ripple of 1.5 sigma with its harmonic outscores a planet of S/N 20 in
    /// the box search; without it the planet is found.
    #[test]
    fn a_rotation_ripple_goes_and_the_planet_under_it_is_found() {
        let (mut values, observed) = noise(3);
        let ripple_period = 59.0;
        for (i, v) in values.iter_mut().enumerate() {
            let phase = TAU * i as f64 / ripple_period;
            *v += (1.5 * phase.sin() + 0.6 * (2.0 * phase + 1.0).sin()) as f32;
        }
        let (period, width) = (310, 8);
        add_transits(&mut values, period, width, 20.0 / ((10 * width) as f32).sqrt());
        let fit = bls::search(&values, &observed).unwrap();
        assert!((fit.period - period as f64).abs() > 5.0, "the ripple should win at first: {fit:?}");
        remove_fast_rotation(&mut values, &observed);
        let fit = bls::search(&values, &observed).unwrap();
        assert!((fit.period - period as f64).abs() < 3.0 && fit.snr > 15.0, "{fit:?}");
        assert!((robust_scale(&values, &observed) - 1.0).abs() < 0.05);
    }

    /// Deep transits at a period the ripple search covers barely move the median
    /// deviation: the series stays as it was.
    #[test]
    fn a_planet_at_a_rotation_like_period_is_left_alone() {
        let (mut values, observed) = noise(4);
        add_transits(&mut values, 70, 6, 3.0);
        let before = values.clone();
        remove_fast_rotation(&mut values, &observed);
        assert_eq!(values, before);
    }
}
