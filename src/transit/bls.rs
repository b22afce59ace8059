//! Box search (BLS, Kovacs, Zucker & Mazeh 2002) on a whitened light curve: the period,
//! phase and duration of the most significant periodic dip.
//!
//! A transit survey finds weak planets by folding: a planet whose transits are 2 sigma
//! each but come 30 times in a campaign adds up to 11 sigma at its period, which no
//! single look at the time series shows. The series is first summed over pairs of
//! cadences (59 min at K2's 29.4-min cadence, the shortest transit the search looks
//! for), then folded at trial periods from `MIN_PERIOD` to half the series (at least two
//! transits) in steps that move the last transit by `DRIFT_BINS` bins relative to the
//! first; at each period every phase and each width of `WIDTHS` is tried. The score of a
//! box is -(sum of the values inside) / sqrt(their count) / r_w: the dip's
//! signal-to-noise ratio. r_w corrects for noise that is not white (granulation, what is
//! left of the roll): it is the measured scatter of sums over `w` consecutive bins
//! divided by its white-noise value, sqrt(cadences), so that a box's score is in the
//! units of the noise it really has on its own time scale.
//!
//! The grid's best box may then be refined on the cadences themselves (`refine`): a grid step
//! may put the last transit half a step off, which on a long span's coarse samples is
//! hours, enough to smear a long-period planet's fold.

/// Shortest trial period, cadences (0.49 d at K2's cadence).
const MIN_PERIOD_CADENCES: f64 = 24.0;
/// Cadences summed into one search bin.
const BIN: usize = 2;
/// Box widths tried, in bins: 2 to 20 cadences (1 to 10 h at K2's cadence).
const WIDTHS: [usize; 8] = [1, 2, 3, 4, 5, 6, 8, 10];
/// Widest box as a share of the period (a transit lasts at most ~1/5 of its orbit for
/// the closest orbits around subgiants).
const MAX_DUTY: f64 = 0.2;
/// Period step: the fold misplaces the last transit by this many bins at most.
const DRIFT_BINS: f64 = 3.0;
/// Fewest observed cadences inside a box for it to count.
const MIN_IN_BOX: u32 = 3;
/// The refinement's steps: the last transit moves by this share of a cadence from one
/// trial period to the next, and so does the epoch.
const REFINE_STEP: f64 = 0.25;

/// The best box found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoxFit {
    /// Cadences.
    pub period: f64,
    /// Mid-transit of the first transit, cadences from the first sample.
    pub epoch: f64,
    /// Duration, cadences.
    pub width: usize,
    /// Observed cadences inside the box, over all transits.
    pub in_transit: usize,
    pub snr: f32,
}

impl BoxFit {
    /// The box's S/N from every transit but the deepest, in the units of `snr`, on the
    /// series it was found in. A planet's transits recur, so its signal outlives the loss
    /// of any one (a two-transit planet keeps 1/sqrt(2) of it); a lone dip, which the
    /// search can only fold with noise at some long period, keeps none.
    pub fn snr_without_deepest(&self, values: &[f32], observed: &[bool]) -> f32 {
        let transits = self.transit_sums(values, observed);
        let (sum, count) = transits.iter().fold((0.0, 0.0), |(s, c), t| (s + t.0, c + t.1));
        let deepest = transits.iter().copied().min_by(|a, b| a.0.total_cmp(&b.0)).unwrap_or((0.0, 0.0));
        let white = -sum / count.max(1.0).sqrt();
        let rest = -(sum - deepest.0) / (count - deepest.1).max(1.0).sqrt();
        if white > 0.0 {
            // The same correction for red noise as the search's.
            (rest * f64::from(self.snr) / white) as f32
        } else {
            0.0
        }
    }

