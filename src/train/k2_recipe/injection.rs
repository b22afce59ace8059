//! Injection-recovery: how completeness falls with a transit's signal-to-noise ratio.
//!
//! The main job's test set holds 5 planets, too few to measure recall at any S/N. After
//! training on the built-in synthetic set, the main job therefore scores a second set
//! made by the same generator with its own seed: `INJECTION_STARS` stars of which
//! `INJECTION_PLANETS` host planets with S/N log-uniform over the generator's range
//! (3 to 100), and reports recall per S/N bin and the share of its non-planets
//! (eclipsing binaries included) flagged as planets. Transit surveys measure their
//! completeness the same way (e.g. Christiansen et al. 2013 for Kepler).
//!
//! The main job validates on a third set of its own seed (`VALIDATION_STARS`, of which
//! `VALIDATION_PLANETS` are hosts): the built-in set's 37 hosts are too few to split
//! off, and the injection set must stay unseen by model selection.

use std::fmt::Write as _;

use serde::Serialize;

use crate::data::Dataset;
use crate::synth::{self, Kind, SnrBin, SynthConfig, TruthRow};

pub const INJECTION_STARS: usize = 2000;
pub const INJECTION_PLANETS: usize = 500;
/// Recall is summarised above this S/N (the acceptance bar of the main job).
pub const SUMMARY_SNR: f64 = 15.0;
/// Keeps the injection set's stars apart from the training and test stars of the same
/// seed (each star's random stream is keyed by the seed).
const SEED_SALT: u64 = 0x1A2E_C7ED;
pub const VALIDATION_STARS: usize = 1000;
pub const VALIDATION_PLANETS: usize = 250;
const VALIDATION_SALT: u64 = 0x7A11_DA7E;

/// The injection set and what is really in each of its light curves.
pub struct InjectionSet {
    pub data: Dataset,
    pub truth: Vec<TruthRow>,
}

/// Generates the injection set that goes with a main job of this seed.
pub fn generate(seed: u64) -> Result<InjectionSet, synth::SynthError> {
    fresh_stars(seed ^ SEED_SALT, INJECTION_STARS, INJECTION_PLANETS)
}

/// Generates the validation set that goes with a main job of this seed.
pub fn validation_set(seed: u64) -> Result<Dataset, synth::SynthError> {
    let mut set = fresh_stars(seed ^ VALIDATION_SALT, VALIDATION_STARS, VALIDATION_PLANETS)?;
    set.data.source = format!("synthetic K2-like validation set, seed {seed}");
    Ok(set.data)
}

/// `stars` stars from the generator under this seed, the first `planets` of them hosts,
/// with S/N log-uniform over its range.
fn fresh_stars(seed: u64, stars: usize, planets: usize) -> Result<InjectionSet, synth::SynthError> {
    let cfg = SynthConfig {
        train_stars: 0,
        train_planets: 0,
        test_stars: stars,
        test_planets: planets,
        seed,
        ..SynthConfig::default()
    };
    let set = synth::generate(&cfg)?;
    Ok(InjectionSet { data: set.test, truth: set.test_truth })
}

/// metrics.json's `injection_recovery`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InjectionRecovery {
    pub stars: usize,
    pub planets: usize,
    /// Recall of planet hosts per S/N bin (S/N of each host's strongest planet).
    pub bins: Vec<SnrBin>,
    /// Recall over all hosts with S/N above `SUMMARY_SNR`.
    pub recall_above_snr15: Option<f64>,
    pub non_planets: usize,
    /// Non-planets predicted to be planet hosts.
    pub false_positives: usize,
    pub false_positive_rate: f64,
    pub eclipsing_binaries: usize,
    pub eclipsing_binaries_flagged: usize,
    /// With a detection gate (detect, then vet): the share of the hosts above
    /// `SUMMARY_SNR` that it passed to the network (the ceiling on their recall), and the
    /// non-planets it passed.
    pub detected_above_snr15: Option<f64>,
    pub non_planets_detected: Option<usize>,
}

/// Scores predictions against the truth; `positive[i]` is the prediction for `truth[i]`,
/// `detected[i]` whether the detection gate, if any, passed it.
pub fn measure(truth: &[TruthRow], positive: &[bool], detected: Option<&[bool]>) -> InjectionRecovery {
    let bins = synth::recall_by_snr(truth, positive);
    let rows = || truth.iter().zip(positive);
    let count = |keep: &dyn Fn(&TruthRow, bool) -> bool| rows().filter(|(t, &p)| keep(t, p)).count();
    let strong = count(&|t, _| t.kind == Kind::Planet && t.snr >= SUMMARY_SNR);
    let strong_found = count(&|t, p| p && t.kind == Kind::Planet && t.snr >= SUMMARY_SNR);
    let non_planets = count(&|t, _| t.kind != Kind::Planet);
    let false_positives = count(&|t, p| p && t.kind != Kind::Planet);
    let passed = |keep: &dyn Fn(&TruthRow) -> bool| {
        detected.map(|d| truth.iter().zip(d).filter(|(t, &d)| d && keep(t)).count())
    };
    let strong_detected = passed(&|t| t.kind == Kind::Planet && t.snr >= SUMMARY_SNR);
    InjectionRecovery {
        stars: truth.len(),
        planets: count(&|t, _| t.kind == Kind::Planet),
        bins,
        recall_above_snr15: (strong > 0).then(|| strong_found as f64 / strong as f64),
        non_planets,
        false_positives,
        false_positive_rate: false_positives as f64 / non_planets.max(1) as f64,
        eclipsing_binaries: count(&|t, _| t.kind == Kind::Eb),
        eclipsing_binaries_flagged: count(&|t, p| p && t.kind == Kind::Eb),
        detected_above_snr15: strong_detected.filter(|_| strong > 0).map(|d| d as f64 / strong as f64),
        non_planets_detected: passed(&|t| t.kind != Kind::Planet),
    }
}

