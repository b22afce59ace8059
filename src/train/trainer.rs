//! The epoch loop: balanced or shuffled batches from the host scheduler, one submission
//! per step on the device, validation each epoch, model selection that never looks at
//! the test set, early stopping that keeps the best weights.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::backend::{AdamConfig, Backend, Storage, TensorId};
use crate::data::sampler::{gather_batch, BatchPlan, Layout, Pick, SampleMode};
use crate::data::split::balanced_class_weights;
use crate::model::ensemble::{member_seed, Ensemble};
use crate::model::network::Batch;
use crate::train::evaluate::{self, Prepared};
use crate::train::guard::NonFinite;
use crate::train::scheduler::Prefetcher;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TrainOptions {
    pub epochs: usize,
    pub batch: usize,
    pub adam: AdamConfig,
    pub seed: u64,
    pub sampling: SampleMode,
    /// Roll each sample by a random offset (the seed notebook's augmentation).
    pub roll: bool,
    /// Per-class loss weights (n / (k * count)), an alternative to balanced batches.
    pub class_weights: bool,
    /// Stop after this many epochs without improvement of the selection loss.
    pub patience: Option<usize>,
    /// Select the epoch of least validation loss; false (or no validation data): of least
    /// training loss, the validation only watched. (Absent from checkpoints written before
    /// it existed; a resumed run sets it from its arguments.)
    #[serde(default)]
    pub select_on_validation: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EpochRecord {
    pub epoch: usize,
    pub train_loss: f64,
    /// At the epoch's end, on `TRAIN_PROBE_ROWS` training rows (None in checkpoints written
    /// before it was measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_accuracy: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub val_loss: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub val_accuracy: Option<f64>,
    pub seconds: f64,
    /// Time the device side waited for the host scheduler's next batch.
    pub input_wait_seconds: f64,
    pub samples_per_second: f64,
}

impl EpochRecord {
    /// The one-line epoch summary printed during training; `*` marks a new best.
    pub fn line(&self, epochs: usize, improved: bool) -> String {
        let train_accuracy = self.train_accuracy.map(|a| format!(" acc {a:.3}")).unwrap_or_default();
        let val = match (self.val_loss, self.val_accuracy) {
            (Some(l), Some(a)) => format!("  val loss {l:.4}  val acc {a:.3}"),
            _ => String::new(),
        };
        format!(
            "epoch {:>3}/{epochs}  train loss {:.4}{train_accuracy}{val}  {:.1} s  {:.0} samples/s{}",
            self.epoch,
            self.train_loss,
            self.seconds,
            self.samples_per_second,
            if improved { "  *" } else { "" }
        )
    }
}

/// Where a run stands: everything needed to continue it identically.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Progress {
    pub history: Vec<EpochRecord>,
    /// Adam steps taken so far.
    pub steps: u64,
    pub best_epoch: Option<usize>,
    pub best_loss: Option<f64>,
}

/// The device-side buffers of one run: two input slots so the next batch can be
/// uploaded while the current one is in flight, and the on-device loss sum.
pub struct Slots {
    pub x: [TensorId; 2],
    targets: [TensorId; 2],
    weights: [TensorId; 2],
    loss_sum: TensorId,
}

impl Slots {
    /// An error, not a panic, when the device is out of memory or lost.
    pub fn new(be: &mut dyn Backend, nets: &Ensemble) -> Result<Slots> {
        let n = nets.head().batch * nets.head().input.numel();
        let b = nets.head().batch;
        let mut data =
            |len| be.try_alloc_as(len, Storage::Data).context("the input slots of the training batch");
        Ok(Slots {
            x: [data(n)?, data(n)?],
            targets: [data(b)?, data(b)?],
            weights: [data(b)?, data(b)?],
            loss_sum: be.try_alloc_as(1, Storage::F32).context("the training loss")?,
        })
    }
}

struct HostBatch {
    x: Vec<f32>,
    targets: Vec<f32>,
    weights: Vec<f32>,
}

/// Training rows whose accuracy each epoch reports, at most: measured like validation's
/// (no dropout, no augmentation), so the two can be compared, at a validation pass's cost.
pub const TRAIN_PROBE_ROWS: usize = 1000;
/// Keeps the probe's sample apart from the batch plan's draws of the same seed.
const PROBE_SALT: u64 = 0x9B0B_E5A1;

