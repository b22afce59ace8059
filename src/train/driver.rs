//! The run driver every recipe trains through (`starskope train` on light curves, `survey
//! train` on survey features): networks built from a card, training with a checkpoint
//! per epoch (`checkpoint.safetensors`, for `--resume`) and the best epoch kept
//! (`model.safetensors`), `--on-nan reduce-lr`, and the final evaluation of the selected
//! model. A recipe reads and prepares its data, builds the card, then writes its report.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::data::Label;
use crate::data::Layout;
use crate::model::checkpoint::{self, ModelCard, TensorMap};
use crate::model::{self, plan, Ensemble};
use crate::synth::TruthRow;
use crate::train::evaluate::{self, Prepared};
use crate::train::guard::{self, NonFinite, OnNan, MAX_LR_HALVINGS};
use crate::train::k2_recipe::injection::InjectionRecovery;
use crate::train::report::{self, RunInputs, RunReport};
use crate::train::trainer::{EpochHook, Progress, Slots, TrainOptions, Trainer};

/// The run state stored in every checkpoint: with the card, enough to resume.
#[derive(Serialize, Deserialize)]
struct ResumeState {
    options: TrainOptions,
    progress: Progress,
}

/// What `checkpoint.safetensors` of an interrupted run holds.
pub struct Resumed {
    pub card: ModelCard,
    state: ResumeState,
    tensors: TensorMap,
}

impl Resumed {
    /// The run directory's last checkpoint.
    pub fn load(dir: &Path) -> Result<Resumed> {
        let path = dir.join("checkpoint.safetensors");
        if !path.exists() {
            bail!("--resume: {} has no checkpoint.safetensors to continue from", dir.display());
        }
        let ck = checkpoint::load(&path)?;
        let state: ResumeState = serde_json::from_str(ck.train_state.as_deref().unwrap_or_default())
            .with_context(|| format!("{}: the training state is missing or damaged", path.display()))?;
        Ok(Resumed { card: ck.card, state, tensors: ck.tensors })
    }

    /// The options the run was started with.
    pub fn options(&self) -> &TrainOptions {
        &self.state.options
    }
}

/// One run: its directory, model, options (checked by [`validate`]) and prepared data.
pub struct Run<'a> {
    /// The command that continues the run, for messages: `starskope train`, ...
    pub command: &'static str,
    pub out: &'a Path,
    pub card: ModelCard,
    pub options: TrainOptions,
    pub on_nan: OnNan,
    /// Continue from this checkpoint (its card must be `card`).
    pub resumed: Option<Resumed>,
    pub train: Arc<Prepared>,
    /// Selects the best epoch when `options.select_on_validation`; watched otherwise.
    pub val: Option<Prepared>,
    /// Scored once, with the selected model.
    pub test: Option<Prepared>,
}

/// A finished run: the selected model's networks and its class probabilities on the
/// evaluated set (the test set, else the validation set, else the training set).
pub struct Outcome {
    pub nets: Ensemble,
    pub slots: Slots,
    pub layout: Layout,
    pub progress: Progress,
    pub evaluated: Arc<Prepared>,
    pub evaluated_on: &'static str,
    /// The selected model's probabilities, (rows, classes) row-major.
    pub probs: Vec<f32>,
    /// The last epoch's.
    pub last_probs: Vec<f32>,
}

impl Outcome {
    /// The run's report on the set it was evaluated on. `snr_truth` (the built-in test
    /// set's) is used only when that set is the test set.
    pub fn report(
        &self,
        classes: &[Label],
        device: String,
        snr_truth: Option<&[TruthRow]>,
        injection: Option<InjectionRecovery>,
    ) -> Result<RunReport> {
        let truth = self.evaluated.classes.clone().unwrap_or_default();
        RunReport::new(RunInputs {
            classes,
            truth: &truth,
            probs: &self.probs,
            last_probs: &self.last_probs,
            progress: &self.progress,
            device,
            evaluated_on: self.evaluated_on,
            snr_truth: snr_truth.filter(|_| self.evaluated_on == "test"),
            injection,
        })
    }

