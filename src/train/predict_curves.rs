//! `predict` on a data set of light-curve files (MAST FITS, text tables; a directory, a
//! glob or one file): one row per target, with the transit search's box in days.
//!
//! Targets are read and prepared a chunk at a time, in parallel on all cores, and scored
//! before the next chunk is read: memory holds one chunk's light curves and prepared
//! rows whatever the number of files (the list of their paths aside). The rows go to a
//! temporary file beside the output, renamed over it only once every target is scored,
//! so a failure leaves no half-written file.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, Result};
use rayon::prelude::*;

use crate::backend::Backend;
use crate::data::curve_input::TransitFound;
use crate::data::label::csv_cell;
use crate::data::Label;
use crate::lightcurve::fits::looks_like_fits;
use crate::lightcurve::gzip::is_gzip;
use crate::lightcurve::text::looks_like_a_light_curve;
use crate::lightcurve::{list_targets, read_target, LightCurve, ReadOptions, TargetFiles};
use crate::metrics::report::argmax;
use crate::train::atomic_file::AtomicFile;
use crate::train::curve_scoring::{Curve, CurveModel, CurveScore};
use crate::train::shard::Shard;

/// Targets read, prepared and scored together: enough to keep every core busy, few
/// enough that a chunk of TESS sectors (about 20,000 points each) stays near 100 MB.
const CHUNK: usize = 256;

/// What a predict run did, for the user.
pub struct PredictSummary {
    pub targets: usize,
    /// Targets the model's detection gate passed (all of them without a gate).
    pub detected: usize,
    /// Targets predicted as the gate's planet class.
    pub planets: usize,
}

/// Bytes of a file read to tell a light curve from a training-layout CSV.
const SNIFFED_BYTES: usize = 1 << 14;

/// Whether `data` names light curves with time stamps (a directory, a glob, a FITS file
/// or a gzip-compressed one, or a text table that reads as one light curve, see
/// [`looks_like_a_light_curve`]) rather than a CSV in the training layout, one light curve
/// per row. A file that cannot be read is left to the CSV reader, whose error names it.
pub fn is_light_curve_data(data: &Path) -> bool {
    if data.is_dir() {
        return true;
    }
    if !data.exists() {
        return data.to_string_lossy().contains(['*', '?', '[']);
    }
    let mut head = vec![0u8; SNIFFED_BYTES];
    let Ok(read) = File::open(data).and_then(|mut f| f.read(&mut head)) else {
        return false;
    };
    let head = &head[..read];
    if looks_like_fits(head) || is_gzip(head) {
        return true;
    }
    let text = String::from_utf8_lossy(head);
    // Whole lines only, where the file goes on: a cut time stamp would read as out of
    // order. A training-layout row longer than the head stays, to be told by its columns.
    let whole = match text.rfind('\n') {
        Some(end) if read == SNIFFED_BYTES => &text[..end],
        _ => &text,
    };
    looks_like_a_light_curve(whole)
}

/// Scores the targets of `data` (those of `shard` only, if given) with the model at `model`
/// and writes `out`; a shard's part starts with its marker line.
pub fn predict_curves(
    be: &mut dyn Backend,
    model: &Path,
    data: &str,
    labels: Option<&Path>,
    opts: &ReadOptions,
    shard: Option<Shard>,
    out: &Path,
) -> Result<PredictSummary> {
    let all = list_targets(data, labels)?;
    let targets = &all[shard.unwrap_or(Shard::WHOLE).rows(all.len())];
    let scorer = CurveModel::open(be, model)?;
    let mut file = AtomicFile::create(out)?;
    if let Some(shard) = shard {
        writeln!(file.writer, "{}", shard.marker(all.len()))?;
    }
    let with_labels = labels.is_some();
    writeln!(file.writer, "{}", header(&scorer.card.classes, with_labels))?;
    let planet = scorer.card.preprocess.detection().map(|g| Label::Int(g.planet_label));
    let mut summary = PredictSummary { targets: targets.len(), detected: 0, planets: 0 };
    score_targets(be, &scorer, targets, opts, |target, curve, score| {
        let predicted = &scorer.card.classes[argmax(&score.probs)];
        summary.detected += usize::from(score.detected);
        summary.planets += usize::from(Some(predicted) == planet.as_ref());
        writeln!(file.writer, "{}", row(target, curve, score, predicted, with_labels))?;
        Ok(())
    })?;
    file.commit()?;
    Ok(summary)
}

/// A labelled data set scored: what `eval` reports on.
pub struct LabelledScores {
    pub classes: Vec<Label>,
    /// Class index of each target's label.
    pub truth: Vec<usize>,
    /// (targets, classes) probabilities.
    pub probs: Vec<f32>,
}

/// Scores every target of `data`, each of which the labels table `labels` must label
/// with one of the model's classes.
pub fn score_labelled(
    be: &mut dyn Backend,
    model: &Path,
    data: &str,
    labels: &Path,
    opts: &ReadOptions,
) -> Result<LabelledScores> {
    let targets = list_targets(data, Some(labels))?;
    let scorer = CurveModel::open(be, model)?;
    let classes = scorer.card.classes.clone();
    let mut truth = Vec::with_capacity(targets.len());
    for t in &targets {
        let label = label_of(t, labels, data)?;
        let class = classes.binary_search(&Label::from(label)).map_err(|_| {
            let known: Vec<String> = classes.iter().map(ToString::to_string).collect();
            anyhow::anyhow!(
                "{}: target {:?} has label {label:?}, which the model does not know (its classes: {})",
                labels.display(),
                t.target,
                known.join(", ")
            )
        })?;
        truth.push(class);
    }
    let mut probs = Vec::with_capacity(targets.len() * classes.len());
    score_targets(be, &scorer, &targets, opts, |_, _, score| {
        probs.extend_from_slice(&score.probs);
        Ok(())
    })?;
    Ok(LabelledScores { classes, truth, probs })
}

