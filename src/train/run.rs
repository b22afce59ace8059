//! `starskope train`: data in, a trained model and its report out, in one run directory.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::backend::{AdamConfig, Backend};
use crate::data::synth::{self, InjectConfig, SynthConfig, TruthRow};
use crate::data::{self, Dataset, Label, Layout, NanPolicy, Preprocess, ReadOptions, SampleMode};
use crate::lightcurve::ReadArgs;
use crate::metrics::report::argmax;
use crate::model::checkpoint::{self, ModelCard, TensorMap};
use crate::model::{self, plan, Ensemble};
use crate::train::curve_set::read_curve_set;
use crate::train::defaults::{self, Defaults};
use crate::train::evaluate::{self, Prepared};
use crate::train::guard::{self, NonFinite, OnNan, MAX_LR_HALVINGS};
use crate::train::infer::read_data;
use crate::train::injection::{self, InjectionRecovery};
use crate::train::predict_curves::is_light_curve_data;
use crate::train::report::{self, RunReport};
use crate::train::trainer::{EpochHook, Progress, Slots, TrainOptions, Trainer};

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

/// The run state stored in every checkpoint: with the card, enough to resume.
#[derive(Serialize, Deserialize)]
struct ResumeState {
    options: TrainOptions,
    progress: Progress,
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
        None => defaults::for_builtin_data(&spec.name),
        Some(_) => defaults::for_model(&spec.name),
    };
    std::fs::create_dir_all(&args.out).with_context(|| {
        format!(
            "cannot create the run directory {}: give --out a directory you can write to",
            args.out.display()
        )
    })?;
    let resumed = if args.resume { Some(load_resume(&args.out)?) } else { None };
    let preprocess = match &resumed {
        Some((card, ..)) => card.preprocess.clone(),
        None => fresh_preprocess(args, &d),
    };
    // Read with room for the prepared channels: each file's rows then exist once.
    let Inputs { train: train_data, val, test, test_truth } = load_inputs(args, preprocess.channels())?;
    let classes = train_data.classes();
    let members = match (&resumed, args.members) {
        (_, Some(0)) => bail!("--members must be at least 1"),
        (_, Some(m)) => m,
        (Some((card, ..)), None) => card.members,
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
    if let Some((old, ..)) = &resumed {
        if *old != card {
            bail!(
                "--resume: the checkpoint in {} was trained with another model, data shape, classes \
                 or number of --members; resume with the same --model, --train and --members, or \
                 choose a new --out",
                args.out.display()
            );
        }
    }
    let output = spec.output(classes.len())?;
    let layers = card.plan().map_err(|e| too_short(&spec, &card, e))?;

    // The main job's own validation set only watches: its log loss is least at epoch 4 at
    // seed 42, and that epoch's model flags 1.20% of the injection set's non-planets (epoch
    // 40: 0.67%). It punishes confident calls on hosts below the detection limit and on
    // binaries, which training keeps sharpening.
    let select_on_validation = args.val.is_some() || args.val_split.is_some();
    let options = match &resumed {
        // A resumed run keeps its options; only --epochs may extend it. Its arguments are
        // the first run's, so they give select_on_validation, which older checkpoints lack.
        Some((_, state, _)) => TrainOptions {
            epochs: args.epochs.unwrap_or(state.options.epochs),
            select_on_validation,
            ..state.options.clone()
        },
        None => fresh_options(args, &d, select_on_validation),
    };
    let mut options = options;
    validate(&options)?;

    let layout = if spec.time_major_input() { Layout::TimeMajor } else { Layout::ChannelsFirst };
    let prepare = |ds: Dataset| -> Result<Prepared> {
        data::check_known_classes(&ds, &classes)?;
        Ok(Prepared::new(&preprocess, ds, &classes, true))
    };
    let train_set = Arc::new(prepare(train_data)?);
    // Validation scores the networks, the thing being trained, not the fixed gate in front
    // of them: the planets it stops (probability 0) would add a constant larger than the loss.
    let val_set = val.map(&prepare).transpose()?.map(|v| Prepared { detections: None, ..v });
    let test_set = test.map(&prepare).transpose()?;

    let nets = Ensemble::build(be, &layers, output, options.batch, members)?;
    let slots = Slots::new(be, &nets)?;
    let mut progress = match resumed {
        Some((_, state, tensors)) => {
            nets.upload_params(be, &tensors, true)?;
            state.progress
        }
        None => rewind(be, &nets, &layers, &args.out, options.seed, false)?,
    };

    let parameters = model::summary::group(model::summary::totals(&layers).total);
    eprintln!(
        "Training {} on {} rows of length {} ({} classes) on {}; run directory {}",
        match members {
            1 => format!("{} ({parameters} parameters)", spec.name),
            m => format!("an ensemble of {m} {} networks ({parameters} parameters each)", spec.name),
        },
        train_set.rows,
        train_set.len,
        classes.len(),
        be.name(),
        args.out.display()
    );
    let mut hook = RunHook::new(&args.out, &card, &options, args.resume);
    let mut halvings = 0;
    let finished = loop {
        let rolled_channels = preprocess.time_channels();
        let trainer = Trainer { nets: &nets, slots: &slots, opts: &options, layout, rolled_channels };
        let error = match trainer.run(be, &train_set, val_set.as_ref(), &mut progress, &mut hook) {
            Ok(finished) => break finished,
            Err(e) => e,
        };
        hook.finish();
        let kept = match hook.checkpointed {
            true => format!("{}/checkpoint.safetensors holds the last good epoch", args.out.display()),
            false => "no epoch had finished, so there is no checkpoint".to_string(),
        };
        if let Some(lost) = error.downcast_ref::<crate::backend::DeviceLost>() {
            let next = match hook.checkpointed {
                true => format!(
                    "continue with `starskope train --resume --out {}` and the same arguments",
                    args.out.display()
                ),
                false => "start the run again".to_string(),
            };
            bail!("{lost}. {kept}; {next}");
        }
        if error.downcast_ref::<NonFinite>().is_none() {
            return Err(error);
        }
        if args.on_nan != OnNan::ReduceLr || halvings == MAX_LR_HALVINGS {
            return Err(error.context(format!("training stopped ({kept})")));
        }
        halvings += 1;
        options.adam.lr /= 2.0;
        hook.options = options.clone();
        progress = rewind(be, &nets, &layers, &args.out, options.seed, hook.checkpointed)?;
        eprintln!(
            "{error:#}\n--on-nan reduce-lr: going back to {} and continuing with --lr {} (halving {halvings} of {MAX_LR_HALVINGS})",
            match progress.history.len() {
                0 => "the start".to_string(),
                n => format!("the end of epoch {n}"),
            },
            options.adam.lr
        );
    };
    hook.finish();
    if !finished {
        bail!(
            "interrupted: {}/checkpoint.safetensors holds the last finished epoch; continue with \
             `starskope train --resume --out {}` and the same arguments",
            args.out.display(),
            args.out.display()
        );
    }

    // The last epoch's test metrics, then the selected model's.
    let evaluated = test_set.as_ref().or(val_set.as_ref()).unwrap_or(&train_set);
    let evaluated_on = match (&test_set, &val_set) {
        (Some(_), _) => "test",
        (None, Some(_)) => "validation",
        _ => "train",
    };
    let last_probs = evaluate::predict(be, &nets, slots.x[0], evaluated, layout)?;
    let best = checkpoint::load(&args.out.join("model.safetensors"))?;
    nets.upload_params(be, &best.tensors, false)?;
    let probs = evaluate::predict(be, &nets, slots.x[0], evaluated, layout)?;
    let truth = evaluated.classes.clone().unwrap_or_default();
    let run = RunReport::new(report::RunInputs {
        classes: &classes,
        truth: &truth,
        probs: &probs,
        last_probs: &last_probs,
        progress: &progress,
        device: be.name(),
        evaluated_on,
        snr_truth: if evaluated_on == "test" { test_truth.as_deref() } else { None },
        injection: match args.train {
            None => Some(injection_recovery(be, &nets, &slots, layout, &prepare, args.seed)?),
            Some(_) => None,
        },
    })?;
    report::write_metrics(&args.out, &run)?;
    report::write_history_and_plots(
        &args.out,
        &run,
        &progress,
        evaluated,
        &probs,
        preprocess.channel_names(),
    )?;
    Ok(run)
}

