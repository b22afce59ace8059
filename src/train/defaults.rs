//! A run's training defaults, resolved from the model's (`model::presets`) for a user's
//! data; the built-in data's come from the K2 recipe (`train::k2_recipe::defaults`).

use crate::data::{Preprocess, SampleMode};
use crate::model::presets::{self, TrainDefaults};

pub struct Defaults {
    pub preprocess: Preprocess,
    pub sampling: SampleMode,
    pub roll: bool,
    pub batch: usize,
    pub lr: f32,
    pub epochs: usize,
    /// Networks trained side by side and averaged (see model::ensemble).
    pub members: usize,
}

/// A model's defaults on a user's data: shuffled batches without rolls (the seed
/// notebook's balanced, rolled batches suit its K2 light curves, not any data: asked for
/// with `--sampling balanced --roll`), one network.
pub fn for_model(name: &str) -> Defaults {
    let TrainDefaults { preprocess, batch, lr, epochs, .. } = presets::training_defaults(name);
    Defaults { preprocess, sampling: SampleMode::Shuffled, roll: false, batch, lr, epochs, members: 1 }
}