    /// How far the deepest transit's mean depth stands above the other transits': the number
    /// of transits with observed cadences, the deepest's ratio to the others' mean depth
    /// (infinite where theirs is not above 0) and their difference in units of its white
    /// noise (`values` of unit scatter). (transits, 1, 0) for a box of fewer than two.
    pub fn deepest_excess(&self, values: &[f32], observed: &[bool]) -> (usize, f64, f64) {
        let transits: Vec<(f64, f64)> =
            self.transit_sums(values, observed).into_iter().filter(|t| t.1 > 0.0).collect();
        let Some(&deepest) = transits.iter().min_by(|a, b| (a.0 / a.1).total_cmp(&(b.0 / b.1))) else {
            return (0, 1.0, 0.0);
        };
        let (sum, count) = transits.iter().fold((0.0, 0.0), |(s, c), t| (s + t.0, c + t.1));
        let (rest_sum, rest_count) = (sum - deepest.0, count - deepest.1);
        if rest_count <= 0.0 {
            return (transits.len(), 1.0, 0.0);
        }
        let (deep, rest) = (-deepest.0 / deepest.1, -rest_sum / rest_count);
        let ratio = if rest > 0.0 { deep / rest } else { f64::INFINITY };
        (transits.len(), ratio, (deep - rest) / (1.0 / deepest.1 + 1.0 / rest_count).sqrt())
    }

    /// Minus the mean of the observed in-box `values` over every transit: the box's depth
    /// in the units of `values` (0 if the box holds no observed cadence).
    pub fn depth(&self, values: &[f32], observed: &[bool]) -> f32 {
        let (sum, count) =
            self.transit_sums(values, observed).iter().fold((0.0, 0.0), |(s, c), t| (s + t.0, c + t.1));
        if count > 0.0 {
            (-sum / count) as f32
        } else {
            0.0
        }
    }

    /// Marks the cadences of the deepest transit, and a box width each side, unobserved
    /// (their values 0): what the search looks at once a lone dip is set aside.
    pub fn mask_deepest(&self, values: &mut [f32], observed: &mut [bool]) {
        let transits = self.transit_sums(values, observed);
        let Some(deepest) = (0..transits.len()).min_by(|&a, &b| transits[a].0.total_cmp(&transits[b].0))
        else {
            return;
        };
        let centre = self.epoch + deepest as f64 * self.period;
        let reach = 1.5 * self.width as f64;
        let first = (centre - reach).ceil().max(0.0) as usize;
        let end = ((centre + reach).floor() + 1.0).max(0.0) as usize;
        for i in first..end.min(values.len()) {
            values[i] = 0.0;
            observed[i] = false;
        }
    }

    /// (sum, count) of the observed in-box cadences of each transit, by transit number.
    fn transit_sums(&self, values: &[f32], observed: &[bool]) -> Vec<(f64, f64)> {
        let mut transits: Vec<(f64, f64)> = Vec::new();
        for i in (0..values.len()).filter(|&i| observed[i]) {
            let cycles = (i as f64 - self.epoch) / self.period;
            let number = cycles.round();
            if number >= 0.0 && ((cycles - number) * self.period).abs() <= self.width as f64 / 2.0 {
                let k = number as usize;
                if transits.len() <= k {
                    transits.resize(k + 1, (0.0, 0.0));
                }
                transits[k].0 += f64::from(values[i]);
                transits[k].1 += 1.0;
            }
        }
        transits
    }
}