impl InjectionRecovery {
    /// The printed curve.
    pub fn render(&self) -> String {
        let mut s = format!(
            "Injection-recovery on {} fresh synthetic stars ({} planet hosts), recall by transit S/N:\n",
            self.stars, self.planets
        );
        for b in self.bins.iter().filter(|b| b.planets > 0) {
            let _ = writeln!(
                s,
                "  S/N {:>5.1} - {:<5.1} {:>4} planets  recall {:.2}",
                b.lo,
                b.hi,
                b.planets,
                b.recall.unwrap_or(0.0)
            );
        }
        let _ = writeln!(
            s,
            "  recall at S/N >= {SUMMARY_SNR}: {}; non-planets flagged: {} of {} ({:.2}%), of which \
             eclipsing binaries {} of {}",
            self.recall_above_snr15.map_or("-".into(), |r| format!("{r:.3}")),
            self.false_positives,
            self.non_planets,
            100.0 * self.false_positive_rate,
            self.eclipsing_binaries_flagged,
            self.eclipsing_binaries
        );
        if let (Some(hosts), Some(others)) = (self.detected_above_snr15, self.non_planets_detected) {
            let _ = writeln!(
                s,
                "  the detection gate passed {hosts:.3} of the hosts at S/N >= {SUMMARY_SNR} and {others} of the \
                 {} non-planets to the network",
                self.non_planets
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Label;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn row(kind: Kind, snr: f64) -> TruthRow {
        TruthRow {
            star: 0,
            label: if kind == Kind::Planet { 2 } else { 1 },
            kind,
            n_planets: usize::from(kind == Kind::Planet),
            period_days: 1.0,
            epoch_days: 0.0,
            depth_ppm: 100.0,
            duration_hours: 2.0,
            snr,
            kepmag: 12.0,
        }
    }

    #[test]
    fn counts_match_a_direct_tally_on_random_predictions() {
        let mut rng = ChaCha8Rng::seed_from_u64(41);
        let kinds = [Kind::Planet, Kind::Eb, Kind::Star];
        let truth: Vec<TruthRow> =
            (0..500).map(|_| row(kinds[rng.gen_range(0..3)], rng.gen_range(1.0..120.0))).collect();
        let positive: Vec<bool> = (0..500).map(|_| rng.gen()).collect();
        let detected: Vec<bool> = (0..500).map(|_| rng.gen()).collect();
        let m = measure(&truth, &positive, Some(&detected));
        let planets: Vec<usize> = (0..500).filter(|&i| truth[i].kind == Kind::Planet).collect();
        let strong: Vec<usize> = planets.iter().copied().filter(|&i| truth[i].snr >= 15.0).collect();
        let found = strong.iter().filter(|&&i| positive[i]).count();
        assert_eq!(m.planets, planets.len());
        assert_eq!(m.recall_above_snr15, Some(found as f64 / strong.len() as f64));
        let others: Vec<usize> = (0..500).filter(|&i| truth[i].kind != Kind::Planet).collect();
        let flagged = others.iter().filter(|&&i| positive[i]).count();
        assert_eq!((m.non_planets, m.false_positives), (others.len(), flagged));
        assert!((m.false_positive_rate - flagged as f64 / others.len() as f64).abs() < 1e-12);
        assert_eq!(m.bins.iter().map(|b| b.planets).sum::<usize>(), planets.len());
        let passed = strong.iter().filter(|&&i| detected[i]).count();
        assert_eq!(m.detected_above_snr15, Some(passed as f64 / strong.len() as f64));
        assert_eq!(m.non_planets_detected, Some(others.iter().filter(|&&i| detected[i]).count()));
        assert!(m.render().contains("non-planets flagged") && m.render().contains("detection gate passed"));
        assert_eq!(measure(&truth, &positive, None).non_planets_detected, None);
    }

    #[test]
    fn injection_set_differs_from_the_main_set_and_spans_the_snr_range() {
        let set = generate(42).expect("valid configuration");
        assert_eq!(set.data.rows(), INJECTION_STARS);
        let main =
            synth::generate(&SynthConfig { train_stars: 0, train_planets: 0, ..SynthConfig::default() })
                .expect("valid configuration");
        assert_ne!(set.data.series(0), main.test.series(0));
        let snr: Vec<f64> = set.truth.iter().filter(|t| t.kind == Kind::Planet).map(|t| t.snr).collect();
        assert_eq!(snr.len(), INJECTION_PLANETS);
        assert!(snr.iter().any(|&s| s < 5.0) && snr.iter().filter(|&&s| s > 15.0).count() > 150);
    }

    #[test]
    fn validation_set_is_apart_from_the_injection_and_main_sets() {
        let val = validation_set(42).expect("valid configuration");
        assert_eq!(val.rows(), VALIDATION_STARS);
        assert_eq!(val.labels.iter().filter(|&l| *l == Label::Int(2)).count(), VALIDATION_PLANETS);
        let injection = generate(42).expect("valid configuration");
        let main = synth::generate(&SynthConfig::default()).expect("valid configuration");
        for other in [injection.data.series(0), main.train.series(0), main.test.series(0)] {
            assert_ne!(val.series(0), other);
        }
        assert_ne!(val.series(0), validation_set(43).expect("valid configuration").series(0));
    }
}
