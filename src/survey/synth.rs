//! A synthetic multi-band survey in the PLAsTiCC layout: five kinds of object observed in
//! LSST's six passbands with irregular cadence and seasonal gaps, for tests and as the
//! built-in data of `starskope survey train`.
//!
//! Labels borrow PLAsTiCC's class numbers where one fits:
//! - 90, SN Ia-like: a Bazin rise and decline, blue at peak, faster decline in bluer
//!   bands, a random stretch, time dilated and dimmed with redshift 0.1-0.8.
//! - 42, SN II-like: slower (a ~80-day decline), redder, nearer (z 0.05-0.35).
//! - 92, RR Lyrae-like periodic variable: galactic, a 0.3-0.9 day sawtooth, larger
//!   amplitude in bluer bands.
//! - 88, AGN-like: extragalactic damped random walk (one process, band-scaled amplitude).
//! - 1, non-variable (not a PLAsTiCC class): noise around a small constant, galactic or
//!   extragalactic.
//!
//! Fluxes are difference-image fluxes like PLAsTiCC's: zero means "as in the template".
//! Cadence: three observing seasons of 180 days a year apart (the phase depends on the
//! object), visits every ~6 days (~2 in the 10% deep-drilling fields), one or two
//! passbands a visit; `detected` when `|flux| / flux_err >= 5`. Galactic objects have
//! `hostgal_photoz = 0` and no `distmod`, as in PLAsTiCC; `hostgal_specz` is known only
//! in the deep fields. Each object draws from its own ChaCha8 stream keyed by (seed,
//! index), so a set's first objects do not depend on how many are generated.

use crate::data::Label;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::reader::{Observation, Survey, SurveyObject, PASSBANDS};

/// (label, what it is, share of the objects).
pub const SYNTH_CLASSES: [(i64, &str, f64); 5] = [
    (90, "SN Ia-like", 0.30),
    (42, "SN II-like", 0.15),
    (92, "periodic (RR Lyrae-like)", 0.20),
    (88, "AGN-like", 0.15),
    (1, "non-variable", 0.20),
];

/// First night of the survey (LSST-like MJD).
const START_MJD: f64 = 59580.0;
const SEASONS: usize = 3;
const SEASON_DAYS: f64 = 180.0;
/// Typical per-observation flux uncertainty in each band (u and y are the noisiest).
const NOISE: [f64; 6] = [8.0, 3.0, 3.0, 4.0, 6.0, 10.0];

#[derive(Clone, Debug, PartialEq)]
pub struct SurveySynthConfig {
    pub objects: usize,
    pub seed: u64,
}

pub fn generate(cfg: &SurveySynthConfig) -> Survey {
    let objects = (0..cfg.objects).map(|i| object(cfg.seed, i)).collect();
    Survey { source: format!("synthetic survey (seed {})", cfg.seed), objects, has_meta: true }
}

fn object(seed: u64, index: usize) -> SurveyObject {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let u: f64 = rng.gen();
    let mut cumulative = 0.0;
    let label = SYNTH_CLASSES
        .iter()
        .find(|(_, _, share)| {
            cumulative += share;
            u < cumulative
        })
        .map_or(SYNTH_CLASSES[4].0, |c| c.0);
    let ddf = rng.gen_bool(0.1);
    let times = cadence(&mut rng, ddf);
    let galactic = label == 92 || (label == 1 && rng.gen_bool(0.5));
    let z = match label {
        90 => rng.gen_range(0.1..0.8),
        42 => rng.gen_range(0.05..0.35),
        88 => rng.gen_range(0.3..2.5),
        _ if galactic => 0.0,
        _ => rng.gen_range(0.05..1.0),
    };
    let truth = true_flux(&mut rng, label, z, &times);
    let obs = times
        .iter()
        .zip(truth)
        .map(|(&(mjd, passband), f)| {
            let flux_err = NOISE[passband] * rng.gen_range(0.8..1.3);
            let flux = f + flux_err * normal(&mut rng);
            Observation { mjd, passband, flux, flux_err, detected: flux.abs() / flux_err >= 5.0 }
        })
        .collect();
    SurveyObject {
        object_id: (index + 1).to_string(),
        meta: metadata(&mut rng, galactic, ddf, z),
        target: Some(Label::Int(label)),
        obs,
    }
}

/// (mjd, passband) of every observation, in time order.
fn cadence(rng: &mut ChaCha8Rng, ddf: bool) -> Vec<(f64, usize)> {
    let phase = rng.gen_range(0.0..185.0);
    let mean_gap = if ddf { 2.0 } else { 6.0 };
    let mut times = Vec::new();
    for season in 0..SEASONS {
        let start = START_MJD + 365.25 * season as f64 + phase;
        let mut t = start + rng.gen_range(0.0..mean_gap);
        while t < start + SEASON_DAYS {
            let first = rng.gen_range(0..PASSBANDS.len());
            times.push((t, first));
            if rng.gen_bool(0.5) {
                // a second filter the same night, half an hour later
                times.push((t + 0.02, (first + rng.gen_range(1..PASSBANDS.len())) % PASSBANDS.len()));
            }
            t += 0.5 + mean_gap * -(1.0 - rng.gen::<f64>()).ln();
        }
    }
    times
}