    /// history.csv and the plots beside the run's metrics.json.
    pub fn write_history_and_plots(&self, out: &Path, run: &RunReport, channel_names: &str) -> Result<()> {
        report::write_history_and_plots(out, run, &self.progress, &self.evaluated, &self.probs, channel_names)
    }
}

pub fn drive(be: &mut dyn Backend, run: Run) -> Result<Outcome> {
    let Run { command, out, card, mut options, on_nan, resumed, train, val, test } = run;
    if let Some(old) = &resumed {
        if old.card != card {
            bail!(
                "--resume: the checkpoint in {} was trained with another model, data shape, classes \
                 or number of --members; resume with the same --model, --train and --members, or \
                 choose a new --out",
                out.display()
            );
        }
    }
    let spec = &card.spec;
    let layers = card.plan().map_err(|e| too_short(spec, &card, e))?;
    let layout = if spec.time_major_input() { Layout::TimeMajor } else { Layout::ChannelsFirst };
    let nets = Ensemble::build(be, &layers, card.output()?, options.batch, card.members)?;
    let slots = Slots::new(be, &nets)?;
    let was_resumed = resumed.is_some();
    let mut progress = match resumed {
        Some(r) => {
            nets.upload_params(be, &r.tensors, true)?;
            r.state.progress
        }
        None => rewind(be, &nets, &layers, out, options.seed, false)?,
    };

    let parameters = model::summary::group(model::summary::totals(&layers).total);
    eprintln!(
        "Training {} on {} rows of length {} ({} classes) on {}; run directory {}",
        match card.members {
            1 => format!("{} ({parameters} parameters)", spec.name),
            m => format!("an ensemble of {m} {} networks ({parameters} parameters each)", spec.name),
        },
        train.rows,
        train.len,
        card.classes.len(),
        be.name(),
        out.display()
    );
    let mut hook = RunHook::new(out, &card, &options, was_resumed);
    let mut halvings = 0;
    let rolled_channels = card.preprocess.time_channels();
    let finished = loop {
        let trainer = Trainer { nets: &nets, slots: &slots, opts: &options, layout, rolled_channels };
        let error = match trainer.run(be, &train, val.as_ref(), &mut progress, &mut hook) {
            Ok(finished) => break finished,
            Err(e) => e,
        };
        hook.finish();
        let kept = match hook.checkpointed {
            true => format!("{}/checkpoint.safetensors holds the last good epoch", out.display()),
            false => "no epoch had finished, so there is no checkpoint".to_string(),
        };
        if let Some(lost) = error.downcast_ref::<crate::backend::DeviceLost>() {
            let next = match hook.checkpointed {
                true => format!(
                    "continue with `{command} --resume --out {}` and the same arguments",
                    out.display()
                ),
                false => "start the run again".to_string(),
            };
            bail!("{lost}. {kept}; {next}");
        }
        if error.downcast_ref::<NonFinite>().is_none() {
            return Err(error);
        }
        if on_nan != OnNan::ReduceLr || halvings == MAX_LR_HALVINGS {
            return Err(error.context(format!("training stopped ({kept})")));
        }
        halvings += 1;
        options.adam.lr /= 2.0;
        hook.options = options.clone();
        progress = rewind(be, &nets, &layers, out, options.seed, hook.checkpointed)?;
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
             `{command} --resume --out {}` and the same arguments",
            out.display(),
            out.display()
        );
    }

    // The last epoch's metrics, then the selected model's.
    let (evaluated, evaluated_on) = match (test, val) {
        (Some(t), _) => (Arc::new(t), "test"),
        (None, Some(v)) => (Arc::new(v), "validation"),
        (None, None) => (train, "train"),
    };
    let last_probs = evaluate::predict(be, &nets, slots.x[0], &evaluated, layout)?;
    let best = checkpoint::load(&out.join("model.safetensors"))?;
    nets.upload_params(be, &best.tensors, false)?;
    let probs = evaluate::predict(be, &nets, slots.x[0], &evaluated, layout)?;
    Ok(Outcome { nets, slots, layout, progress, evaluated, evaluated_on, probs, last_probs })
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
        let r = Resumed::load(dir)?;
        nets.upload_params(be, &r.tensors, true)?;
        return Ok(r.state.progress);
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
