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
//! - Channels 2 and 3 (with `odd_even`), the vetting test of transit surveys (Kepler's
//!   Robovetter, Astronet): the same folded view of the odd-numbered and of the
//!   even-numbered transit epochs alone, each in units of its own noise, the deeper of
//!   the two first. A planet dips to about 1/sqrt(2) of the full fold in both; a single
//!   event (a flare-like dip, one eclipse) folded with noise at a long period dips in one
//!   only; an eclipsing binary found at half its period alternates primary and secondary
//!   eclipses, of unequal depths. Ordering by depth rather than by parity spares the
//!   network learning each pattern twice: which epoch is odd is an accident of the epoch.
//!
//! Every channel passes through `s asinh(v / s)`: linear within a few sigma, logarithmic
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
    /// Adds the odd- and even-epoch folds (channels 2 and 3). Checkpoints written before
    /// it existed lack it and read as false: the two channels they were trained with.
    #[serde(default)]
    pub odd_even: bool,
}

impl Default for TransitView {
    fn default() -> Self {
        TransitView { detrend_window: 49, compress: 5.0, odd_even: true }
    }
}

impl TransitView {
    /// Channels per light curve: time series and fold, then the odd/even folds if asked.
    pub fn channels(&self) -> usize {
        if self.odd_even {
            4
        } else {
            2
        }
    }