/// The noiseless difference flux of an object of class `label` at each (mjd, passband).
fn true_flux(rng: &mut ChaCha8Rng, label: i64, z: f64, times: &[(f64, usize)]) -> Vec<f64> {
    // a transient peaks in some season (or just before it), where it can be seen
    let season = rng.gen_range(0..SEASONS) as f64;
    let first = times.first().map_or(START_MJD, |t| t.0);
    let t0 = first + 365.25 * season + rng.gen_range(-20.0..SEASON_DAYS);
    match label {
        90 => {
            let colour = [0.5, 1.0, 0.95, 0.7, 0.55, 0.45];
            let stretch = rng.gen_range(0.8..1.2) * (1.0 + z);
            let peak = 300.0 * (0.2 / z).powi(2) * rng.gen_range(0.7..1.3);
            bazin(times, t0, peak, &colour, z, 3.0 * stretch, |b| 20.0 * stretch * (0.7 + 0.12 * b as f64))
        }
        42 => {
            let colour = [0.25, 0.6, 0.9, 1.0, 0.95, 0.85];
            let stretch = rng.gen_range(0.8..1.3) * (1.0 + z);
            let peak = 150.0 * (0.1 / z).powi(2).min(9.0) * rng.gen_range(0.7..1.3);
            bazin(times, t0, peak, &colour, z, 5.0 * stretch, |b| 80.0 * stretch * (0.8 + 0.05 * b as f64))
        }
        92 => {
            let period = rng.gen_range(0.3..0.9);
            let amplitude = rng.gen_range(30.0..300.0);
            let phase0: f64 = rng.gen();
            let band = [1.4, 1.2, 1.0, 0.8, 0.7, 0.65];
            times
                .iter()
                .map(|&(t, b)| {
                    let phase = (t / period + phase0).fract();
                    let shape = if phase < 0.15 { phase / 0.15 } else { 1.0 - (phase - 0.15) / 0.85 };
                    amplitude * band[b] * (shape - 0.5)
                })
                .collect()
        }
        88 => {
            let tau = rng.gen_range(100.0..400.0);
            let sigma = rng.gen_range(20.0..60.0);
            let band = [1.5, 1.25, 1.0, 0.85, 0.75, 0.7];
            let mut x = sigma * normal(rng);
            let mut last = first;
            times
                .iter()
                .map(|&(t, b)| {
                    let decay = (-(t - last) / tau).exp();
                    x = x * decay + sigma * (1.0 - decay * decay).sqrt() * normal(rng);
                    last = t;
                    x * band[b]
                })
                .collect()
        }
        _ => {
            let offset = rng.gen_range(-5.0..5.0);
            vec![offset; times.len()]
        }
    }
}

/// Bazin et al. 2009's transient shape `A c_b exp(-dt / fall_b) / (1 + exp(-dt / rise))`,
/// its rest-frame colour `c` shifted redward by the redshift.
fn bazin(
    times: &[(f64, usize)],
    t0: f64,
    peak: f64,
    colour: &[f64; 6],
    z: f64,
    rise: f64,
    fall: impl Fn(usize) -> f64,
) -> Vec<f64> {
    let observed = |b: usize| {
        // light seen in band b left the source in a bluer band
        let rest = (b as f64 - 2.5 * z).clamp(0.0, 5.0);
        let lo = rest.floor() as usize;
        let hi = (lo + 1).min(5);
        colour[lo] + (rest - lo as f64) * (colour[hi] - colour[lo])
    };
    times
        .iter()
        .map(|&(t, b)| {
            let dt = t - t0;
            peak * observed(b) * (-dt / fall(b)).exp().min(1e6) / (1.0 + (-dt / rise).exp())
        })
        .collect()
}

/// The metadata columns of [`super::reader::META_COLUMNS`] for one object.
fn metadata(rng: &mut ChaCha8Rng, galactic: bool, ddf: bool, z: f64) -> [f64; 10] {
    let ra = rng.gen_range(0.0..360.0);
    let decl = rng.gen_range(-70.0..10.0);
    let gal_l = rng.gen_range(0.0..360.0);
    let sign = if rng.gen_bool(0.5) { 1.0 } else { -1.0 };
    let gal_b: f64 = sign * if galactic { rng.gen_range(5.0..60.0) } else { rng.gen_range(20.0..90.0) };
    let mwebv = if galactic { rng.gen_range(0.05..0.5) } else { rng.gen_range(0.01..0.1) };
    let (specz, photoz, photoz_err, distmod) = if galactic {
        (0.0, 0.0, 0.0, f64::NAN)
    } else {
        let err = 0.05 * (1.0 + z) * rng.gen_range(0.5..1.5);
        let photoz = (z + err * normal(rng)).max(0.01);
        // Hubble-law luminosity distance in Mpc, then 5 log10(d / 10 pc)
        let d_mpc = 4283.0 * photoz * (1.0 + photoz / 2.0);
        (if ddf { z } else { f64::NAN }, photoz, err, 5.0 * (d_mpc * 1e5).log10())
    };
    [ra, decl, gal_l, gal_b, f64::from(u8::from(ddf)), specz, photoz, photoz_err, distmod, mwebv]
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    // Box-Muller; 1 - u keeps the log's argument in (0, 1]
    let (u1, u2): (f64, f64) = (rng.gen(), rng.gen());
    (-2.0 * (1.0 - u1).ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}
