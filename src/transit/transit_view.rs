//! The transit-search input: what a transit survey looks at, as channels of the
//! series' own length.
//!
//! - Channel 0, the time series: the light curve whitened by [`whiten`] (rotation off,
//!   unit scatter, outliers and filled gaps out), so each transit and eclipse reads in
//!   sigmas.
//! - Channel 1, the folded view: the observed cadences ordered by their phase at the
//!   period the box search ([`bls::search`]) found, transit at the centre, then summed
//!   over a running window as long as the box's in-transit count and divided by the
//!   square root of the cadences summed. Out of transit it is unit noise; at the centre
//!   it dips to minus the folded signal-to-noise ratio, however many transits made it.
//!
//! With `vetting`, two more: the tests by which transit surveys (Kepler's Robovetter,
//! Astronet) tell planets from their impostors, at the same period.
//! - Channel 2, odd minus even: the same running window over the odd-numbered and over the
//!   even-numbered transit epochs alone; the difference of their mean values in units of
//!   its noise (`odd_even_by_depth`; before it, the difference of their S/Ns over sqrt(2)),
//!   signed so that it dips at the centre (deeper half minus shallower). A planet's
//!   transits are alike: unit noise, however many each half has. A single event (a lone
//!   dip, one eclipse) folded with noise at a long period is in one half only; an eclipsing
//!   binary found at half its period alternates primary and secondary eclipses of unequal
//!   depths: both dip here. The difference is taken before the compression below, which
//!   would squeeze a 1000-sigma primary and a 300-sigma secondary to nearly the same value.
//! - Channel 3, the secondary eclipse: the fold of channel 1 with phase 0.5 at the
//!   centre. A planet's occultation is far below the noise at K2's precision; an
//!   eclipsing binary found at its period shows its secondary eclipse there.
//!
//! With `variability` too, a fifth:
//! - Channel 4, the star's variability at each phase: the detrending's trend less its
//!   4-day running mean, in units of that difference's rms, folded and averaged over the
//!   same running window. Spotted stars whose minima the one-day trend cannot follow leave
//!   a dip in the whitened flux at every minimum, at the rotation period: most ordinary
//!   stars the main job called planets had their "transits" at minima of their
//!   variability, where this channel reads about -1.4 (sqrt(2) rms below the mean). A
//!   planet's transits fall at any phase of the star's variability: near 0. What the
//!   channel changed, per seed: benches/RESULTS.md, "The variability channel".
//!
//! Every channel passes through `s asinh(v / s)`: linear within a few sigma, logarithmic
//! beyond, so that a 40% eclipse (thousands of sigma) does not swamp batch statistics
//! while staying deeper than any planet.

use serde::{Deserialize, Serialize};

use super::bls;
use super::gate::{BoxScore, Detection};
use super::whiten::{whiten, whiten_observed, Whitened};
use crate::series::{median, moving_average};