/// Searches `values` (unit scatter, 0 where not `observed`) on the period grid of
/// `DRIFT_BINS` and the phases and widths of the pair-summed bins. None when the series
/// is too short for two transits of the shortest period or nothing is observed.
pub fn search(values: &[f32], observed: &[bool]) -> Option<BoxFit> {
    let bins = values.len() / BIN;
    let mut sum = vec![0.0f32; bins];
    let mut count = vec![0u32; bins];
    for (b, (s, c)) in sum.iter_mut().zip(&mut count).enumerate() {
        for i in b * BIN..(b + 1) * BIN {
            if observed[i] {
                *s += values[i];
                *c += 1;
            }
        }
    }
    let red: Vec<f32> = WIDTHS.iter().map(|&w| red_noise_factor(&sum, &count, w)).collect();
    let span = bins as f64;
    let max_period = span / 2.0;
    let mut period = MIN_PERIOD_CADENCES / BIN as f64;
    let mut folded_sum = vec![0.0f32; bins];
    let mut folded_count = vec![0u32; bins];
    let mut best: Option<BoxFit> = None;
    while period <= max_period {
        let slots = period.ceil() as usize;
        folded_sum[..slots].fill(0.0);
        folded_count[..slots].fill(0);
        // Cycle k covers bins ceil(k period) .. ceil((k + 1) period), at phases 0, 1, ...
        // from its first bin: each cycle adds a run of bins onto the first slots.
        let mut first = 0;
        for k in 1.. {
            let end = ((k as f64 * period).ceil() as usize).min(bins);
            for (slot, (&s, &c)) in sum[first..end].iter().zip(&count[first..end]).enumerate() {
                folded_sum[slot] += s;
                folded_count[slot] += c;
            }
            if end == bins {
                break;
            }
            first = end;
        }
        for (&width, &red) in
            WIDTHS.iter().zip(&red).filter(|(&w, _)| w as f64 <= (MAX_DUTY * period).max(1.0))
        {
            let fit = best_phase(&folded_sum[..slots], &folded_count[..slots], width);
            if let Some((start, snr, n)) = fit {
                let snr = snr / red;
                if best.is_none_or(|b| snr > b.snr) {
                    best = Some(BoxFit {
                        period: period * BIN as f64,
                        epoch: (start as f64 + width as f64 / 2.0) * BIN as f64 - 0.5,
                        width: width * BIN,
                        in_transit: n as usize,
                        snr,
                    });
                }
            }
        }
        period += DRIFT_BINS * period / span;
    }
    best
}

/// The box near `fit` with the highest S/N on the cadences themselves, finer than the
/// search's grid: periods that move the last transit up to one grid step
/// (`DRIFT_BINS` bins) either way, mid-times up to a bin either way, both in steps of
/// `REFINE_STEP` cadences, and widths of a cadence less to a bin more. The grid step
/// alone misplaces a long-period planet's later transits by up to half a step (hours
/// on a multi-quarter span), which smears the fold and makes its transits differ in depth.
/// The period pivots on the transit nearest the middle of the series, so that period and
/// mid-time are tried apart. The box keeps the grid's S/N: the detection gate's
/// thresholds are set on it, and the best of many more trials is higher on noise too
/// (it let 47% of ordinary synthetic stars through the gate instead of under 40%).
pub fn refine(fit: BoxFit, values: &[f32], observed: &[bool]) -> BoxFit {
    let n = values.len() as f64;
    // The cadences `transit_sums` counts, visited transit by transit: the refinement
    // tries thousands of boxes per light curve.
    let white = |f: &BoxFit| {
        let (mut sum, mut count) = (0.0f64, 0.0f64);
        let half = f.width as f64 / 2.0;
        let mut centre = f.epoch;
        while centre - half < n {
            let first = (centre - half).ceil().max(0.0) as usize;
            let last = ((centre + half).floor() as usize).min(values.len() - 1);
            for i in (first..=last).filter(|&i| observed[i]) {
                sum += f64::from(values[i]);
                count += 1.0;
            }
            centre += f.period;
        }
        (-sum / count.max(1.0).sqrt(), count)
    };
    let (start_white, _) = white(&fit);
    if start_white <= 0.0 {
        return fit;
    }
    let middle = ((n / 2.0 - fit.epoch) / fit.period).round().max(0.0);
    let mid_time = fit.epoch + middle * fit.period;
    let cycles = (n / fit.period).max(1.0);
    let period_reach = DRIFT_BINS * BIN as f64 * fit.period / n;
    let period_step = REFINE_STEP / cycles;
    let time_reach = BIN as f64;
    let (mut best, mut best_white) = (fit, start_white);
    let steps = |reach: f64, step: f64| {
        let k = (reach / step).ceil() as i64;
        (-k..=k).map(move |i| i as f64 * step)
    };
    for width in fit.width.saturating_sub(1).max(1)..=fit.width + BIN {
        for dp in steps(period_reach, period_step) {
            let period = fit.period + dp;
            if period <= 2.0 * width as f64 {
                continue;
            }
            for dt in steps(time_reach, REFINE_STEP) {
                let epoch = (mid_time + dt - middle * period).rem_euclid(period);
                let trial = BoxFit { period, epoch, width, ..fit };
                let (score, count) = white(&trial);
                if count >= f64::from(MIN_IN_BOX) && score > best_white {
                    best_white = score;
                    best = BoxFit { in_transit: count as usize, ..trial };
                }
            }
        }
    }
    best
}

