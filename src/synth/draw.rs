//! The random numbers of one synthetic star.
//!
//! Every star owns a ChaCha8 stream picked by (seed, split, row): the key is the data
//! set's seed and the stream number is `split << 48 | row`. A star's light curve is
//! therefore the same whichever thread draws it and whatever other stars are drawn.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Which of the two files a star belongs to; part of each star's stream number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    Train = 0,
    Test = 1,
}

pub(crate) struct Draw {
    rng: ChaCha8Rng,
    /// Box-Muller yields normals in pairs; the second waits here.
    spare_normal: Option<f64>,
}

impl Draw {
    pub(crate) fn for_star(seed: u64, split: Split, row: usize) -> Draw {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(((split as u64) << 48) | row as u64);
        Draw { rng, spare_normal: None }
    }

    /// Uniform in [lo, hi); `lo` when the range is empty.
    pub(crate) fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.rng.gen::<f64>()
    }

    /// Log-uniform in [lo, hi): each factor of ten is equally likely. Both must be > 0.
    pub(crate) fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        self.uniform(lo.ln(), hi.ln()).exp()
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.rng.gen::<f64>() < p
    }

    /// Uniform integer in lo..=hi.
    pub(crate) fn integer(&mut self, lo: usize, hi: usize) -> usize {
        self.rng.gen_range(lo..=hi)
    }

    /// +1 or -1, equally likely.
    pub(crate) fn sign(&mut self) -> f64 {
        if self.rng.gen::<bool>() {
            1.0
        } else {
            -1.0
        }
    }

    /// Standard normal (Box-Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        // 1 - u lies in (0, 1], so the logarithm is finite.
        let radius = (-2.0 * (1.0 - self.rng.gen::<f64>()).ln()).sqrt();
        let angle = std::f64::consts::TAU * self.rng.gen::<f64>();
        self.spare_normal = Some(radius * angle.sin());
        radius * angle.cos()
    }
}
