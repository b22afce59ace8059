//! What a run leaves behind: metrics.json, history.csv and the PNG plots.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::data::Label;
use crate::metrics::plots::{self, CurveExample, EpochPoint};
use crate::metrics::report::argmax;
use crate::metrics::Report;
use crate::synth::{self, SnrBin, TruthRow};
use crate::train::evaluate::Prepared;
use crate::train::k2_recipe::injection::InjectionRecovery;
use crate::train::trainer::{EpochRecord, Progress};

/// metrics.json. Field names are an interface (README.md): scripts read them.
#[derive(Serialize)]
pub struct RunReport {
    /// The selected model's report: accuracy, classes, per_class, confusion, roc_auc, ...
    #[serde(flatten)]
    pub report: Report,
    /// "test", or "validation"/"train" when no test set was given.
    pub evaluated_on: String,
    pub epochs: Vec<EpochRecord>,
    /// The epoch whose weights were kept: lowest validation loss (of validation data the
    /// user gave), or training loss.
    pub selected_epoch: Option<usize>,
    /// The same report for the weights of the last epoch.
    pub last_epoch: LastEpoch,
    pub device: String,
    /// Mean training throughput over the epochs.
    pub samples_per_second: f64,
    /// Total time the device waited for the host scheduler's batches.
    pub input_wait_seconds: f64,
    /// Recall of the test set's planet hosts by transit signal-to-noise, when the truth
    /// is known (the built-in synthetic set; 5 planets, so coarse).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_recall_by_snr: Option<Vec<SnrBin>>,
    /// Recall by S/N and false-positive rate on the main job's injection set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub injection_recovery: Option<InjectionRecovery>,
}

#[derive(Serialize)]
pub struct LastEpoch {
    pub epoch: usize,
    #[serde(flatten)]
    pub report: Report,
}

pub struct RunInputs<'a> {
    pub classes: &'a [Label],
    pub truth: &'a [usize],
    pub probs: &'a [f32],
    pub last_probs: &'a [f32],
    pub progress: &'a Progress,
    pub device: String,
    pub evaluated_on: &'a str,
    pub snr_truth: Option<&'a [TruthRow]>,
    pub injection: Option<InjectionRecovery>,
}

impl RunReport {
    pub fn new(i: RunInputs) -> Result<RunReport> {
        let report = Report::new(i.classes, i.truth, i.probs)?;
        let k = i.classes.len();
        let test_recall_by_snr = i.snr_truth.map(|truth| {
            let positive: Vec<bool> = i.probs.chunks(k).map(|p| argmax(p) == k - 1).collect();
            synth::recall_by_snr(truth, &positive)
        });
        let epochs = &i.progress.history;
        Ok(RunReport {
            report,
            evaluated_on: i.evaluated_on.to_string(),
            epochs: epochs.clone(),
            selected_epoch: i.progress.best_epoch,
            last_epoch: LastEpoch {
                epoch: epochs.len(),
                report: Report::new(i.classes, i.truth, i.last_probs)?,
            },
            device: i.device,
            samples_per_second: epochs.iter().map(|e| e.samples_per_second).sum::<f64>()
                / epochs.len().max(1) as f64,
            input_wait_seconds: epochs.iter().map(|e| e.input_wait_seconds).sum(),
            test_recall_by_snr,
            injection_recovery: i.injection,
        })
    }

