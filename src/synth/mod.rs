//! The built-in data set: synthetic K2 Campaign 3-like light curves with known truth.
//!
//! Each star is 3,197 cadences of 29.4 min (~65 d) of flux in e-/s, made of (see each
//! submodule's doc for the exact ranges):
//! - `star`: brightness Kp 9-16 and the white noise it implies (~30-1000 ppm per cadence);
//! - `variability`: spot rotation (1-30 d, 0.01%-2%, evolving) and granulation
//!   (damped random walk, 1-8 h, 10-150 ppm);
//! - `systematics`: K2's 6-h roll sawtooth, thruster-firing dips and cosmic rays;
//! - `gaps`: up to three gaps, filled with straight noiseless lines;
//! - `planet`: one or two (20%) transiting planets with quadratic limb darkening
//!   (`transit`), period 0.5-30 d, duration 1-10 h, SNR ~3-100 so that some hosts are
//!   undetectable;
//! - `eclipse`: eclipsing binaries (5% of non-hosts), the hard negatives, with
//!   secondary eclipses and ellipsoidal variation; 3% of the other non-hosts show one
//!   transit-like dip.
//!
//! Labels follow Kaggle's exoTrain.csv: 2 for a planet host, 1 otherwise, hosts first.
//! Every star draws from its own ChaCha8 stream chosen by (seed, split, row), so the
//! output depends on the seed only, not on the number of threads.

mod config;
mod csv_out;
mod curve;
mod draw;
mod eclipse;
mod gaps;
mod inject;
mod oscillator;
mod planet;
mod star;
mod systematics;
mod transit;
mod truth;
mod variability;

use rayon::prelude::*;

pub use config::{SynthConfig, SynthError, MIN_SAMPLES};
pub use csv_out::{read_truth_csv, write_exo_csv, write_truth_csv};
pub use draw::Split;
pub use gaps::with_long_gaps;
pub use inject::{inject_transits, InjectConfig};
pub use star::CADENCE_DAYS;
pub use truth::{recall_by_snr, snr_bins, Kind, SnrBin, TruthRow};

use crate::data::{Dataset, Label};

/// A generated training and test set, each with its truth table (row i describes row i).
#[derive(Clone, Debug)]
pub struct SynthSet {
    pub train: Dataset,
    pub test: Dataset,
    pub train_truth: Vec<TruthRow>,
    pub test_truth: Vec<TruthRow>,
}

/// Generates the data set that `cfg` describes, in parallel over stars.
pub fn generate(cfg: &SynthConfig) -> Result<SynthSet, SynthError> {
    cfg.validate()?;
    let (train, train_truth) = generate_split(cfg, Split::Train);
    let (test, test_truth) = generate_split(cfg, Split::Test);
    Ok(SynthSet { train, test, train_truth, test_truth })
}

/// Keeps [`eclipsing_binaries`]' stars apart from the data set's stars of the same seed.
const BINARIES_SALT: u64 = 0xEC11_95E5;

/// `count` eclipsing binaries (label 1) from the generator, of `cfg.samples` cadences,
/// under a seed of their own: hard negatives to train on beside injected transits. The
/// built-in set's 5% (~250) are too few to teach a model the binaries' tells (odd and
/// even eclipses of unequal depths, a secondary eclipse) against 2,000 injected planets.
pub fn eclipsing_binaries(cfg: &SynthConfig, count: usize) -> Result<Dataset, SynthError> {
    let binaries = SynthConfig {
        train_stars: count,
        train_planets: 0,
        test_stars: 0,
        test_planets: 0,
        eb_fraction: 1.0,
        seed: cfg.seed ^ BINARIES_SALT,
        ..cfg.clone()
    };
    binaries.validate()?;
    let (mut data, _) = generate_split(&binaries, Split::Train);
    data.source = format!("{count} synthetic eclipsing binaries, seed {}", cfg.seed);
    Ok(data)
}

/// Keeps [`long_spans`]' stars apart from the data set's stars of the same seed.
const LONG_SPANS_SALT: u64 = 0x1016_5BA5;

/// `count` stars without planets (eclipsing binaries and lone dips at the usual shares)
/// observed `spans` times as long as `cfg.samples` cadences, each `spans` consecutive
/// cadences averaged into one sample: what the time grid (data::time_grid) makes of
/// several Kepler quarters stitched, a span `spans` times the grid's on bins that much
/// wider, where a star's rotation and granulation fill fewer bins and each bin's white
/// noise is lower. The K2-length stars alone never show a network that scale.
pub fn long_spans(cfg: &SynthConfig, count: usize, spans: usize) -> Result<Dataset, SynthError> {
    let long = SynthConfig {
        train_stars: count,
        train_planets: 0,
        test_stars: 0,
        test_planets: 0,
        samples: cfg.samples * spans.max(1),
        seed: cfg.seed ^ LONG_SPANS_SALT,
        ..cfg.clone()
    };
    long.validate()?;
    let (data, _) = generate_split(&long, Split::Train);
    let values = data.values.chunks_exact(spans.max(1)).map(|c| c.iter().sum::<f32>() / c.len() as f32);
    Ok(Dataset {
        source: format!("{count} synthetic stars over {spans} times the span, seed {}", cfg.seed),
        labels: data.labels,
        values: values.collect(),
        len: cfg.samples,
    })
}

fn generate_split(cfg: &SynthConfig, split: Split) -> (Dataset, Vec<TruthRow>) {
    let (stars, planets) = match split {
        Split::Train => (cfg.train_stars, cfg.train_planets),
        Split::Test => (cfg.test_stars, cfg.test_planets),
    };
    let mut values = vec![0.0f32; stars * cfg.samples];
    let truth: Vec<TruthRow> = values
        .par_chunks_mut(cfg.samples)
        .enumerate()
        .map(|(row, flux)| curve::light_curve(cfg, split, row, row < planets, flux))
        .collect();
    let dataset = Dataset {
        source: format!("synthetic K2-like {split:?} set, seed {}", cfg.seed).to_lowercase(),
        labels: truth.iter().map(|t| Label::Int(t.label)).collect(),
        values,
        len: cfg.samples,
    };
    (dataset, truth)
}
