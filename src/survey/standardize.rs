//! Per-feature standardization with training-set statistics, saved beside the model so
//! that evaluation scales new objects exactly as training did.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::features::FeatureTable;

/// The file beside `model.safetensors` that holds the statistics.
pub const FILE_NAME: &str = "standardization.json";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Standardizer {
    pub names: Vec<String>,
    pub mean: Vec<f64>,
    /// Population standard deviation; 1 for a feature constant over the training set.
    pub std: Vec<f64>,
}

impl Standardizer {
    pub fn fit(train: &FeatureTable) -> Standardizer {
        let (f, n) = (train.width(), train.rows().max(1) as f64);
        let mut mean = vec![0.0; f];
        let mut var = vec![0.0; f];
        for r in 0..train.rows() {
            mean.iter_mut().zip(train.row(r)).for_each(|(m, v)| *m += v / n);
        }
        for r in 0..train.rows() {
            var.iter_mut().zip(train.row(r)).zip(&mean).for_each(|((s, v), m)| *s += (v - m).powi(2) / n);
        }
        let std = var.iter().map(|v| if v.sqrt() > 0.0 { v.sqrt() } else { 1.0 }).collect();
        Standardizer { names: train.names.clone(), mean, std }
    }

    /// `(x - mean) / std` per feature, as f32 (rows, features) row-major.
    pub fn apply(&self, table: &FeatureTable) -> Result<Vec<f32>> {
        if table.names != self.names {
            bail!(
                "the features ({} columns) are not the ones the model was trained on ({} columns): \
                 compute them with the same version of starskope",
                table.width(),
                self.names.len()
            );
        }
        Ok(table
            .values
            .chunks(self.names.len().max(1))
            .flat_map(|row| row.iter().zip(&self.mean).zip(&self.std).map(|((v, m), s)| ((v - m) / s) as f32))
            .collect())
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        crate::model::checkpoint::write_atomically(path, text.as_bytes())
    }

    pub fn load(path: &Path) -> Result<Standardizer> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!("cannot read {}: a survey model needs the {FILE_NAME} that `starskope survey train` wrote beside it", path.display())
        })?;
        serde_json::from_str(&text).with_context(|| format!("{} is damaged", path.display()))
    }
}
