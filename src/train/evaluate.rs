//! Inference over a whole prepared data set, one network batch at a time.

use anyhow::Result;

use crate::backend::{Backend, TensorId};
use crate::data::sampler::{gather_batch, Layout};
use crate::model::{Network, Output};

/// Preprocessed series, (rows, channels, len) row-major, with their class indices.
pub struct Prepared {
    pub values: Vec<f32>,
    pub rows: usize,
    pub channels: usize,
    pub len: usize,
    /// Class index per row (None for unlabelled data).
    pub classes: Option<Vec<usize>>,
}

/// Class probabilities, (rows, classes) row-major; a sigmoid model's p becomes [1 - p, p].
/// The last batch is padded with copies of the last row, whose outputs are dropped.
pub fn predict(
    be: &mut dyn Backend,
    net: &Network,
    x: TensorId,
    data: &Prepared,
    layout: Layout,
) -> Result<Vec<f32>> {
    let classes = match net.output {
        Output::Sigmoid => 2,
        Output::Softmax { classes } => classes,
    };
    let mut probs = Vec::with_capacity(data.rows * classes);
    let mut host = vec![0.0f32; net.batch * data.channels * data.len];
    for start in (0..data.rows).step_by(net.batch) {
        let picks: Vec<(usize, usize)> =
            (start..start + net.batch).map(|r| (r.min(data.rows - 1), 0)).collect();
        gather_batch(&data.values, (data.channels, 0), data.len, &picks, layout, &mut host);
        be.upload(x, &host);
        net.forward(be, x, false, 0, 0);
        net.predict_probs(be);
        let out = be.try_download(net.probs)?;
        let take = (data.rows - start).min(net.batch);
        match net.output {
            Output::Sigmoid => out[..take].iter().for_each(|&p| probs.extend([1.0 - p, p])),
            Output::Softmax { classes } => probs.extend_from_slice(&out[..take * classes]),
        }
    }
    Ok(probs)
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

pub fn argmax(row: &[f32]) -> usize {
    row.iter().enumerate().fold(0, |best, (i, &p)| if p > row[best] { i } else { best })
}