/// The settings of the transit-search channels, stored with the model.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct TransitView {
    /// Running-median window of the detrending, cadences (49 = 1 d at K2's cadence).
    pub detrend_window: usize,
    /// `s` of the `s asinh(v / s)` compression, sigmas.
    pub compress: f32,
    /// Adds the vetting channels (odd minus even, secondary eclipse). Checkpoints written
    /// before they existed lack the field and read as false: the two channels they were
    /// trained with.
    #[serde(default)]
    pub vetting: bool,
    /// Detect, then vet: what the box search must find for a light curve to be a planet
    /// candidate at all, whatever the network says. None in checkpoints written before it
    /// existed: the network alone decides.
    #[serde(default)]
    pub detection: Option<Detection>,
    /// Channel 2 compares the odd and even transits' mean depths in units of their
    /// difference's noise. The difference of their S/Ns, which checkpoints written before
    /// this field read as (false), also differs when the halves hold unequal numbers of
    /// equal transits: a planet seen three times (two even, one odd) looked like a lone dip
    /// there (benches/RESULTS.md, "The odd-even channel").
    #[serde(default)]
    pub odd_even_by_depth: bool,
    /// With `vetting`, adds the variability channel (checkpoints written before it existed
    /// read as false: the four channels they were trained with).
    #[serde(default)]
    pub variability: bool,
    /// Sets lone dips aside: where the best box's deepest transit stands out from the
    /// others (`is_lone_dip`), that transit is marked unobserved and the search runs again
    /// (up to `LONE_DIP_SEARCHES` times), so that a planet's recurring transits are found
    /// beside deeper single events (long-period planets' lone transits, which a search
    /// otherwise folds together at their spacing). Checkpoints written before it existed
    /// read as false: one search.
    #[serde(default)]
    pub set_lone_dips_aside: bool,
    /// Refines each best box's period, mid-time and width on the cadences, finer than the
    /// search's grid ([`bls::refine`]). Checkpoints written before it existed read as
    /// false: the grid's box.
    #[serde(default)]
    pub refine_box: bool,
}

/// Searches after the first that [`TransitView::set_lone_dips_aside`] may run.
const LONE_DIP_SEARCHES: usize = 3;
/// A best box that keeps less than this share of its S/N without its deepest transit is a
/// lone dip: two equal transits keep 0.71, three 0.82.
const LONE_DIP_SHARE: f32 = 0.5;
/// So is one of at most `FEW_TRANSITS` whose deepest is this many times deeper than the
/// others' mean, by `LONE_DIP_SIGMA` sigmas or more: two single transits of different
/// planets (Kepler-90's 0.5% g and 0.8% h) keep most of their S/N without the deeper, but
/// a planet's own transits are alike within their noise. With more transits the box's
/// own misfit (a period a little off, a transit at a gap's edge) makes a deep planet's
/// transits differ by that much: WASP-75 b's did, at S/N 500.
const FEW_TRANSITS: usize = 3;
const LONE_DIP_RATIO: f64 = 1.3;
const LONE_DIP_SIGMA: f64 = 5.0;

/// Whether `fit`'s deepest transit is no part of a series of like transits.
fn is_lone_dip(fit: &bls::BoxFit, values: &[f32], observed: &[bool]) -> bool {
    let (transits, ratio, sigmas) = fit.deepest_excess(values, observed);
    fit.snr_without_deepest(values, observed) < LONE_DIP_SHARE * fit.snr
        || (transits <= FEW_TRANSITS && ratio > LONE_DIP_RATIO && sigmas > LONE_DIP_SIGMA)
}

/// The running mean taken from the trend before it is folded: the variability channel
/// keeps what changes within a few days (rotation, spots) and drops slow drifts.
const VARIABILITY_WINDOW: usize = 197;

impl Default for TransitView {
    fn default() -> Self {
        TransitView {
            detrend_window: 49,
            compress: 5.0,
            vetting: true,
            detection: None,
            odd_even_by_depth: true,
            variability: true,
            set_lone_dips_aside: true,
            refine_box: true,
        }
    }
}

impl TransitView {
    /// Channels per light curve: time series and fold, then the vetting channels if asked.
    pub fn channels(&self) -> usize {
        match (self.vetting, self.variability) {
            (false, _) => 2,
            (true, false) => 4,
            (true, true) => 5,
        }
    }

    /// Writes every channel of `series` into `dst` (length channels x series length);
    /// returns the score of the best box. Runs of cadences on a straight line are gaps
    /// (as a CSV's writer fills them).
    pub fn apply_row(&self, series: &[f32], dst: &mut [f32]) -> BoxScore {
        self.apply_whitened(series, whiten(series, self.detrend_window), dst)
    }

    /// The same as [`apply_row`](Self::apply_row) for a series whose gaps are known: only
    /// the `observed` cadences are looked at.
    pub fn apply_observed(&self, series: &[f32], observed: &[bool], dst: &mut [f32]) -> BoxScore {
        self.apply_whitened(series, whiten_observed(series, observed.to_vec(), self.detrend_window), dst)
    }

