//! Eclipsing binaries: the classic planet impostor, labelled "not a planet host".
//!
//! - Period log-uniform in [0.3, 20] d (capped at half the window), circular orbit, epoch
//!   uniform over the first period; radius ratio R2/R1 uniform in [0.3, 1]; a/R1 from
//!   Kepler's law with the primary's density and a companion of mass ratio ~R2/R1,
//!   redrawn below 1.2 (1 + R2/R1) (no contact systems).
//! - 40% grazing (impact in [|1 - k|, 1 + 0.8k]: V-shaped, never flat-bottomed), the
//!   rest impact in [0, |1 - k|) (U-shaped, or V-shaped anyway when k ~ 1).
//! - Primary depth log-uniform in [0.3%, 40%]; secondary eclipse half a period later,
//!   its depth a fraction uniform in [0.02, 0.8] of the primary's (surface-brightness
//!   ratio). Both eclipses take the primary's shape (the transit model with the
//!   companion's disk, normalised to the drawn depth): exact for the primary up to
//!   limb darkening of the companion, an approximation for the secondary.
//! - Ellipsoidal variation (tidally distorted stars): relative semi-amplitude
//!   U(0.5, 1.5) x q (R1/a)^3, capped at 5%, minima at both conjunctions; it matters
//!   only for the closest pairs (a/R1 < ~6).

use std::f64::consts::TAU;

use super::draw::Draw;
use super::star::{Star, CADENCE_DAYS};
use super::transit::{occulted_fraction, Orbit};

const MIN_PERIOD_DAYS: f64 = 0.3;
const MAX_PERIOD_DAYS: f64 = 20.0;
const GRAZING_SHARE: f64 = 0.4;
const MAX_ELLIPSOIDAL: f64 = 0.05;

#[derive(Clone, Debug)]
pub(crate) struct EclipsingBinary {
    pub orbit: Orbit,
    radius_ratio: f64,
    /// Flux lost at mid-primary-eclipse, relative.
    pub primary_depth: f64,
    secondary_depth: f64,
    ellipsoidal: f64,
    pub duration_hours: f64,
}

impl EclipsingBinary {
    pub(crate) fn draw(draw: &mut Draw, star: &Star, samples: usize) -> EclipsingBinary {
        let window_days = samples as f64 * CADENCE_DAYS;
        let max_period = MAX_PERIOD_DAYS.min(window_days / 2.0);
        loop {
            let period = draw.log_uniform(MIN_PERIOD_DAYS, max_period);
            let k = draw.uniform(0.3, 1.0);
            let a_rs = star.scaled_semi_major_axis(period) * (1.0 + k).cbrt();
            if a_rs < 1.2 * (1.0 + k) {
                continue;
            }
            let full_cover = (1.0 - k).abs();
            let impact = if draw.chance(GRAZING_SHARE) {
                draw.uniform(full_cover, 1.0 + 0.8 * k)
            } else {
                draw.uniform(0.0, full_cover)
            };
            let orbit = Orbit { period_days: period, epoch_days: draw.uniform(0.0, period), a_rs, impact };
            let primary_depth = draw.log_uniform(3e-3, 0.4);
            let ellipsoidal = draw.uniform(0.5, 1.5) * k / a_rs.powi(3);
            return EclipsingBinary {
                orbit,
                radius_ratio: k,
                primary_depth,
                secondary_depth: primary_depth * draw.uniform(0.02, 0.8),
                ellipsoidal: ellipsoidal.min(MAX_ELLIPSOIDAL),
                duration_hours: orbit.duration_days(k) * 24.0,
            };
        }
    }

    /// Multiplies `signal` (relative flux) by both eclipses and the ellipsoidal variation.
    pub(crate) fn dim(&self, star: &Star, signal: &mut [f64]) {
        let ld = star.limb_darkening;
        let samples = signal.len();
        let deepest = occulted_fraction(self.orbit.impact, self.radius_ratio, ld);
        for (orbit, depth) in
            [(self.orbit, self.primary_depth), (self.orbit.opposite(), self.secondary_depth)]
        {
            orbit.for_each_occultation(self.radius_ratio, ld, samples, |c, f| {
                signal[c] *= 1.0 - depth * (f / deepest).min(1.0);
            });
        }
        for (c, value) in signal.iter_mut().enumerate() {
            let phase = (c as f64 * CADENCE_DAYS - self.orbit.epoch_days) / self.orbit.period_days;
            *value *= 1.0 - self.ellipsoidal * (2.0 * TAU * phase).cos();
        }
    }
}