/// The training rows of [`TRAIN_PROBE_ROWS`]: all of them, or a seeded sample in order.
fn probe_rows(rows: usize, seed: u64) -> Vec<usize> {
    if rows <= TRAIN_PROBE_ROWS {
        return (0..rows).collect();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ PROBE_SALT);
    let mut picked = rand::seq::index::sample(&mut rng, rows, TRAIN_PROBE_ROWS).into_vec();
    picked.sort_unstable();
    picked
}

/// What the caller does at the end of every epoch (checkpoints, progress output);
/// `improved` says whether this epoch is the new best.
pub trait EpochHook {
    fn step(&mut self, _done: usize, _of: usize, _loss_so_far: Option<f64>) {}
    fn epoch_end(
        &mut self,
        nets: &Ensemble,
        be: &mut dyn Backend,
        progress: &Progress,
        improved: bool,
    ) -> Result<()>;
    /// Asked between steps; true stops the run after the current step (Ctrl-C).
    fn interrupted(&self) -> bool {
        false
    }
}

pub struct Trainer<'a> {
    pub nets: &'a Ensemble,
    pub slots: &'a Slots,
    pub opts: &'a TrainOptions,
    pub layout: Layout,
    /// Leading input channels that roll augmentation shifts (see `Preprocess::time_channels`).
    pub rolled_channels: usize,
}