    fn apply_whitened(&self, series: &[f32], mut w: Whitened, dst: &mut [f32]) -> BoxScore {
        let n = series.len();
        let search = |values: &[f32], observed: &[bool]| {
            let fit = bls::search(values, observed);
            fit.map(|f| if self.refine_box { bls::refine(f, values, observed) } else { f })
        };
        let mut fit = search(&w.values, &w.observed);
        let mut searches = if self.set_lone_dips_aside { LONE_DIP_SEARCHES } else { 0 };
        while let Some(f) = fit.filter(|_| searches > 0) {
            if !is_lone_dip(&f, &w.values, &w.observed) {
                break;
            }
            f.mask_deepest(&mut w.values, &mut w.observed);
            fit = search(&w.values, &w.observed);
            searches -= 1;
        }
        dst[..n].copy_from_slice(&w.values);
        dst[n..].fill(0.0);
        if let Some(fit) = fit {
            let window = fit.in_transit.max(1);
            let mut channels = dst[n..].chunks_exact_mut(n);
            let transit = Fold::new(&w.values, &w.observed, fit.period, fit.epoch);
            if let Some(out) = channels.next() {
                transit.box_snr(|_| true, window, out);
            }
            if let (Some(odd_even), Some(secondary)) = (channels.next(), channels.next()) {
                transit.odd_minus_even(window, self.odd_even_by_depth, odd_even);
                let opposite = Fold::new(&w.values, &w.observed, fit.period, fit.epoch + fit.period / 2.0);
                opposite.box_snr(|_| true, window, secondary);
            }
            if let Some(out) = channels.next() {
                let phase =
                    Fold::new(&variability(&w.trend, &w.observed), &w.observed, fit.period, fit.epoch);
                phase.running_mean(window, out);
            }
        }
        for v in dst.iter_mut() {
            *v = self.compress * (*v / self.compress).asinh();
        }
        fit.map_or(BoxScore::default(), |f| BoxScore {
            snr: f.snr,
            snr_without_deepest: f.snr_without_deepest(&w.values, &w.observed),
            fit: Some(f),
            depth: f.depth(&w.values, &w.observed) * w.scale / median_level(series, &w.observed),
        })
    }
}

/// Observed cadences ordered by phase, phase 0 in the centre slot; unobserved slots are
/// split between both ends as zeros.
struct Fold {
    values: Vec<f32>,
    /// Per slot: whether an odd-numbered epoch filled it (epoch 0 holds phase 0); None
    /// for an empty slot.
    odd: Vec<Option<bool>>,
}

impl Fold {
    /// `values` folded at `period` with phase 0 at cadence `epoch` (both in cadences).
    fn new(values: &[f32], observed: &[bool], period: f64, epoch: f64) -> Fold {
        let n = values.len();
        // (phase, value, odd epoch)
        let mut order: Vec<(f64, f32, bool)> = (0..n)
            .filter(|&i| observed[i])
            .map(|i| {
                let cycles = (i as f64 - epoch) / period;
                let number = cycles.round();
                (cycles - number, values[i], number.rem_euclid(2.0) == 1.0)
            })
            .collect();
        order.sort_by(|a, b| a.0.total_cmp(&b.0));
        // Phase 0 goes to the centre. With few transits in the series some phases are
        // covered once more than others, so the cadences before phase 0 are not half of
        // them: centring the whole list would put a long-period transit hundreds of
        // cadences off the centre. The few cadences pushed past an end are the far side
        // of the orbit.
        let before = order.partition_point(|(p, ..)| *p < 0.0);
        let centre = n / 2;
        let mut fold = Fold { values: vec![0.0; n], odd: vec![None; n] };
        for (k, &(_, v, odd)) in order.iter().enumerate() {
            if let Some(slot) = (centre + k).checked_sub(before).filter(|&i| i < n) {
                fold.values[slot] = v;
                fold.odd[slot] = Some(odd);
            }
        }
        fold
    }

