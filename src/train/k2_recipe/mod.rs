//! The built-in K2 recipe (`starskope train` without `--train`): synthetic K2 light
//! curves, transit-injected and eclipsing-binary training curves, a validation set of its
//! own, the transit search's detection gate, and the injection set that measures recall
//! by S/N. The run driver (`train::run`) calls it for the built-in data, and for
//! `--inject` on any data.

pub mod injection;

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::backend::{Backend, TensorId};
use crate::data::{Dataset, Label, Layout, Preprocess};
use crate::metrics::report::argmax;
use crate::model::presets;
use crate::model::Ensemble;
use crate::synth::{self, InjectConfig, SynthConfig, SynthSet};
use crate::train::defaults::Defaults;
use crate::train::evaluate::{self, Prepared};
use crate::transit::Detection;
use injection::InjectionRecovery;

/// Planet hosts' label in Kaggle's exoTrain.csv and in the built-in data.
pub const PLANET_LABEL: i64 = 2;
/// Transit-injected curves added to the built-in training set: its 37 real planet hosts
/// are too few to learn from (see synth::inject).
pub const INJECTED: usize = 2000;
/// Extra synthetic eclipsing binaries (non-planets) added to the built-in training set
/// (see synth::eclipsing_binaries).
pub const BINARIES: usize = 1000;
/// Stars over four times the built-in span on four-times-wider samples (as the time grid
/// puts three or four stitched Kepler quarters; see synth::long_spans) added to the
/// built-in training set as non-planets, and as many copies of them with injected
/// transits as planets: the built-in set's 65-day curves alone never show the network a
/// long span's coarser samples, nor planets whose few transits lie hundreds of samples
/// apart on them (Kepler-90 d: 59.7 d, four transits in 278 days), nor a stitched
/// series with a quarter-long stretch missing (`synth::with_long_gaps`).
pub const LONG_SPANS: usize = 600;
/// Keeps the long gaps' draws apart from the stars' and the injections' of the same seed.
const LONG_GAPS_SALT: u64 = 0x10_46A9;
/// How many times the built-in span [`LONG_SPANS`]' stars cover.
pub const LONG_SPAN_FACTOR: usize = 4;
/// S/N range of injected transits: from a little below the recipe's S/N 15 bar, so that
/// the model learns where detection starts, to the generator's brightest planets. Weaker
/// transits would teach it to call noise a planet.
pub const INJECTED_SNR: (f64, f64) = (7.0, 100.0);

/// The recipe's gate: the box-search S/N a built-in light curve needs to be a planet
/// candidate, and what of it must remain without the deepest transit (see
/// transit::Detection). Kepler's pipeline uses 7.1; these whitened curves keep red noise
/// (rotation residuals, roll) whose best box of an ordinary star reaches 7 at the median,
/// so the first gate sits a little higher; the second stops lone dips, which the first
/// passes. How (8, 7) was chosen, per seed: benches/RESULTS.md, "The K2 recipe's gate".
pub const DETECTION: Detection =
    Detection { min_snr: 8.0, min_snr_without_deepest: 7.0, planet_label: PLANET_LABEL };

/// A model's defaults on the built-in data: its preset's `on_k2` batches, networks and
/// (for the transit search) channels.
pub fn defaults(name: &str) -> Defaults {
    let d = presets::training_defaults(name);
    let k2 = d.on_k2;
    Defaults {
        preprocess: if k2.transit_search { Preprocess::transit_search(DETECTION) } else { d.preprocess },
        sampling: k2.sampling,
        roll: k2.roll,
        batch: d.batch,
        lr: d.lr,
        epochs: d.epochs,
        members: k2.members,
    }
}

/// The built-in set's configuration: `synth` (sizes from `--synth-stars`), else the
/// Kaggle sizes at `seed`.
pub fn config(synth: Option<&SynthConfig>, seed: u64) -> SynthConfig {
    synth.cloned().unwrap_or_else(|| SynthConfig { seed, ..SynthConfig::default() })
}

/// The built-in training and test sets, the test set and its truth also written to
/// `out`/data for `starskope eval`.
pub fn generate(cfg: &SynthConfig, out: &Path) -> Result<SynthSet> {
    eprintln!(
        "No --train given: generating the built-in synthetic K2 set ({} + {} stars, seed {})",
        cfg.train_stars, cfg.test_stars, cfg.seed
    );
    let set = synth::generate(cfg)?;
    let dir = out.join("data");
    std::fs::create_dir_all(&dir)?;
    synth::write_exo_csv(&dir.join("exoTest.csv"), &set.test)?;
    synth::write_truth_csv(&dir.join("truth_test.csv"), &set.test_truth)?;
    Ok(set)
}

/// The recipe's validation set: fresh synthetic stars of their own seed (the built-in
/// set's 37 hosts are too few to split off).
pub fn validation_set(seed: u64) -> Result<Dataset> {
    eprintln!(
        "Validating on {} fresh synthetic stars ({} planet hosts) after every epoch",
        injection::VALIDATION_STARS,
        injection::VALIDATION_PLANETS
    );
    Ok(injection::validation_set(seed)?)
}

