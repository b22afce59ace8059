//! How big the synthetic data set is and what it holds; what can be wrong with that.

/// The shape of a synthetic K2-like data set. `Default` is Kaggle's exoTrain/exoTest:
/// 5,087 training stars of which 37 host planets, 570 test stars of which 5 do, 3,197
/// samples each.
#[derive(Clone, Debug, PartialEq)]
pub struct SynthConfig {
    pub train_stars: usize,
    pub test_stars: usize,
    /// Planet hosts among `train_stars`; they come first, as in exoTrain.csv.
    pub train_planets: usize,
    pub test_planets: usize,
    /// Cadences per light curve, 29.4 min apart (3,197 = 65.3 d); at least 128.
    pub samples: usize,
    pub seed: u64,
    /// Share of non-hosts that are eclipsing binaries (default 0.05).
    pub eb_fraction: f64,
    /// Share of hosts with a second transiting planet (default 0.2).
    pub two_planet_fraction: f64,
    /// Share of the remaining non-hosts with one transit-like dip (default 0.03).
    pub single_dip_fraction: f64,
    /// Range of the target transit SNR, drawn log-uniform (default 3 to 100).
    pub planet_snr: (f64, f64),
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            train_stars: 5087,
            test_stars: 570,
            train_planets: 37,
            test_planets: 5,
            samples: 3197,
            seed: 42,
            eb_fraction: 0.05,
            two_planet_fraction: 0.2,
            single_dip_fraction: 0.03,
            planet_snr: (3.0, 100.0),
        }
    }
}

/// The fewest cadences a curve may have: ~2.6 d, room for two transits of the shortest
/// periods around the least dense stars.
pub const MIN_SAMPLES: usize = 128;

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("synthetic data: {0}")]
    Config(String),

    #[error("{path}: cannot be written: {source}. Check that the directory exists and is writable.")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl SynthConfig {
    /// Checks every field; the message names the field and a valid value.
    pub fn validate(&self) -> Result<(), SynthError> {
        let bad = |msg: String| Err(SynthError::Config(msg));
        if self.samples < MIN_SAMPLES {
            return bad(format!(
                "{} samples per curve is too few; use at least {MIN_SAMPLES} (the K2 default is 3197)",
                self.samples
            ));
        }
        for (split, stars, planets) in
            [("train", self.train_stars, self.train_planets), ("test", self.test_stars, self.test_planets)]
        {
            if planets > stars {
                return bad(format!(
                    "{planets} {split} planets among {stars} {split} stars; planets must be at most the stars"
                ));
            }
        }
        for (name, share) in [
            ("eb_fraction", self.eb_fraction),
            ("two_planet_fraction", self.two_planet_fraction),
            ("single_dip_fraction", self.single_dip_fraction),
        ] {
            if !(0.0..=1.0).contains(&share) {
                return bad(format!("{name} = {share}; use a share between 0 and 1"));
            }
        }
        let (lo, hi) = self.planet_snr;
        if !(lo > 0.0 && lo <= hi && hi.is_finite()) {
            return bad(format!(
                "planet SNR range ({lo}, {hi}); use 0 < low <= high, finite (default 3 to 100)"
            ));
        }
        Ok(())
    }
}
