//! One star's light curve, from its own random stream, and the truth about it.
//!
//! flux(t) = F x (1 + spots(t) + granulation(t)) x eclipses(t) x (1 + roll(t))
//!           + white noise + outliers,
//! in e-/s, then gaps filled. Everything but the eclipses is drawn the same way for every
//! kind of star, so that only transits (and eclipses) tell the classes apart.

use super::config::SynthConfig;
use super::draw::{Draw, Split};
use super::eclipse::EclipsingBinary;
use super::gaps::Gaps;
use super::planet::{Plan, Planet, Window};
use super::star::{Star, CADENCE_DAYS};
use super::systematics::{add_outliers, Roll};
use super::truth::{Kind, TruthRow};
use super::variability::Variability;

pub(crate) const PLANET_LABEL: i64 = 2;
pub(crate) const OTHER_LABEL: i64 = 1;

/// Single dips last one transit of a companion whose period is 2 to 5 windows.
const SINGLE_DIP_PERIODS_IN_WINDOWS: (f64, f64) = (2.0, 5.0);
const SINGLE_DIP_SNR: (f64, f64) = (5.0, 30.0);

/// Fills `flux` (one row of the data set) for star `row` of `split`; planet hosts when
/// `host`. Returns the truth row.
pub(crate) fn light_curve(
    cfg: &SynthConfig,
    split: Split,
    row: usize,
    host: bool,
    flux: &mut [f32],
) -> TruthRow {
    let samples = flux.len();
    let mut draw = Draw::for_star(cfg.seed, split, row);
    let star = Star::draw(&mut draw);
    let variability = Variability::draw(&mut draw);
    let roll = Roll::draw(&mut draw);
    let gaps = Gaps::draw(&mut draw, samples);
    let window = Window {
        samples,
        gaps: &gaps,
        scatter: star.white_noise.hypot(variability.granulation_rms()).hypot(roll.rms()),
    };

    let mut eclipses = vec![1.0; samples];
    let mut truth = TruthRow {
        star: row,
        label: if host { PLANET_LABEL } else { OTHER_LABEL },
        kind: Kind::Star,
        n_planets: 0,
        period_days: 0.0,
        epoch_days: 0.0,
        depth_ppm: 0.0,
        duration_hours: 0.0,
        snr: 0.0,
        kepmag: star.kepmag,
    };
    if host {
        let first = Planet::draw(&mut draw, &star, &window, &Plan::planet(&window, cfg.planet_snr, None));
        let mut planets = vec![first];
        if draw.chance(cfg.two_planet_fraction) {
            let beside = Some(planets[0].orbit.period_days);
            let plan = Plan::planet(&window, cfg.planet_snr, beside);
            planets.push(Planet::draw(&mut draw, &star, &window, &plan));
        }
        for planet in &planets {
            planet.dim(&star, &mut eclipses);
        }
        let strongest = planets.iter().max_by(|a, b| a.snr.total_cmp(&b.snr)).expect("a host has a planet");
        truth = TruthRow {
            kind: Kind::Planet,
            n_planets: planets.len(),
            period_days: strongest.orbit.period_days,
            epoch_days: strongest.orbit.epoch_days,
            depth_ppm: strongest.depth * 1e6,
            duration_hours: strongest.duration_hours,
            snr: strongest.snr,
            ..truth
        };
    } else if draw.chance(cfg.eb_fraction) {
        let binary = EclipsingBinary::draw(&mut draw, &star, samples);
        binary.dim(&star, &mut eclipses);
        truth = TruthRow {
            kind: Kind::Eb,
            period_days: binary.orbit.period_days,
            epoch_days: binary.orbit.epoch_days,
            depth_ppm: binary.primary_depth * 1e6,
            duration_hours: binary.duration_hours,
            ..truth
        };
    } else if draw.chance(cfg.single_dip_fraction) {
        let window_days = samples as f64 * CADENCE_DAYS;
        let (lo, hi) = SINGLE_DIP_PERIODS_IN_WINDOWS;
        let plan = Plan {
            periods_days: (lo * window_days, hi * window_days),
            min_transits: 1,
            snr: SINGLE_DIP_SNR,
            beside: None,
        };
        Planet::draw(&mut draw, &star, &window, &plan).dim(&star, &mut eclipses);
    }

    let mut relative = vec![0.0; samples];
    variability.add_to(&mut draw, &mut relative);
    let mut roll_part = vec![0.0; samples];
    let firings = roll.add_to(&mut draw, &mut roll_part);
    let sigma = star.white_noise * star.flux;
    let mut electrons: Vec<f64> = (0..samples)
        .map(|i| star.flux * (1.0 + relative[i]) * eclipses[i] * (1.0 + roll_part[i]) + sigma * draw.normal())
        .collect();
    add_outliers(&mut draw, &mut electrons, sigma, &firings);
    gaps.fill(&mut electrons, star.flux);
    for (out, value) in flux.iter_mut().zip(&electrons) {
        *out = *value as f32;
    }
    truth
}
