//! `starskope train`: data in, a trained model and its report out, in one run directory.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};

use crate::backend::{AdamConfig, Backend};
use crate::data::{self, Dataset, Label, NanPolicy, Preprocess, ReadOptions, SampleMode};
use crate::lightcurve::ReadArgs;
use crate::model;
use crate::model::checkpoint::ModelCard;
use crate::synth::{SynthConfig, TruthRow};
use crate::train::curve_set::read_curve_set;
use crate::train::defaults::{self, Defaults};
use crate::train::driver::{self, Resumed};
use crate::train::evaluate::Prepared;
use crate::train::guard::OnNan;
use crate::train::infer::read_data;
use crate::train::k2_recipe;
use crate::train::predict_curves::is_light_curve_data;
use crate::train::report::{self, RunReport};
use crate::train::trainer::TrainOptions;

/// Everything `starskope train` was asked, with presets' defaults still unresolved.
#[derive(Clone, Debug, Default)]
pub struct TrainArgs {
    pub train: Option<PathBuf>,
    pub test: Option<PathBuf>,
    pub val: Option<PathBuf>,
    pub val_split: Option<f64>,
    pub model: String,
    pub epochs: Option<usize>,
    pub batch: Option<usize>,
    pub lr: Option<f32>,
    pub seed: u64,
    pub out: PathBuf,
    pub resume: bool,
    pub sampling: Option<SampleMode>,
    pub roll: Option<bool>,
    pub class_weights: bool,
    pub patience: Option<usize>,
    /// Moving-average window of the second channel; 0 turns the channel off.
    pub smooth: Option<usize>,
    pub nan: NanPolicy,
    /// What a NaN or infinite loss does: stop, or go back to the last checkpoint at half the rate.
    pub on_nan: OnNan,
    /// Size of the built-in synthetic set (None: the Kaggle sizes).
    pub synth: Option<SynthConfig>,
    /// Training curves with injected transits to add (None: the default for the data).
    pub inject: Option<usize>,
    /// The label of planet hosts, which injected curves get (None: Kaggle's 2).
    pub planet_label: Option<Label>,
    /// Networks trained side by side and averaged (None: the default for the data).
    pub members: Option<usize>,
    /// How to read `train` and `test` when they are light-curve files (a directory, a
    /// glob, a FITS file or a text table): its labels table labels `train`.
    pub curves: ReadArgs,
    /// The labels table of `test` when it is light-curve files.
    pub test_labels: Option<PathBuf>,
}

struct Inputs {
    train: Dataset,
    val: Option<Dataset>,
    test: Option<Dataset>,
    test_truth: Option<Vec<TruthRow>>,
}

pub fn train(args: &TrainArgs, be: &mut dyn Backend) -> Result<RunReport> {
    let spec = model::resolve(&args.model)?;
    let d = match args.train {
        None => k2_recipe::defaults(&spec.name),
        Some(_) => defaults::for_model(&spec.name),
    };
    std::fs::create_dir_all(&args.out).with_context(|| {
        format!(
            "cannot create the run directory {}: give --out a directory you can write to",
            args.out.display()
        )
    })?;
    let resumed = if args.resume { Some(Resumed::load(&args.out)?) } else { None };
    let preprocess = match &resumed {
        Some(r) => r.card.preprocess.clone(),
        None => fresh_preprocess(args, &d),
    };
    // Read with room for the prepared channels: each file's rows then exist once.
    let Inputs { train: train_data, val, test, test_truth } = load_inputs(args, preprocess.channels())?;
    let classes = train_data.classes();
    let members = match (&resumed, args.members) {
        (_, Some(0)) => bail!("--members must be at least 1"),
        (_, Some(m)) => m,
        (Some(r), None) => r.card.members,
        (None, None) => d.members,
    };
    let card = ModelCard {
        spec: spec.clone(),
        preprocess: preprocess.clone(),
        classes: classes.clone(),
        channels: preprocess.channels(),
        length: train_data.len,
        members,
    };
    card.plan().map_err(|e| driver::too_short(&spec, &card, e))?;
    // Only a validation set the user gave selects the epoch: the built-in data's own one
    // only watches, as its log loss punishes confident calls on hosts below the detection
    // limit and on binaries, which training keeps sharpening.
    let select_on_validation = args.val.is_some() || args.val_split.is_some();
    let options = match &resumed {
        // A resumed run keeps its options; only --epochs may extend it. Its arguments are
        // the first run's, so they give select_on_validation, which older checkpoints lack.
        Some(r) => TrainOptions {
            epochs: args.epochs.unwrap_or(r.options().epochs),
            select_on_validation,
            ..r.options().clone()
        },
        None => fresh_options(args, &d, select_on_validation),
    };
    driver::validate(&options)?;

    let prepare = |ds: Dataset| -> Result<Prepared> {
        data::check_known_classes(&ds, &classes)?;
        Ok(Prepared::new(&preprocess, ds, &classes, true))
    };
    let train_set = Arc::new(prepare(train_data)?);
    // Validation scores the networks, the thing being trained, not the fixed gate in front
    // of them: the planets it stops (probability 0) would add a constant larger than the loss.
    let val_set = val.map(&prepare).transpose()?.map(|v| Prepared { detections: None, ..v });
    let test_set = test.map(&prepare).transpose()?;
    let run = driver::Run {
        command: "starskope train",
        out: &args.out,
        card,
        options,
        on_nan: args.on_nan,
        resumed,
        train: train_set,
        val: val_set,
        test: test_set,
    };
    let done = driver::drive(be, run)?;
    let injection = match args.train {
        None => Some(k2_recipe::injection_recovery(
            be,
            &done.nets,
            done.slots.x[0],
            done.layout,
            &prepare,
            args.seed,
        )?),
        Some(_) => None,
    };
    let run = done.report(&classes, be.name(), test_truth.as_deref(), injection)?;
    report::write_metrics(&args.out, &run)?;
    done.write_history_and_plots(&args.out, &run, preprocess.channel_names())?;
    Ok(run)
}