    /// The sum of the filled slots that `keep` picks (by their epoch's oddness) over a
    /// running window, and how many slots it summed.
    fn running_sum(&self, keep: impl Fn(bool) -> bool, window: usize) -> (Vec<f32>, Vec<f32>) {
        let n = self.values.len();
        let picked: Vec<bool> = self.odd.iter().map(|o| o.is_some_and(&keep)).collect();
        let masked: Vec<f32> =
            self.values.iter().zip(&picked).map(|(&v, &p)| if p { v } else { 0.0 }).collect();
        let count: Vec<f32> = picked.iter().map(|&p| f32::from(u8::from(p))).collect();
        let (mut sum, mut summed) = (vec![0.0f32; n], vec![0.0f32; n]);
        moving_average(&masked, window, &mut sum);
        moving_average(&count, window, &mut summed);
        let w = window as f32;
        sum.iter_mut().chain(summed.iter_mut()).for_each(|v| *v *= w);
        (sum, summed)
    }

    /// The running mean of the filled slots; 0 where the window holds none.
    fn running_mean(&self, window: usize, out: &mut [f32]) {
        let (sum, count) = self.running_sum(|_| true, window);
        for ((v, &s), &c) in out.iter_mut().zip(&sum).zip(&count) {
            *v = if c >= 0.5 { s / c } else { 0.0 };
        }
    }

    /// The running sum of the slots `keep` picks divided by the square root of their
    /// count: unit noise where there is no signal, minus the box's signal-to-noise ratio
    /// where the window covers it, and 0 where the window picks no slot.
    fn box_snr(&self, keep: impl Fn(bool) -> bool, window: usize, out: &mut [f32]) {
        let (sum, count) = self.running_sum(keep, window);
        for ((v, &s), &c) in out.iter_mut().zip(&sum).zip(&count) {
            *v = snr(s, c);
        }
    }

    /// Odd-epoch transits against even ones, negated if need be so that the centre is
    /// not above 0: unit noise where both halves agree. `by_depth`: the difference of
    /// their mean values over its noise, sqrt(1 / n_odd + 1 / n_even); otherwise (and
    /// where a half has no slot in the window) the difference of their box S/Ns over
    /// sqrt(2), which is the same for halves of equal counts.
    fn odd_minus_even(&self, window: usize, by_depth: bool, out: &mut [f32]) {
        let (odd, n_odd) = self.running_sum(|odd| odd, window);
        let (even, n_even) = self.running_sum(|odd| !odd, window);
        for (i, v) in out.iter_mut().enumerate() {
            let (so, co, se, ce) = (odd[i], n_odd[i], even[i], n_even[i]);
            *v = if by_depth && co >= 0.5 && ce >= 0.5 {
                (so / co - se / ce) / (1.0 / co + 1.0 / ce).sqrt()
            } else {
                (snr(so, co) - snr(se, ce)) * std::f32::consts::FRAC_1_SQRT_2
            };
        }
        let centre = out.len() / 2;
        if out[centre] > 0.0 {
            out.iter_mut().for_each(|v| *v = -*v);
        }
    }
}

/// `trend` less its running mean over `VARIABILITY_WINDOW` cadences, in units of the
/// observed cadences' rms of that difference (zeros for a trend without variability).
fn variability(trend: &[f32], observed: &[bool]) -> Vec<f32> {
    let mut slow = vec![0.0; trend.len()];
    moving_average(trend, VARIABILITY_WINDOW, &mut slow);
    let mut fast: Vec<f32> = trend.iter().zip(&slow).map(|(t, s)| t - s).collect();
    let (sum, count) = fast
        .iter()
        .zip(observed)
        .filter(|(_, &o)| o)
        .fold((0.0f64, 0usize), |(s, c), (v, _)| (s + f64::from(*v).powi(2), c + 1));
    let rms = (sum / count.max(1) as f64).sqrt() as f32;
    let scale = if rms > 0.0 && rms.is_finite() { 1.0 / rms } else { 0.0 };
    fast.iter_mut().for_each(|v| *v *= scale);
    fast
}