/// `train` with the recipe's extra eclipsing binaries.
pub fn add_binaries(train: &mut Dataset, cfg: &SynthConfig) -> Result<()> {
    train.append(synth::eclipsing_binaries(cfg, BINARIES)?);
    eprintln!("Added {BINARIES} synthetic eclipsing binaries to the training set");
    Ok(())
}

/// `train` with [`LONG_SPANS`] stars over [`LONG_SPAN_FACTOR`] times the span as
/// non-planets, and as many copies of them with injected transits as planets.
pub fn add_long_spans(
    train: &mut Dataset,
    cfg: &SynthConfig,
    planet_label: Option<&Label>,
    seed: u64,
) -> Result<()> {
    let mut long = synth::long_spans(cfg, LONG_SPANS, LONG_SPAN_FACTOR)?;
    // Another injection seed than the K2-length copies': other planets, not the same
    // draws in other stars.
    let planet_label = planet_label.cloned().unwrap_or(Label::Int(PLANET_LABEL));
    let inject = InjectConfig { count: LONG_SPANS, snr: INJECTED_SNR, seed: !seed, planet_label };
    let mut hosts = synth::inject_transits(&long, &inject).context("transits in the long spans")?;
    synth::with_long_gaps(&mut long, seed ^ LONG_GAPS_SALT);
    synth::with_long_gaps(&mut hosts, !(seed ^ LONG_GAPS_SALT));
    train.append(long);
    train.append(hosts);
    eprintln!(
        "Added {LONG_SPANS} synthetic stars over {LONG_SPAN_FACTOR} times the span (several Kepler quarters, \
         half of them with a long stretch missing), and as many copies of them with injected transits"
    );
    Ok(())
}

/// `train` with `count` copies of its non-planet curves with transits injected, labelled
/// `planet_label` (Kaggle's 2 when None).
pub fn with_injected_transits(
    mut train: Dataset,
    count: usize,
    planet_label: Option<&Label>,
    seed: u64,
) -> Result<Dataset> {
    if count == 0 {
        return Ok(train);
    }
    let label = planet_label.cloned().unwrap_or(Label::Int(PLANET_LABEL));
    if !train.labels.contains(&label) {
        bail!(
            "--inject: no training row has the planet label {label}, so injected transits would make a \
             new class; give the label of your planet hosts with --planet-label, or --inject 0"
        );
    }
    let cfg = InjectConfig { count, snr: INJECTED_SNR, seed, planet_label: label.clone() };
    let extra = synth::inject_transits(&train, &cfg).context("--inject")?;
    eprintln!(
        "Added {count} training curves with simulated transits (S/N {} to {}) injected into copies of \
         non-planet curves, labelled {label}; --inject 0 turns this off",
        cfg.snr.0, cfg.snr.1
    );
    train.append(extra);
    Ok(train)
}

/// Scores the selected model on the injection set that goes with the built-in data.
pub fn injection_recovery(
    be: &mut dyn Backend,
    nets: &Ensemble,
    x: TensorId,
    layout: Layout,
    prepare: &dyn Fn(Dataset) -> Result<Prepared>,
    seed: u64,
) -> Result<InjectionRecovery> {
    let set = injection::generate(seed)?;
    let prepared = prepare(set.data)?;
    let probs = evaluate::predict(be, nets, x, &prepared, layout)?;
    let positive: Vec<bool> = probs.chunks(2).map(|p| argmax(p) == 1).collect();
    let detected = prepared.detections.map(|d| d.passed);
    Ok(injection::measure(&set.truth, &positive, detected.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::SampleMode;
    use crate::train::defaults;

    /// The main job (seed-cnn on the built-in data) keeps the recipe it always had, while
    /// seed-cnn on a user's data gets shuffled batches without rolls.
    #[test]
    fn the_recipe_applies_to_the_built_in_data_only() {
        let k2 = defaults("seed-cnn");
        assert_eq!(k2.preprocess, Preprocess::transit_search(DETECTION));
        assert_eq!((k2.sampling, k2.roll, k2.members), (SampleMode::Balanced, true, 2));
        assert_eq!((k2.batch, k2.lr, k2.epochs), (32, 3e-4, 40));
        let user = defaults::for_model("seed-cnn");
        assert_eq!(user.preprocess, Preprocess::default());
        assert_eq!((user.sampling, user.roll, user.members), (SampleMode::Shuffled, false, 1));
        assert_eq!((user.batch, user.lr, user.epochs), (32, 3e-4, 40));
        let lstm = defaults("seed-lstm");
        assert_eq!(
            (lstm.sampling, lstm.roll, lstm.members, lstm.epochs),
            (SampleMode::Balanced, true, 1, 10)
        );
        let fcn = defaults("fcn");
        assert_eq!((fcn.sampling, fcn.roll, fcn.batch, fcn.epochs), (SampleMode::Shuffled, false, 16, 200));
        assert_eq!(fcn.preprocess.channels(), 1);
        let json = defaults("my-model.json");
        assert_eq!((json.sampling, json.roll, json.members), (SampleMode::Balanced, true, 1));
    }
}
