//! Drops the cadences a light curve cannot use: those a quality flag in the mask condemns,
//! those with a non-finite time or flux, repeated time stamps, and, if asked, upward
//! outliers (flares). Gaps stay gaps: nothing is interpolated, the kept points keep their
//! own time stamps.

use super::{LightCurveError, QualityMask, RawPart, Source};

/// Cleaning choices beyond the quality mask.
#[derive(Clone, Debug, PartialEq)]
pub struct CleanOptions {
    /// Drop points more than this many robust standard deviations above the running
    /// median (flares, cosmic rays); `None` keeps them. Transits are dips, so clipping
    /// upward only never touches them.
    pub clip_flares: Option<f64>,
    /// The running median's width in days: wide enough to pass under a flare (minutes to
    /// hours), narrow enough to follow a spotted star's rotation (days).
    pub flare_window_days: f64,
}

impl Default for CleanOptions {
    fn default() -> Self {
        Self { clip_flares: None, flare_window_days: 0.5 }
    }
}

/// One file's usable points, in time order, on the file's own flux scale.
#[derive(Clone, Debug, PartialEq)]
pub struct CleanPart {
    pub source: Source,
    pub time: Vec<f64>,
    pub flux: Vec<f64>,
    /// Kept only when every kept point has a finite positive error and the errors are not
    /// all equal (a constant column is a placeholder, such as the 1s or 0s some tables
    /// carry, not a measurement).
    pub flux_err: Option<Vec<f64>>,
    pub rows: usize,
    pub flagged: usize,
    pub non_finite: usize,
    pub clipped: usize,
}

/// The median of `values` (reordered), or `None` when empty.
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let (mid, odd) = (values.len() / 2, values.len() % 2 == 1);
    let (below, upper, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *upper;
    Some(if odd {
        upper
    } else {
        let lower = below.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        0.5 * (lower + upper)
    })
}

/// Cleans one file's points; an error when fewer than two remain.
pub fn clean(raw: RawPart, mask: QualityMask, opts: &CleanOptions) -> Result<CleanPart, LightCurveError> {
    let bits = mask.bits(raw.source.mission.as_deref());
    let rows = raw.time.len();
    let (mut flagged, mut non_finite) = (0, 0);
    let mut keep: Vec<usize> = Vec::with_capacity(rows);
    for i in 0..rows {
        if raw.quality.as_ref().is_some_and(|q| q[i] & bits != 0) {
            flagged += 1;
        } else if !raw.time[i].is_finite() || !raw.flux[i].is_finite() {
            non_finite += 1;
        } else {
            keep.push(i);
        }
    }
    keep.sort_by(|&a, &b| raw.time[a].total_cmp(&raw.time[b]));
    keep.dedup_by(|b, a| raw.time[*a] == raw.time[*b]);
    let duplicates = rows - flagged - non_finite - keep.len();

    let hint = || {
        if flagged > 0 && flagged + non_finite == rows {
            "Pass --quality none to keep flagged cadences, or use another file.".to_string()
        } else {
            format!(
                "The file has no flux to read in {}; use another file (or the other flux column).",
                raw.source.flux_column
            )
        }
    };
    match keep.len() {
        0 => {
            return Err(LightCurveError::NoValidPoints {
                path: raw.source.file.clone(),
                column: raw.source.flux_column.clone(),
                rows,
                non_finite,
                flagged,
                hint: hint(),
            })
        }
        1 => return Err(LightCurveError::TooFewPoints { path: raw.source.file, points: 1 }),
        _ => {}
    }
    if let Some(k) = opts.clip_flares {
        let flux: Vec<f64> = keep.iter().map(|&i| raw.flux[i]).collect();
        let time: Vec<f64> = keep.iter().map(|&i| raw.time[i]).collect();
        let upward = upward_outliers(&time, &flux, opts.flare_window_days, k);
        let mut index = 0;
        keep.retain(|_| {
            index += 1;
            !upward[index - 1]
        });
    }
    let clipped = rows - flagged - non_finite - duplicates - keep.len();
    let flux_err = raw.flux_err.as_ref().and_then(|errs| {
        let kept: Vec<f64> = keep.iter().map(|&i| errs[i]).collect();
        let usable = kept.iter().all(|e| e.is_finite() && *e > 0.0) && kept.iter().any(|e| *e != kept[0]);
        usable.then_some(kept)
    });
    Ok(CleanPart {
        time: keep.iter().map(|&i| raw.time[i]).collect(),
        flux: keep.iter().map(|&i| raw.flux[i]).collect(),
        flux_err,
        source: raw.source,
        rows,
        flagged,
        non_finite: non_finite + duplicates,
        clipped,
    })
}

