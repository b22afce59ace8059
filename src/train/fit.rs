//! Training on series held in memory (the Python package's `Classifier.fit`): the options,
//! trainer and model selection of `starskope train --train FILE`, without a run directory.
//! The selected epoch's parameters come back as `model.safetensors` would hold them.

use std::sync::Arc;

use anyhow::{bail, Result};

use crate::backend::Backend;
use crate::data::{self, Dataset, Layout};
use crate::model::checkpoint::{self, ModelCard, Tensors};
use crate::model::{self, Ensemble};
use crate::train::defaults;
use crate::train::driver;
use crate::train::evaluate::Prepared;
use crate::train::guard;
use crate::train::run::{self, TrainArgs};
use crate::train::trainer::{EpochHook, EpochRecord, Progress, Slots, TrainOptions, Trainer};

/// The data or the options are unusable: found before training starts, so the caller can
/// tell the user's mistake from a failure of the device.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct BadInput(#[from] anyhow::Error);

/// What the caller sees of a run while it goes.
pub trait FitObserver {
    /// After every epoch, with the run's number of epochs and whether this one is the new
    /// best; an error stops the run.
    fn epoch(&mut self, record: &EpochRecord, epochs: usize, improved: bool) -> Result<()>;
    /// Asked between steps: true stops the run after the current step.
    fn interrupted(&self) -> bool;
}

pub struct Fitted {
    pub card: ModelCard,
    /// The selected epoch's parameters (None when stopped before the first epoch ended).
    pub params: Option<Tensors>,
    pub progress: Progress,
    /// False when the observer stopped the run; `progress` holds the epochs that finished.
    pub finished: bool,
}

impl Fitted {
    /// The bytes of the model.safetensors `starskope train` writes for the same run.
    pub fn checkpoint_bytes(&self) -> Result<Option<Vec<u8>>> {
        self.params.as_ref().map(|p| checkpoint::to_bytes(&self.card, p, None)).transpose()
    }
}

/// Trains on `train` (and validates on `val`, which then selects the epoch) with the
/// recipe of `args`: its model, epochs, batch, lr, seed, sampling, roll, class_weights,
/// patience, smooth and members; its paths are not read. Errors in the data or the options
/// are [`BadInput`].
pub fn fit(
    be: &mut dyn Backend,
    args: &TrainArgs,
    train: Dataset,
    val: Option<Dataset>,
    observer: &mut dyn FitObserver,
) -> Result<Fitted> {
    let Setup { card, options, train_set, val_set } = Setup::new(args, train, val).map_err(BadInput)?;
    let layers = card.plan()?;
    let nets = Ensemble::build(be, &layers, card.output()?, options.batch, card.members)?;
    let slots = Slots::new(be, &nets)?;
    nets.init(be, &layers, options.seed);
    let layout = if card.spec.time_major_input() { Layout::TimeMajor } else { Layout::ChannelsFirst };
    let rolled_channels = card.preprocess.time_channels();
    let trainer = Trainer { nets: &nets, slots: &slots, opts: &options, layout, rolled_channels };
    let mut progress = Progress::default();
    let mut keeper = Keeper { observer, epochs: options.epochs, best: None };
    let finished = trainer.run(be, &train_set, val_set.as_ref(), &mut progress, &mut keeper)?;
    Ok(Fitted { card, params: keeper.best, progress, finished })
}

/// Everything checked before the device is touched.
struct Setup {
    card: ModelCard,
    options: TrainOptions,
    train_set: Arc<Prepared>,
    val_set: Option<Prepared>,
}

impl Setup {
    fn new(args: &TrainArgs, train: Dataset, val: Option<Dataset>) -> Result<Setup> {
        let spec = model::resolve(&args.model)?;
        let d = defaults::for_model(&spec.name);
        train.check_finite()?;
        data::check_training_classes(&train)?;
        if let Some(v) = &val {
            v.check_finite()?;
            if v.len != train.len {
                bail!(
                    "{}: the series have {} samples, but the training series have {}: give both the same length",
                    v.source,
                    v.len,
                    train.len
                );
            }
        }
        let members = args.members.unwrap_or(d.members);
        if members == 0 {
            bail!("--members must be at least 1");
        }
        let preprocess = run::fresh_preprocess(args, &d);
        let classes = train.classes();
        let card = ModelCard {
            spec: spec.clone(),
            channels: preprocess.channels(),
            preprocess,
            classes,
            length: train.len,
            members,
        };
        card.plan().map_err(|e| driver::too_short(&spec, &card, e))?;
        let options = run::fresh_options(args, &d, val.is_some());
        driver::validate(&options)?;
        let prepare = |ds: Dataset| -> Result<Prepared> {
            data::check_known_classes(&ds, &card.classes)?;
            Ok(Prepared::new(&card.preprocess, ds, &card.classes, true))
        };
        let train_set = Arc::new(prepare(train)?);
        // As in `starskope train`: validation scores the networks, not a detection gate.
        let val_set = val.map(prepare).transpose()?.map(|v| Prepared { detections: None, ..v });
        Ok(Setup { card, options, train_set, val_set })
    }
}

/// Keeps the selected epoch's parameters in memory where `starskope train` writes files.
struct Keeper<'a> {
    observer: &'a mut dyn FitObserver,
    epochs: usize,
    best: Option<Tensors>,
}

impl EpochHook for Keeper<'_> {
    fn epoch_end(
        &mut self,
        nets: &Ensemble,
        be: &mut dyn Backend,
        progress: &Progress,
        improved: bool,
    ) -> Result<()> {
        let record = progress.history.last().expect("an epoch just ended");
        let tensors = nets.download_params(be, true)?;
        guard::check_weights(&tensors, nets, be, record.epoch, progress.steps)?;
        if improved {
            self.best = Some(nets.without_optimizer(&tensors));
        }
        self.observer.epoch(record, self.epochs, improved)
    }

    fn interrupted(&self) -> bool {
        self.observer.interrupted()
    }
}