/// The median of the observed values (1 where none is observed or it is 0, so that a depth
/// stays finite).
fn median_level(series: &[f32], observed: &[bool]) -> f32 {
    let mut v: Vec<f32> = series.iter().zip(observed).filter(|(_, &o)| o).map(|(&x, _)| x).collect();
    if v.is_empty() {
        return 1.0;
    }
    let m = median(&mut v);
    if m != 0.0 && m.is_finite() {
        m
    } else {
        1.0
    }
}

/// A running `sum` over `count` picked slots in units of its noise; 0 for none (counts
/// are whole numbers: below one half the window holds nothing picked).
fn snr(sum: f32, count: f32) -> f32 {
    if count >= 0.5 {
        sum / count.sqrt()
    } else {
        0.0
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
        let found = view.apply_row(&series, &mut out);
        assert!(found.snr > 18.0 && found.snr_without_deepest > 17.0, "{found:?}");
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

    /// A planet's transits recur: odd and even epochs agree, and nothing dips half an
    /// orbit later. One deep dip, which the box search can only fold with noise at some
    /// long period, is in one half alone. An eclipsing binary found at its period shows
    /// its secondary eclipse half an orbit later.
    #[test]
    fn vetting_channels_tell_a_planet_from_a_single_dip_and_a_binary() {
        let mut rng = ChaCha8Rng::seed_from_u64(41);
        let n = 3197;
        // The lone dip stays in the search, as checkpoints from before set_lone_dips_aside see it.
        let view = TransitView { compress: 1e6, set_lone_dips_aside: false, ..TransitView::default() };
        let (width, period) = (8usize, 150usize);
        // Total S/N 30 either way: 21 transits of 1.6 sigma, or one of 10.6 sigma.
        let periodic = 30.0 / ((21 * width) as f32).sqrt();
        let at = |i: usize, phase: usize| (i + period - phase) % period < width;
        let planet: Vec<f32> =
            (0..n).map(|i| 1e3 + gaussian(&mut rng) - if at(i, 40) { periodic } else { 0.0 }).collect();
        let single = 30.0 / (width as f32).sqrt();
        let event: Vec<f32> = (0..n)
            .map(|i| 1e3 + gaussian(&mut rng) - if (1500..1500 + width).contains(&i) { single } else { 0.0 })
            .collect();
        // A primary of S/N 40 and a secondary of a third of its depth, half an orbit on.
        let primary = 40.0 / ((21 * width) as f32).sqrt();
        let binary: Vec<f32> = (0..n)
            .map(|i| {
                let dip = if at(i, 40) {
                    primary
                } else if at(i, 40 + period / 2) {
                    primary / 3.0
                } else {
                    0.0
                };
                1e3 + gaussian(&mut rng) - dip
            })
            .collect();
        let mut out = vec![f32::NAN; view.channels() * n];
        let mut centres = |series: &[f32]| {
            out.fill(f32::NAN);
            view.apply_row(series, &mut out);
            assert!(out.iter().all(|v| v.is_finite()));
            [1, 2, 3].map(|c| centre(&out, c, n))
        };
        let [fold, odd_even, secondary] = centres(&planet);
        assert!(fold < -20.0, "planet fold {fold}");
        assert!(odd_even.abs() < 3.5 && secondary.abs() < 3.5, "planet: {odd_even}, {secondary}");
        // The dip is in one half: (-30 - 0) / sqrt(2), give or take noise.
        let [fold, odd_even, secondary] = centres(&event);
        assert!(fold < -15.0 && odd_even < -17.0, "single dip: fold {fold}, odd - even {odd_even}");
        assert!(secondary.abs() < 3.5, "single dip: secondary {secondary}");
        // 40 / 3, less what the period grid and the window's edges lose.
        let [fold, odd_even, secondary] = centres(&binary);
        assert!(fold < -30.0 && odd_even.abs() < 3.5, "binary: fold {fold}, odd - even {odd_even}");
        assert!(secondary < -9.0, "binary: secondary {secondary}");
    }

    /// A planet of S/N 20 beside a single dip of S/N 40 (a long-period planet's lone
    /// transit): set aside, the dip leaves the planet's period to the search.
    #[test]
    fn a_lone_dip_is_set_aside_for_the_recurring_transits() {
        let mut rng = ChaCha8Rng::seed_from_u64(43);
        let (n, width, period) = (3197, 8usize, 150usize);
        let periodic = 20.0 / ((21 * width) as f32).sqrt();
        let single = 40.0 / (width as f32).sqrt();
        let series: Vec<f32> = (0..n)
            .map(|i| {
                let transit = if (i + period - 40) % period < width { periodic } else { 0.0 };
                let dip = if (1700..1700 + width).contains(&i) { single } else { 0.0 };
                1e3 + gaussian(&mut rng) - transit - dip
            })
            .collect();
        let score = |set_aside: bool| {
            let view =
                TransitView { compress: 1e6, set_lone_dips_aside: set_aside, ..TransitView::default() };
            let mut out = vec![f32::NAN; view.channels() * n];
            let found = view.apply_row(&series, &mut out);
            assert!(out.iter().all(|v| v.is_finite()));
            found
        };
        let kept = score(false);
        assert!(kept.snr_without_deepest < 0.5 * kept.snr, "one search: {kept:?}");
        let aside = score(true);
        let fit = aside.fit.expect("a box");
        assert!((fit.period / period as f64 - 1.0).abs() < 0.01, "{aside:?}");
        assert!(aside.snr > 14.0 && aside.snr_without_deepest > 12.0, "{aside:?}");
    }

    /// An eclipsing binary found at half its period: even epochs are primary eclipses,
    /// odd ones the secondary, and their difference dips at the centre.
    #[test]
    fn an_eclipsing_binary_at_half_its_period_differs_between_odd_and_even() {
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let n = 2000;
        let (half_period, width) = (100.0f64, 6usize);
        let observed = vec![true; n];
        // Primary 3 sigma at even epochs, secondary 1 sigma at odd ones, or the reverse.
        let binary = |rng: &mut ChaCha8Rng, odd_depth: f32, even_depth: f32| -> Vec<f32> {
            (0..n)
                .map(|i| {
                    let number = ((i as f64 - 50.0) / half_period).round();
                    // Cadences -3..=2 from mid-eclipse: 6, split evenly about phase 0.
                    let offset = i as f64 - 50.0 - number * half_period;
                    let in_eclipse = (-(width as f64) / 2.0..width as f64 / 2.0).contains(&offset);
                    let depth = if number.rem_euclid(2.0) == 1.0 { odd_depth } else { even_depth };
                    gaussian(rng) - if in_eclipse { depth } else { 0.0 }
                })
                .collect()
        };
        for (odd_depth, even_depth) in [(1.0, 3.0), (3.0, 1.0)] {
            let values = binary(&mut rng, odd_depth, even_depth);
            let mut out = vec![f32::NAN; n];
            Fold::new(&values, &observed, half_period, 50.0).odd_minus_even(20 * width, true, &mut out);
            // 10 eclipses of each kind over 6 cadences, with a window of 120 folded
            // cadences (60 of each half): (-3 + 1) * 60 / sqrt(60) / sqrt(2) = -11.
            let got = out[n / 2];
            assert!((got + 11.0).abs() < 3.0, "odd {odd_depth}, even {even_depth}: {got}");
        }
    }

    /// Three equal transits, two at even epochs and one at an odd: alike by depth, though
    /// the even half has sqrt(2) times the odd half's S/N.
    #[test]
    fn three_equal_transits_are_alike_by_depth_whatever_their_count_per_half() {
        let mut rng = ChaCha8Rng::seed_from_u64(44);
        let (n, period, width) = (3197, 1000.0f64, 8usize);
        // Total S/N 30 over 3 x 8 cadences.
        let depth = 30.0 / ((3 * width) as f32).sqrt();
        let values: Vec<f32> = (0..n)
            .map(|i| {
                let in_transit = ((i as f64 - 700.0).rem_euclid(period)) < width as f64;
                gaussian(&mut rng) - if in_transit { depth } else { 0.0 }
            })
            .collect();
        let fold = Fold::new(&values, &vec![true; n], period, 700.0 + width as f64 / 2.0 - 0.5);
        let mut out = vec![f32::NAN; n];
        fold.odd_minus_even(3 * width, true, &mut out);
        assert!(out[n / 2].abs() < 3.0, "by depth: {}", out[n / 2]);
        // (30 sqrt(1/3) - 30 sqrt(2/3)) / sqrt(2) = -5.1
        fold.odd_minus_even(3 * width, false, &mut out);
        assert!(out[n / 2] < -3.0, "by S/N: {}", out[n / 2]);
    }

    #[test]
    fn checkpoints_from_before_the_vetting_channels_keep_their_two_channels() {
        let old: TransitView = serde_json::from_str(r#"{"detrend_window":49,"compress":5.0}"#).unwrap();
        let before = TransitView {
            vetting: false,
            odd_even_by_depth: false,
            variability: false,
            set_lone_dips_aside: false,
            ..old
        };
        assert_eq!(old, TransitView { detrend_window: 49, compress: 5.0, ..before });
        assert_eq!(old.channels(), 2);
        let vetted: TransitView =
            serde_json::from_str(r#"{"detrend_window":49,"compress":5.0,"vetting":true}"#).unwrap();
        assert_eq!(vetted.channels(), 4);
        assert_eq!(TransitView::default().channels(), 5);
    }

    /// Dips at every minimum of a spotted star's rotation (what an imperfect detrending
    /// leaves there) read about -sqrt(2) in the variability channel, the rms units of a
    /// sinusoid's trough; the same dips half-way between a minimum and a maximum read
    /// about 0, as a planet's transits do on average.
    #[test]
    fn variability_channel_says_where_in_the_star_cycle_the_dips_fall() {
        let (n, period, width) = (3197, 500.0f64, 8usize);
        let centre_at = |phase: f64| {
            let mut rng = ChaCha8Rng::seed_from_u64(47);
            let series: Vec<f32> = (0..n)
                .map(|i| {
                    let t = i as f64;
                    let rotation = 300.0 * (std::f64::consts::TAU * t / period).sin();
                    let in_dip = (t - phase * period).rem_euclid(period) < width as f64;
                    1e4 + rotation as f32 + gaussian(&mut rng) - if in_dip { 4.0 } else { 0.0 }
                })
                .collect();
            let view = TransitView { compress: 1e6, ..TransitView::default() };
            let mut out = vec![f32::NAN; view.channels() * n];
            let found = view.apply_row(&series, &mut out);
            assert!(found.snr > 15.0, "phase {phase}: the box search found S/N {}", found.snr);
            centre(&out, 4, n)
        };
        // sin is least at 3/4 of the period; the dip's centre is width / 2 later
        let at_minimum = centre_at(0.75 - 0.5 * width as f64 / period);
        assert!((-1.6..-1.1).contains(&at_minimum), "dips at the minima: {at_minimum}");
        let midway = centre_at(0.0 - 0.5 * width as f64 / period);
        assert!(midway.abs() < 0.4, "dips midway: {midway}");
    }
}