/// Which points stand more than `k` robust standard deviations (1.4826 x the median
/// absolute deviation of the residuals) above the running median of width `window` days.
fn upward_outliers(time: &[f64], flux: &[f64], window: f64, k: f64) -> Vec<bool> {
    let half = window / 2.0;
    let (mut lo, mut hi) = (0, 0);
    let mut scratch = Vec::new();
    let residuals: Vec<f64> = (0..time.len())
        .map(|i| {
            while time[lo] < time[i] - half {
                lo += 1;
            }
            while hi < time.len() && time[hi] <= time[i] + half {
                hi += 1;
            }
            scratch.clear();
            scratch.extend_from_slice(&flux[lo..hi]);
            flux[i] - median(&mut scratch).unwrap_or(flux[i])
        })
        .collect();
    let mut deviations: Vec<f64> = residuals.iter().map(|r| r.abs()).collect();
    let sigma = 1.4826 * median(&mut deviations).unwrap_or(0.0);
    residuals.iter().map(|&r| sigma > 0.0 && r > k * sigma).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(time: Vec<f64>, flux: Vec<f64>, quality: Option<Vec<u32>>) -> RawPart {
        let source = Source { file: "a.fits".into(), flux_column: "PDCSAP_FLUX".into(), ..Source::default() };
        RawPart { source, time, flux, quality, ..RawPart::default() }
    }

    #[test]
    fn drops_flagged_and_non_finite_and_keeps_gaps() {
        let part = raw(
            vec![1.0, 2.0, f64::NAN, 4.0, 10.0, 11.0],
            vec![1.0, f64::NAN, 1.0, 1.0, 1.0, 1.0],
            Some(vec![0, 0, 0, 32, 0, 0]),
        );
        let c = clean(part, QualityMask::Default, &CleanOptions::default()).unwrap();
        assert_eq!(c.time, vec![1.0, 10.0, 11.0]);
        assert_eq!((c.rows, c.flagged, c.non_finite, c.clipped), (6, 1, 2, 0));
    }

    #[test]
    fn sorts_and_drops_repeated_times() {
        let c = clean(
            raw(vec![3.0, 1.0, 2.0, 1.0], vec![3.0, 1.0, 2.0, 9.0], None),
            QualityMask::None,
            &CleanOptions::default(),
        )
        .unwrap();
        assert_eq!((c.time, c.flux, c.non_finite), (vec![1.0, 2.0, 3.0], vec![1.0, 2.0, 3.0], 1));
    }

    #[test]
    fn clips_upward_outliers_only() {
        let time: Vec<f64> = (0..200).map(|i| f64::from(i) * 0.02).collect();
        let mut flux: Vec<f64> = (0..200).map(|i| 1.0 + 1e-4 * f64::from(i % 7) - 3e-4).collect();
        flux[50] = 1.05; // a flare
        flux[120] = 0.95; // a transit-like dip stays
        let opts = CleanOptions { clip_flares: Some(5.0), ..CleanOptions::default() };
        let c = clean(raw(time, flux, None), QualityMask::None, &opts).unwrap();
        assert_eq!((c.time.len(), c.clipped), (199, 1));
        assert!(c.flux.iter().all(|&f| f < 1.01) && c.flux.contains(&0.95));
    }

    #[test]
    fn placeholder_errors_are_dropped() {
        let mut part = raw(vec![1.0, 2.0], vec![1.0, 1.0], None);
        part.flux_err = Some(vec![1.0, 1.0]);
        assert_eq!(clean(part.clone(), QualityMask::None, &CleanOptions::default()).unwrap().flux_err, None);
        part.flux_err = Some(vec![0.1, 0.2]);
        assert_eq!(
            clean(part, QualityMask::None, &CleanOptions::default()).unwrap().flux_err,
            Some(vec![0.1, 0.2])
        );
    }

    #[test]
    fn all_nan_or_one_point_is_an_error() {
        let e = clean(
            raw(vec![1.0, 2.0], vec![f64::NAN; 2], None),
            QualityMask::Default,
            &CleanOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("a.fits: no usable point in column PDCSAP_FLUX: of 2 rows, 2 have a non-finite"),
            "{e}"
        );
        let e = clean(raw(vec![1.0], vec![1.0], None), QualityMask::Default, &CleanOptions::default())
            .unwrap_err();
        assert!(e.to_string().contains("only 1 usable point(s)"), "{e}");
    }
}
