//! Flattens a light curve for a transit search: star variability out, noise in units of
//! its own scatter, and the cadences that carry no measurement marked as such.
//!
//! Transits last 1 to 10 hours; rotation and spot evolution vary over days. The trend is
//! a running fit over about a day (49 K2 cadences) of the cadences that look like
//! neither a dip nor an outlier: a first pass over every cadence flags those more than
//! 3 sigma from it, or whose 5-cadence mean is more than 1.2 sigma below it, and the
//! second pass fits the rest. Each pass fits a straight line to each window (a plain
//! mean would be pulled by the slope at the ends; a running median returns the sample
//! itself wherever the star changes faster than its noise). A window fit of a
//! curved trend misses by f''(t) h^2 / 6 (h the half-width); the trend is corrected by
//! that much with f'' taken from the running mean itself, which takes a 5-day rotation's
//! residual from 6.5% of its amplitude to 0.5%. The residual is divided by its robust scatter
//! (1.4826 x median absolute deviation) after K2's roll sawtooth is taken out where
//! there is one ([`remove_roll`]), so that a transit's depth reads in sigmas
//! whatever the star's brightness. Last, the ripple a star rotating in 0.5 to 3 days
//! leaves is taken out where that lowers the scatter ([`super::rotation`]).

use super::rotation::remove_fast_rotation;
use crate::series::{median, median_abs, moving_average, robust_scale};

/// A whitened series: `values` in units of the residual scatter (0 where unobserved).
pub struct Whitened {
    pub values: Vec<f32>,
    /// False for filled gaps and removed single-cadence outliers.
    pub observed: Vec<bool>,
    /// The running trend taken out, in the series' units: the star's own variability.
    pub trend: Vec<f32>,
    /// The residual scatter `values` are in units of, in the series' units (0 when the
    /// series had none).
    pub scale: f32,
}

/// Positive excursions above this many sigma are clipped: transits only dim a star, so
/// the excess is a cosmic ray or a systematic, never signal.
const CLIP_HIGH: f32 = 3.0;
/// A cadence this far below the trend whose neighbours are not is an outlier (a thruster
/// firing). A real transit of >= 1 h spreads over >= 2 cadences of 29.4 min: at least
/// one neighbour of its deepest cadence is dimmed by about half as much.
const OUTLIER_SIGMA: f32 = 4.0;
const NEIGHBOUR_SHARE: f32 = 0.3;
/// Scatter of the second difference below this share of its typical value marks a
/// noiseless stretch: a gap filled with a straight line.
const FLAT_SHARE: f64 = 0.01;
/// K2 roll: cadences between thruster firings, and how many firings each side the
/// sawtooth template looks at.
const ROLL_CADENCES: usize = 12;
const ROLL_REACH: usize = 3;
/// Some stars vary faster than a one-day trend follows (bright fast rotators change by
/// 2% in 12 h); what is left folds into false transits. A half-day, then a quarter-day
/// window is taken instead when it lowers the residual scatter by this factor (the
/// quiet-cadence mask keeps transits out of the fit; how the windows and the factor were
/// chosen: benches/RESULTS.md, "The short detrending windows"). Pure sinusoids and pure
/// red noise do not show the gain (the curvature correction follows a sinusoid), so no
/// unit test here isolates it.
const SHORT_GAIN: f32 = 0.8;

/// Whitens `series` with a running median of `window` cadences; runs of cadences on a
/// straight line (gaps a CSV's writer filled) count as unobserved.
pub fn whiten(series: &[f32], window: usize) -> Whitened {
    whiten_observed(series, filled_gaps_removed(series), window)
}

/// Whitens the `observed` cadences of `series` (the others' values are not looked at).
pub fn whiten_observed(series: &[f32], mut observed: Vec<bool>, window: usize) -> Whitened {
    let n = series.len();
    let window = window.max(1);
    let (mut residual, mut scale, mut trend) = detrended(series, &observed, window);
    for short in [(window / 2) | 1, (window / 4) | 1] {
        if short < window {
            let (r, s, t) = detrended(series, &observed, short);
            if s < SHORT_GAIN * scale {
                (residual, scale, trend) = (r, s, t);
            }
        }
    }
    if !(scale > 0.0 && scale.is_finite()) {
        return Whitened { values: vec![0.0; n], observed: vec![false; n], trend: vec![0.0; n], scale: 0.0 };
    }
    for r in &mut residual {
        *r = (*r / scale).min(CLIP_HIGH);
    }
    for i in 0..n {
        let neighbour = |j: Option<usize>| j.and_then(|j| residual.get(j)).copied().unwrap_or(0.0);
        let deepest_neighbour = neighbour(i.checked_sub(1)).min(neighbour(Some(i + 1)));
        if residual[i] < -OUTLIER_SIGMA && deepest_neighbour > NEIGHBOUR_SHARE * residual[i] {
            observed[i] = false;
        }
    }
    for (r, &o) in residual.iter_mut().zip(&observed) {
        if !o {
            *r = 0.0;
        }
    }
    let scale = scale * remove_fast_rotation(&mut residual, &observed);
    Whitened { values: residual, observed, trend, scale }
}

