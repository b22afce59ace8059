//! Scoring light curves with time stamps (real photometry, any length and cadence) with a
//! trained model: each curve is prepared on all cores ([`prepare_curve`]), then scored a
//! device batch at a time; the detection gate of the model, if any, holds as in `eval`.

use std::path::Path;

use anyhow::{Context, Result};
use rayon::prelude::*;

use crate::backend::{Backend, Storage, TensorId};
use crate::data::curve_input::{prepare_curve, TransitFound};
use crate::data::Layout;
use crate::model::checkpoint::{self, ModelCard};
use crate::model::{memory_fit, Ensemble};
use crate::train::evaluate::{self, Prepared};
use crate::transit::Detections;

/// Series scored per device batch.
const BATCH: usize = 64;

/// A light curve's time stamps (days, ascending) and relative flux, both finite.
#[derive(Clone, Copy)]
pub struct Curve<'a> {
    pub time: &'a [f64],
    pub flux: &'a [f64],
}

/// What a model says of one light curve.
#[derive(Clone, Debug, PartialEq)]
pub struct CurveScore {
    /// One probability per class of the model.
    pub probs: Vec<f32>,
    /// The transit search's best box (None without the search, or where it found none).
    pub found: Option<TransitFound>,
    /// Whether the model's detection gate passed the curve (true without a gate).
    pub detected: bool,
}

/// A checkpoint loaded on a backend, ready to score curves.
pub struct CurveModel {
    pub card: ModelCard,
    nets: Ensemble,
    x: TensorId,
    layout: Layout,
}

impl CurveModel {
    pub fn open(be: &mut dyn Backend, path: &Path) -> Result<CurveModel> {
        let ck = checkpoint::load(path)?;
        let layers = ck.card.plan()?;
        let batch = BATCH.min(memory_fit::max_batch(&*be, &layers).unwrap_or(BATCH)).max(1);
        let nets = Ensemble::load(be, &ck, &layers, batch)?;
        let x =
            be.try_alloc_as(batch * nets.head().input.numel(), Storage::Data).context("the input batch")?;
        let layout = if ck.card.spec.time_major_input() { Layout::TimeMajor } else { Layout::ChannelsFirst };
        Ok(CurveModel { card: ck.card, nets, x, layout })
    }

    /// Prepares `curves` in parallel and scores them, in order.
    pub fn score(&self, be: &mut dyn Backend, curves: &[Curve]) -> Result<Vec<CurveScore>> {
        let (pre, len) = (&self.card.preprocess, self.card.length);
        let row = pre.channels() * len;
        let mut values = vec![0.0f32; curves.len() * row];
        let boxes: Vec<_> = values
            .par_chunks_mut(row.max(1))
            .zip(curves)
            .map(|(dst, c)| prepare_curve(pre, len, c.time, c.flux, dst))
            .collect();
        let gate = pre.detection();
        let passed: Vec<bool> =
            boxes.iter().map(|(score, _)| gate.is_none_or(|g| g.passes(*score))).collect();
        let planet = gate.and_then(|g| evaluate::planet_class(&g, &self.card.classes));
        let prepared = Prepared {
            values,
            rows: curves.len(),
            channels: pre.channels(),
            len,
            classes: None,
            detections: planet.map(|planet| Detections { planet, passed: passed.clone() }),
        };
        let probs = evaluate::predict(be, &self.nets, self.x, &prepared, self.layout)?;
        let k = probs.len() / curves.len().max(1);
        Ok(probs
            .chunks(k.max(1))
            .zip(boxes)
            .zip(passed)
            .map(|((p, (_, found)), detected)| CurveScore { probs: p.to_vec(), found, detected })
            .collect())
    }
}
