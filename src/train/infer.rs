//! `eval` and `predict`: a checkpoint alone is enough to prepare new data the way the
//! model was trained and score it.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::backend::{Backend, Storage};
use crate::data::label::{self, Label};
use crate::data::{self, Dataset, Layout, ReadOptions};
use crate::metrics::report::argmax;
use crate::model::checkpoint::{self, Checkpoint, ModelCard};
use crate::model::{memory_fit, Ensemble};
use crate::train::evaluate::{self, Prepared};
use crate::train::shard::Shard;

/// Series scored per device batch at inference.
const BATCH: usize = 64;

/// Reads a CSV, with room for `channels` prepared series per row (see
/// [`data::read_csv_with_room`]), and tells the user what `--nan fill|drop` changed.
pub fn read_data(path: &Path, opts: &ReadOptions, channels: usize) -> Result<Dataset> {
    let (ds, report) = data::read_csv_with_room(path, opts, channels)?;
    if report.dropped_rows > 0 {
        eprintln!(
            "{}: dropped {} rows with missing values (--nan drop)",
            path.display(),
            report.dropped_rows
        );
    }
    if report.filled_cells > 0 {
        eprintln!("{}: interpolated {} missing values (--nan fill)", path.display(), report.filled_cells);
    }
    Ok(ds)
}

pub struct Scored {
    pub card: ModelCard,
    /// Where the data came from, for messages.
    pub source: String,
    /// The label column of each row, as read.
    pub labels: Vec<Label>,
    /// The data row (0-based) of the first row scored: the shard's first, or 0.
    pub first_row: usize,
    /// The marker line a shard's part starts with; `None` for the whole input.
    pub marker: Option<String>,
    /// (rows, classes) probabilities.
    pub probs: Vec<f32>,
}

pub fn score(be: &mut dyn Backend, model: &Path, data_path: &Path, opts: &ReadOptions) -> Result<Scored> {
    score_shard(be, model, data_path, opts, None)
}

/// [`score`] of the data rows of `shard` only, if given (counted after `--nan drop`).
pub fn score_shard(
    be: &mut dyn Backend,
    model: &Path,
    data_path: &Path,
    opts: &ReadOptions,
    shard: Option<Shard>,
) -> Result<Scored> {
    let ck = checkpoint::load(model)?;
    let mut ds = read_data(data_path, opts, ck.card.preprocess.channels())?;
    let total = ds.rows();
    let rows = shard.unwrap_or(Shard::WHOLE).rows(total);
    let first_row = rows.start;
    ds.keep_rows(rows);
    let mut scored = scored(be, ck, &model.display().to_string(), ds)?;
    scored.first_row = first_row;
    scored.marker = shard.map(|s| s.marker(total));
    Ok(scored)
}

/// [`score`] with the checkpoint in hand (`model` names it in messages).
pub fn score_with(
    be: &mut dyn Backend,
    ck: Checkpoint,
    model: &str,
    data_path: &Path,
    opts: &ReadOptions,
) -> Result<Scored> {
    let ds = read_data(data_path, opts, ck.card.preprocess.channels())?;
    scored(be, ck, model, ds)
}

fn scored(be: &mut dyn Backend, ck: Checkpoint, model: &str, ds: Dataset) -> Result<Scored> {
    let (source, labels) = (ds.source.clone(), ds.labels.clone());
    let probs = if ds.rows() == 0 { Vec::new() } else { probabilities(be, &ck, model, ds)? };
    Ok(Scored { card: ck.card, source, labels, probs, first_row: 0, marker: None })
}

/// The class probabilities, (rows, classes) row-major, of the model in `ck` (`model` names
/// it in messages) for the raw series of `ds`, prepared as the model was trained.
pub fn probabilities(be: &mut dyn Backend, ck: &Checkpoint, model: &str, ds: Dataset) -> Result<Vec<f32>> {
    check_length(&ck.card, model, &ds)?;
    let card = &ck.card;
    let layers = card.plan()?;
    let batch = BATCH.min(ds.rows()).min(memory_fit::max_batch(&*be, &layers).unwrap_or(BATCH)).max(1);
    let nets = Ensemble::load(be, ck, &layers, batch)?;
    let x = be.try_alloc_as(batch * nets.head().input.numel(), Storage::Data).context("the input batch")?;
    let prepared = Prepared::new(&card.preprocess, ds, &card.classes, false);
    if let (Some(gate), Some(d)) = (card.preprocess.detection(), &prepared.detections) {
        eprintln!(
            "The transit search detected {} of {} light curves (box S/N >= {}, and >= {} without the deepest \
             transit); the others score 0 as planets whatever the network says",
            d.passed.iter().filter(|&&p| p).count(),
            d.passed.len(),
            gate.min_snr,
            gate.min_snr_without_deepest
        );
    }
    let layout = if card.spec.time_major_input() { Layout::TimeMajor } else { Layout::ChannelsFirst };
    evaluate::predict(be, &nets, x, &prepared, layout)
}

/// The series of `ds` have the length the model (`model` names it) was trained on.
pub fn check_length(card: &ModelCard, model: &str, ds: &Dataset) -> Result<()> {
    if ds.len != card.length {
        bail!(
            "{}: the series have {} samples, but the model in {model} was trained on {}: give it series of the same length",
            ds.source,
            ds.len,
            card.length
        );
    }
    Ok(())
}

impl Scored {
    /// Class index of each row's label; an error names a label the model never saw.
    pub fn truth(&self) -> Result<Vec<usize>> {
        data::check_known_labels(&self.source, &self.labels, &self.card.classes)?;
        Ok(self.labels.iter().map(|l| self.card.classes.binary_search(l).unwrap_or(0)).collect())
    }

    /// predict's CSV (after a shard's marker line): index (0-based data row), the label column as read, one probability
    /// per class, the predicted label.
    pub fn to_csv(&self) -> String {
        let k = self.card.classes.len();
        let mut s = self.marker.as_ref().map_or_else(String::new, |m| format!("{m}\n"));
        s += "index,label";
        for c in &self.card.classes {
            let _ = write!(s, ",{}", label::csv_cell(&format!("p_{c}")));
        }
        s += ",predicted\n";
        for (i, row) in self.probs.chunks(k).enumerate() {
            let _ = write!(s, "{},{}", self.first_row + i, self.labels[i].csv_cell());
            for p in row {
                let _ = write!(s, ",{p:.6}");
            }
            let _ = writeln!(s, ",{}", self.card.classes[argmax(row)].csv_cell());
        }
        s
    }

    pub fn write_csv(&self, path: &Path) -> Result<()> {
        checkpoint::write_atomically(path, self.to_csv().as_bytes())
    }
}
