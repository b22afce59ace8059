//! The star itself: brightness, photometric precision, density and limb darkening.
//!
//! Ranges (each drawn independently per star, the same for every class so that nothing
//! but the transit tells a planet host apart):
//! - Kepler magnitude Kp uniform in [9, 16], i.e. flux log-uniform over a factor ~630:
//!   F = 1.74e5 e-/s x 10^(-0.4 (Kp - 12)), from ~4.4e3 e-/s (Kp 16) to ~2.8e6 e-/s (Kp 9).
//! - White noise per 29.4-min cadence from photon, sky and read noise over a 20-pixel
//!   aperture (1625.5 s exposure, 40 e-/s/pixel sky, 270 reads of 80 e- each), plus a
//!   pointing-jitter floor log-uniform in [20, 80] ppm added in quadrature: ~30-90 ppm
//!   at Kp 9, ~1000 ppm at Kp 16.
//! - Mean stellar density log-uniform in [0.3, 3] solar (subgiants to K dwarfs); it sets
//!   a/Rs, hence transit durations.
//! - Quadratic limb darkening (Kepler band, FGK dwarfs): u1 in [0.3, 0.6], u2 in [0.1, 0.3].

use super::draw::Draw;

/// K2 long cadence: 29.4 minutes, in days.
pub const CADENCE_DAYS: f64 = 29.4 / 1440.0;

/// Kepler's flux zero point: a Kp = 12 star gives 1.74e5 e-/s (Kepler Instrument Handbook).
const FLUX_AT_KP12: f64 = 1.74e5;
const EXPOSURE_S: f64 = 1625.5;
const APERTURE_PIXELS: f64 = 20.0;
const SKY_PER_PIXEL: f64 = 40.0;
const READS_PER_CADENCE: f64 = 270.0;
const READ_NOISE: f64 = 80.0;

/// Quadratic limb darkening: I(mu) / I(1) = 1 - u1 (1 - mu) - u2 (1 - mu)^2.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LimbDarkening {
    pub u1: f64,
    pub u2: f64,
}

impl LimbDarkening {
    /// Surface brightness at radius r (stellar radii) from the disk centre, I(centre) = 1.
    pub(crate) fn intensity(&self, r: f64) -> f64 {
        let one_minus_mu = 1.0 - (1.0 - r * r).max(0.0).sqrt();
        1.0 - self.u1 * one_minus_mu - self.u2 * one_minus_mu * one_minus_mu
    }

    /// Disk-averaged brightness: the whole star emits pi x this.
    pub(crate) fn mean_intensity(&self) -> f64 {
        1.0 - self.u1 / 3.0 - self.u2 / 6.0
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Star {
    pub kepmag: f64,
    /// Mean flux, e-/s.
    pub flux: f64,
    /// White noise per cadence relative to `flux`.
    pub white_noise: f64,
    /// Mean density in solar units.
    pub density: f64,
    pub limb_darkening: LimbDarkening,
}

impl Star {
    pub(crate) fn draw(draw: &mut Draw) -> Star {
        let kepmag = draw.uniform(9.0, 16.0);
        let flux = FLUX_AT_KP12 * 10f64.powf(-0.4 * (kepmag - 12.0));
        let electrons = flux * EXPOSURE_S;
        let pixel_noise =
            APERTURE_PIXELS * (SKY_PER_PIXEL * EXPOSURE_S + READS_PER_CADENCE * READ_NOISE * READ_NOISE);
        let jitter = draw.log_uniform(20e-6, 80e-6);
        let shot = (electrons + pixel_noise).sqrt() / electrons;
        Star {
            kepmag,
            flux,
            white_noise: shot.hypot(jitter),
            density: draw.log_uniform(0.3, 3.0),
            limb_darkening: LimbDarkening { u1: draw.uniform(0.3, 0.6), u2: draw.uniform(0.1, 0.3) },
        }
    }

    /// a / Rs of a circular orbit of `period_days` around this star (Kepler's third law:
    /// a/Rs = 4.206 P^(2/3) rho^(1/3), P in days, rho in solar units; 215 for the Earth).
    pub(crate) fn scaled_semi_major_axis(&self, period_days: f64) -> f64 {
        4.206 * period_days.powf(2.0 / 3.0) * self.density.cbrt()
    }
}
