//! Per-object features of a survey light curve, per passband and over all passbands,
//! plus the metadata columns (PLAsTiCC) or the period features of [`super::period`]
//! (per-object sets, which have no metadata): what a dense classifier reads instead of
//! the raw, irregularly sampled observations.
//!
//! For each group (the bands u, g, r, i, z, y, then "all"), in time order, the
//! [`GROUP_STATS`]: observation count; mean, median, max, min of the flux; population
//! standard deviation (numpy's default, ddof 0); skew and excess kurtosis as
//! `scipy.stats.skew`/`kurtosis` compute them by default (biased moments `m3 / m2^1.5`,
//! `m4 / m2^2 - 3`); the 10th, 25th, 75th, 90th percentiles (numpy's linear
//! interpolation); the largest and smallest slope `dflux / dmjd` between consecutive
//! observations; mean `flux / flux_err` and max `|flux| / flux_err`; the detected
//! fraction; the time span between the first and last detection. Then, for max, mean
//! and std, each band's share `q_b / sum_c |q_c|` (the ratio of any two bands' values is
//! the ratio of their shares, and a share stays finite where a plain ratio divides by
//! zero). Then each metadata column and a 0/1 flag saying it was missing.
//!
//! Convention for too few observations, so that every feature is defined and finite:
//! a group with no observations has every statistic 0 (its count, 0, says so); with one
//! observation the location statistics are that value and the spread, shape and slope
//! statistics are 0; skew and kurtosis are 0 when the standard deviation is 0; slopes
//! are 0 when no two observations are at different times; a detection span needs two
//! detections; a share is 0 when all bands' values are 0; a missing metadata value is 0
//! with its flag at 1.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use rayon::prelude::*;

use crate::data::Label;

use super::period;
use super::reader::{Observation, Survey, SurveyObject, META_COLUMNS, PASSBANDS};

pub const GROUP_STATS: [&str; 18] = [
    "count",
    "mean",
    "median",
    "max",
    "min",
    "std",
    "skew",
    "kurtosis",
    "p10",
    "p25",
    "p75",
    "p90",
    "max_slope",
    "min_slope",
    "snr_mean",
    "snr_max",
    "det_frac",
    "det_span",
];

/// The group statistics compared across bands as shares: (name, index in [`GROUP_STATS`]).
const SHARED: [(&str, usize); 3] = [("max", 3), ("mean", 1), ("std", 5)];

/// Band groups: the six passbands, then all observations together.
const GROUPS: usize = PASSBANDS.len() + 1;

/// The name of every feature, in the order [`object_features`] returns them: with
/// metadata (PLAsTiCC) the metadata columns close the list; without (per-object sets)
/// the period features of [`super::period`] do.
pub fn feature_names(has_meta: bool) -> Vec<String> {
    let mut names = Vec::new();
    for group in PASSBANDS.iter().chain(&["all"]) {
        names.extend(GROUP_STATS.iter().map(|s| format!("{group}_{s}")));
    }
    for (stat, _) in SHARED {
        names.extend(PASSBANDS.iter().map(|b| format!("{b}_{stat}_share")));
    }
    if !has_meta {
        names.extend(period::feature_names());
        return names;
    }
    for col in META_COLUMNS {
        names.push(format!("meta_{col}"));
        names.push(format!("meta_{col}_missing"));
    }
    names
}

/// One object's features, in [`feature_names`] order; all finite.
pub fn object_features(object: &SurveyObject, has_meta: bool) -> Vec<f64> {
    let relative;
    let source = if has_meta {
        &object.obs
    } else {
        relative = relative_flux(&object.obs);
        &relative
    };
    let mut obs: Vec<&Observation> = source.iter().collect();
    // stable: observations at the same time keep their file order
    obs.sort_by(|a, b| a.mjd.total_cmp(&b.mjd));
    let mut stats = Vec::with_capacity(GROUPS);
    for band in 0..PASSBANDS.len() {
        let in_band: Vec<&Observation> = obs.iter().copied().filter(|o| o.passband == band).collect();
        stats.push(group_stats(&in_band));
    }
    stats.push(group_stats(&obs));
    let mut out: Vec<f64> = stats.iter().flatten().copied().collect();
    for (_, k) in SHARED {
        let total: f64 = stats[..PASSBANDS.len()].iter().map(|s| s[k].abs()).sum();
        out.extend(stats[..PASSBANDS.len()].iter().map(|s| if total > 0.0 { s[k] / total } else { 0.0 }));
    }
    if !has_meta {
        out.extend(period::period_features(&object.obs));
        return out;
    }
    for &m in &object.meta {
        out.push(if m.is_nan() { 0.0 } else { m });
        out.push(if m.is_nan() { 1.0 } else { 0.0 });
    }
    out
}

