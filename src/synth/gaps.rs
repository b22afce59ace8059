//! Missing cadences, and how they are filled so that the CSV holds no NaN.
//!
//! Each star gets 0 to 3 gaps (uniform), each of length log-uniform in [3, 150]
//! cadences (1.5 h to 3 d; at most a tenth of the curve), at uniform positions; gaps may
//! overlap. The real exoTrain.csv has its gaps filled; here a gap becomes a straight,
//! noiseless line from the median of the 8 observed cadences before it to the median of
//! the 8 after it (flat when it touches an end), so that it stays visible as what it is.

use super::draw::Draw;

const EDGE_CADENCES: usize = 8;

pub(crate) struct Gaps {
    missing: Vec<bool>,
}

impl Gaps {
    pub(crate) fn draw(draw: &mut Draw, samples: usize) -> Gaps {
        let mut missing = vec![false; samples];
        let longest = (samples as f64 / 10.0).clamp(3.0, 150.0);
        for _ in 0..draw.integer(0, 3) {
            let length = (draw.log_uniform(3.0, longest + 1.0) as usize).min(samples);
            let start = draw.integer(0, samples - length);
            missing[start..start + length].fill(true);
        }
        Gaps { missing }
    }

    /// A curve observed at every cadence (injection into an existing curve, whose gaps are
    /// already filled).
    pub(crate) fn none(samples: usize) -> Gaps {
        Gaps { missing: vec![false; samples] }
    }

    pub(crate) fn is_missing(&self, cadence: usize) -> bool {
        self.missing[cadence]
    }

    /// Overwrites every missing cadence of `flux` by the line between its neighbours'
    /// medians; `fallback` when the whole curve is missing.
    pub(crate) fn fill(&self, flux: &mut [f64], fallback: f64) {
        let mut i = 0;
        while i < flux.len() {
            if !self.missing[i] {
                i += 1;
                continue;
            }
            let start = i;
            while i < flux.len() && self.missing[i] {
                i += 1;
            }
            let before = self.edge_median(flux, (0..start).rev());
            let after = self.edge_median(flux, i..flux.len());
            let (left, right) = match (before, after) {
                (Some(l), Some(r)) => (l, r),
                (Some(l), None) => (l, l),
                (None, Some(r)) => (r, r),
                (None, None) => (fallback, fallback),
            };
            let span = (i - start + 1) as f64;
            for (step, value) in flux[start..i].iter_mut().enumerate() {
                let w = (step + 1) as f64 / span;
                *value = left + (right - left) * w;
            }
        }
    }

    /// Median of the first `EDGE_CADENCES` observed cadences met walking `cadences`.
    fn edge_median(&self, flux: &[f64], cadences: impl Iterator<Item = usize>) -> Option<f64> {
        let mut values: Vec<f64> =
            cadences.filter(|&c| !self.missing[c]).take(EDGE_CADENCES).map(|c| flux[c]).collect();
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        Some(values[values.len() / 2])
    }
}