    /// The printed end-of-run summary.
    pub fn render(&self) -> String {
        let mut s = crate::metrics::render_table(&self.report);
        let last = &self.last_epoch;
        let _ = writeln!(
            s,
            "\nEvaluated on the {} set with the weights of epoch {} (selected without the test set); \
             the last epoch ({}) scored accuracy {:.4}.",
            self.evaluated_on,
            self.selected_epoch.unwrap_or(0),
            last.epoch,
            last.report.accuracy
        );
        if let Some(bins) = &self.test_recall_by_snr {
            let _ = writeln!(s, "\nTest-set planet hosts by transit S/N:");
            for b in bins.iter().filter(|b| b.planets > 0) {
                let _ = writeln!(
                    s,
                    "  S/N {:>5.1} - {:<5.1} {:>3} planets  recall {:.2}",
                    b.lo,
                    b.hi,
                    b.planets,
                    b.recall.unwrap_or(0.0)
                );
            }
        }
        if let Some(injection) = &self.injection_recovery {
            let _ = write!(s, "\n{}", injection.render());
        }
        let _ = writeln!(s, "\nDevice: {}; {:.0} training samples/s.", self.device, self.samples_per_second);
        s
    }
}

/// metrics.json: a [`RunReport`], or a report that flattens one and adds fields.
pub fn write_metrics(dir: &Path, metrics: &impl Serialize) -> Result<()> {
    let json = serde_json::to_string_pretty(metrics)?;
    crate::model::checkpoint::write_atomically(&dir.join("metrics.json"), json.as_bytes())
}

/// history.csv and the plots of a run whose metrics.json [`write_metrics`] writes.
pub fn write_history_and_plots(
    dir: &Path,
    run: &RunReport,
    progress: &Progress,
    data: &Prepared,
    probs: &[f32],
    channel_names: &str,
) -> Result<()> {
    let mut csv = String::from(
        "epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds,input_wait_seconds,samples_per_second\n",
    );
    for e in &progress.history {
        let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{:.3},{:.3},{:.1}",
            e.epoch,
            e.train_loss,
            opt(e.train_accuracy),
            opt(e.val_loss),
            opt(e.val_accuracy),
            e.seconds,
            e.input_wait_seconds,
            e.samples_per_second
        );
    }
    crate::model::checkpoint::write_atomically(&dir.join("history.csv"), csv.as_bytes())
        .with_context(|| format!("cannot write {}", dir.display()))?;
    write_plots(dir, run, progress, channel_names, &curve_examples(run, data, probs))
}

fn write_plots(
    dir: &Path,
    run: &RunReport,
    progress: &Progress,
    channel_names: &str,
    examples: &[CurveExample],
) -> Result<()> {
    let points: Vec<EpochPoint> = progress
        .history
        .iter()
        .map(|e| EpochPoint {
            epoch: e.epoch,
            train_loss: e.train_loss,
            val_loss: e.val_loss,
            train_accuracy: e.train_accuracy,
            val_accuracy: e.val_accuracy,
        })
        .collect();
    plots::plot_history(&dir.join("history.png"), &points, progress.best_epoch)?;
    plots::plot_confusion(&dir.join("confusion.png"), &run.report)?;
    if run.report.binary.is_some() {
        plots::plot_roc(&dir.join("roc.png"), &run.report)?;
        plots::plot_pr(&dir.join("pr.png"), &run.report)?;
    }
    plots::plot_light_curves(&dir.join("light_curves.png"), channel_names, examples)?;
    Ok(())
}

/// Up to three series per class as the model saw them (its first two channels, in the
/// same units), titled with the selected model's probability of the true class.
fn curve_examples(run: &RunReport, data: &Prepared, probs: &[f32]) -> Vec<CurveExample> {
    let classes = &run.report.classes;
    let k = classes.len();
    let truth = data.classes.as_deref().unwrap_or_default();
    let mut out = Vec::new();
    for (c, label) in classes.iter().enumerate() {
        for row in truth.iter().enumerate().filter(|&(_, &t)| t == c).map(|(r, _)| r).take(3) {
            let prepared = &data.values[row * data.channels * data.len..(row + 1) * data.channels * data.len];
            out.push(CurveExample {
                title: format!("row {row}: label {label}, p({label}) = {:.3}", probs[row * k + c]),
                flux: prepared[..data.len].to_vec(),
                smooth: (data.channels > 1).then(|| prepared[data.len..2 * data.len].to_vec()),
            });
        }
    }
    out
}