/// The label that the table at `labels` gives `target` of the data set `data`; an error
/// naming both where the table has no row for it.
pub(crate) fn label_of<'a>(target: &'a TargetFiles, labels: &Path, data: &str) -> Result<&'a str> {
    target.label.as_deref().with_context(|| {
        format!("{}: no row for target {:?}: label every target of {data}", labels.display(), target.target)
    })
}

/// Reads, prepares and scores `targets` a chunk at a time, and hands each to `each` in order.
fn score_targets(
    be: &mut dyn Backend,
    scorer: &CurveModel,
    targets: &[TargetFiles],
    opts: &ReadOptions,
    mut each: impl FnMut(&TargetFiles, &LightCurve, &CurveScore) -> Result<()>,
) -> Result<()> {
    for chunk in targets.chunks(CHUNK) {
        let curves: Vec<LightCurve> =
            chunk.par_iter().map(|t| read_target(t, opts)).collect::<Result<_, _>>()?;
        let views: Vec<Curve> = curves.iter().map(|c| Curve { time: &c.time, flux: &c.flux }).collect();
        let scores = scorer.score(be, &views)?;
        for ((target, curve), score) in chunk.iter().zip(&curves).zip(&scores) {
            each(target, curve, score)?;
        }
    }
    Ok(())
}

fn header(classes: &[Label], with_labels: bool) -> String {
    let mut cells = vec!["target".to_string(), "files".to_string()];
    if with_labels {
        cells.push("label".into());
    }
    cells.extend(classes.iter().map(|c| csv_cell(&format!("p_{c}"))));
    cells.extend(
        ["predicted", "period_days", "epoch", "depth_ppm", "duration_hours", "snr"].map(String::from),
    );
    cells.join(",")
}

fn row(
    target: &TargetFiles,
    curve: &LightCurve,
    score: &CurveScore,
    predicted: &Label,
    with_labels: bool,
) -> String {
    let files: Vec<String> = target
        .files
        .iter()
        .map(|f| f.file_name().map_or_else(|| f.display().to_string(), |n| n.to_string_lossy().into_owned()))
        .collect();
    let mut cells = vec![csv_cell(&curve.target), csv_cell(&files.join(";"))];
    if with_labels {
        cells.push(csv_cell(target.label.as_deref().unwrap_or("")));
    }
    cells.extend(score.probs.iter().map(|p| format!("{p:.6}")));
    cells.push(predicted.csv_cell());
    cells.extend(search_cells(score.found));
    cells.join(",")
}

/// period_days, epoch, depth_ppm, duration_hours, snr; empty where the search found nothing.
fn search_cells(found: Option<TransitFound>) -> [String; 5] {
    match found {
        Some(f) => [
            format!("{:.6}", f.period_days),
            format!("{:.6}", f.epoch),
            format!("{:.1}", f.depth_ppm),
            format!("{:.3}", f.duration_hours),
            format!("{:.2}", f.snr),
        ],
        None => Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn light_curve_tables_are_told_from_training_layout_csvs() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let samples: Vec<String> = (0..100).map(|i| format!("{}", i as f32 * 0.5)).collect();
        let exo = write("exoTrain.csv", &format!("LABEL,{}\n2,{}\n", samples.join(","), samples.join(",")));
        assert!(!is_light_curve_data(&exo));
        assert!(is_light_curve_data(&write("a.csv", "# time,flux,flux_err\n1.0,1.0,0.1\n")));
        assert!(is_light_curve_data(&write("b.dat", "2456894.49 0.9993 0.0001 K2\n")));
        assert!(is_light_curve_data(&write("c.fits", "SIMPLE  =                    T")));
        assert!(is_light_curve_data(dir.path()));
        assert!(is_light_curve_data(&dir.path().join("*.csv")));
        assert!(!is_light_curve_data(&dir.path().join("missing.csv")));
        // UCR's layout with 3 samples a row: 4 columns, as a light curve with errors and flags.
        assert!(!is_light_curve_data(&write("ucr.csv", "1,0.5,0.7,0.1\n2,0.4,0.2,0.3\n1,0.1,0.2,0.3\n")));
        assert!(!is_light_curve_data(&write(
            "ucr_header.csv",
            "label,t1,t2,t3\n1,0.5,0.7,0.1\n1,0.4,0.2,0.3\n"
        )));
        assert!(is_light_curve_data(&write("lc.csv", "1.0,1.0,0.1,0\n1.1,1.0,0.1,0\n1.2,1.0,0.1,0\n")));
        let gz = dir.path().join("lc_llc.fits.gz");
        std::fs::write(&gz, [0x1f, 0x8b, 8, 0]).unwrap();
        assert!(is_light_curve_data(&gz));
        // Past the sniffed head, a time stamp cut in two does not read as out of order.
        let long: String =
            (0..2000).map(|i| format!("{},1.0\n", 2_456_894.0 + f64::from(i) * 0.0204)).collect();
        assert!(long.len() > SNIFFED_BYTES);
        assert!(is_light_curve_data(&write("long.csv", &long)));
    }
}
