//! A labelled data set of light-curve files (`train --train DIR --labels T`, MAST FITS or
//! text tables) as training rows: each target read, cleaned and stitched as `predict`
//! reads it and averaged onto the same time grid ([`grid_row`]), so that a model trained
//! on files sees them as it will score them.

use std::path::Path;

use anyhow::{Context, Result};
use rayon::prelude::*;

use crate::data::curve_input::grid_row;
use crate::data::{Dataset, Label};
use crate::lightcurve::{list_targets, read_target, ReadOptions};
use crate::train::predict_curves::label_of;

/// Bins of a light curve as a training row: the built-in data's 3,197 cadences, so that
/// a model trained on files has the main job's shape and its time scales (see
/// data::time_grid).
pub const GRID_BINS: usize = 3197;

/// Every target of `data` as one row of [`GRID_BINS`] samples, labelled by the table at
/// `labels`, which must label each of them. Targets are read in parallel; each light
/// curve is dropped once its row is made.
pub fn read_curve_set(data: &Path, labels: &Path, opts: &ReadOptions) -> Result<Dataset> {
    let name = data.to_string_lossy();
    let targets = list_targets(&name, Some(labels))?;
    let labels: Vec<Label> =
        targets.iter().map(|t| label_of(t, labels, &name).map(Label::from)).collect::<Result<_>>()?;
    let rows: Vec<Vec<f32>> = targets
        .par_iter()
        .map(|t| read_target(t, opts).map(|c| grid_row(&c.time, &c.flux, GRID_BINS)))
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading the light curves of {name}"))?;
    Ok(Dataset { source: name.into_owned(), labels, values: rows.concat(), len: GRID_BINS })
}