    /// Writes every channel of `series` into `dst` (length channels x series length).
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
/// between both ends as zeros), then the box-matched running sum / sqrt(count) into
/// `out[..n]`; when `out` has room for two more, the same of the odd- and of the
/// even-epoch cadences alone after it, the deeper at the centre first.
fn fold(values: &[f32], observed: &[bool], fit: &bls::BoxFit, out: &mut [f32]) {
    let n = values.len();
    // (phase, value, odd epoch): epoch 0 is the transit at `fit.epoch`.
    let mut order: Vec<(f64, f32, bool)> = (0..n)
        .filter(|&i| observed[i])
        .map(|i| {
            let cycles = (i as f64 - fit.epoch) / fit.period;
            let epoch = cycles.round();
            (cycles - epoch, values[i], epoch.rem_euclid(2.0) == 1.0)
        })
        .collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Phase 0 goes to the centre. With few transits in the series some phases are covered
    // once more than others, so the cadences before phase 0 are not half of them: centring
    // the whole list would put a long-period transit hundreds of cadences off the centre.
    // The few cadences pushed past an end are the far side of the orbit.
    let before = order.partition_point(|(p, ..)| *p < 0.0);
    let centre = n / 2;
    // Per slot: the value, and whether a cadence of an odd epoch filled it (None: empty).
    let mut sorted = vec![0.0f32; n];
    let mut odd = vec![None; n];
    for (k, &(_, v, o)) in order.iter().enumerate() {
        if let Some(slot) = (centre + k).checked_sub(before).filter(|&i| i < n) {
            sorted[slot] = v;
            odd[slot] = Some(o);
        }
    }
    let window = fit.in_transit.max(1);
    let (all, halves) = out.split_at_mut(n);
    box_snr(&sorted, &odd, |_| true, window, all);
    if halves.len() >= 2 * n {
        let (first, second) = halves[..2 * n].split_at_mut(n);
        box_snr(&sorted, &odd, |o| o, window, first);
        box_snr(&sorted, &odd, |o| !o, window, second);
        if second[centre] < first[centre] {
            first.swap_with_slice(second);
        }
    }
}

/// The sum of the filled slots that `keep` picks, over a running window, divided by the
/// square root of their count: unit noise where there is no signal, and minus the box's
/// signal-to-noise ratio where the window covers it. 0 where the window picks no slot.
fn box_snr(
    sorted: &[f32],
    odd: &[Option<bool>],
    keep: impl Fn(bool) -> bool,
    window: usize,
    out: &mut [f32],
) {
    let n = sorted.len();
    let picked: Vec<bool> = odd.iter().map(|o| o.is_some_and(&keep)).collect();
    let masked: Vec<f32> = sorted.iter().zip(&picked).map(|(&v, &p)| if p { v } else { 0.0 }).collect();
    let count: Vec<f32> = picked.iter().map(|&p| f32::from(u8::from(p))).collect();
    let mut mean_count = vec![0.0f32; n];
    moving_average(&masked, window, out);
    moving_average(&count, window, &mut mean_count);
    let w = window as f32;
    for (v, c) in out.iter_mut().zip(&mean_count) {
        // Counts are whole numbers; below one half the window holds nothing picked.
        let count = c * w;
        *v = if count >= 0.5 { *v * w / count.sqrt() } else { 0.0 };
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
        let mut out = vec![0.0; view.channels() * n];
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
        let mut out = vec![0.0; view.channels() * n];
        view.apply_row(&series, &mut out);
        let folded = &out[n..];
        let deepest = (0..n).min_by(|&a, &b| folded[a].total_cmp(&folded[b])).unwrap();
        assert!(deepest.abs_diff(n / 2) <= width, "deepest folded cadence {deepest}, centre {}", n / 2);
        assert!(folded[deepest] < -15.0, "folded depth {}", folded[deepest]);
    }

    #[test]
    fn compression_keeps_order_and_small_values() {
        let view = TransitView::default();
        let mut out = vec![0.0; view.channels() * 128];
        let series: Vec<f32> = (0..128).map(|i| 100.0 + ((i * 37) % 11) as f32).collect();
        view.apply_row(&series, &mut out);
        assert!(out.iter().all(|v| v.is_finite() && v.abs() < view.compress * 10.0));
    }

    fn gaussian(rng: &mut ChaCha8Rng) -> f32 {
        (0..12).map(|_| rng.gen::<f32>()).sum::<f32>() - 6.0
    }

    /// The value at the centre of channel `c` of a prepared row of `n` cadences.
    fn centre(out: &[f32], c: usize, n: usize) -> f32 {
        out[c * n + n / 2]
    }

    /// A planet's transits recur: both halves dip alike. One deep dip, which the box
    /// search can only fold with noise at some long period, dips in one half alone.
    #[test]
    fn odd_even_folds_agree_for_a_planet_and_split_a_single_dip() {
        let mut rng = ChaCha8Rng::seed_from_u64(41);
        let n = 3197;
        let view = TransitView { compress: 1e6, ..TransitView::default() };
        let width = 8usize;
        // Total S/N 30 either way: 21 transits of 1.6 sigma, or one of 10.6 sigma.
        let periodic = 30.0 / ((21 * width) as f32).sqrt();
        let planet: Vec<f32> = (0..n)
            .map(|i| {
                let dip = (i + 40) % 150 < width;
                1e3 + gaussian(&mut rng) - if dip { periodic } else { 0.0 }
            })
            .collect();
        let single = 30.0 / (width as f32).sqrt();
        let event: Vec<f32> = (0..n)
            .map(|i| 1e3 + gaussian(&mut rng) - if (1500..1500 + width).contains(&i) { single } else { 0.0 })
            .collect();
        let mut out = vec![f32::NAN; view.channels() * n];
        view.apply_row(&planet, &mut out);
        let (full, deeper, shallower) = (centre(&out, 1, n), centre(&out, 2, n), centre(&out, 3, n));
        assert!(full < -20.0, "planet fold {full}");
        // Each half holds half the transits: 1/sqrt(2) of the full S/N, give or take noise.
        for half in [deeper, shallower] {
            assert!((half / full - std::f32::consts::FRAC_1_SQRT_2).abs() < 0.2, "planet {half} of {full}");
        }
        out.fill(f32::NAN);
        view.apply_row(&event, &mut out);
        let (full, deeper, shallower) = (centre(&out, 1, n), centre(&out, 2, n), centre(&out, 3, n));
        assert!(full < -15.0 && deeper < -25.0, "single dip: fold {full}, deeper half {deeper}");
        assert!(shallower > -4.0, "single dip: the other half {shallower}");
        assert!(out.iter().all(|v| v.is_finite()));
    }

    /// An eclipsing binary found at half its period: even epochs are primary eclipses,
    /// odd ones the secondary. The halves differ by the depths' ratio; the deeper is first.
    #[test]
    fn an_eclipsing_binary_at_half_its_period_shows_unequal_halves() {
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let n = 2000;
        let (half_period, width) = (100.0f64, 6usize);
        let (primary, secondary) = (3.0f32, 1.0f32);
        let observed = vec![true; n];
        let values: Vec<f32> = (0..n)
            .map(|i| {
                let epoch = ((i as f64 - 50.0) / half_period).round();
                // Cadences -3..=2 from mid-eclipse: 6, split evenly about phase 0.
                let offset = i as f64 - 50.0 - epoch * half_period;
                let in_eclipse = (-(width as f64) / 2.0..width as f64 / 2.0).contains(&offset);
                let depth = if epoch.rem_euclid(2.0) == 0.0 { primary } else { secondary };
                gaussian(&mut rng) - if in_eclipse { depth } else { 0.0 }
            })
            .collect();
        let eclipses = n / half_period as usize;
        let fit =
            bls::BoxFit { period: half_period, epoch: 50.0, width, in_transit: eclipses * width, snr: 0.0 };
        let mut out = vec![f32::NAN; 3 * n];
        fold(&values, &observed, &fit, &mut out);
        let (deeper, shallower) = (centre(&out, 1, n), centre(&out, 2, n));
        // 10 eclipses of each kind over 6 cadences, with a window of 120 folded cadences
        // (60 of each half): -3 * 60 / sqrt(60) = -23 and -1 * 60 / sqrt(60) = -7.7.
        assert!((deeper + 23.2).abs() < 4.0, "primary half {deeper}");
        assert!((shallower + 7.7).abs() < 4.0, "secondary half {shallower}");
    }

    #[test]
    fn checkpoints_from_before_the_odd_even_folds_keep_their_two_channels() {
        let old: TransitView = serde_json::from_str(r#"{"detrend_window":49,"compress":5.0}"#).unwrap();
        assert_eq!(old, TransitView { odd_even: false, ..TransitView::default() });
        assert_eq!(old.channels(), 2);
        assert_eq!(TransitView::default().channels(), 4);
    }
}
