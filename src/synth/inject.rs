//! Transit injection into light curves that already exist: more planet examples to learn
//! from than a survey's handful.
//!
//! A training set with the real planet fraction (37 hosts among 5,087 stars in
//! exoTrain.csv) gives a classifier too few positives: it memorizes those 37 curves and
//! misses the next host. Transit surveys train and calibrate their detectors on transits
//! injected into observed light curves instead (e.g. Christiansen et al. 2013 for
//! Kepler; Osborn et al. 2020 trained TESS CNNs that way). Each injected example here is
//! a copy of a non-planet curve of the training set (one without deep dips of its own:
//! not an eclipsing binary) with the transits of one planet
//! drawn as `planet` draws them (period, impact, duration from the star's density,
//! quadratic limb darkening, 29.4-min exposure smearing), its depth set for a target
//! signal-to-noise ratio against the donor curve's own measured scatter.
//!
//! The curve's scale is unknown (e-/s, normalized, or median-subtracted as in parts of
//! exoTrain.csv), so the transit is added, not multiplied: a relative depth d becomes
//! d x sigma / s in the curve's units, where sigma is the curve's measured scatter and s
//! the relative scatter the drawn star would have. The S/N, d / s x sqrt(n_in), is then
//! the same as for a multiplicative transit on a star of that scatter.

use rayon::prelude::*;

use super::config::{SynthError, MIN_SAMPLES};
use super::draw::{Draw, Split};
use super::gaps::Gaps;
use super::planet::{Plan, Planet, Window};
use super::star::Star;
use crate::data::{Dataset, Label};

/// Keeps injection streams apart from the generator's stars of the same seed.
const SEED_SALT: u64 = 0x1_2EC7_0A11;
/// Cadences of the moving average removed before measuring the scatter: ~1 day, longer
/// than any transit of `planet`'s range (at most 10 h) and shorter than spot rotation.
const TREND_WINDOW: usize = 49;
/// Cadences averaged when looking for a donor's deepest dip (~1.5 h, the shortest
/// eclipses), and how deep, in sigmas, that mean may go for a donor: white noise reaches
/// -5 sigma in a 3-cadence mean (8.7 of its own standard deviations) essentially never.
const DIP_CADENCES: usize = 3;
const MAX_DONOR_DIP: f64 = 5.0;
/// The median absolute deviation of a normal distribution is this times its sigma.
const MAD_PER_SIGMA: f64 = 0.674_489_75;

/// How many transits to inject, how strong, and under which label.
#[derive(Clone, Debug, PartialEq)]
pub struct InjectConfig {
    pub count: usize,
    /// Target S/N, drawn log-uniform in this range.
    pub snr: (f64, f64),
    pub seed: u64,
    /// Label of the injected curves; their donors are the rows with any other label.
    pub planet_label: Label,
}

/// `cfg.count` new curves, each a donor row of `data` (a row whose label is not the
/// planet label, drawn uniformly) with a planet's transits added, labelled
/// `cfg.planet_label`.
pub fn inject_transits(data: &Dataset, cfg: &InjectConfig) -> Result<Dataset, SynthError> {
    if data.len < MIN_SAMPLES {
        return Err(SynthError::Config(format!(
            "transit injection needs series of at least {MIN_SAMPLES} samples (two transits of the \
             shortest period), these have {}",
            data.len
        )));
    }
    let others: Vec<usize> = (0..data.rows()).filter(|&r| data.labels[r] != cfg.planet_label).collect();
    if others.is_empty() {
        return Err(SynthError::Config(format!(
            "every training row has the planet label {}; there is no curve to inject transits into",
            cfg.planet_label
        )));
    }
    let noise: Vec<DonorNoise> = others.par_iter().map(|&r| DonorNoise::measure(data.series(r))).collect();
    let quiet: Vec<(usize, f64)> =
        others.iter().zip(&noise).filter(|(_, n)| n.quiet()).map(|(&r, n)| (r, n.sigma)).collect();
    // Only when every curve dips (a set of eclipsing binaries) do dipping donors serve.
    let donors = if quiet.is_empty() {
        others.iter().zip(&noise).map(|(&r, n)| (r, n.sigma)).collect()
    } else {
        quiet
    };
    let mut values = vec![0.0f32; cfg.count * data.len];
    values.par_chunks_mut(data.len.max(1)).enumerate().for_each(|(row, out)| {
        let mut draw = Draw::for_star(cfg.seed ^ SEED_SALT, Split::Train, row);
        let (donor, sigma) = donors[draw.integer(0, donors.len() - 1)];
        inject_one(&mut draw, data.series(donor), sigma, cfg.snr, out);
    });
    Ok(Dataset {
        source: format!("{} with {} injected transits", data.source, cfg.count),
        labels: vec![cfg.planet_label.clone(); cfg.count],
        values,
        len: data.len,
    })
}

fn inject_one(draw: &mut Draw, donor: &[f32], sigma: f64, snr: (f64, f64), out: &mut [f32]) {
    let samples = donor.len();
    let star = Star::draw(draw);
    let gaps = Gaps::none(samples);
    let window = Window { samples, gaps: &gaps, scatter: star.white_noise };
    let planet = Planet::draw(draw, &star, &window, &Plan::planet(&window, snr, None));
    let mut transit = vec![1.0; samples];
    planet.dim(&star, &mut transit);
    let units = sigma / star.white_noise;
    for ((o, &d), t) in out.iter_mut().zip(donor).zip(&transit) {
        *o = (d as f64 + (t - 1.0) * units) as f32;
    }
}

