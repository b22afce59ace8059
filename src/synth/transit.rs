//! One disk passing in front of a limb-darkened star, on a circular orbit.
//!
//! The occulted flux is the exact integral over the star's annuli of the quadratic
//! limb-darkened brightness times the arc each annulus loses behind the occulting disk
//! (Mandel & Agol 2002, eq. 1 with their I(r)), done by the midpoint rule on 64 annuli
//! spanning the occulter. It holds for any radius ratio: a small planet (where it tends
//! to k^2 I(z) / <I>, the small-planet limit), a grazing one (a V-shaped dip) or a
//! stellar companion. Each cadence averages 7 instants across its 29.4-min exposure, so
//! short ingresses are smeared as K2's long cadence smears them; the integral is
//! tabulated once per occulter on 512 separations and interpolated linearly between them
//! (the table step, (1 + k) / 511, is a fifth or less of the ingress for k >= 0.005).

use std::f64::consts::PI;

use super::star::{LimbDarkening, CADENCE_DAYS};

const ANNULI: usize = 64;
const SUBSAMPLES: usize = 7;
const TABLE_POINTS: usize = 512;

/// Fraction of the star's flux hidden by an opaque disk of radius `k` (stellar radii)
/// whose centre lies `z` stellar radii from the star's centre.
pub(crate) fn occulted_fraction(z: f64, k: f64, ld: LimbDarkening) -> f64 {
    if z >= 1.0 + k {
        return 0.0;
    }
    let inner = (z - k).max(0.0);
    let outer = (z + k).min(1.0);
    let dr = (outer - inner) / ANNULI as f64;
    let mut hidden = 0.0;
    for step in 0..ANNULI {
        let r = inner + (step as f64 + 0.5) * dr;
        // Half the angle of the annulus at radius r that lies inside the occulter.
        let half_arc =
            if r <= k - z { PI } else { ((r * r + z * z - k * k) / (2.0 * r * z)).clamp(-1.0, 1.0).acos() };
        hidden += ld.intensity(r) * 2.0 * half_arc * r * dr;
    }
    hidden / (PI * ld.mean_intensity())
}

/// `occulted_fraction` of one occulter, tabulated over the separations where it is > 0.
struct OccultationTable {
    step: f64,
    values: Vec<f64>,
}

impl OccultationTable {
    fn new(k: f64, ld: LimbDarkening) -> OccultationTable {
        let step = (1.0 + k) / (TABLE_POINTS - 1) as f64;
        let values = (0..TABLE_POINTS).map(|i| occulted_fraction(i as f64 * step, k, ld)).collect();
        OccultationTable { step, values }
    }

    fn at(&self, z: f64) -> f64 {
        let x = z / self.step;
        let i = x as usize;
        if i + 1 >= self.values.len() {
            return 0.0;
        }
        let w = x - i as f64;
        self.values[i] * (1.0 - w) + self.values[i + 1] * w
    }
}

/// A circular orbit: when the companion crosses the star and how far from its centre.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Orbit {
    pub period_days: f64,
    /// Time of a mid-transit, days from the first cadence.
    pub epoch_days: f64,
    /// Semi-major axis in stellar radii.
    pub a_rs: f64,
    /// Impact parameter: closest projected approach, stellar radii.
    pub impact: f64,
}

impl Orbit {
    /// The same orbit half a period later: where the companion passes behind the star.
    pub(crate) fn opposite(&self) -> Orbit {
        Orbit { epoch_days: self.epoch_days + self.period_days / 2.0, ..*self }
    }

    /// Signed time from the nearest mid-transit, days.
    pub(crate) fn offset_days(&self, t: f64) -> f64 {
        let cycles = (t - self.epoch_days) / self.period_days;
        (cycles - cycles.round()) * self.period_days
    }

    /// Projected separation at signed time `offset` from mid-transit, stellar radii.
    fn separation(&self, offset: f64) -> f64 {
        let angle = 2.0 * PI * offset / self.period_days;
        (self.a_rs * angle.sin()).hypot(self.impact * angle.cos())
    }

    /// First to fourth contact for an occulter of radius ratio `k`, days (0 if it misses).
    pub(crate) fn duration_days(&self, k: f64) -> f64 {
        let reach = (1.0 + k) * (1.0 + k) - self.impact * self.impact;
        if reach <= 0.0 {
            return 0.0;
        }
        let sin_inclination = (1.0 - (self.impact / self.a_rs).powi(2)).max(0.0).sqrt();
        let x = (reach.sqrt() / (self.a_rs * sin_inclination)).min(1.0);
        self.period_days / PI * x.asin()
    }