impl Trainer<'_> {
    /// Runs the remaining epochs of `progress`. Returns false if interrupted.
    pub fn run(
        &self,
        be: &mut dyn Backend,
        train: &Arc<Prepared>,
        val: Option<&Prepared>,
        progress: &mut Progress,
        hook: &mut dyn EpochHook,
    ) -> Result<bool> {
        let truth = train.classes.clone().ok_or_else(|| anyhow::anyhow!("training data need labels"))?;
        let n_classes = self.nets.head().output.units().max(2);
        let labels: Vec<i64> = truth.iter().map(|&c| c as i64).collect();
        let class_weights: Vec<f32> = if self.opts.class_weights {
            balanced_class_weights(&labels, &(0..n_classes as i64).collect::<Vec<_>>())
        } else {
            vec![1.0; n_classes]
        };
        let o = self.opts;
        let sampler = BatchPlan::new(&labels, train.len, o.batch, o.sampling, o.roll, o.seed)?;
        let steps_per_epoch = sampler.steps_per_epoch();
        let probe = probe_rows(train.rows, o.seed);
        let probe_truth: Vec<usize> = probe.iter().map(|&r| truth[r]).collect();
        while progress.history.len() < self.opts.epochs {
            let epoch = progress.history.len();
            let started = Instant::now();
            let plan: Vec<Vec<Pick>> = sampler.epoch(epoch as u64).collect();
            let mut prefetch = self.spawn_scheduler(train, plan, &truth, &class_weights);
            // an upload, not a recorded fill: the first step then stays one submission
            be.upload(self.slots.loss_sum, &[0.0]);
            for i in 0..steps_per_epoch {
                let batch = prefetch.recv()?;
                self.step(be, &batch, i % 2, progress.steps + 1);
                progress.steps += 1;
                // the bar's loss is the only readback, and only every few steps
                let loss = match i % 16 == 15 || i + 1 == steps_per_epoch {
                    true => Some(self.mean_loss(be, i + 1)?),
                    false => None,
                };
                if let Some(l) = loss.filter(|l| !l.is_finite()) {
                    return Err(NonFinite {
                        epoch: epoch + 1,
                        step: Some(i + 1),
                        global_step: progress.steps,
                        what: format!("the training loss became {l}"),
                        layer: self.nets.first_non_finite(be)?,
                    }
                    .into());
                }
                hook.step(i + 1, steps_per_epoch, loss);
                if hook.interrupted() {
                    return Ok(false);
                }
            }
            let train_loss = self.mean_loss(be, steps_per_epoch)?;
            let probe_probs =
                evaluate::network_probs(be, self.nets, self.slots.x[0], train, &probe, self.layout)?;
            let train_accuracy = Some(evaluate::accuracy(&probe_probs, &probe_truth));
            let (val_loss, val_accuracy) = match val {
                Some(v) => {
                    let probs = evaluate::predict(be, self.nets, self.slots.x[0], v, self.layout)?;
                    let vt = v.classes.as_deref().unwrap_or_default();
                    (
                        Some(evaluate::mean_log_loss(&probs, vt, Some(&class_weights))),
                        Some(evaluate::accuracy(&probs, vt)),
                    )
                }
                None => (None, None),
            };
            let seconds = started.elapsed().as_secs_f64();
            progress.history.push(EpochRecord {
                epoch: epoch + 1,
                train_loss,
                train_accuracy,
                val_loss,
                val_accuracy,
                seconds,
                input_wait_seconds: prefetch.waited.as_secs_f64(),
                samples_per_second: (steps_per_epoch * self.opts.batch) as f64 / seconds,
            });
            let selection = val_loss.filter(|_| o.select_on_validation).unwrap_or(train_loss);
            let improved = progress.best_loss.is_none_or(|b| selection < b);
            if improved {
                progress.best_loss = Some(selection);
                progress.best_epoch = Some(epoch + 1);
            }
            hook.epoch_end(self.nets, be, progress, improved)?;
            let since_best = epoch + 1 - progress.best_epoch.unwrap_or(0);
            if self.opts.patience.is_some_and(|p| since_best >= p) {
                break;
            }
        }
        Ok(true)
    }

    /// The mean member's loss per step over the epoch's first `steps` steps: the loss sum
    /// adds every member's batch loss. A readback.
    fn mean_loss(&self, be: &mut dyn Backend, steps: usize) -> Result<f64> {
        let sum = be.try_download(self.slots.loss_sum)?[0] as f64;
        Ok(sum / self.nets.members.len() as f64 / steps as f64)
    }

    /// Forward, loss, backward, Adam, loss sum of every member: one submission.
    fn step(&self, be: &mut dyn Backend, batch: &HostBatch, slot: usize, t: u64) {
        let (x, targets, weights) = (self.slots.x[slot], self.slots.targets[slot], self.slots.weights[slot]);
        be.upload(x, &batch.x);
        be.upload(targets, &batch.targets);
        be.upload(weights, &batch.weights);
        let on_device = Batch { x, targets, weights };
        for (k, net) in self.nets.members.iter().enumerate() {
            net.train_step(be, &on_device, &self.opts.adam, member_seed(self.opts.seed, k), t);
            be.add_assign(self.slots.loss_sum, net.loss);
        }
        be.flush();
    }

    fn spawn_scheduler(
        &self,
        train: &Arc<Prepared>,
        plan: Vec<Vec<Pick>>,
        truth: &[usize],
        class_weights: &[f32],
    ) -> Prefetcher<HostBatch> {
        let (data, truth, cw, layout) =
            (Arc::clone(train), truth.to_vec(), class_weights.to_vec(), self.layout);
        let numel = self.nets.head().batch * self.nets.head().input.numel();
        let batch = self.nets.head().batch;
        let rolled = self.rolled_channels;
        Prefetcher::spawn(plan.len(), 2, move |i| {
            // A short last batch (shuffled mode) is topped up with the epoch's first rows, as
            // real samples at full weight: padding with weightless copies would still bend
            // the batch-norm statistics (a 1-row batch has zero variance).
            let picks: Vec<Pick> =
                plan[i].iter().chain(plan.iter().flatten().cycle()).take(batch).copied().collect();
            let mut x = vec![0.0; numel];
            gather_batch(&data.values, (data.channels, rolled), data.len, &picks, layout, &mut x);
            HostBatch {
                x,
                targets: picks.iter().map(|&(r, _)| truth[r] as f32).collect(),
                weights: picks.iter().map(|&(r, _)| cw[truth[r]]).collect(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{probe_rows, TRAIN_PROBE_ROWS};

    #[test]
    fn the_accuracy_probe_is_every_row_or_a_seeded_sample_in_order() {
        assert_eq!(probe_rows(5, 1), [0, 1, 2, 3, 4]);
        let rows = 8087;
        let probe = probe_rows(rows, 42);
        assert_eq!(probe.len(), TRAIN_PROBE_ROWS);
        assert!(probe.windows(2).all(|w| w[0] < w[1]) && probe[TRAIN_PROBE_ROWS - 1] < rows);
        // spread over the whole set, whose injected curves and binaries come last
        assert!(probe[0] < 100 && probe[TRAIN_PROBE_ROWS - 1] > rows - 100);
        assert_eq!(probe, probe_rows(rows, 42));
        assert_ne!(probe, probe_rows(rows, 43));
    }
}
