//! What the star does by itself: spot rotation and granulation, as relative flux.
//!
//! - Rotation: period log-uniform in [1, 30] d, semi-amplitude log-uniform in
//!   [1e-4, 2e-2] (0.01% to 2%). The fundamental plus a first harmonic (0 to 0.5 of it),
//!   each with an amplitude that waxes and wanes by up to +/-60% over a spot-evolution
//!   time log-uniform in [10, 60] d and a phase that drifts by up to +/-0.3 cycles over
//!   the campaign (spots appear, decay and migrate), so the signal is quasi-periodic.
//! - Granulation (and other short-timescale stellar noise): a damped random walk, AR(1)
//!   on the cadence grid, timescale log-uniform in [1, 8] h, rms log-uniform in
//!   [10, 150] ppm.

use std::f64::consts::TAU;

use super::draw::Draw;
use super::oscillator::Oscillator;
use super::star::CADENCE_DAYS;

#[derive(Clone, Copy, Debug)]
struct Harmonic {
    amplitude: f64,
    phase: f64,
    /// Phase drift over the whole window, radians.
    drift: f64,
    /// Phase of the amplitude modulation.
    evolution_phase: f64,
}

impl Harmonic {
    fn draw(draw: &mut Draw, amplitude: f64) -> Harmonic {
        Harmonic {
            amplitude,
            phase: draw.uniform(0.0, TAU),
            drift: draw.uniform(-0.3, 0.3) * TAU,
            evolution_phase: draw.uniform(0.0, TAU),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Variability {
    rotation_days: f64,
    harmonics: [Harmonic; 2],
    evolution_days: f64,
    evolution_depth: f64,
    granulation_rms: f64,
    granulation_days: f64,
}

impl Variability {
    pub(crate) fn draw(draw: &mut Draw) -> Variability {
        let amplitude = draw.log_uniform(1e-4, 2e-2);
        let fundamental = Harmonic::draw(draw, amplitude);
        let second_share = draw.uniform(0.0, 0.5);
        let first_harmonic = Harmonic::draw(draw, amplitude * second_share);
        Variability {
            rotation_days: draw.log_uniform(1.0, 30.0),
            harmonics: [fundamental, first_harmonic],
            evolution_days: draw.log_uniform(10.0, 60.0),
            evolution_depth: draw.uniform(0.0, 0.6),
            granulation_rms: draw.log_uniform(10e-6, 150e-6),
            granulation_days: draw.log_uniform(1.0, 8.0) / 24.0,
        }
    }

    /// Rms of the granulation, relative: it counts as noise on transit timescales.
    pub(crate) fn granulation_rms(&self) -> f64 {
        self.granulation_rms
    }

    /// Adds the relative variation at each cadence to `out`.
    pub(crate) fn add_to(&self, draw: &mut Draw, out: &mut [f64]) {
        let window = out.len() as f64 * CADENCE_DAYS;
        for (order, h) in self.harmonics.iter().enumerate() {
            // Rotation phase per cadence, including the drift spread over the window.
            let omega = (TAU * (order + 1) as f64 / self.rotation_days + h.drift / window) * CADENCE_DAYS;
            let spot = Oscillator::new(omega, h.phase);
            let evolution = Oscillator::new(TAU * CADENCE_DAYS / self.evolution_days, h.evolution_phase);
            for ((value, s), e) in out.iter_mut().zip(spot).zip(evolution) {
                *value += h.amplitude * (1.0 + self.evolution_depth * e) * s;
            }
        }
        let decay = (-CADENCE_DAYS / self.granulation_days).exp();
        let kick = self.granulation_rms * (1.0 - decay * decay).sqrt();
        let mut granulation = self.granulation_rms * draw.normal();
        for value in out.iter_mut() {
            *value += granulation;
            granulation = decay * granulation + kick * draw.normal();
        }
    }
}