/// Each band's fluxes and errors divided by the band's median flux, where that is
/// positive: per-object sets carry no distance, so a star's brightness says nothing of
/// its class, while its relative variability does (colours keep what the bands'
/// brightness ratios say).
fn relative_flux(obs: &[Observation]) -> Vec<Observation> {
    let medians: Vec<Option<f64>> = (0..PASSBANDS.len())
        .map(|b| {
            period::median(obs.iter().filter(|o| o.passband == b).map(|o| o.flux).collect())
                .filter(|&m| m > 0.0)
        })
        .collect();
    obs.iter()
        .map(|o| match medians[o.passband] {
            Some(m) => Observation { flux: o.flux / m, flux_err: o.flux_err / m, ..*o },
            None => *o,
        })
        .collect()
}

/// [`GROUP_STATS`] of observations sorted by time.
fn group_stats(obs: &[&Observation]) -> [f64; 18] {
    let n = obs.len();
    if n == 0 {
        return [0.0; 18];
    }
    let flux: Vec<f64> = obs.iter().map(|o| o.flux).collect();
    let nf = n as f64;
    let mean = flux.iter().sum::<f64>() / nf;
    let moment = |p: i32| flux.iter().map(|x| (x - mean).powi(p)).sum::<f64>() / nf;
    let m2 = moment(2);
    // A constant series has m2 = 0 up to rounding of the mean; shape is then undefined.
    let flat = m2.sqrt() <= 1e-12 * mean.abs() || m2 == 0.0;
    let (skew, kurtosis) =
        if flat { (0.0, 0.0) } else { (moment(3) / m2.powf(1.5), moment(4) / (m2 * m2) - 3.0) };
    let mut sorted = flux.clone();
    sorted.sort_by(f64::total_cmp);
    let pct = |q: f64| percentile(&sorted, q);
    let slopes: Vec<f64> = obs
        .windows(2)
        .filter(|w| w[1].mjd > w[0].mjd)
        .map(|w| (w[1].flux - w[0].flux) / (w[1].mjd - w[0].mjd))
        .collect();
    let extreme = |pick: fn(f64, f64) -> f64| slopes.iter().copied().reduce(pick).unwrap_or(0.0);
    let detected: Vec<f64> = obs.iter().filter(|o| o.detected).map(|o| o.mjd).collect();
    let det_span = match (detected.first(), detected.last()) {
        (Some(first), Some(last)) => last - first,
        _ => 0.0,
    };
    [
        nf,
        mean,
        pct(50.0),
        sorted[n - 1],
        sorted[0],
        m2.sqrt(),
        skew,
        kurtosis,
        pct(10.0),
        pct(25.0),
        pct(75.0),
        pct(90.0),
        extreme(f64::max),
        extreme(f64::min),
        obs.iter().map(|o| o.flux / o.flux_err).sum::<f64>() / nf,
        obs.iter().map(|o| o.flux.abs() / o.flux_err).fold(0.0, f64::max),
        detected.len() as f64 / nf,
        det_span,
    ]
}

/// numpy's default (linear) percentile of sorted, non-empty values.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q / 100.0 * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (pos - lo as f64) * (sorted[hi] - sorted[lo])
}

/// The features of every object of a survey: (rows, features) row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureTable {
    pub names: Vec<String>,
    pub object_ids: Vec<String>,
    pub targets: Option<Vec<Label>>,
    pub values: Vec<f64>,
}

impl FeatureTable {
    pub fn of(survey: &Survey) -> FeatureTable {
        let rows: Vec<Vec<f64>> =
            survey.objects.par_iter().map(|o| object_features(o, survey.has_meta)).collect();
        FeatureTable {
            names: feature_names(survey.has_meta),
            object_ids: survey.objects.iter().map(|o| o.object_id.clone()).collect(),
            targets: survey.labels(),
            values: rows.concat(),
        }
    }

    pub fn rows(&self) -> usize {
        self.object_ids.len()
    }

    /// The rows whose indices are given, in that order.
    pub fn subset(&self, rows: &[usize]) -> FeatureTable {
        FeatureTable {
            names: self.names.clone(),
            object_ids: rows.iter().map(|&r| self.object_ids[r].clone()).collect(),
            targets: self.targets.as_ref().map(|t| rows.iter().map(|&r| t[r].clone()).collect()),
            values: rows.iter().flat_map(|&r| self.row(r).iter().copied()).collect(),
        }
    }

    pub fn width(&self) -> usize {
        self.names.len()
    }

    pub fn row(&self, r: usize) -> &[f64] {
        &self.values[r * self.width()..(r + 1) * self.width()]
    }

    /// `object_id[,target],<features>`: shortest round-trip decimals, one object per line.
    pub fn to_csv(&self) -> String {
        let mut s = String::from("object_id");
        if self.targets.is_some() {
            s += ",target";
        }
        for name in &self.names {
            let _ = write!(s, ",{name}");
        }
        s.push('\n');
        for r in 0..self.rows() {
            s.push_str(&crate::data::label::csv_cell(&self.object_ids[r]));
            if let Some(t) = &self.targets {
                let _ = write!(s, ",{}", t[r].csv_cell());
            }
            for v in self.row(r) {
                let _ = write!(s, ",{v}");
            }
            s.push('\n');
        }
        s
    }

    pub fn write_csv(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.to_csv()).with_context(|| {
            format!("cannot write {}: check the directory exists and is writable", path.display())
        })
    }
}