/// The residual of `series` around its running trend over `window` cadences, roll
/// sawtooth removed, its robust scale, and the trend.
fn detrended(series: &[f32], observed: &[bool], window: usize) -> (Vec<f32>, f32, Vec<f32>) {
    let half = window / 2;
    let first = curvature_corrected(running_line(series, observed, window), half);
    let quiet = quiet_cadences(series, &first, observed);
    let trend = curvature_corrected(running_line(series, &quiet, window), half);
    let mut residual: Vec<f32> =
        (0..series.len()).map(|i| if observed[i] { series[i] - trend[i] } else { 0.0 }).collect();
    remove_roll(&mut residual, observed);
    let scale = robust_scale(&residual, observed);
    (residual, scale, trend)
}

/// Marks as unobserved every run of three or more cadences on a straight line (to the
/// noise of a CSV's rounding): gaps that the data's writer filled by interpolation.
fn filled_gaps_removed(series: &[f32]) -> Vec<bool> {
    let n = series.len();
    let mut observed = vec![true; n];
    if n < 3 {
        return observed;
    }
    let second: Vec<f64> = (1..n - 1)
        .map(|i| f64::from(series[i - 1]) - 2.0 * f64::from(series[i]) + f64::from(series[i + 1]))
        .collect();
    let tolerance = FLAT_SHARE * 1.4826 * median_abs(second.iter().map(|&d| d as f32)) as f64;
    let flat: Vec<bool> = second.iter().map(|d| d.abs() <= tolerance).collect();
    for k in 2..flat.len() {
        if flat[k - 2] && flat[k - 1] && flat[k] {
            // second[k] is centred on cadence k + 1.
            observed[k - 2..=k + 2].fill(false);
        }
    }
    observed
}

/// K2's thrusters fire every 5.88 h, 12 cadences: the pointing sawtooth repeats with
/// that period (jittered by ~2% per firing). Its template at cadence i is the median of
/// the residual 12, 24 and 36 cadences before and after, where a transit (not periodic
/// at 12 cadences) rarely reaches. The template is subtracted only when that lowers the
/// scatter: on data without the sawtooth subtracting it would add noise, so it is not.
fn remove_roll(residual: &mut [f32], observed: &[bool]) {
    let n = residual.len();
    let mut values = Vec::with_capacity(2 * ROLL_REACH);
    let template: Vec<f32> = (0..n)
        .map(|i| {
            values.clear();
            for d in (1..=ROLL_REACH).map(|k| k * ROLL_CADENCES) {
                for j in [i.checked_sub(d), Some(i + d)].into_iter().flatten() {
                    if j < n && observed[j] {
                        values.push(residual[j]);
                    }
                }
            }
            if values.len() < 3 {
                return 0.0;
            }
            median(&mut values)
        })
        .collect();
    let cleaned: Vec<f32> = residual.iter().zip(&template).map(|(r, t)| r - t).collect();
    if robust_scale(&cleaned, observed) < robust_scale(residual, observed) {
        residual.copy_from_slice(&cleaned);
    }
}

/// Observed cadences that are neither in a dip nor outliers relative to `trend`.
fn quiet_cadences(series: &[f32], trend: &[f32], observed: &[bool]) -> Vec<bool> {
    let n = series.len();
    let residual: Vec<f32> = (0..n).map(|i| if observed[i] { series[i] - trend[i] } else { 0.0 }).collect();
    let s = robust_scale(&residual, observed);
    let mut local = vec![0.0; n];
    moving_average(&residual, 5, &mut local);
    (0..n)
        .map(|i| observed[i] && residual[i] > -3.0 * s && residual[i] < 3.0 * s && local[i] > -1.2 * s)
        .collect()
}

