//! A light curve with time stamps (any length, any cadence, gaps) as one row of network
//! input, and what the transit search found in it in days and hours.
//!
//! The curve is averaged onto the model's fixed number of bins ([`TimeGrid`]) and the
//! bins that hold no sample are marked unobserved, so the transit search
//! ([`TransitView::apply_observed`]) skips gaps instead of reading them as flux. A model
//! without the transit search (the seed notebook's standardized flux) gets the gaps
//! bridged by straight lines, as `--nan fill` bridges a CSV's missing samples.

use super::preprocess::Preprocess;
use super::time_grid::TimeGrid;
use crate::transit::BoxScore;

/// The best box of the transit search, in the light curve's own units of time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TransitFound {
    pub period_days: f64,
    /// Mid-time of the first transit in the light curve, in its own days.
    pub epoch: f64,
    /// Mean depth in the box, parts per million of the median flux.
    pub depth_ppm: f64,
    pub duration_hours: f64,
    pub snr: f32,
}

/// Writes the network input of the light curve `time` (days, ascending) and `flux` (both
/// finite) into `dst` (channels x `len`); returns the box search's score (zeros without
/// the transit search, or when it found nothing) and its box in days.
pub fn prepare_curve(
    pre: &Preprocess,
    len: usize,
    time: &[f64],
    flux: &[f64],
    dst: &mut [f32],
) -> (BoxScore, Option<TransitFound>) {
    let grid = TimeGrid::resample(time, flux, len);
    let Some(view) = pre.transit_view() else {
        pre.apply_series(&bridged(&grid.values, &grid.observed), dst);
        return (BoxScore::default(), None);
    };
    let score = view.apply_observed(&grid.values, &grid.observed, dst);
    let found = score.fit.map(|fit| TransitFound {
        period_days: fit.period * grid.step,
        epoch: grid.time_at(fit.epoch),
        depth_ppm: f64::from(score.depth) * 1e6,
        duration_hours: fit.width as f64 * grid.step * 24.0,
        snr: fit.snr,
    });
    (score, found)
}

/// The light curve `time` (days, ascending), `flux` (both finite) averaged onto `len` bins
/// as [`prepare_curve`] puts it, the unobserved bins bridged by straight lines: one row in
/// the training layout, whose straight runs the transit search reads as gaps.
pub fn grid_row(time: &[f64], flux: &[f64], len: usize) -> Vec<f32> {
    let grid = TimeGrid::resample(time, flux, len);
    bridged(&grid.values, &grid.observed)
}

