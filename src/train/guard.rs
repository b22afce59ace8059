//! The numerical guard: a non-finite loss or parameter stops the epoch loop with a
//! [`NonFinite`] error that names the step and the layer, and `--on-nan` says whether the
//! run ends there or goes back to the last checkpoint with a smaller learning rate.

use std::fmt;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::model::checkpoint::Tensors;
use crate::model::Ensemble;

/// What `starskope train` does when the loss or a parameter becomes NaN or infinite.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum OnNan {
    /// Stop with a message naming the step and the layer; the last checkpoint stays.
    #[default]
    Stop,
    /// Reload the last checkpoint and continue with the learning rate halved.
    ReduceLr,
}

/// How many times `--on-nan reduce-lr` halves the learning rate before giving up: past
/// 1/16 of the asked rate the cause is more likely the data or the model than the step size.
pub const MAX_LR_HALVINGS: u32 = 4;

/// Training produced NaN or inf. `step` is where it was detected: the loss is read back
/// only every few steps, so it may have appeared a few steps earlier.
#[derive(Debug)]
pub struct NonFinite {
    pub epoch: usize,
    /// The step within the epoch, when the loss check found it (None: at the epoch's end).
    pub step: Option<usize>,
    pub global_step: u64,
    /// What became non-finite: "the training loss became NaN", "the weights or the optimizer state ...".
    pub what: String,
    /// The first tensor holding NaN or inf (`Network::first_non_finite`).
    pub layer: Option<String>,
}

impl fmt::Display for NonFinite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at epoch {}", self.what, self.epoch)?;
        if let Some(step) = self.step {
            write!(f, ", step {step}")?;
        }
        write!(f, " (global step {})", self.global_step)?;
        if let Some(layer) = &self.layer {
            write!(f, "; the first non-finite values are in {layer}")?;
        }
        write!(
            f,
            ". Lower the learning rate (--lr), pass --on-nan reduce-lr to continue from the last checkpoint \
             with half the rate, or check the input data for extreme values"
        )
    }
}

impl std::error::Error for NonFinite {}

/// A finite loss does not prove finite weights (the last step's update may have
/// overflowed): an error for `tensors` (an epoch's download, Adam's moments included)
/// holding NaN or inf, before they replace the last good checkpoint.
pub fn check_weights(
    tensors: &Tensors,
    nets: &Ensemble,
    be: &mut dyn Backend,
    epoch: usize,
    steps: u64,
) -> Result<()> {
    if tensors.iter().any(|(_, _, v)| v.iter().any(|x| !x.is_finite())) {
        return Err(NonFinite {
            epoch,
            step: None,
            global_step: steps,
            what: "the weights or the optimizer state became non-finite".to_string(),
            layer: nets.first_non_finite(be)?,
        }
        .into());
    }
    Ok(())
}
