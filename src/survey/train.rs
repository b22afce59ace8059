//! `starskope survey train`, a recipe over the run driver ([`driver`]): survey files, a
//! per-object data set or the synthetic set in; features, standardization, the
//! `survey-mlp` net trained by the driver, and the competition metric out, in one run
//! directory: `model.safetensors` (the best epoch by validation loss, its features'
//! standardization in it), `checkpoint.safetensors` (for `--resume`), and `metrics.json` in the layout of `starskope train`'s (the report at the
//! top level: accuracy, balanced_accuracy, classes, per_class, confusion, ...) with the
//! weighted log loss and the class-prior baseline added; history.csv and the plots.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::backend::{Activation, AdamConfig, Backend, Storage};
use crate::data::label::{self, Label};
use crate::data::{self, FeatureScaling, Layout, Preprocess, SampleMode};
use crate::metrics::Report;
use crate::model::checkpoint::ModelCard;
use crate::model::presets::{survey_mlp, SURVEY_MLP_WIDTHS};
use crate::model::spec::{Head, LayerSpec, ModelSpec};
use crate::model::{self, Ensemble};
use crate::train::driver::{self, Resumed};
use crate::train::evaluate::{self, Prepared};
use crate::train::guard::OnNan;
use crate::train::report::{self, RunReport};
use crate::train::trainer::TrainOptions;

use super::features::FeatureTable;
use super::labels::{LabelColumns, LabelTable};
use super::metric;
use super::objects::read_objects;
use super::reader::{read_survey, Survey};
use super::standardize;
use super::synth::{self, SurveySynthConfig};
use super::writer::write_survey;

/// Where the objects come from: PLAsTiCC-layout files, or the built-in synthetic set.
#[derive(Clone, Debug)]
pub enum Source {
    Files {
        obs: PathBuf,
        meta: PathBuf,
        test: Option<(PathBuf, PathBuf)>,
    },
    /// Per-object data sets ([`super::objects`]).
    Objects {
        train: ObjectSet,
        test: Option<ObjectSet>,
    },
    /// `objects` training objects and half as many test objects, from the run's seed.
    Synthetic {
        objects: usize,
    },
}

/// A directory of per-object light curves and the table of their classes.
#[derive(Clone, Debug)]
pub struct ObjectSet {
    pub dir: PathBuf,
    /// The label table; None: the directory's `labels.csv` if it has one, else unlabelled.
    pub labels: Option<PathBuf>,
    pub columns: LabelColumns,
}

impl ObjectSet {
    /// The objects, with the warnings about what was left out printed to stderr.
    pub fn load(&self) -> Result<Survey> {
        let own = self.dir.join("labels.csv");
        let path = self.labels.clone().or_else(|| own.is_file().then_some(own));
        let table = path.map(|p| LabelTable::read(&p, &self.columns)).transpose()?;
        let (survey, skipped) = read_objects(&self.dir, table.as_ref())?;
        for w in skipped.warnings(&self.dir) {
            eprintln!("{w}");
        }
        Ok(survey)
    }
}

/// The `survey-mlp` knobs; None keeps the preset's value.
#[derive(Clone, Debug, Default)]
pub struct MlpOptions {
    pub widths: Option<Vec<usize>>,
    pub activation: Option<Activation>,
    pub dropout: Option<f32>,
}

#[derive(Clone, Debug)]
pub struct SurveyTrainArgs {
    pub source: Source,
    /// "survey-mlp" or a JSON model file.
    pub model: String,
    pub mlp: MlpOptions,
    pub epochs: usize,
    pub batch: usize,
    pub lr: f32,
    pub seed: u64,
    /// Fraction of the training objects held out (stratified) for model selection.
    pub val_split: f64,
    /// `class,weight` file for the metric; all 1 without it.
    pub weights: Option<PathBuf>,
    /// How training batches are drawn; balanced: every class an equal share.
    pub sampling: SampleMode,
    /// Weight each class's loss by n / (k * count) (for shuffled batches).
    pub class_weights: bool,
    pub out: PathBuf,
    /// Continue the interrupted run in `out` from its last checkpoint.
    pub resume: bool,
}

/// The recipe's defaults (`starskope survey train`'s flags say the same).
pub const EPOCHS: usize = 40;
pub const BATCH: usize = 64;
pub const LR: f32 = 1e-3;
pub const VAL_SPLIT: f64 = 0.2;
/// Training objects of the built-in synthetic set.
pub const SYNTH_OBJECTS: usize = 2000;

