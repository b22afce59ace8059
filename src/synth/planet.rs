//! Transiting planets, sized so that their signal-to-noise ratio is what was asked.
//!
//! - Period log-uniform in [0.5, 30] d (capped at half the window so that at least two
//!   transits fall in it), epoch uniform over the first period, impact parameter uniform
//!   in [0, 0.9], circular orbit; a/Rs from the period and the star's density (periods
//!   with a/Rs < 2.5, inside the star's Roche zone, are redrawn).
//! - Duration (first to fourth contact) follows from the orbit: draws outside [1, 10] h
//!   are redrawn, as are epochs that leave fewer than two transits with observed
//!   (non-gap) cadences.
//! - Depth: a target SNR is drawn log-uniform in the configured range (default 3 to 100)
//!   and the radius ratio Rp/Rs is solved so that the central depth d gives
//!   SNR = d / sigma * sqrt(n_in), with sigma the per-cadence scatter on transit
//!   timescales (white noise, granulation and roll sawtooth in quadrature) and n_in the
//!   observed cadences between first and fourth contact. Rp/Rs is capped at 0.3 (a large
//!   Jupiter around a K dwarf), so the bright-end target may not be met; the reported SNR
//!   is always recomputed from the final depth and duration.

use super::draw::Draw;
use super::gaps::Gaps;
use super::star::{Star, CADENCE_DAYS};
use super::transit::{occulted_fraction, Orbit};

const MIN_PERIOD_DAYS: f64 = 0.5;
const MAX_PERIOD_DAYS: f64 = 30.0;
const MAX_IMPACT: f64 = 0.9;
const MIN_A_RS: f64 = 2.5;
const MIN_DURATION_HOURS: f64 = 1.0;
const MAX_DURATION_HOURS: f64 = 10.0;
const MAX_RADIUS_RATIO: f64 = 0.3;
/// Second planets keep their periods at least this ratio apart (orbital stability).
const MIN_PERIOD_RATIO: f64 = 1.3;

/// What the light curve around a star lets a transit be.
pub(crate) struct Window<'a> {
    pub samples: usize,
    pub gaps: &'a Gaps,
    /// Per-cadence scatter on transit timescales, relative.
    pub scatter: f64,
}

impl Window<'_> {
    fn days(&self) -> f64 {
        self.samples as f64 * CADENCE_DAYS
    }

    /// Observed cadences between first and fourth contact, and the number of distinct
    /// transits they belong to.
    fn coverage(&self, orbit: &Orbit, duration_days: f64) -> (usize, usize) {
        let mut cadences = 0;
        let mut transits = 0;
        let mut last_transit = None;
        for c in (0..self.samples).filter(|&c| !self.gaps.is_missing(c)) {
            let t = c as f64 * CADENCE_DAYS;
            if orbit.offset_days(t).abs() < duration_days / 2.0 {
                cadences += 1;
                let transit = ((t - orbit.epoch_days) / orbit.period_days).round() as i64;
                if last_transit != Some(transit) {
                    transits += 1;
                    last_transit = Some(transit);
                }
            }
        }
        (cadences, transits)
    }
}

/// What to draw: planets proper, or a single transit-like dip in a non-host.
pub(crate) struct Plan {
    pub periods_days: (f64, f64),
    pub min_transits: usize,
    pub snr: (f64, f64),
    /// Period of a planet already around the star, to stay clear of.
    pub beside: Option<f64>,
}

impl Plan {
    /// A planet of the built-in range, in `window`.
    pub(crate) fn planet(window: &Window, snr: (f64, f64), beside: Option<f64>) -> Plan {
        Plan {
            periods_days: (MIN_PERIOD_DAYS, MAX_PERIOD_DAYS.min(window.days() / 2.0)),
            min_transits: 2,
            snr,
            beside,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Planet {
    pub orbit: Orbit,
    pub radius_ratio: f64,
    /// Flux hidden at mid-transit, relative.
    pub depth: f64,
    pub duration_hours: f64,
    pub snr: f64,
}

impl Planet {
    /// Draws until every constraint of the module doc holds. Terminates because a
    /// validated configuration (window >= 128 cadences, ~2.6 d) always leaves periods
    /// with a/Rs >= 2.5, durations in range and two observed transits.
    pub(crate) fn draw(draw: &mut Draw, star: &Star, window: &Window, plan: &Plan) -> Planet {
        let ld = star.limb_darkening;
        loop {
            let period = draw.log_uniform(plan.periods_days.0, plan.periods_days.1);
            let a_rs = star.scaled_semi_major_axis(period);
            let clear = plan.beside.is_none_or(|other| {
                let ratio = period.max(other) / period.min(other);
                ratio >= MIN_PERIOD_RATIO
            });
            if !clear || a_rs < MIN_A_RS {
                continue;
            }
            let orbit = Orbit {
                period_days: period,
                epoch_days: draw.uniform(0.0, period.min(window.days())),
                a_rs,
                impact: draw.uniform(0.0, MAX_IMPACT),
            };
            let hours = orbit.duration_days(0.0) * 24.0;
            if !(MIN_DURATION_HOURS..=MAX_DURATION_HOURS).contains(&hours) {
                continue;
            }
            let (cadences, transits) = window.coverage(&orbit, orbit.duration_days(0.0));
            if transits < plan.min_transits {
                continue;
            }
            let target_snr = draw.log_uniform(plan.snr.0, plan.snr.1);
            let target_depth = target_snr * window.scatter / (cadences as f64).sqrt();
            let radius_ratio = radius_ratio_for(target_depth, orbit.impact, star);
            let duration_days = orbit.duration_days(radius_ratio);
            let (cadences, transits) = window.coverage(&orbit, duration_days);
            if transits < plan.min_transits {
                continue;
            }
            let depth = occulted_fraction(orbit.impact, radius_ratio, ld);
            return Planet {
                orbit,
                radius_ratio,
                depth,
                duration_hours: duration_days * 24.0,
                snr: depth / window.scatter * (cadences as f64).sqrt(),
            };
        }
    }

    /// Multiplies `signal` (relative stellar flux) by the transits of this planet.
    pub(crate) fn dim(&self, star: &Star, signal: &mut [f64]) {
        let samples = signal.len();
        self.orbit.for_each_occultation(self.radius_ratio, star.limb_darkening, samples, |c, f| {
            signal[c] *= 1.0 - f;
        });
    }
}

/// Rp/Rs whose mid-transit depth at `impact` is `depth` (capped at 0.3): start from the
/// small-planet limit and correct by fixed-point steps (depth grows as ~k^2).
fn radius_ratio_for(depth: f64, impact: f64, star: &Star) -> f64 {
    let ld = star.limb_darkening;
    let mut k = (depth * ld.mean_intensity() / ld.intensity(impact)).sqrt().min(MAX_RADIUS_RATIO);
    for _ in 0..6 {
        let hidden = occulted_fraction(impact, k, ld);
        k = (k * (depth / hidden).sqrt()).min(MAX_RADIUS_RATIO);
    }
    k
}
