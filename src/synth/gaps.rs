//! Missing cadences, and how they are filled so that the CSV holds no NaN.
//!
//! Each star gets 0 to 3 gaps (uniform), each of length log-uniform in [3, 150]
//! cadences (1.5 h to 3 d; at most a tenth of the curve), at uniform positions; gaps may
//! overlap. The real exoTrain.csv has its gaps filled; here a gap becomes a straight,
//! noiseless line from the median of the 8 observed cadences before it to the median of
//! the 8 after it (flat when it touches an end), so that it stays visible as what it is.
//!
//! Stitched Kepler quarters also miss whole stretches (a quarter on a failed CCD module,
//! a safe mode, data not downloaded): [`with_long_gaps`] cuts one out of a share of the
//! long-span curves, filled the same way.

use rayon::prelude::*;

use super::draw::{Draw, Split};
use crate::data::Dataset;

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

/// Share of the curves [`with_long_gaps`] cuts a stretch from, and that stretch's length
/// as a share of the curve (uniform): Kepler-90's three stitched quarters miss 70 of
/// their 278 days.
const LONG_GAP_CHANCE: f64 = 0.5;
const LONG_GAP_SHARE: (f64, f64) = (0.05, 0.35);

/// `data` with one long stretch missing (filled as any gap is) from about half of its
/// curves, each curve's draw its own (`seed`, row): run after transits are injected, so
/// that a transit in the stretch is missing with it.
pub fn with_long_gaps(data: &mut Dataset, seed: u64) {
    let len = data.len;
    if len == 0 {
        return;
    }
    data.values.par_chunks_mut(len).enumerate().for_each(|(row, curve)| {
        let mut draw = Draw::for_star(seed, Split::Train, row);
        if !draw.chance(LONG_GAP_CHANCE) {
            return;
        }
        let length = ((draw.uniform(LONG_GAP_SHARE.0, LONG_GAP_SHARE.1) * len as f64) as usize).clamp(1, len);
        let start = draw.integer(0, len - length);
        let mut missing = vec![false; len];
        missing[start..start + length].fill(true);
        let mut flux: Vec<f64> = curve.iter().map(|&v| f64::from(v)).collect();
        Gaps { missing }.fill(&mut flux, 0.0);
        for (v, f) in curve.iter_mut().zip(flux) {
            *v = f as f32;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Label;

    /// About half the curves lose one stretch of 5-35 % of their length, as a straight
    /// line between the medians beside it; the rest keep every value; the same seed cuts
    /// the same stretches.
    #[test]
    fn long_gaps_cut_one_straight_stretch_from_about_half_the_curves() {
        let (rows, len) = (400, 1000);
        let values: Vec<f32> = (0..rows * len).map(|i| ((i as f32) * 0.37).sin() + 5.0).collect();
        let data = Dataset { source: "test".into(), labels: vec![Label::Int(1); rows], values, len };
        let mut cut = data.clone();
        with_long_gaps(&mut cut, 7);
        let mut again = data.clone();
        with_long_gaps(&mut again, 7);
        assert_eq!(cut.values, again.values);
        let mut gapped = 0;
        for (old, new) in data.values.chunks(len).zip(cut.values.chunks(len)) {
            let changed: Vec<usize> = (0..len).filter(|&i| old[i] != new[i]).collect();
            let (Some(&first), Some(&last)) = (changed.first(), changed.last()) else { continue };
            gapped += 1;
            let length = last - first + 1;
            assert!((len / 25..=len * 36 / 100).contains(&length), "a stretch of {length} of {len}");
            // a straight line: constant steps (to f32 rounding)
            let step = new[first + 1] - new[first];
            for i in first..last {
                assert!((new[i + 1] - new[i] - step).abs() < 1e-4, "not straight at {i}");
            }
        }
        assert!((150..=250).contains(&gapped), "{gapped} of {rows} curves cut");
    }
}
