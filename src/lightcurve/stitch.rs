//! One star's files into one light curve: each part divided by its own median first, as
//! lightkurve's stitch does, so that quarters or sectors with different apertures and
//! gains meet at 1; then the points of all parts in time order.

use super::{CleanPart, LightCurve, LightCurveError, PartSummary};

/// Joins the cleaned parts of `target` (at least one) into one light curve.
pub fn stitch(target: &str, mut parts: Vec<CleanPart>) -> Result<LightCurve, LightCurveError> {
    parts.sort_by(|a, b| a.time[0].total_cmp(&b.time[0]));
    let points: usize = parts.iter().map(|p| p.time.len()).sum();
    let with_errors = parts.iter().all(|p| p.flux_err.is_some());
    let mut curve = LightCurve {
        target: target.to_string(),
        files: parts.iter().map(|p| file_name(&p.source.file)).collect(),
        mission: parts.iter().find_map(|p| p.source.mission.clone()),
        time: Vec::with_capacity(points),
        flux: Vec::with_capacity(points),
        flux_err: with_errors.then(|| Vec::with_capacity(points)),
        parts: Vec::with_capacity(parts.len()),
    };
    for part in parts {
        let median = super::clean::median(&mut part.flux.clone()).unwrap_or(f64::NAN);
        if !(median.is_finite() && median > 0.0) {
            return Err(LightCurveError::NotAFlux {
                path: part.source.file,
                column: part.source.flux_column,
                median,
            });
        }
        let start = curve.flux.len();
        curve.time.extend_from_slice(&part.time);
        curve.flux.extend(part.flux.iter().map(|f| f / median));
        if let (Some(all), Some(errs)) = (curve.flux_err.as_mut(), &part.flux_err) {
            all.extend(errs.iter().map(|e| e / median));
        }
        let errs = curve.flux_err.as_deref().map_or(&[][..], |e| &e[start..]);
        if curve.flux[start..].iter().chain(errs).any(|v| !v.is_finite()) {
            return Err(LightCurveError::FluxOutOfRange {
                path: part.source.file,
                column: part.source.flux_column,
                median,
            });
        }
        curve.parts.push(PartSummary {
            file: file_name(&part.source.file),
            segment: part.source.segment,
            rows: part.rows,
            points: part.time.len(),
            flagged: part.flagged,
            non_finite: part.non_finite,
            clipped: part.clipped,
            median,
        });
    }
    if curve.time.windows(2).any(|w| w[1] <= w[0]) {
        merge_overlaps(&mut curve);
    }
    Ok(curve)
}

/// Parts that overlap in time (the same quarter twice, say): all points in time order,
/// the first part's point kept where two share a time stamp.
fn merge_overlaps(curve: &mut LightCurve) {
    let mut order: Vec<usize> = (0..curve.time.len()).collect();
    order.sort_by(|&a, &b| curve.time[a].total_cmp(&curve.time[b]));
    order.dedup_by(|b, a| curve.time[*a] == curve.time[*b]);
    let pick = |values: &[f64]| order.iter().map(|&i| values[i]).collect::<Vec<f64>>();
    curve.time = pick(&curve.time);
    curve.flux = pick(&curve.flux);
    if let Some(errs) = curve.flux_err.as_mut() {
        *errs = pick(errs);
    }
}

/// The file name without its directories: what the output's `files` column lists.
fn file_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lightcurve::Source;

    fn part(file: &str, time: Vec<f64>, flux: Vec<f64>) -> CleanPart {
        CleanPart {
            source: Source {
                file: format!("dir/{file}"),
                mission: Some("Kepler".into()),
                flux_column: "PDCSAP_FLUX".into(),
                ..Source::default()
            },
            rows: time.len(),
            time,
            flux,
            flux_err: None,
            flagged: 0,
            non_finite: 0,
            clipped: 0,
        }
    }

    #[test]
    fn each_part_is_divided_by_its_median_and_parts_go_in_time_order() {
        let late = part("q5.fits", vec![10.0, 11.0, 12.0], vec![200.0, 220.0, 180.0]);
        let early = part("q3.fits", vec![1.0, 2.0, 3.0], vec![50.0, 100.0, 100.0]);
        let c = stitch("KIC 1", vec![late, early]).unwrap();
        assert_eq!(c.files, vec!["q3.fits", "q5.fits"]);
        assert_eq!(c.flux, vec![0.5, 1.0, 1.0, 1.0, 1.1, 0.9]);
        assert_eq!(c.time, vec![1.0, 2.0, 3.0, 10.0, 11.0, 12.0]);
        assert_eq!((c.parts[0].median, c.parts[1].median), (100.0, 200.0));
    }

    #[test]
    fn overlapping_parts_merge_in_time_order() {
        let a = part("a.csv", vec![1.0, 3.0, 5.0], vec![1.0; 3]);
        let b = part("b.csv", vec![2.0, 3.0, 4.0], vec![2.0; 3]);
        let c = stitch("x", vec![a, b]).unwrap();
        assert_eq!(c.time, vec![1.0, 2.0, 3.0, 4.0, 5.0]);
    }

    #[test]
    fn values_a_float_cannot_hold_once_divided_are_an_error() {
        let e =
            stitch("x", vec![part("h.csv", vec![1.0, 2.0, 3.0], vec![1e-300, 1e-300, 1e308])]).unwrap_err();
        assert!(e.to_string().starts_with("dir/h.csv: column PDCSAP_FLUX holds values too large"), "{e}");
    }

    #[test]
    fn a_non_positive_median_is_not_a_flux() {
        let e = stitch("x", vec![part("m.csv", vec![1.0, 2.0, 3.0], vec![-0.1, 0.0, 0.1])])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("dir/m.csv: the median flux of column PDCSAP_FLUX is 0"), "{e}");
    }
}
