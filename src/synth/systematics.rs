//! What K2 does to the photometry: the roll sawtooth and single-cadence outliers.
//!
//! K2 flew with two reaction wheels; solar pressure rolled the spacecraft slowly and a
//! thruster firing every ~6 h rolled it back. Flux in a fixed aperture therefore drifts
//! between firings and jumps back at each one; PDC removes most of it but not all.
//! - Firings every 5.885 h (12 cadences) with 2% jitter per interval, first one at a
//!   random time in the first interval.
//! - Sawtooth peak-to-peak amplitude log-uniform in [3e-5, 2e-3] relative (30 ppm to
//!   0.2%), either sign, ramp shape u^g with u the fraction of the interval elapsed and
//!   g uniform in [1, 2]; the amplitude is modulated by up to +/-50% over a time
//!   log-uniform in [10, 60] d (the roll depends on the spacecraft's attitude to the Sun).
//! - Thruster-firing dips: each cadence that holds a firing dips, with probability 2%,
//!   by 4 to 25 times the white noise (the image smears during the firing): ~5 per
//!   65-d curve.
//! - Cosmic rays: each cadence, with probability 5e-4 (~1.6 per 65-d curve), rises by 5 to
//!   50 times the white noise.

use std::f64::consts::TAU;

use super::draw::Draw;
use super::oscillator::Oscillator;
use super::star::CADENCE_DAYS;

const FIRING_INTERVAL_DAYS: f64 = 5.885 / 24.0;
const FIRING_JITTER: f64 = 0.02;
const FIRING_DIP_CHANCE: f64 = 0.02;
const COSMIC_RAY_CHANCE: f64 = 5e-4;

#[derive(Clone, Debug)]
pub(crate) struct Roll {
    first_firing_days: f64,
    /// Peak-to-peak, relative, signed.
    amplitude: f64,
    curvature: f64,
    modulation_depth: f64,
    modulation_days: f64,
    modulation_phase: f64,
}

impl Roll {
    pub(crate) fn draw(draw: &mut Draw) -> Roll {
        Roll {
            first_firing_days: draw.uniform(0.0, FIRING_INTERVAL_DAYS),
            amplitude: draw.sign() * draw.log_uniform(3e-5, 2e-3),
            curvature: draw.uniform(1.0, 2.0),
            modulation_depth: draw.uniform(0.0, 0.5),
            modulation_days: draw.log_uniform(10.0, 60.0),
            modulation_phase: draw.uniform(0.0, TAU),
        }
    }

    /// Rms of the sawtooth, relative: on transit timescales it is noise.
    /// Var(u^g) for u uniform on [0, 1] is 1/(2g+1) - 1/(g+1)^2.
    pub(crate) fn rms(&self) -> f64 {
        let g = self.curvature;
        let variance = 1.0 / (2.0 * g + 1.0) - 1.0 / ((g + 1.0) * (g + 1.0));
        self.amplitude.abs() * variance.sqrt()
    }

    /// Adds the relative sawtooth (zero mean over an interval) to `out` and returns the
    /// cadences during which a firing happened.
    pub(crate) fn add_to(&self, draw: &mut Draw, out: &mut [f64]) -> Vec<usize> {
        let mean_ramp = 1.0 / (self.curvature + 1.0);
        let mut firings = Vec::new();
        let mut previous = self.first_firing_days - FIRING_INTERVAL_DAYS;
        let mut next = self.first_firing_days;
        let modulation = Oscillator::new(TAU * CADENCE_DAYS / self.modulation_days, self.modulation_phase);
        for ((i, value), wave) in out.iter_mut().enumerate().zip(modulation) {
            let t = i as f64 * CADENCE_DAYS;
            if t >= next {
                firings.push(i);
                while t >= next {
                    previous = next;
                    next += FIRING_INTERVAL_DAYS * (1.0 + FIRING_JITTER * draw.normal());
                }
            }
            let elapsed = (t - previous) / (next - previous);
            let modulation = 1.0 + self.modulation_depth * wave;
            *value += self.amplitude * modulation * (elapsed.powf(self.curvature) - mean_ramp);
        }
        firings
    }
}

/// Adds thruster-firing dips and cosmic rays to `flux` (e-/s), given the white noise
/// `sigma` (e-/s) and the cadences that hold a firing.
pub(crate) fn add_outliers(draw: &mut Draw, flux: &mut [f64], sigma: f64, firings: &[usize]) {
    for &i in firings {
        if draw.chance(FIRING_DIP_CHANCE) {
            flux[i] -= draw.uniform(4.0, 25.0) * sigma;
        }
    }
    for value in flux.iter_mut() {
        if draw.chance(COSMIC_RAY_CHANCE) {
            *value += draw.uniform(5.0, 50.0) * sigma;
        }
    }
}