/// Scatter of sums over `width` consecutive fully observed bins (1.4826 x median
/// absolute value) over its white-noise value sqrt(cadences); at least 1.
fn red_noise_factor(sum: &[f32], count: &[u32], width: usize) -> f32 {
    let full = (width * BIN) as u32;
    let mut sums: Vec<f32> = sum
        .windows(width)
        .zip(count.windows(width))
        .filter(|(_, c)| c.iter().sum::<u32>() == full)
        .map(|(s, _)| s.iter().sum::<f32>().abs())
        .collect();
    if sums.len() < 16 {
        return 1.0;
    }
    let mid = sums.len() / 2;
    let scatter = 1.4826 * *sums.select_nth_unstable_by(mid, f32::total_cmp).1;
    (scatter / (full as f32).sqrt()).max(1.0)
}

/// The circular box of `width` slots with the highest score: (first slot, score, count).
fn best_phase(sum: &[f32], count: &[u32], width: usize) -> Option<(usize, f32, u32)> {
    let slots = sum.len();
    let mut s: f32 = sum[..width].iter().sum();
    let mut c: u32 = count[..width].iter().sum();
    let mut best = None;
    let mut best_snr = f32::NEG_INFINITY;
    for start in 0..slots {
        if c >= MIN_IN_BOX {
            let snr = -s / (c as f32).sqrt();
            if snr > best_snr {
                best_snr = snr;
                best = Some((start, snr, c));
            }
        }
        let (out, into) = (start, (start + width) % slots);
        s += sum[into] - sum[out];
        c = c + count[into] - count[out];
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn white(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
        (0..n).map(|_| (0..12).map(|_| rng.gen::<f32>()).sum::<f32>() - 6.0).collect()
    }

    #[test]
    fn finds_a_transit_too_weak_to_see_one_at_a_time() {
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        for (period, epoch, width) in [(97.3, 40.0, 6usize), (310.6, 250.0, 12), (41.7, 3.0, 4)] {
            let mut y = white(&mut rng, 3197);
            let transits = (3197.0 / period) as usize;
            // Total SNR 20 spread over every transit.
            let depth = 20.0 / ((transits * width) as f32).sqrt();
            let mut t = epoch;
            while t < 3197.0 {
                let first = (t - width as f64 / 2.0).round().max(0.0) as usize;
                for v in y.iter_mut().skip(first).take(width) {
                    *v -= depth;
                }
                t += period;
            }
            let observed = vec![true; y.len()];
            let fit = search(&y, &observed).expect("long enough");
            let harmonic = (fit.period / period).round().max(1.0);
            let ratio = fit.period / period;
            assert!(
                (ratio - 1.0).abs() < 0.01
                    || (ratio * harmonic - harmonic * harmonic).abs() < 0.02 * harmonic,
                "period {period}: found {fit:?}"
            );
            let off = (fit.epoch - epoch).rem_euclid(period);
            assert!(off.min(period - off) < 4.0, "period {period}: epoch {fit:?}");
            // The period grid (DRIFT_BINS) may cost up to ~30% of the S/N.
            assert!(fit.snr > 12.0, "period {period}: {fit:?}");
        }
    }

    /// Long periods between the search's grid steps, few transits: the refined box puts
    /// the last transit within a cadence of where it is, closer than the grid's period.
    #[test]
    fn refinement_finds_the_period_between_grid_steps() {
        let mut rng = ChaCha8Rng::seed_from_u64(24);
        let n = 3197;
        let (mut coarse_drift, mut refined_drift) = (0.0, 0.0);
        for (period, epoch, width) in [(531.37, 211.6, 8usize), (617.81, 95.3, 6), (403.55, 388.2, 10)] {
            let mut y = white(&mut rng, n);
            let transits = ((n as f64 - epoch) / period).ceil() as usize;
            let depth = 30.0 / ((transits * width) as f32).sqrt();
            for k in 0..transits {
                let centre = epoch + k as f64 * period;
                for (i, v) in y.iter_mut().enumerate() {
                    if (i as f64 - centre).abs() <= width as f64 / 2.0 {
                        *v -= depth;
                    }
                }
            }
            let observed = vec![true; n];
            let coarse = search(&y, &observed).expect("long enough");
            let fit = refine(coarse, &y, &observed);
            // Where each puts the last transit, off from the truth, in cadences.
            let last = (transits - 1) as f64;
            let drift = |f: &BoxFit| {
                let number = ((epoch + last * period - f.epoch) / f.period).round();
                (f.epoch + number * f.period - (epoch + last * period)).abs()
            };
            assert!((fit.period - period).abs() < 0.001 * period, "period {period}: {fit:?}");
            assert!(drift(&fit) <= 1.0, "period {period}: refined {fit:?}, coarse {coarse:?}");
            coarse_drift += drift(&coarse);
            refined_drift += drift(&fit);
        }
        assert!(refined_drift < coarse_drift, "refined {refined_drift} cadences off, coarse {coarse_drift}");
    }

    #[test]
    fn noise_alone_scores_low() {
        let mut rng = ChaCha8Rng::seed_from_u64(22);
        let y = white(&mut rng, 3197);
        let fit = search(&y, &vec![true; y.len()]).expect("long enough");
        assert!(fit.snr < 7.0, "{fit:?}");
    }

    /// The same total S/N from eight transits, or from one dip folded with noise: only the
    /// first survives the loss of its deepest transit.
    #[test]
    fn a_lone_dip_does_not_outlive_its_deepest_transit() {
        let mut rng = ChaCha8Rng::seed_from_u64(23);
        let (n, width) = (3197, 8usize);
        let observed = vec![true; n];
        let mut periodic = white(&mut rng, n);
        for t in (0..8).map(|k| 150 + 380 * k) {
            periodic[t..t + width].iter_mut().for_each(|v| *v -= 25.0 / (8.0 * width as f32).sqrt());
        }
        let mut lone = white(&mut rng, n);
        lone[1500..1500 + width].iter_mut().for_each(|v| *v -= 25.0 / (width as f32).sqrt());
        let fit = search(&periodic, &observed).expect("long enough");
        let kept = fit.snr_without_deepest(&periodic, &observed);
        // Seven of eight equal transits: sqrt(7/8) of the S/N, give or take the noise.
        assert!(fit.snr > 18.0 && kept > 0.75 * fit.snr, "periodic: {fit:?}, without the deepest {kept}");
        let fit = search(&lone, &observed).expect("long enough");
        let kept = fit.snr_without_deepest(&lone, &observed);
        assert!(fit.snr > 18.0 && kept < 4.0, "lone dip: {fit:?}, without the deepest {kept}");
    }

    #[test]
    fn short_or_unobserved_series_have_no_fit() {
        assert!(search(&[0.0; 30], &[true; 30]).is_none());
        assert!(search(&[0.0; 400], &[false; 400]).is_none());
    }
}
