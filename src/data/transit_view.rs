//! The transit-search input: what a transit survey looks at, as two channels of the
//! series' own length.
//!
//! - Channel 0, the time series: the light curve whitened by [`whiten`] (rotation off,
//!   unit scatter, outliers and filled gaps out), so each transit and eclipse reads in
//!   sigmas.
//! - Channel 1, the folded view: the observed cadences ordered by their phase at the
//!   period the box search ([`bls::search`]) found, transit at the centre, then summed
//!   over a running window as long as the box's in-transit count and divided by its
//!   square root. Out of transit it is unit noise; at the centre it dips to minus the
//!   folded signal-to-noise ratio, however many transits made it. Eclipsing binaries show
//!   their secondary eclipse at the ends (phase +/-0.5).
//!
//! Both channels pass through `s asinh(v / s)`: linear within a few sigma, logarithmic
//! beyond, so that a 40% eclipse (thousands of sigma) does not swamp batch statistics
//! while staying deeper than any planet.

use serde::{Deserialize, Serialize};

use super::bls;
use super::preprocess::moving_average;
use super::whiten::whiten;

/// The settings of the transit-search channels, stored with the model.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct TransitView {
    /// Running-median window of the detrending, cadences (49 = 1 d at K2's cadence).
    pub detrend_window: usize,
    /// `s` of the `s asinh(v / s)` compression, sigmas.
    pub compress: f32,
}

impl Default for TransitView {
    fn default() -> Self {
        TransitView { detrend_window: 49, compress: 5.0 }
    }
}

impl TransitView {
    /// Writes both channels of `series` into `dst` (length 2 x series length).
    pub fn apply_row(&self, series: &[f32], dst: &mut [f32]) {
        let n = series.len();
        let (time, folded) = dst.split_at_mut(n);
        let w = whiten(series, self.detrend_window);
        time.copy_from_slice(&w.values);
        folded.fill(0.0);
        if let Some(fit) = bls::search(&w.values, &w.observed) {
            fold(&w.values, &w.observed, &fit, folded);
        }
        for v in dst.iter_mut() {
            *v = self.compress * (*v / self.compress).asinh();
        }
    }
}

/// Observed values ordered by phase (transit at the centre, unobserved slots split
/// between both ends as zeros), then the box-matched running sum / sqrt(width).
fn fold(values: &[f32], observed: &[bool], fit: &bls::BoxFit, out: &mut [f32]) {
    let phase = |i: usize| {
        let cycles = (i as f64 - fit.epoch) / fit.period;
        cycles - cycles.round()
    };
    let mut order: Vec<(f64, f32)> =
        (0..values.len()).filter(|&i| observed[i]).map(|i| (phase(i), values[i])).collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Phase 0 goes to the centre. With few transits in the series some phases are covered
    // once more than others, so the cadences before phase 0 are not half of them: centring
    // the whole list would put a long-period transit hundreds of cadences off the centre.
    // The few cadences pushed past an end are the far side of the orbit.
    let before = order.partition_point(|(p, _)| *p < 0.0);
    let centre = values.len() / 2;
    let mut sorted = vec![0.0f32; values.len()];
    for (k, (_, v)) in order.iter().enumerate() {
        if let Some(slot) = (centre + k).checked_sub(before).and_then(|i| sorted.get_mut(i)) {
            *slot = *v;
        }
    }
    let window = fit.in_transit.max(1);
    moving_average(&sorted, window, out);
    let scale = (window as f32).sqrt();
    for v in out.iter_mut() {
        *v *= scale;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn folded_channel_dips_to_the_transit_snr_at_its_centre() {
        let mut rng = ChaCha8Rng::seed_from_u64(31);
        let n = 3197;
        let sigma = 20.0f32;
        let (period, width) = (150.0f64, 8usize);
        let transits = (n as f64 / period).ceil() as usize;
        // A total SNR of 25 from 1.9-sigma transits: invisible one by one.
        let depth = 25.0 * sigma / ((transits * width) as f32).sqrt();
        let series: Vec<f32> = (0..n)
            .map(|i| {
                let noise = (0..12).map(|_| rng.gen::<f32>()).sum::<f32>() - 6.0;
                let in_transit = ((i as f64 + 70.0) % period) < width as f64;
                5e4 + sigma * noise - if in_transit { depth } else { 0.0 }
            })
            .collect();
        let view = TransitView { compress: 1e6, ..TransitView::default() };
        let mut out = vec![0.0; 2 * n];
        view.apply_row(&series, &mut out);
        let centre = out[n + n / 2 - 40..n + n / 2 + 40].iter().copied().fold(f32::INFINITY, f32::min);
        assert!(centre < -18.0, "folded centre {centre}");
        let edge = out[n..n + 500].iter().copied().fold(f32::INFINITY, f32::min);
        assert!(edge > -6.0, "out-of-transit minimum {edge}");
        let time_min = out[..n].iter().copied().fold(f32::INFINITY, f32::min);
        assert!(time_min > -8.0, "time channel minimum {time_min}");
    }

    /// Three transits at a 1000-cadence period cover phases unevenly (the first 197
    /// cadences of phase come round four times): the transit must still land at the centre.
    #[test]
    fn a_long_period_transit_lands_at_the_centre() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let n = 3197;
        let (period, width, depth) = (1000.0f64, 8usize, 4.0f32);
        let series: Vec<f32> = (0..n)
            .map(|i| {
                let noise = (0..12).map(|_| rng.gen::<f32>()).sum::<f32>() - 6.0;
                let in_transit = ((i as f64 + 700.0) % period) < width as f64;
                1e3 + noise - if in_transit { depth } else { 0.0 }
            })
            .collect();
        let view = TransitView { compress: 1e6, ..TransitView::default() };
        let mut out = vec![0.0; 2 * n];
        view.apply_row(&series, &mut out);
        let folded = &out[n..];
        let deepest = (0..n).min_by(|&a, &b| folded[a].total_cmp(&folded[b])).unwrap();
        assert!(deepest.abs_diff(n / 2) <= width, "deepest folded cadence {deepest}, centre {}", n / 2);
        assert!(folded[deepest] < -15.0, "folded depth {}", folded[deepest]);
    }

    #[test]
    fn compression_keeps_order_and_small_values() {
        let view = TransitView::default();
        let mut out = vec![0.0; 256];
        let series: Vec<f32> = (0..128).map(|i| 100.0 + ((i * 37) % 11) as f32).collect();
        view.apply_row(&series, &mut out);
        assert!(out.iter().all(|v| v.is_finite() && v.abs() < view.compress * 10.0));
    }
}
