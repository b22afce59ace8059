//! What a light curve looks like at a glance: points, span, cadence and gaps, for
//! `starskope inspect` and for messages.

use std::fmt;

use super::LightCurve;

/// A light curve's shape in figures.
#[derive(Clone, Debug, PartialEq)]
pub struct Shape {
    pub points: usize,
    /// Last time less first, days.
    pub span_days: f64,
    /// The median step between points, minutes.
    pub cadence_minutes: f64,
    /// Steps longer than 0.5 day (a data downlink, a safe mode, a quarter boundary).
    pub gaps: usize,
    pub largest_gap_days: f64,
}

/// Gaps shorter than this are lost cadences, not interruptions worth counting.
const GAP_DAYS: f64 = 0.5;

pub fn shape(curve: &LightCurve) -> Shape {
    let mut steps: Vec<f64> = curve.time.windows(2).map(|w| w[1] - w[0]).collect();
    let gaps = steps.iter().filter(|&&s| s > GAP_DAYS).count();
    let largest_gap_days = steps.iter().copied().filter(|&s| s > GAP_DAYS).fold(0.0, f64::max);
    Shape {
        points: curve.time.len(),
        span_days: curve.time.last().zip(curve.time.first()).map_or(0.0, |(l, f)| l - f),
        cadence_minutes: super::clean::median(&mut steps).unwrap_or(0.0) * 24.0 * 60.0,
        gaps,
        largest_gap_days,
    }
}

/// One line for `starskope inspect`.
pub struct Described<'a>(pub &'a LightCurve);

impl fmt::Display for Described<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.0;
        let s = shape(c);
        let segments: Vec<&str> = c.parts.iter().filter_map(|p| p.segment.as_deref()).collect();
        let (flagged, non_finite, clipped) =
            c.parts.iter().fold((0, 0, 0), |(a, b, d), p| (a + p.flagged, b + p.non_finite, d + p.clipped));
        write!(
            f,
            "{}\t{}\t{} file(s){}\t{} points\tspan {:.2} d\tcadence {:.2} min\t{} gap(s) > {GAP_DAYS} d{}\tdropped: {flagged} flagged, {non_finite} non-finite, {clipped} clipped\terrors: {}\tfiles: {}",
            c.target,
            c.mission.as_deref().unwrap_or("-"),
            c.files.len(),
            if segments.is_empty() { String::new() } else { format!(" ({})", segments.join(", ")) },
            s.points,
            s.span_days,
            s.cadence_minutes,
            s.gaps,
            if s.gaps > 0 { format!(" (largest {:.2} d)", s.largest_gap_days) } else { String::new() },
            if c.flux_err.is_some() { "yes" } else { "no" },
            c.files.join(";"),
        )
    }
}