/// A new run's preprocessing: the model's defaults with what `args` sets.
pub(crate) fn fresh_preprocess(args: &TrainArgs, d: &Defaults) -> Preprocess {
    match (&d.preprocess, args.smooth) {
        (Preprocess::Plain { standardize, .. }, Some(w)) => {
            Preprocess::Plain { standardize: *standardize, smooth_window: (w > 0).then_some(w) }
        }
        (p, _) => p.clone(),
    }
}

/// A new run's options: the model's defaults with what `args` sets.
pub(crate) fn fresh_options(args: &TrainArgs, d: &Defaults, select_on_validation: bool) -> TrainOptions {
    TrainOptions {
        epochs: args.epochs.unwrap_or(d.epochs),
        batch: args.batch.unwrap_or(d.batch),
        adam: AdamConfig { lr: args.lr.unwrap_or(d.lr), ..AdamConfig::default() },
        seed: args.seed,
        sampling: args.sampling.unwrap_or(d.sampling),
        roll: args.roll.unwrap_or(d.roll),
        class_weights: args.class_weights,
        patience: args.patience,
        select_on_validation,
    }
}

/// The data sets of a run, files read with room for `channels` prepared series per row.
fn load_inputs(args: &TrainArgs, channels: usize) -> Result<Inputs> {
    let opts = ReadOptions { nan: args.nan };
    let read_labelled = |p: &PathBuf, labels: Option<&PathBuf>, flag: &str| {
        if !is_light_curve_data(p) {
            anyhow::ensure!(
                labels.is_none(),
                "{}: a CSV in the training layout has its labels in its first column; a labels table goes \
                 with light-curve files (FITS or time,flux tables)",
                p.display()
            );
            return read_data(p, &opts, channels);
        }
        let labels = labels.with_context(|| format!("{}: light-curve files {flag}", p.display()))?;
        read_curve_set(p, labels, &args.curves.options())
    };
    let read = |p: &PathBuf| {
        read_labelled(p, None, "as --val are not read: hold out part of --train with --val-split instead")
    };
    let needs = |flag: &str| format!("need {flag}: a table of target,label for every target");
    let builtin = k2_recipe::config(args.synth.as_ref(), args.seed);
    let (train, mut test, test_truth) = match &args.train {
        Some(path) => (read_labelled(path, args.curves.labels.as_ref(), &needs("--labels"))?, None, None),
        None => {
            let set = k2_recipe::generate(&builtin, &args.out)?;
            (set.train, Some(set.test), Some(set.test_truth))
        }
    };
    data::check_training_classes(&train)?;
    if let Some(path) = &args.test {
        test = Some(read_labelled(path, args.test_labels.as_ref(), &needs("--test-labels"))?);
    }
    let (train, val) = match (&args.val, args.val_split) {
        (Some(_), Some(_)) => bail!("give either --val FILE or --val-split F, not both"),
        (Some(path), None) => (train, Some(read(path)?)),
        (None, Some(f)) => {
            let (_, val_rows) = data::stratified_split(&train.labels, f, args.seed)?;
            let mut train = train;
            let val = train.split_off_rows(&val_rows, channels);
            (train, Some(val))
        }
        (None, None) if args.train.is_none() => (train, Some(k2_recipe::validation_set(args.seed)?)),
        (None, None) => (train, None),
    };
    // After the split: validation keeps only real curves.
    let injected = args.inject.unwrap_or(if args.train.is_none() { k2_recipe::INJECTED } else { 0 });
    let mut train =
        k2_recipe::with_injected_transits(train, injected, args.planet_label.as_ref(), args.seed)?;
    if args.train.is_none() {
        k2_recipe::add_binaries(&mut train, &builtin)?;
        k2_recipe::add_long_spans(&mut train, &builtin, args.planet_label.as_ref(), args.seed)?;
    }
    let test_truth = if args.test.is_some() { None } else { test_truth };
    Ok(Inputs { train, val, test, test_truth })
}