/// A running fit: the value at each cadence, and whether its own window held enough
/// cadences to fit (where not, the value is borrowed from the nearest one that did).
struct Fit {
    values: Vec<f32>,
    fitted: Vec<bool>,
}

/// Straight-line fit to the `kept` values within `window / 2` cadences each side,
/// evaluated at the centre: a window mean, except near the ends and around dropped
/// cadences, where a mean would be pulled by the slope. Where a window keeps fewer than
/// a quarter of its cadences (inside a long gap, an eclipse at an end or beside a gap),
/// the value of the nearest cadence whose window did: a slope fitted to a few noisy
/// cadences on one side, carried across the window, misses by several sigmas, and a
/// constant such as 0, or a level from the far side of a gap, would be a trend thousands
/// of sigmas off. All zeros if no window has enough.
fn running_line(series: &[f32], kept: &[bool], window: usize) -> Fit {
    let n = series.len();
    let half = window / 2;
    // Prefix sums of 1, t, t^2, x, t x over kept cadences, t relative to the series.
    let mut prefix = vec![[0.0f64; 5]; n + 1];
    for i in 0..n {
        let mut row = prefix[i];
        if kept[i] {
            let (t, x) = (i as f64, f64::from(series[i]));
            for (acc, v) in row.iter_mut().zip([1.0, t, t * t, x, t * x]) {
                *acc += v;
            }
        }
        prefix[i + 1] = row;
    }
    let min_kept = (window / 4).max(2) as f64;
    let line = |i: usize| {
        let (lo, hi) = (i.saturating_sub(half), (i + half + 1).min(n));
        let [c, st, stt, sx, stx] = std::array::from_fn(|k| prefix[hi][k] - prefix[lo][k]);
        (c >= min_kept).then(|| {
            let (mt, mx) = (st / c, sx / c);
            let var = stt / c - mt * mt;
            let slope = if var > 1e-9 { (stx / c - mt * mx) / var } else { 0.0 };
            (mx + slope * (i as f64 - mt)) as f32
        })
    };
    let lines: Vec<Option<f32>> = (0..n).map(line).collect();
    let fitted: Vec<bool> = lines.iter().map(Option::is_some).collect();
    let at: Vec<usize> = (0..n).filter(|&i| fitted[i]).collect();
    let values = (0..n)
        .map(|i| {
            lines[i].unwrap_or_else(|| {
                // The nearest fitted cadence, the earlier on a tie.
                let next = at.partition_point(|&j| j < i);
                let before = next.checked_sub(1).map(|k| at[k]);
                let nearest = match (before, at.get(next)) {
                    (Some(b), Some(&a)) => Some(if i - b <= a - i { b } else { a }),
                    (b, a) => b.or(a.copied()),
                };
                nearest.and_then(|j| lines[j]).unwrap_or(0.0)
            })
        })
        .collect();
    Fit { values, fitted }
}