/// `values` with the unobserved entries replaced by straight lines between their observed
/// neighbours (the nearest one's value beyond the first and last); all zeros if none is
/// observed.
fn bridged(values: &[f32], observed: &[bool]) -> Vec<f32> {
    let known: Vec<usize> = (0..values.len()).filter(|&i| observed[i]).collect();
    (0..values.len())
        .map(|i| {
            let next = known.partition_point(|&k| k < i);
            match (next.checked_sub(1).map(|k| known[k]), known.get(next)) {
                (Some(a), Some(&b)) if a != b => {
                    let w = (i - a) as f32 / (b - a) as f32;
                    values[a] + w * (values[b] - values[a])
                }
                (Some(a), _) => values[a],
                (None, Some(&b)) => values[b],
                (None, None) => 0.0,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::time_grid::LONG_CADENCE_DAYS;
    use crate::data::Preprocess;
    use crate::transit::Detection;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Time stamps as a mission writes them: a steady cadence with a percent of jitter, a gap (TESS's mid-sector downlink, a Kepler safe mode) and
    /// scattered flagged cadences already dropped.
    fn time_stamps(rng: &mut ChaCha8Rng, cadence: f64, days: f64, gap: (f64, f64)) -> Vec<f64> {
        let start = 2458325.3;
        let mut time = Vec::new();
        for i in 0..(days / cadence) as usize {
            let t = start + i as f64 * cadence + 0.01 * cadence * (rng.gen::<f64>() - 0.5);
            if !(start + gap.0..start + gap.1).contains(&t) && rng.gen::<f64>() > 0.02 {
                time.push(t);
            }
        }
        time
    }

    /// A planet of `period` days, `hours` long and `ppm` deep, with white noise of `sigma`
    /// ppm per cadence and a slow wave of the star's own.
    fn light_curve(
        rng: &mut ChaCha8Rng,
        time: &[f64],
        period: f64,
        hours: f64,
        ppm: f64,
        sigma: f64,
    ) -> Vec<f64> {
        let epoch = time[0] + 1.3;
        time.iter()
            .map(|&t| {
                let phase = (t - epoch + period / 2.0).rem_euclid(period) - period / 2.0;
                let transit = if phase.abs() < hours / 48.0 { ppm * 1e-6 } else { 0.0 };
                let noise: f64 = (0..12).map(|_| rng.gen::<f64>()).sum::<f64>() - 6.0;
                1.0 + 2e-3 * (t / 7.3).sin() - transit + sigma * 1e-6 * noise
            })
            .collect()
    }

    #[test]
    fn the_search_finds_an_injected_period_in_days_at_either_cadence_across_gaps() {
        let pre = Preprocess::transit_search(Detection {
            min_snr: 8.0,
            min_snr_without_deepest: 7.0,
            planet_label: 1,
        });
        let mut rng = ChaCha8Rng::seed_from_u64(20);
        // TESS 2-min: a 27-day sector with its 1-day mid-sector gap, a shallow planet.
        // Kepler/K2 29.4-min: an 80-day campaign with a 3-day gap, a longer period.
        let cases = [
            (2.0 / 1440.0, 27.0, (13.2, 14.3), 6.268, 3.0, 300.0, 300.0),
            (LONG_CADENCE_DAYS, 80.0, (40.0, 43.0), 8.992, 4.0, 800.0, 600.0),
        ];
        for (cadence, days, gap, period, hours, ppm, sigma) in cases {
            let time = time_stamps(&mut rng, cadence, days, gap);
            let flux = light_curve(&mut rng, &time, period, hours, ppm, sigma);
            let mut dst = vec![f32::NAN; pre.channels() * 3197];
            let (score, found) = prepare_curve(&pre, 3197, &time, &flux, &mut dst);
            let found = found.expect("a box");
            assert!((found.period_days / period - 1.0).abs() < 0.01, "cadence {cadence}: {found:?}");
            let off = (found.epoch - (time[0] + 1.3)).rem_euclid(period);
            assert!(off.min(period - off) < 0.1, "cadence {cadence}: epoch {found:?}");
            assert!((found.depth_ppm / ppm - 1.0).abs() < 0.35, "cadence {cadence}: depth {found:?}");
            assert!((1.0..6.0).contains(&found.duration_hours), "cadence {cadence}: {found:?}");
            assert!(pre.detection().is_some_and(|g| g.passes(score)), "cadence {cadence}: {score:?}");
            assert!(dst.iter().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn a_model_without_the_search_gets_gaps_bridged() {
        let values = [0.0, 1.0, 0.0, 0.0, 4.0, 0.0];
        let observed = [false, true, false, false, true, false];
        assert_eq!(bridged(&values, &observed), [1.0, 1.0, 2.0, 3.0, 4.0, 4.0]);
        assert_eq!(bridged(&[0.0; 3], &[false; 3]), [0.0; 3]);
        let pre = Preprocess::default();
        let time: Vec<f64> = (0..500).map(|i| i as f64 * LONG_CADENCE_DAYS).collect();
        let flux: Vec<f64> = time.iter().map(|t| 1.0 + 0.01 * t.sin()).collect();
        let mut dst = vec![f32::NAN; pre.channels() * 600];
        let (score, found) = prepare_curve(&pre, 600, &time, &flux, &mut dst);
        assert_eq!((score, found), (BoxScore::default(), None));
        assert!(dst.iter().all(|v| v.is_finite()));
    }
}
