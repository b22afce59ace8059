//! Which rows make up each training batch, and by how much each is rolled.
//!
//! A plan is a pure function of its inputs: epoch `e`'s batches come from a ChaCha8
//! stream keyed by `(seed, e)`, so a run resumed at epoch `e` from a checkpoint sees
//! exactly the batches an uninterrupted run would have seen.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::error::DataError;

/// One sample of a batch: `(row, roll offset)`.
pub type Pick = (usize, usize);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SampleMode {
    /// The seed notebook's batches: every class gets an equal share (for two classes,
    /// half the batch is the rare class), rows drawn with replacement; the `B mod K`
    /// left-over places go to distinct random classes. Every batch is full.
    Balanced,
    /// A fresh permutation of all rows each epoch, without replacement; the last batch
    /// keeps the left-over rows and may be short.
    Shuffled,
}

/// How [`gather_batch`] lays a batch out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// (batch, channels, length): the conv layers' layout.
    ChannelsFirst,
    /// (batch, length, channels): the LSTM's (batch, time, features).
    TimeMajor,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchPlan {
    mode: SampleMode,
    batch: usize,
    /// Roll each sample by a uniform random offset in `0..len` (np.roll semantics).
    roll: bool,
    len: usize,
    seed: u64,
    rows: usize,
    /// The row indices of each class, classes in sorted label order.
    groups: Vec<Vec<usize>>,
}

impl BatchPlan {
    /// A plan over rows with these labels, each a series of `len` samples.
    pub fn new(
        labels: &[impl Ord + Clone],
        len: usize,
        batch: usize,
        mode: SampleMode,
        roll: bool,
        seed: u64,
    ) -> Result<BatchPlan, DataError> {
        if batch == 0 {
            return Err(DataError::BadBatch { batch });
        }
        let mut classes = labels.to_vec();
        classes.sort_unstable();
        classes.dedup();
        let mut groups = vec![Vec::new(); classes.len()];
        for (row, label) in labels.iter().enumerate() {
            // `classes` holds every label, so the search always finds it.
            if let Ok(k) = classes.binary_search(label) {
                groups[k].push(row);
            }
        }
        Ok(BatchPlan { mode, batch, roll: roll && len > 0, len, seed, rows: labels.len(), groups })
    }

    /// `ceil(rows / batch)`, in both modes.
    pub fn steps_per_epoch(&self) -> usize {
        self.rows.div_ceil(self.batch)
    }

    /// The batches of epoch `epoch` (0-based), `steps_per_epoch()` of them.
    pub fn epoch(&self, epoch: u64) -> EpochBatches<'_> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(epoch);
        let mut order = Vec::new();
        if self.mode == SampleMode::Shuffled {
            order = (0..self.rows).collect();
            order.shuffle(&mut rng);
        }
        EpochBatches { plan: self, rng, order, step: 0 }
    }

    fn offset(&self, rng: &mut ChaCha8Rng) -> usize {
        if self.roll {
            rng.gen_range(0..self.len)
        } else {
            0
        }
    }

    fn balanced_batch(&self, rng: &mut ChaCha8Rng) -> Vec<Pick> {
        let k = self.groups.len();
        let mut counts = vec![self.batch / k; k];
        for extra in rand::seq::index::sample(rng, k, self.batch % k) {
            counts[extra] += 1;
        }
        let mut picks = Vec::with_capacity(self.batch);
        for (group, &count) in self.groups.iter().zip(&counts) {
            for _ in 0..count {
                let row = group[rng.gen_range(0..group.len())];
                picks.push((row, self.offset(rng)));
            }
        }
        // Mixed order, so that nothing downstream can learn from a sample's position.
        picks.shuffle(rng);
        picks
    }
}

/// The batches of one epoch, in order.
pub struct EpochBatches<'a> {
    plan: &'a BatchPlan,
    rng: ChaCha8Rng,
    /// This epoch's permutation of rows (Shuffled mode only).
    order: Vec<usize>,
    step: usize,
}

impl Iterator for EpochBatches<'_> {
    type Item = Vec<Pick>;

    fn next(&mut self) -> Option<Vec<Pick>> {
        let plan = self.plan;
        if self.step >= plan.steps_per_epoch() {
            return None;
        }
        let step = self.step;
        self.step += 1;
        let batch = match plan.mode {
            SampleMode::Balanced => plan.balanced_batch(&mut self.rng),
            SampleMode::Shuffled => {
                let start = step * plan.batch;
                let end = (start + plan.batch).min(plan.rows);
                let rng = &mut self.rng;
                self.order[start..end].iter().map(|&row| (row, plan.offset(rng))).collect()
            }
        };
        Some(batch)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.plan.steps_per_epoch() - self.step;
        (left, Some(left))
    }
}

impl ExactSizeIterator for EpochBatches<'_> {}

/// Copies the picked rows of `prepared` (rows, channels, len) into `out` in `layout`,
/// each rolled by its offset as `np.roll` does: `out[i] = x[(i - offset) mod len]`.
///
/// Only the first `rolled` channels are rolled: the others are not time series (e.g. the
/// transit search's phase-folded view, whose dip must stay centred).
///
/// Panics if `out` is not exactly `picks.len() * channels * len` long (a caller bug).
pub fn gather_batch(
    prepared: &[f32],
    (channels, rolled): (usize, usize),
    len: usize,
    picks: &[Pick],
    layout: Layout,
    out: &mut [f32],
) {
    let row_size = channels * len;
    assert_eq!(
        out.len(),
        picks.len() * row_size,
        "gather_batch: `out` must hold batch * channels * len floats"
    );
    if row_size == 0 {
        return;
    }
    for (dst, &(row, offset)) in out.chunks_exact_mut(row_size).zip(picks) {
        let src = &prepared[row * row_size..(row + 1) * row_size];
        let shift = |c: usize| if c < rolled { offset % len } else { 0 };
        match layout {
            Layout::ChannelsFirst => {
                for (c, (d, s)) in dst.chunks_exact_mut(len).zip(src.chunks_exact(len)).enumerate() {
                    let shift = shift(c);
                    d[shift..].copy_from_slice(&s[..len - shift]);
                    d[..shift].copy_from_slice(&s[len - shift..]);
                }
            }
            Layout::TimeMajor => {
                for (t, features) in dst.chunks_exact_mut(channels).enumerate() {
                    for (c, f) in features.iter_mut().enumerate() {
                        *f = src[c * len + (t + len - shift(c)) % len];
                    }
                }
            }
        }
    }
}
