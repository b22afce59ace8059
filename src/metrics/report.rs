//! The evaluation report: everything `metrics.json` and the printed table say about a
//! classifier on one data set.

use anyhow::{ensure, Result};
use serde::Serialize;

use crate::data::label::{label_list, Label};

use super::confusion::Confusion;
use super::ranking::{thin, PrPoint, Ranking, RocPoint};
use super::thresholds::{operating_points, OperatingPoint};

/// Curves keep at most this many points in the report; areas use every point.
pub const CURVE_POINTS: usize = 200;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassStats {
    pub label: Label,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Samples of this class in the truth.
    pub support: u64,
}

/// What only a two-class problem has. The positive class is the second (larger) label,
/// e.g. 2 = planet host in the Kepler/K2 files, and its score is its probability.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BinaryReport {
    pub positive_label: Label,
    /// Fraction of samples that are positive: the precision of a classifier that guesses,
    /// and so the baseline of the PR curve.
    pub positive_rate: f64,
    /// sqrt(precision * recall) of the positive class at the argmax prediction.
    pub fowlkes_mallows: f64,
    /// TP / (TP + FP + FN) of the positive class at the argmax prediction.
    pub jaccard: f64,
    /// Thresholds descending, from (0, 0); at most `CURVE_POINTS` points.
    pub roc_curve: Vec<RocPoint>,
    /// Thresholds descending, from (recall 0, precision 1); at most `CURVE_POINTS` points.
    pub pr_curve: Vec<PrPoint>,
    /// Default 0.5, sensitivity = specificity, best F1; in that order.
    pub thresholds: Vec<OperatingPoint>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub samples: usize,
    /// Predictions are the most probable class (the first, on a tie).
    pub accuracy: f64,
    /// Mean per-class recall over the classes present in the truth.
    pub balanced_accuracy: f64,
    /// Label values, ascending; class index k is `classes[k]`.
    pub classes: Vec<Label>,
    pub per_class: Vec<ClassStats>,
    /// Rows true class, columns predicted class, counts.
    pub confusion: Vec<Vec<u64>>,
    /// `confusion` with each row divided by its support (a row of zeros if none).
    pub confusion_normalized: Vec<Vec<f64>>,
    /// Binary only; also None when the truth holds a single class (undefined).
    pub roc_auc: Option<f64>,
    /// Average precision (step-wise, as scikit-learn's `average_precision_score`).
    /// Binary only.
    pub pr_auc: Option<f64>,
    pub binary: Option<BinaryReport>,
}

impl Report {
    /// `classes`: the label values, ascending; `truth`: the class index of each sample;
    /// `probs`: samples x classes, row-major, each row a probability distribution (a
    /// single-sigmoid model passes [1 - p, p]).
    pub fn new(classes: &[Label], truth: &[usize], probs: &[f32]) -> Result<Report> {
        check_inputs(classes, truth, probs)?;
        let k = classes.len();
        let predicted: Vec<usize> = probs.chunks(k).map(argmax).collect();
        let confusion = Confusion::new(k, truth, &predicted);
        let per_class = classes
            .iter()
            .enumerate()
            .map(|(c, label)| {
                let counts = confusion.one_vs_rest(c);
                ClassStats {
                    label: label.clone(),
                    precision: counts.precision(),
                    recall: counts.recall(),
                    f1: counts.f1(),
                    support: confusion.support(c),
                }
            })
            .collect();
        let binary = (k == 2).then(|| {
            let scores: Vec<f64> = probs.chunks(2).map(|row| shortest_decimal(row[1])).collect();
            let positive: Vec<bool> = truth.iter().map(|&t| t == 1).collect();
            (Ranking::new(&scores, &positive), confusion.one_vs_rest(1))
        });
        Ok(Report {
            samples: truth.len(),
            accuracy: confusion.accuracy(),
            balanced_accuracy: confusion.balanced_accuracy(),
            classes: classes.to_vec(),
            per_class,
            confusion: confusion.rows(),
            confusion_normalized: confusion.row_normalized(),
            roc_auc: binary.as_ref().and_then(|(ranking, _)| ranking.roc_auc()),
            pr_auc: binary.as_ref().map(|(ranking, _)| ranking.average_precision()),
            binary: binary.map(|(ranking, counts)| BinaryReport {
                positive_label: classes[1].clone(),
                positive_rate: ranking.positives() as f64 / truth.len() as f64,
                fowlkes_mallows: counts.fowlkes_mallows(),
                jaccard: counts.jaccard(),
                roc_curve: thin(&ranking.roc_curve(), CURVE_POINTS),
                pr_curve: thin(&ranking.pr_curve(), CURVE_POINTS),
                thresholds: operating_points(&ranking),
            }),
        })
    }
}

/// The f64 nearest the shortest decimal that reads back as `p`: thresholds print as the
/// 0.35 the model produced rather than 0.3499999940395355. Distinct f32 values stay
/// distinct and in order, so rankings and ties are unchanged.
fn shortest_decimal(p: f32) -> f64 {
    p.to_string().parse().unwrap_or(f64::from(p))
}

/// Index of the largest value; the first on a tie, as numpy's argmax.
pub fn argmax(row: &[f32]) -> usize {
    row.iter().enumerate().fold(0, |best, (i, &p)| if p > row[best] { i } else { best })
}

fn check_inputs(classes: &[Label], truth: &[usize], probs: &[f32]) -> Result<()> {
    ensure!(
        classes.len() >= 2,
        "a report needs at least 2 classes, got {} ({})",
        classes.len(),
        label_list(classes)
    );
    ensure!(
        classes.windows(2).all(|w| w[0] < w[1]),
        "class labels must be distinct and ascending, got {}",
        label_list(classes)
    );
    ensure!(!truth.is_empty(), "a report needs at least one sample, got none");
    let k = classes.len();
    ensure!(
        probs.len() == truth.len() * k,
        "probabilities hold {} values, expected {} samples x {k} classes = {}",
        probs.len(),
        truth.len(),
        truth.len() * k
    );
    if let Some((i, &t)) = truth.iter().enumerate().find(|(_, &t)| t >= k) {
        anyhow::bail!("sample {i} has class index {t}, but there are only {k} classes");
    }
    if let Some(i) = probs.iter().position(|p| !p.is_finite()) {
        anyhow::bail!(
            "sample {} has a non-finite probability {} for class {} (did training diverge?)",
            i / k,
            probs[i],
            classes[i % k]
        );
    }
    Ok(())
}