/// A donor curve's noise on transit time scales, in its own units.
struct DonorNoise {
    /// Robust scatter: the MAD of what is left after a ~1-day moving average, as a normal
    /// sigma; 1 for a curve without scatter (constant, or too short for the window), so
    /// that a transit stays visible.
    sigma: f64,
    /// The lowest 3-cadence mean of that residual, in sigmas.
    deepest: f64,
}

impl DonorNoise {
    fn measure(flux: &[f32]) -> DonorNoise {
        let n = flux.len();
        let half = TREND_WINDOW / 2;
        let mut prefix = vec![0.0f64; n + 1];
        for (i, &v) in flux.iter().enumerate() {
            prefix[i + 1] = prefix[i] + v as f64;
        }
        let residual: Vec<f64> = (0..n)
            .map(|i| {
                let (lo, hi) = (i.saturating_sub(half), (i + half + 1).min(n));
                flux[i] as f64 - (prefix[hi] - prefix[lo]) / (hi - lo) as f64
            })
            .collect();
        let median = median_in_place(&mut residual.clone());
        let mut deviation: Vec<f64> = residual.iter().map(|r| (r - median).abs()).collect();
        let mad = median_in_place(&mut deviation) / MAD_PER_SIGMA;
        let sigma = if mad > 0.0 && mad.is_finite() { mad } else { 1.0 };
        let deepest = residual
            .windows(DIP_CADENCES)
            .map(|w| (w.iter().sum::<f64>() / DIP_CADENCES as f64 - median) / sigma)
            .fold(0.0, f64::min);
        DonorNoise { sigma, deepest }
    }

    /// No dip deeper than `MAX_DONOR_DIP`: transits injected into an eclipsing binary (or a
    /// star with a single dip) would teach the model that eclipses make planets.
    fn quiet(&self) -> bool {
        self.deepest >= -MAX_DONOR_DIP
    }
}

fn median_in_place(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mid = v.len() / 2;
    *v.select_nth_unstable_by(mid, f64::total_cmp).1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize, sigma: f64, offset: f64, seed: u64) -> Vec<f32> {
        let mut draw = Draw::for_star(seed, Split::Test, 0);
        (0..n).map(|_| (offset + sigma * draw.normal()) as f32).collect()
    }

    #[test]
    fn scatter_of_white_noise_is_its_sigma_and_quiet() {
        let n = DonorNoise::measure(&noise(3197, 25.0, 1e4, 1));
        assert!((n.sigma - 25.0).abs() < 1.5, "{}", n.sigma);
        assert!(n.quiet(), "deepest {}", n.deepest);
    }

    #[test]
    fn an_eclipsing_curve_is_no_donor() {
        let n = 3197;
        let quiet = noise(n, 10.0, 500.0, 3);
        let mut eclipsing = noise(n, 10.0, 500.0, 4);
        for start in [400, 1400, 2400] {
            for v in &mut eclipsing[start..start + 6] {
                *v -= 80.0;
            }
        }
        assert!(!DonorNoise::measure(&eclipsing).quiet());
        let values = [eclipsing.clone(), quiet.clone()].concat();
        let data = Dataset { source: "t".into(), labels: vec![Label::Int(1); 2], values, len: n };
        let cfg = InjectConfig { count: 20, snr: (20.0, 30.0), seed: 9, planet_label: Label::Int(2) };
        let out = inject_transits(&data, &cfg).unwrap();
        for row in 0..20 {
            // Every injection went into the quiet curve: it differs from it only by dimming.
            let dimmed = out.series(row).iter().zip(&quiet).all(|(a, b)| *a <= *b + 1e-3);
            assert!(dimmed, "row {row} was injected into the eclipsing curve");
        }
    }

    #[test]
    fn injected_depth_matches_the_requested_snr() {
        let n = 3197;
        let donor = noise(n, 10.0, -3.0, 2);
        let data = Dataset { source: "t".into(), labels: vec![Label::Int(1)], values: donor.clone(), len: n };
        let cfg = InjectConfig { count: 3, snr: (40.0, 40.0), seed: 7, planet_label: Label::Int(2) };
        let out = inject_transits(&data, &cfg).unwrap();
        assert_eq!(out.labels, vec![Label::Int(2); 3]);
        for row in 0..3 {
            let diff: Vec<f64> = out.series(row).iter().zip(&donor).map(|(a, b)| (*a - *b) as f64).collect();
            assert!(diff.iter().all(|d| *d <= 1e-3), "a transit only dims");
            // S/N = sum of the dimming / (sigma sqrt(n_in)) is ~40 up to the limb-darkened
            // shape (in-transit cadences are less deep than the centre: ratio 0.6-1).
            let in_transit: Vec<f64> = diff.iter().copied().filter(|d| *d < -1e-3).collect();
            let snr = -in_transit.iter().sum::<f64>() / (10.0 * (in_transit.len() as f64).sqrt());
            assert!((20.0..=42.0).contains(&snr), "row {row}: S/N {snr}");
        }
    }

    #[test]
    fn no_donor_or_too_short_series_is_an_error() {
        let cfg = InjectConfig { count: 1, snr: (10.0, 20.0), seed: 1, planet_label: Label::Int(2) };
        let data =
            Dataset { source: "t".into(), labels: vec![Label::Int(2)], values: vec![0.0; 200], len: 200 };
        assert!(inject_transits(&data, &cfg).unwrap_err().to_string().contains("no curve to inject"));
        let data =
            Dataset { source: "t".into(), labels: vec![Label::Int(1)], values: vec![0.0; 100], len: 100 };
        assert!(inject_transits(&data, &cfg).unwrap_err().to_string().contains("at least 128 samples"));
    }
}
