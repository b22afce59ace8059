//! The survey features' standardization: fitted on the training objects and stored in
//! the model's checkpoint ([`Preprocess::SurveyFeatures`]). Models written before it was
//! stored there kept it in `standardization.json` beside `model.safetensors`; such a
//! model is read with that file.

use std::path::Path;

use anyhow::{Context, Result};

use crate::data::{FeatureScaling, Preprocess};
use crate::model::checkpoint::{self, Checkpoint};

use super::features::FeatureTable;

/// The file beside `model.safetensors` that held the statistics of older survey models.
pub const FILE_NAME: &str = "standardization.json";

/// The statistics of the training objects' features.
pub fn fit(train: &FeatureTable) -> FeatureScaling {
    FeatureScaling::fit(&train.names, &train.values)
}

/// `table`'s features standardized as `scaling` says, (rows, features) row-major.
pub fn apply(scaling: &FeatureScaling, table: &FeatureTable) -> Result<Vec<f32>> {
    scaling.apply(&table.names, &table.values)
}

/// A survey model, its scaling taken from the checkpoint or, for a model written before
/// checkpoints held it (plain, unstandardized one-channel input), from the
/// `standardization.json` beside it.
pub fn load_model(path: &Path) -> Result<(Checkpoint, FeatureScaling)> {
    let mut ck = checkpoint::load(path)?;
    let scaling = match &ck.card.preprocess {
        Preprocess::SurveyFeatures { scaling } => scaling.clone(),
        Preprocess::Plain { standardize: false, smooth_window: None } => {
            let sidecar = path.parent().unwrap_or(Path::new(".")).join(FILE_NAME);
            let scaling = read_sidecar(&sidecar)?;
            ck.card.preprocess = Preprocess::SurveyFeatures { scaling: scaling.clone() };
            scaling
        }
        _ => anyhow::bail!(
            "{} is a light-curve model, not a survey model: score it with `starskope eval` or `starskope predict` \
             on light curves",
            path.display()
        ),
    };
    Ok((ck, scaling))
}

/// Whether the model at `path` takes survey features: its checkpoint says so, or it is an
/// older survey model with its `standardization.json` beside it.
pub fn is_survey_model(path: &Path) -> Result<bool> {
    let card = checkpoint::load(path)?.card;
    Ok(match card.preprocess {
        Preprocess::SurveyFeatures { .. } => true,
        Preprocess::Plain { standardize: false, smooth_window: None } => {
            path.parent().unwrap_or(Path::new(".")).join(FILE_NAME).is_file()
        }
        _ => false,
    })
}

fn read_sidecar(path: &Path) -> Result<FeatureScaling> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read {}: a survey model written before checkpoints held their standardization needs the \
             {FILE_NAME} that `starskope survey train` wrote beside it",
            path.display()
        )
    })?;
    serde_json::from_str(&text).with_context(|| {
        format!("{} is damaged: use the file `starskope survey train` wrote", path.display())
    })
}