    /// Calls `hit(cadence, fraction)` for every cadence of `samples` during which a disk
    /// of radius `k` hides a fraction > 0 of the star (averaged over the exposure).
    pub(crate) fn for_each_occultation(
        &self,
        k: f64,
        ld: LimbDarkening,
        samples: usize,
        mut hit: impl FnMut(usize, f64),
    ) {
        let reach = self.duration_days(k) / 2.0 + CADENCE_DAYS;
        let table = OccultationTable::new(k, ld);
        for cadence in 0..samples {
            let centre = self.offset_days(cadence as f64 * CADENCE_DAYS);
            if centre.abs() >= reach {
                continue;
            }
            let mut fraction = 0.0;
            for sub in 0..SUBSAMPLES {
                let shift = ((sub as f64 + 0.5) / SUBSAMPLES as f64 - 0.5) * CADENCE_DAYS;
                fraction += table.at(self.separation(centre + shift));
            }
            if fraction > 0.0 {
                hit(cadence, fraction / SUBSAMPLES as f64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUN_LIKE: LimbDarkening = LimbDarkening { u1: 0.45, u2: 0.2 };

    #[test]
    fn small_planet_at_centre_hides_k_squared_over_mean_brightness() {
        for k in [0.01, 0.03, 0.08] {
            let exact = k * k / SUN_LIKE.mean_intensity();
            let got = occulted_fraction(0.0, k, SUN_LIKE);
            assert!((got / exact - 1.0).abs() < 2e-3, "k {k}: {got} vs {exact}");
        }
    }

    #[test]
    fn small_planet_off_centre_follows_the_local_brightness() {
        let (k, z) = (0.02, 0.7);
        let exact = k * k * SUN_LIKE.intensity(z) / SUN_LIKE.mean_intensity();
        let got = occulted_fraction(z, k, SUN_LIKE);
        assert!((got / exact - 1.0).abs() < 5e-3, "{got} vs {exact}");
    }

    #[test]
    fn equal_disk_at_centre_hides_everything_and_nothing_past_contact() {
        assert!((occulted_fraction(0.0, 1.0, SUN_LIKE) - 1.0).abs() < 1e-3);
        assert_eq!(occulted_fraction(1.3, 0.3, SUN_LIKE), 0.0);
        // Just inside fourth contact a sliver remains, and it is tiny.
        let sliver = occulted_fraction(1.29, 0.3, SUN_LIKE);
        assert!(sliver > 0.0 && sliver < 1e-3, "{sliver}");
    }

    #[test]
    fn uniform_disk_partial_overlap_matches_the_lens_area() {
        let flat = LimbDarkening { u1: 0.0, u2: 0.0 };
        let (z, k): (f64, f64) = (0.9, 0.35);
        // Area of the lens where two circles (radii 1 and k, centres z apart) overlap.
        let a = ((z * z + 1.0 - k * k) / (2.0 * z)).clamp(-1.0, 1.0).acos();
        let b = ((z * z + k * k - 1.0) / (2.0 * z * k)).clamp(-1.0, 1.0).acos();
        let triangle = 0.5 * ((-z + k + 1.0) * (z + k - 1.0) * (z - k + 1.0) * (z + k + 1.0)).sqrt();
        let lens = a + k * k * b - triangle;
        let got = occulted_fraction(z, k, flat);
        assert!((got / (lens / PI) - 1.0).abs() < 2e-3, "{got} vs {}", lens / PI);
    }

    #[test]
    fn table_matches_the_integral_between_its_points() {
        for k in [0.005, 0.05, 0.6] {
            let table = OccultationTable::new(k, SUN_LIKE);
            let deepest = occulted_fraction(0.0, k, SUN_LIKE);
            for i in 0..997 {
                let z = i as f64 * (1.0 + k) * 1.001 / 997.0 + 1e-4;
                let err = (table.at(z) - occulted_fraction(z, k, SUN_LIKE)).abs();
                assert!(err < 0.03 * deepest, "k {k}, z {z}: error {err}");
            }
        }
    }

    #[test]
    fn duration_of_an_earth_analogue_is_thirteen_hours() {
        let orbit = Orbit { period_days: 365.25, epoch_days: 0.0, a_rs: 215.0, impact: 0.0 };
        let hours = orbit.duration_days(0.009) * 24.0;
        assert!((hours - 13.0).abs() < 0.3, "{hours}");
    }

    #[test]
    fn dip_is_deepest_at_mid_transit_and_absent_far_from_it() {
        let orbit = Orbit { period_days: 3.3, epoch_days: 1.7, a_rs: 9.0, impact: 0.4 };
        let mut dips = vec![0.0; 400];
        orbit.for_each_occultation(0.1, SUN_LIKE, dips.len(), |c, f| dips[c] = f);
        let deepest = (0..dips.len()).max_by(|&a, &b| dips[a].total_cmp(&dips[b])).unwrap();
        let offset = orbit.offset_days(deepest as f64 * CADENCE_DAYS);
        assert!(offset.abs() <= CADENCE_DAYS, "deepest {deepest}, {offset} d from mid");
        let half = orbit.duration_days(0.1) / 2.0 + CADENCE_DAYS;
        for (c, &d) in dips.iter().enumerate() {
            let far = orbit.offset_days(c as f64 * CADENCE_DAYS).abs() > half;
            assert!(!far || d == 0.0, "cadence {c} dips by {d} outside transit");
        }
    }
}
