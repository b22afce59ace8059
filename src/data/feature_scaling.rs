//! Per-feature standardization with a training set's statistics: the survey features'
//! preprocessing, stored with the model so that new objects are scaled exactly as the
//! training objects were.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureScaling {
    /// The features, in column order.
    pub names: Vec<String>,
    pub mean: Vec<f64>,
    /// Population standard deviation; 1 for a feature constant over the training set.
    pub std: Vec<f64>,
}

impl FeatureScaling {
    /// The statistics of `rows` (each `names.len()` wide, row-major).
    pub fn fit(names: &[String], values: &[f64]) -> FeatureScaling {
        let f = names.len();
        let rows: Vec<&[f64]> = values.chunks(f.max(1)).collect();
        let n = rows.len().max(1) as f64;
        let mut mean = vec![0.0; f];
        let mut var = vec![0.0; f];
        for row in &rows {
            mean.iter_mut().zip(*row).for_each(|(m, v)| *m += v / n);
        }
        for row in &rows {
            var.iter_mut().zip(*row).zip(&mean).for_each(|((s, v), m)| *s += (v - m).powi(2) / n);
        }
        // A constant feature carries nothing; 1 keeps it at zero instead of NaN.
        let std = var.iter().map(|v| if v.sqrt() > 0.0 { v.sqrt() } else { 1.0 }).collect();
        FeatureScaling { names: names.to_vec(), mean, std }
    }

    /// `(x - mean) / std` per feature, as f32 rows, for features named `names`.
    pub fn apply(&self, names: &[String], values: &[f64]) -> Result<Vec<f32>> {
        if names != self.names {
            bail!(
                "the features ({} columns) are not the ones the model was trained on ({} columns): \
                 compute them with the same version of starskope",
                names.len(),
                self.names.len()
            );
        }
        let mut out = vec![0.0; values.len()];
        for (src, dst) in values.chunks(self.names.len().max(1)).zip(out.chunks_mut(self.names.len().max(1)))
        {
            self.apply_row(src.iter().copied(), dst);
        }
        Ok(out)
    }

    /// One row of features, in the model's column order, into `dst`.
    pub fn apply_row(&self, row: impl Iterator<Item = f64>, dst: &mut [f32]) {
        for (((o, v), m), s) in dst.iter_mut().zip(row).zip(&self.mean).zip(&self.std) {
            *o = ((v - m) / s) as f32;
        }
    }
}
