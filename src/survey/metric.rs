//! The PLAsTiCC competition's metric: a weighted multi-class log loss in which every
//! class counts by its weight, however many objects it has:
//!
//! `loss = -(sum_i w_i * sum_{n in class i} ln p_{n,i} / N_i) / sum_i w_i`
//!
//! scored as the competition did: each row of probabilities is first divided by its sum,
//! then clipped to `[1e-15, 1 - 1e-15]`. Classes with no object in the truth (N_i = 0)
//! drop out of both sums. Weights come from a file or are all 1 (Kaggle's were 2 for
//! classes 64 and 99, 1 for the rest).
//!
//! Class 99, "none of the training classes": [`with_unknown`] appends a column
//! `p_99 = scale * (1 - max_j p_j)` (an object the model is unsure of is likely new), the
//! baseline the competition's public kernels used in various scalings; the metric's row
//! rescaling then makes each row a distribution again.

use std::path::Path;

use crate::data::label::{label_list, Label};

use super::error::SurveyError;

/// Probabilities are kept in `[CLIP, 1 - CLIP]`.
pub const CLIP: f64 = 1e-15;

/// `probs`: (rows, K) row-major; `truth`: each row's class index < K; `weights`: K values.
pub fn weighted_log_loss(probs: &[f32], truth: &[usize], weights: &[f64]) -> f64 {
    let k = weights.len();
    let mut log_sum = vec![0.0f64; k];
    let mut count = vec![0usize; k];
    for (row, &c) in probs.chunks(k).zip(truth) {
        let total: f64 = row.iter().map(|&p| f64::from(p)).sum();
        let p = if total > 0.0 { f64::from(row[c]) / total } else { 0.0 };
        log_sum[c] += p.clamp(CLIP, 1.0 - CLIP).ln();
        count[c] += 1;
    }
    let present = (0..k).filter(|&i| count[i] > 0);
    let weighted: f64 = present.clone().map(|i| weights[i] * log_sum[i] / count[i] as f64).sum();
    let weight_total: f64 = present.map(|i| weights[i]).sum();
    if weight_total > 0.0 {
        -weighted / weight_total
    } else {
        0.0
    }
}

/// The same probabilities with a class-99 column appended: `scale * (1 - max_j p_j)`.
pub fn with_unknown(probs: &[f32], classes: usize, scale: f64) -> Vec<f32> {
    probs
        .chunks(classes)
        .flat_map(|row| {
            let max = row.iter().copied().fold(0.0f32, f32::max);
            row.iter().copied().chain(std::iter::once((scale * f64::from(1.0 - max)) as f32))
        })
        .collect()
}

/// Every row predicts the class frequencies of `train_truth`: the best constant guess,
/// the baseline a classifier must beat. Returns (rows, K) probabilities.
pub fn prior_probs(train_truth: &[usize], classes: usize, rows: usize) -> Vec<f32> {
    let mut freq = vec![0.0f32; classes];
    train_truth.iter().for_each(|&c| freq[c] += 1.0);
    let n = train_truth.len().max(1) as f32;
    freq.iter_mut().for_each(|f| *f /= n);
    freq.repeat(rows)
}

/// Reads `class,weight` lines (a header line is allowed) and returns one weight per
/// entry of `classes` (ascending); classes in the file that are not in `classes` are ignored.
pub fn read_class_weights(path: &Path, classes: &[Label]) -> Result<Vec<f64>, SurveyError> {
    let name = path.display().to_string();
    let bytes = crate::data::csv_reader::read_bytes(path, &name)?;
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(&bytes[..]);
    let mut weights: Vec<Option<f64>> = vec![None; classes.len()];
    for (i, record) in reader.records().enumerate() {
        let bad =
            |problem: String| SurveyError::BadWeights { path: name.clone(), line: i as u64 + 1, problem };
        let record = record.map_err(|e| bad(e.to_string()))?;
        let cells: Vec<&str> = record.iter().map(str::trim).collect();
        if cells.iter().all(|c| c.is_empty()) {
            continue;
        }
        if cells.len() != 2 {
            return Err(bad(format!("the line has {} cells, not 2", cells.len())));
        }
        let weight = cells[1].parse::<f64>().ok().filter(|w| w.is_finite() && *w >= 0.0);
        let (Some(class), Some(weight)) = (Label::parse(cells[0]), weight) else {
            if i == 0 && cells[1].parse::<f64>().is_err() {
                continue; // a header
            }
            return Err(match Label::parse(cells[0]) {
                None => bad(format!("\"{}\" is not a class label", cells[0])),
                Some(_) => bad(format!("\"{}\" is not a non-negative weight", cells[1])),
            });
        };
        if let Ok(k) = classes.binary_search(&class) {
            weights[k] = Some(weight);
        }
    }
    weights
        .iter()
        .zip(classes)
        .map(|(w, class)| {
            w.ok_or_else(|| SurveyError::MissingWeight {
                path: name.clone(),
                class: class.clone(),
                classes: label_list(classes),
            })
        })
        .collect()
}