impl SurveyTrainArgs {
    /// survey-mlp with the recipe's defaults on `source`, into `out`.
    pub fn recipe(source: Source, seed: u64, out: PathBuf) -> SurveyTrainArgs {
        SurveyTrainArgs {
            source,
            model: "survey-mlp".into(),
            mlp: MlpOptions::default(),
            epochs: EPOCHS,
            batch: BATCH,
            lr: LR,
            seed,
            val_split: VAL_SPLIT,
            weights: None,
            sampling: SampleMode::Balanced,
            class_weights: false,
            out,
            resume: false,
        }
    }
}

/// Accuracy, balanced accuracy and the competition metric of one set of predictions.
#[derive(Clone, Debug, Serialize)]
pub struct Scores {
    pub accuracy: f64,
    pub balanced_accuracy: f64,
    pub weighted_log_loss: f64,
}

/// metrics.json: `starskope train`'s [`RunReport`] (flattened: its report's accuracy,
/// balanced_accuracy, classes, per_class, confusion, ... at the top level) and what the
/// survey adds.
#[derive(Serialize)]
pub struct SurveyMetrics {
    #[serde(flatten)]
    pub run: RunReport,
    /// The competition's metric for the selected model, with `class_weights`.
    pub weighted_log_loss: f64,
    pub class_weights: Vec<f64>,
    /// Predicting the training class frequencies for every object: its accuracy and
    /// balanced accuracy are the majority-class guess's.
    pub prior_baseline: Scores,
    pub features: usize,
    pub train_objects: usize,
    /// The last epoch's mean training loss (what CPU and GPU runs of one seed agree on).
    pub final_train_loss: f64,
}

/// Trains and evaluates through the run driver; writes the run directory.
pub fn train(args: &SurveyTrainArgs, be: &mut dyn Backend) -> Result<SurveyMetrics> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create the run directory {}", args.out.display()))?;
    let resumed = if args.resume { Some(Resumed::load(&args.out)?) } else { None };
    let options = TrainOptions {
        epochs: args.epochs,
        batch: args.batch,
        adam: AdamConfig { lr: args.lr, ..AdamConfig::default() },
        seed: args.seed,
        sampling: args.sampling,
        roll: false,
        class_weights: args.class_weights,
        patience: None,
        select_on_validation: true,
    };
    driver::validate(&options)?;
    let (survey, test) = load(args)?;
    let labels = survey.labels().with_context(|| {
        format!("{}: the metadata has no target column, so there is nothing to train on", survey.source)
    })?;
    let all = FeatureTable::of(&survey);
    let (train_rows, val_rows) = data::stratified_split(&labels, args.val_split, args.seed)?;
    let train = all.subset(&train_rows);
    let val = all.subset(&val_rows);
    let classes = label::distinct(train.targets.as_deref().unwrap_or_default());
    if classes.len() < 2 {
        bail!("{}: training needs at least 2 classes, the training part has {:?}", survey.source, classes);
    }
    let weights = match &args.weights {
        Some(path) => metric::read_class_weights(path, &classes)?,
        None => vec![1.0; classes.len()],
    };
    let scaling = standardize::fit(&train);
    let prepare = |t: &FeatureTable| prepared(t, &scaling, &classes, &survey.source);
    let train_set = Arc::new(prepare(&train)?);
    let train_truth = train_set.classes.clone().unwrap_or_default();
    let card = ModelCard {
        spec: spec(args)?,
        preprocess: Preprocess::SurveyFeatures { scaling: scaling.clone() },
        classes: classes.clone(),
        channels: 1,
        length: train.width(),
        members: 1,
    };
    let run = driver::Run {
        command: "starskope survey train",
        out: &args.out,
        card,
        options,
        on_nan: OnNan::default(),
        resumed,
        train: train_set,
        val: Some(prepare(&val)?),
        test: test.as_ref().map(|s| prepare(&FeatureTable::of(s))).transpose()?,
    };
    let done = driver::drive(be, run)?;
    let (evaluated, probs) = (&*done.evaluated, &done.probs);
    let truth = evaluated.classes.clone().unwrap_or_default();
    let prior = metric::prior_probs(&train_truth, classes.len(), truth.len());
    let run = done.report(&classes, be.name(), None, None)?;
    let metrics = SurveyMetrics {
        weighted_log_loss: metric::weighted_log_loss(probs, &truth, &weights),
        class_weights: weights.clone(),
        prior_baseline: scores(&classes, &prior, &truth, &weights)?,
        features: train.width(),
        train_objects: train.rows(),
        final_train_loss: done.progress.history.last().map_or(f64::NAN, |r| r.train_loss),
        run,
    };
    report::write_metrics(&args.out, &metrics)?;
    done.write_history_and_plots(
        &args.out,
        &metrics.run,
        Preprocess::SurveyFeatures { scaling }.channel_names(),
    )?;
    Ok(metrics)
}

