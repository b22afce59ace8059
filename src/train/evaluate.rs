//! Inference over a whole prepared data set, one network batch at a time.

use anyhow::Result;

use crate::backend::{Backend, TensorId};
use crate::data::sampler::{gather_batch, Layout};
use crate::data::{Dataset, Label, Preprocess};
use crate::metrics::report::argmax;
use crate::model::ensemble::Ensemble;
use crate::model::Output;
use crate::transit::{Detection, Detections};

/// Preprocessed series, (rows, channels, len) row-major, with their class indices.
pub struct Prepared {
    pub values: Vec<f32>,
    pub rows: usize,
    pub channels: usize,
    pub len: usize,
    /// Class index per row (None for unlabelled data).
    pub classes: Option<Vec<usize>>,
    /// Detect, then vet ([`Detection`]): which rows the gate passed.
    pub detections: Option<Detections>,
}

impl Prepared {
    /// `ds` prepared as `pre` says, for a model of these class labels, with the rows its
    /// detection gate stops, if it has one; with `labelled`, each row's class index (labels
    /// the model lacks read as class 0: check them first).
    pub fn new(pre: &Preprocess, ds: Dataset, classes: &[Label], labelled: bool) -> Prepared {
        let (rows, len) = (ds.rows(), ds.len);
        let indices =
            labelled.then(|| ds.labels.iter().map(|l| classes.binary_search(l).unwrap_or(0)).collect());
        let prepared = pre.apply_owned(ds);
        let detections = pre.detection().and_then(|g| {
            let planet = planet_class(&g, classes)?;
            Some(Detections { planet, passed: prepared.boxes.iter().map(|&b| g.passes(b)).collect() })
        });
        Prepared {
            values: prepared.values,
            rows,
            channels: pre.channels(),
            len,
            classes: indices,
            detections,
        }
    }
}

/// The index of `gate`'s planet class among a model's `classes`; None where it has none.
pub fn planet_class(gate: &Detection, classes: &[Label]) -> Option<usize> {
    classes.binary_search(&Label::Int(gate.planet_label)).ok()
}

/// Class probabilities, (rows, classes) row-major: the networks' ([`network_probs`]),
/// with the rows the detection gate stops, if any, ruled out of `planet`.
pub fn predict(
    be: &mut dyn Backend,
    nets: &Ensemble,
    x: TensorId,
    data: &Prepared,
    layout: Layout,
) -> Result<Vec<f32>> {
    let all: Vec<usize> = (0..data.rows).collect();
    let mut probs = network_probs(be, nets, x, data, &all, layout)?;
    let classes = class_count(nets);
    if let Some(d) = &data.detections {
        d.rule_out_stopped(&mut probs, classes);
    }
    Ok(probs)
}

/// Class probabilities of `rows` of `data`, (rows.len(), classes) row-major, the mean of
/// the ensemble's members'; a sigmoid model's p becomes [1 - p, p]. A short last batch is
/// padded with copies of its last row, whose outputs are dropped.
pub fn network_probs(
    be: &mut dyn Backend,
    nets: &Ensemble,
    x: TensorId,
    data: &Prepared,
    rows: &[usize],
    layout: Layout,
) -> Result<Vec<f32>> {
    let (head, classes) = (nets.head(), class_count(nets));
    let share = 1.0 / nets.members.len() as f32;
    let mut probs = vec![0.0f32; rows.len() * classes];
    let mut host = vec![0.0f32; head.batch * data.channels * data.len];
    for (batch_rows, out_rows) in rows.chunks(head.batch).zip(probs.chunks_mut(head.batch * classes)) {
        let picks: Vec<(usize, usize)> =
            (0..head.batch).map(|i| (batch_rows[i.min(batch_rows.len() - 1)], 0)).collect();
        gather_batch(&data.values, (data.channels, 0), data.len, &picks, layout, &mut host);
        be.upload(x, &host);
        for net in &nets.members {
            net.forward(be, x, false, 0, 0);
            net.predict_probs(be);
            let out = be.try_download(net.probs)?;
            match net.output {
                Output::Sigmoid => out_rows.chunks_mut(2).zip(&out).for_each(|(row, &p)| {
                    row[0] += share * (1.0 - p);
                    row[1] += share * p;
                }),
                Output::Softmax { .. } => out_rows.iter_mut().zip(&out).for_each(|(r, &p)| *r += share * p),
            }
        }
    }
    Ok(probs)
}

/// Columns of the probabilities: a sigmoid model's two, or the softmax's.
fn class_count(nets: &Ensemble) -> usize {
    match nets.head().output {
        Output::Sigmoid => 2,
        Output::Softmax { classes } => classes,
    }
}

/// Mean cross-entropy of predicted probabilities against true classes (probabilities
/// floored at 1e-7, as Keras clips, so one confident mistake cannot make it infinite).
pub fn mean_log_loss(probs: &[f32], truth: &[usize], weights: Option<&[f32]>) -> f64 {
    let k = probs.len() / truth.len().max(1);
    let mut sum = 0.0;
    for (n, &c) in truth.iter().enumerate() {
        let w = weights.map_or(1.0, |w| w[c] as f64);
        sum += -w * (probs[n * k + c].max(1e-7) as f64).ln();
    }
    sum / truth.len().max(1) as f64
}

pub fn accuracy(probs: &[f32], truth: &[usize]) -> f64 {
    let k = probs.len() / truth.len().max(1);
    let hits = truth.iter().enumerate().filter(|&(n, &c)| argmax(&probs[n * k..(n + 1) * k]) == c).count();
    hits as f64 / truth.len().max(1) as f64
}