/// `m - (m(t + h) - 2 m(t) + m(t - h)) / 6` where all three were fitted from their own
/// windows; `m` near the ends and the edges of long gaps, where a one-sided window's
/// bias is not that (and a borrowed value's curvature is no curvature of the star's).
fn curvature_corrected(fit: Fit, half: usize) -> Vec<f32> {
    let Fit { values: m, fitted } = fit;
    let n = m.len();
    (0..n)
        .map(|i| {
            if i < half || i + half >= n || !(fitted[i - half] && fitted[i] && fitted[i + half]) {
                return m[i];
            }
            m[i] - (m[i - half] - 2.0 * m[i] + m[i + half]) / 6.0
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn noisy_star(rng: &mut ChaCha8Rng, n: usize, sigma: f32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let normal: f32 = (0..12).map(|_| rng.gen::<f32>()).sum::<f32>() - 6.0;
                // A 5-day rotation of 1% on a 10^4 e-/s star, plus white noise.
                1e4 * (1.0 + 0.01 * (i as f32 * 0.0204 * std::f32::consts::TAU / 5.0).sin()) + sigma * normal
            })
            .collect()
    }

    #[test]
    fn rotation_is_removed_and_noise_becomes_unit_scatter() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let w = whiten(&noisy_star(&mut rng, 2000, 7.0), 49);
        let rms = (w.values.iter().map(|v| v * v).sum::<f32>() / 2000.0).sqrt();
        assert!((rms - 1.0).abs() < 0.1, "rms {rms}");
        assert!(w.observed.iter().all(|&o| o));
    }

    #[test]
    fn transit_survives_while_outliers_and_filled_gaps_go() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let mut x = noisy_star(&mut rng, 1500, 5.0);
        for v in &mut x[700..706] {
            *v -= 40.0; // an 8-sigma, 3-hour transit
        }
        x[300] -= 80.0; // a thruster firing
        x[400] += 200.0; // a cosmic ray
        let (a, b) = (x[999], x[1051]);
        for (k, v) in x[1000..1050].iter_mut().enumerate() {
            *v = a + (b - a) * (k + 1) as f32 / 51.0;
        }
        let w = whiten(&x, 49);
        let transit = w.values[700..706].iter().sum::<f32>() / 6.0;
        assert!(transit < -6.0, "transit mean {transit}");
        assert!(!w.observed[300] && w.values[300] == 0.0);
        assert!(w.values[400] <= CLIP_HIGH);
        assert!(w.observed[1000..1050].iter().all(|&o| !o));
        assert!(w.observed[600..800].iter().all(|&o| o));
    }

    #[test]
    fn flat_series_whitens_to_zeros() {
        let w = whiten(&[5.0; 64], 49);
        assert!(w.values.iter().all(|&v| v == 0.0));
    }

    /// The residual outside `dip` (a range of cadences), in sigmas: its most extreme value.
    fn worst_outside(w: &Whitened, dip: std::ops::Range<usize>) -> f32 {
        let outside = w.values.iter().enumerate().filter(|(i, _)| !dip.contains(i));
        outside.map(|(_, v)| v.abs()).fold(0.0, f32::max)
    }

    /// An eclipse in the first cadences of a bright star leaves the windows at the start
    /// with too few quiet cadences to fit a trend; that must not make a trend of 0 (nor
    /// feed one into the curvature correction of the cadences after it).
    #[test]
    fn a_dip_at_the_very_start_leaves_the_rest_of_the_start_alone() {
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        let mut x: Vec<f32> = (0..600)
            .map(|i| 1.5e5 + 0.5 * i as f32 + 10.0 * ((0..12).map(|_| rng.gen::<f32>()).sum::<f32>() - 6.0))
            .collect();
        for v in &mut x[2..6] {
            *v -= 1500.0;
        }
        for window in [49, 13] {
            let w = whiten(&x, window);
            assert!(worst_outside(&w, 0..8) < 6.0, "window {window}: {:?}", &w.values[..30]);
        }
    }

    /// A gap longer than the window, across which a fast-varying star has changed: the
    /// cadences after it must be detrended from what was observed after it.
    #[test]
    fn cadences_after_a_long_gap_are_detrended_from_their_own_side() {
        let mut rng = ChaCha8Rng::seed_from_u64(14);
        let mut x: Vec<f32> = (0..1500)
            .map(|i| {
                let rotation = 300.0 * (i as f32 * std::f32::consts::TAU / 150.0).sin();
                1e4 + 10.0 * i as f32
                    + rotation
                    + 5.0 * ((0..12).map(|_| rng.gen::<f32>()).sum::<f32>() - 6.0)
            })
            .collect();
        let (a, b) = (x[899], x[1000]);
        for (k, v) in x[900..1000].iter_mut().enumerate() {
            *v = a + (b - a) * (k + 1) as f32 / 101.0;
        }
        for window in [49, 13] {
            let w = whiten(&x, window);
            assert!(w.observed[900..1000].iter().all(|&o| !o));
            assert!(worst_outside(&w, 900..1000) < 6.0, "window {window}: {:?}", &w.values[1000..1030]);
        }
    }

    /// Three cadences kept on one side of a window (after a dip or a gap, before the
    /// end) must not make a line that is carried across it: their slope, from so few, is
    /// mostly noise. The windows that keep so few take the nearest fitted level instead.
    #[test]
    fn a_window_with_a_few_cadences_on_one_side_borrows_instead_of_extrapolating() {
        let mut series = vec![100.0f32; 200];
        series[170..173].copy_from_slice(&[100.0, 103.0, 106.0]);
        let kept: Vec<bool> = (0..200).map(|i| i < 100 || (170..173).contains(&i)).collect();
        let fit = running_line(&series, &kept, 49);
        for (i, v) in fit.values.iter().enumerate() {
            assert!((v - 100.0).abs() < 1.0, "cadence {i}: {v}");
        }
        assert!(fit.fitted[..100].iter().all(|&f| f) && !fit.fitted[150]);
    }
}