pub fn scores(classes: &[Label], probs: &[f32], truth: &[usize], weights: &[f64]) -> Result<Scores> {
    let report = Report::new(classes, truth, probs)?;
    Ok(Scores {
        accuracy: report.accuracy,
        balanced_accuracy: report.balanced_accuracy,
        weighted_log_loss: metric::weighted_log_loss(probs, truth, weights),
    })
}

/// Class probabilities of a survey from a model written by [`train`] (or by an older
/// version, with its `standardization.json` beside it): (objects, classes) row-major.
pub fn score(be: &mut dyn Backend, model_path: &Path, survey: &Survey) -> Result<(ModelCard, Vec<f32>)> {
    let (ck, scaling) = standardize::load_model(model_path)?;
    // unlabelled here: the caller decides what a label the model does not know means
    let features = FeatureTable { targets: None, ..FeatureTable::of(survey) };
    let set = prepared(&features, &scaling, &ck.card.classes, &survey.source)?;
    let layers = ck.card.plan()?;
    let batch = set.rows.clamp(1, 64);
    let nets = Ensemble::load(be, &ck, &layers, batch)?;
    let x = be.try_alloc_as(batch * nets.head().input.numel(), Storage::Data).context("the input batch")?;
    let probs = evaluate::predict(be, &nets, x, &set, Layout::ChannelsFirst)?;
    Ok((ck.card, probs))
}

/// Standardized features as one-channel rows; class indices when the objects have targets.
fn prepared(t: &FeatureTable, s: &FeatureScaling, classes: &[Label], source: &str) -> Result<Prepared> {
    let class_of = |labels: &Vec<Label>| -> Result<Vec<usize>> {
        labels
            .iter()
            .map(|l| {
                classes.binary_search(l).map_err(|_| {
                    anyhow::anyhow!(
                        "{source}: class {l} is not one the model knows ({classes:?}); remove those objects"
                    )
                })
            })
            .collect()
    };
    Ok(Prepared {
        values: standardize::apply(s, t)?,
        rows: t.rows(),
        channels: 1,
        len: t.width(),
        classes: t.targets.as_ref().map(class_of).transpose()?,
        detections: None,
    })
}

/// The net: survey-mlp with the user's widths, activation and dropout, or a JSON model
/// (a leading flatten is added when it lacks one: features arrive as one channel).
fn spec(args: &SurveyTrainArgs) -> Result<ModelSpec> {
    let m = &args.mlp;
    if args.model == "survey-mlp" {
        let widths = m.widths.clone().unwrap_or(SURVEY_MLP_WIDTHS.to_vec());
        let layers = survey_mlp(&widths, m.activation.unwrap_or(Activation::Relu), m.dropout.unwrap_or(0.25));
        return Ok(ModelSpec { name: args.model.clone(), layers, head: Head::Softmax });
    }
    if m.widths.is_some() || m.activation.is_some() || m.dropout.is_some() {
        bail!("--widths, --activation and --dropout shape survey-mlp; a JSON model file lists its layers itself");
    }
    let mut spec = model::resolve(&args.model)?;
    if spec.layers.first() != Some(&LayerSpec::Flatten) {
        spec.layers.insert(0, LayerSpec::Flatten);
    }
    Ok(spec)
}

fn load(args: &SurveyTrainArgs) -> Result<(Survey, Option<Survey>)> {
    match &args.source {
        Source::Files { obs, meta, test } => {
            let train = read_survey(obs, meta)?;
            let test = test.as_ref().map(|(o, m)| read_survey(o, m)).transpose()?;
            Ok((train, test))
        }
        Source::Objects { train, test } => {
            let train = train.load()?;
            let test = test.as_ref().map(ObjectSet::load).transpose()?;
            Ok((train, test))
        }
        Source::Synthetic { objects } => {
            let train = synth::generate(&SurveySynthConfig { objects: *objects, seed: args.seed });
            // another stream: the test objects are not copies of training ones
            let test = synth::generate(&SurveySynthConfig { objects: objects / 2, seed: !args.seed });
            let dir = args.out.join("data");
            std::fs::create_dir_all(&dir)?;
            write_survey(&test, &dir.join("test_obs.csv"), &dir.join("test_meta.csv"))?;
            Ok((train, Some(test)))
        }
    }
}