/// Scores the selected model on the injection set that goes with the built-in data.
fn injection_recovery(
    be: &mut dyn Backend,
    nets: &Ensemble,
    slots: &Slots,
    layout: Layout,
    prepare: &dyn Fn(Dataset) -> Result<Prepared>,
    seed: u64,
) -> Result<InjectionRecovery> {
    let set = injection::generate(seed)?;
    let prepared = prepare(set.data)?;
    let probs = evaluate::predict(be, nets, slots.x[0], &prepared, layout)?;
    let positive: Vec<bool> = probs.chunks(2).map(|p| argmax(p) == 1).collect();
    let detected = prepared.detections.map(|d| d.passed);
    Ok(injection::measure(&set.truth, &positive, detected.as_deref()))
}

/// A new run's preprocessing: the model's defaults with what `args` sets.
pub(crate) fn fresh_preprocess(args: &TrainArgs, d: &Defaults) -> Preprocess {
    Preprocess {
        smooth_window: match args.smooth {
            Some(0) => None,
            Some(w) => Some(w),
            None => d.preprocess.smooth_window,
        },
        ..d.preprocess.clone()
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

pub(crate) fn validate(o: &TrainOptions) -> Result<()> {
    if o.epochs == 0 {
        bail!("--epochs must be at least 1");
    }
    if o.batch == 0 {
        bail!("--batch must be at least 1");
    }
    if !(o.adam.lr > 0.0 && o.adam.lr.is_finite()) {
        bail!("--lr must be a positive number, got {}", o.adam.lr);
    }
    Ok(())
}

pub(crate) fn too_short(spec: &model::ModelSpec, card: &ModelCard, e: anyhow::Error) -> anyhow::Error {
    let min = card.output().ok().and_then(|o| plan::min_length(spec, card.channels, o));
    match min {
        Some(n) if card.length < n => anyhow::anyhow!(
            "the series have {} samples, but model '{}' needs at least {n}: use longer series or a model with \
             fewer or smaller layers ({e})",
            card.length,
            spec.name
        ),
        _ => e,
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
    let (train, mut test, test_truth) = match &args.train {
        Some(path) => (read_labelled(path, args.curves.labels.as_ref(), &needs("--labels"))?, None, None),
        None => {
            let cfg = builtin_config(args);
            eprintln!(
                "No --train given: generating the built-in synthetic K2 set ({} + {} stars, seed {})",
                cfg.train_stars, cfg.test_stars, cfg.seed
            );
            let set = synth::generate(&cfg)?;
            let dir = args.out.join("data");
            std::fs::create_dir_all(&dir)?;
            synth::write_exo_csv(&dir.join("exoTest.csv"), &set.test)?;
            synth::write_truth_csv(&dir.join("truth_test.csv"), &set.test_truth)?;
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
        (None, None) if args.train.is_none() => {
            eprintln!(
                "Validating on {} fresh synthetic stars ({} planet hosts) after every epoch",
                injection::VALIDATION_STARS,
                injection::VALIDATION_PLANETS
            );
            (train, Some(injection::validation_set(args.seed)?))
        }
        (None, None) => (train, None),
    };
    // After the split: validation keeps only real curves.
    let injected = args.inject.unwrap_or(if args.train.is_none() { defaults::BUILTIN_INJECTED } else { 0 });
    let mut train = with_injected_transits(train, injected, args)?;
    if args.train.is_none() {
        let cfg = builtin_config(args);
        train.append(synth::eclipsing_binaries(&cfg, defaults::BUILTIN_BINARIES)?);
        eprintln!("Added {} synthetic eclipsing binaries to the training set", defaults::BUILTIN_BINARIES);
        let (count, factor) = (defaults::BUILTIN_LONG_SPANS, defaults::LONG_SPAN_FACTOR);
        let long = synth::long_spans(&cfg, count, factor)?;
        // Another injection seed than the K2-length copies': other planets, not the same
        // draws in other stars.
        let planet_label = args.planet_label.clone().unwrap_or(Label::Int(defaults::PLANET_LABEL));
        let cfg = InjectConfig { count, snr: defaults::INJECTED_SNR, seed: !args.seed, planet_label };
        let hosts = synth::inject_transits(&long, &cfg).context("transits in the long spans")?;
        train.append(long);
        train.append(hosts);
        eprintln!(
            "Added {count} synthetic stars over {factor} times the span (several Kepler quarters), and \
             as many copies of them with injected transits"
        );
    }
    let test_truth = if args.test.is_some() { None } else { test_truth };
    Ok(Inputs { train, val, test, test_truth })
}

/// The built-in synthetic set's configuration.
fn builtin_config(args: &TrainArgs) -> SynthConfig {
    args.synth.clone().unwrap_or_else(|| SynthConfig { seed: args.seed, ..SynthConfig::default() })
}

fn with_injected_transits(mut train: Dataset, count: usize, args: &TrainArgs) -> Result<Dataset> {
    if count == 0 {
        return Ok(train);
    }
    let label = args.planet_label.clone().unwrap_or(Label::Int(defaults::PLANET_LABEL));
    if !train.labels.contains(&label) {
        bail!(
            "--inject: no training row has the planet label {label}, so injected transits would make a \
             new class; give the label of your planet hosts with --planet-label, or --inject 0"
        );
    }
    let cfg =
        InjectConfig { count, snr: defaults::INJECTED_SNR, seed: args.seed, planet_label: label.clone() };
    let extra = synth::inject_transits(&train, &cfg).context("--inject")?;
    eprintln!(
        "Added {count} training curves with simulated transits (S/N {} to {}) injected into copies of \
         non-planet curves, labelled {label}; --inject 0 turns this off",
        cfg.snr.0, cfg.snr.1
    );
    train.append(extra);
    Ok(train)
}

fn load_resume(dir: &Path) -> Result<(ModelCard, ResumeState, TensorMap)> {
    let path = dir.join("checkpoint.safetensors");
    if !path.exists() {
        bail!("--resume: {} has no checkpoint.safetensors to continue from", dir.display());
    }
    let ck = checkpoint::load(&path)?;
    let state: ResumeState = serde_json::from_str(ck.train_state.as_deref().unwrap_or_default())
        .with_context(|| format!("{}: the training state is missing or damaged", path.display()))?;
    Ok((ck.card, state, ck.tensors))
}

/// Back to the last checkpoint this run wrote, or to the initial values (and zero Adam
/// moments) when it has written none.
fn rewind(
    be: &mut dyn Backend,
    nets: &Ensemble,
    layers: &[plan::LayerPlan],
    dir: &Path,
    seed: u64,
    from_checkpoint: bool,
) -> Result<Progress> {
    if from_checkpoint {
        let (_, state, tensors) = load_resume(dir)?;
        nets.upload_params(be, &tensors, true)?;
        return Ok(state.progress);
    }
    nets.init(be, layers, seed);
    Ok(Progress::default())
}

/// Checkpoints and progress output at each epoch's end.
struct RunHook {
    dir: PathBuf,
    card: ModelCard,
    options: TrainOptions,
    bar: Option<ProgressBar>,
    interrupted: Arc<std::sync::atomic::AtomicBool>,
    /// Whether checkpoint.safetensors holds this run (written by it, or resumed from).
    checkpointed: bool,
}

impl RunHook {
    fn new(dir: &Path, card: &ModelCard, options: &TrainOptions, resumed: bool) -> RunHook {
        RunHook {
            dir: dir.to_path_buf(),
            card: card.clone(),
            options: options.clone(),
            bar: None,
            interrupted: crate::train::interrupt::flag(),
            checkpointed: resumed,
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl EpochHook for RunHook {
    fn step(&mut self, done: usize, of: usize, loss: Option<f64>) {
        if !std::io::stderr().is_terminal() {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::new(of as u64);
            let style = ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} steps  {msg}  {per_sec}  ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar
        });
        bar.set_length(of as u64);
        bar.set_position(done as u64);
        if let Some(l) = loss {
            bar.set_message(format!("loss {l:.4}"));
        }
    }

    fn epoch_end(
        &mut self,
        nets: &Ensemble,
        be: &mut dyn Backend,
        progress: &Progress,
        improved: bool,
    ) -> Result<()> {
        let r = progress.history.last().expect("an epoch just ended");
        let line = r.line(self.options.epochs, improved);
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
        let state = serde_json::to_string(&ResumeState {
            options: self.options.clone(),
            progress: progress.clone(),
        })?;
        let tensors = nets.download_params(be, true)?;
        guard::check_weights(&tensors, nets, be, r.epoch, progress.steps)?;
        if improved {
            checkpoint::save(
                &self.dir.join("model.safetensors"),
                &self.card,
                &nets.without_optimizer(&tensors),
                None,
            )?;
        }
        checkpoint::save(&self.dir.join("checkpoint.safetensors"), &self.card, &tensors, Some(&state))?;
        self.checkpointed = true;
        Ok(())
    }

    fn interrupted(&self) -> bool {
        self.interrupted.load(std::sync::atomic::Ordering::SeqCst)
    }
}
