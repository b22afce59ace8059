//! A light curve of any length and cadence as the network's fixed-size input: its
//! samples averaged onto a uniform grid of a fixed number of bins, with a mask of the bins
//! that hold a measurement.
//!
//! The transit search and the network were built for K2's long cadence (29.4 min), in
//! cadences: the detrending's one-day window, box widths of 1 to 10 hours, periods from
//! half a day. A grid of that step keeps all of them true for Kepler and K2 long cadence
//! (one sample per bin) and for TESS's 2-minute cadence (about 15 averaged per bin, which
//! only lowers the noise per bin: a transit of an hour or more is still resolved). A
//! campaign or sector shorter than the grid leaves its end bins unobserved, as gaps are.
//! A light curve longer than the grid (several quarters stitched) takes a coarser step,
//! `span / (bins - 1)`, so that the whole of it is searched: the periods and durations
//! the search reports stay in days and hours, only their resolution coarsens.
//!
//! Bins are never interpolated across: a gap stays unobserved, and the search skips it.

/// Kepler's and K2's long cadence, days (29.4244 min): the grid's finest step.
pub const LONG_CADENCE_DAYS: f64 = 0.020_433_6;

/// A light curve on a uniform time grid.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeGrid {
    /// Time of bin 0's centre, in the light curve's own days.
    pub start: f64,
    /// Bin width, days.
    pub step: f64,
    /// The mean of each bin's samples; 0 where it has none.
    pub values: Vec<f32>,
    /// Whether each bin holds a sample.
    pub observed: Vec<bool>,
}

impl TimeGrid {
    /// Averages the samples (`time` ascending, days; both finite) into `bins` bins of
    /// [`LONG_CADENCE_DAYS`], or wider where the span needs them, bin 0 centred on the
    /// first sample. No samples give an all-unobserved grid.
    pub fn resample(time: &[f64], flux: &[f64], bins: usize) -> TimeGrid {
        let bins = bins.max(1);
        let (first, last) = match (time.first(), time.last()) {
            (Some(&f), Some(&l)) => (f, l),
            _ => (0.0, 0.0),
        };
        let step = LONG_CADENCE_DAYS.max((last - first) / (bins.max(2) - 1) as f64);
        let mut sum = vec![0.0f64; bins];
        let mut count = vec![0u32; bins];
        for (&t, &f) in time.iter().zip(flux) {
            let bin = (((t - first) / step).round().max(0.0) as usize).min(bins - 1);
            sum[bin] += f;
            count[bin] += 1;
        }
        let values =
            sum.iter().zip(&count).map(|(&s, &c)| if c > 0 { (s / f64::from(c)) as f32 } else { 0.0 });
        TimeGrid {
            start: first,
            step,
            values: values.collect(),
            observed: count.iter().map(|&c| c > 0).collect(),
        }
    }

    /// The time of a position on the grid, in bins from bin 0's centre.
    pub fn time_at(&self, bins: f64) -> f64 {
        self.start + bins * self.step
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_cadence_fills_one_bin_per_sample_and_leaves_gaps_unobserved() {
        // 100 samples at the long cadence, then a 2-day gap, then 50 more.
        let mut time: Vec<f64> = (0..100).map(|i| 1000.0 + i as f64 * LONG_CADENCE_DAYS).collect();
        let resume = time[99] + 2.0;
        time.extend((0..50).map(|i| resume + i as f64 * LONG_CADENCE_DAYS));
        let flux: Vec<f64> = (0..150).map(|i| 1.0 + i as f64 * 1e-4).collect();
        let grid = TimeGrid::resample(&time, &flux, 400);
        assert_eq!(grid.step, LONG_CADENCE_DAYS);
        assert_eq!(grid.observed.iter().filter(|&&o| o).count(), 150);
        let gap_bins = (2.0 / LONG_CADENCE_DAYS) as usize;
        assert!(grid.observed[100..99 + gap_bins].iter().all(|&o| !o));
        assert_eq!(grid.values[5], 1.0005);
        assert!((grid.time_at(99.0) - time[99]).abs() < 1e-9);
    }

    #[test]
    fn two_minute_cadence_averages_into_long_cadence_bins() {
        let cadence = 2.0 / 1440.0;
        let time: Vec<f64> = (0..3000).map(|i| i as f64 * cadence).collect();
        let flux: Vec<f64> = (0..3000).map(|i| if i % 2 == 0 { 1.001 } else { 0.999 }).collect();
        let grid = TimeGrid::resample(&time, &flux, 3197);
        assert_eq!(grid.step, LONG_CADENCE_DAYS);
        let observed = grid.observed.iter().filter(|&&o| o).count();
        assert_eq!(observed, (time[2999] / LONG_CADENCE_DAYS).round() as usize + 1);
        assert!(grid.values[10..observed - 1].iter().all(|&v| (v - 1.0).abs() < 2e-4));
        assert!(grid.observed[observed..].iter().all(|&o| !o));
    }

    #[test]
    fn a_span_longer_than_the_grid_takes_a_coarser_step() {
        let time: Vec<f64> = (0..20_000).map(|i| i as f64 * LONG_CADENCE_DAYS).collect();
        let flux = vec![1.0; time.len()];
        let grid = TimeGrid::resample(&time, &flux, 1000);
        assert!((grid.step - time[19_999] / 999.0).abs() < 1e-12);
        assert!(grid.observed.iter().all(|&o| o));
        assert!((grid.time_at(999.0) - time[19_999]).abs() < 1e-9);
    }
}
