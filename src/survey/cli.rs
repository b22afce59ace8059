//! `starskope survey train|eval|predict|features|split|synth`: the survey subcommands'
//! arguments and what each prints. The work itself is in [`super::train`] and the data
//! modules.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};

use crate::backend::{Activation, Backend};
use crate::data::label::csv_cell;
use crate::data::{Label, SampleMode};
use crate::device::{self, DeviceChoice};
use crate::metrics::{render_table, Report};

use super::features::FeatureTable;
use super::labels::{LabelColumns, LabelTable};
use super::metric;
use super::reader::{read_survey, Survey};
use super::synth::{self, SurveySynthConfig, SYNTH_CLASSES};
use super::train::{self, MlpOptions, ObjectSet, Source, SurveyMetrics, SurveyTrainArgs};
use super::writer::write_survey;

/// The competition's label for "none of the training classes".
pub const UNKNOWN_LABEL: Label = Label::Int(99);

#[derive(Subcommand)]
pub enum SurveyCmd {
    /// Train survey-mlp on per-object features of a per-object data set (--train DIR),
    /// PLAsTiCC-layout files (--obs/--meta) or, with neither, a synthetic multi-band set;
    /// writes model.safetensors (the features' standardization in it), metrics.json (the
    /// layout of `starskope train`'s, plus the weighted log loss), history.csv and plots
    /// to --out.
    Train(TrainCmd),
    /// Score a labelled per-object data set or PLAsTiCC-layout files with a trained survey model.
    Eval(EvalCmd),
    /// Write each object's class probabilities: object_id, label (if known), p_<class>..., predicted.
    Predict(PredictCmd),
    /// Split a label table into two halves (or another fraction), stratified by class by a
    /// seeded shuffle; writes train_labels.csv and test_labels.csv (object_id,label).
    Split(SplitCmd),
    /// Write the per-object features as CSV (object_id, target, one column per feature).
    Features(FeaturesCmd),
    /// Write a synthetic multi-band set as PLAsTiCC-layout observations and metadata CSVs.
    Synth(SynthCmd),
}

/// Where a label table's id and class columns are (default: recognized by name).
#[derive(Args, Clone)]
pub struct ColumnArgs {
    /// The label table's object id column (default: the first of object_id, id, Num,
    /// ZTFID, oid, name that it has).
    #[arg(long)]
    id_column: Option<String>,
    /// The label table's class column (default: the first of label, target, class,
    /// type, subtype that it has).
    #[arg(long)]
    label_column: Option<String>,
}

impl ColumnArgs {
    fn columns(&self) -> LabelColumns {
        LabelColumns { id: self.id_column.clone(), label: self.label_column.clone() }
    }
}

/// A per-object data set: one `<object_id>.csv` per object (time, band, mag/magerr or
/// flux/fluxerr) in DIR; classes from --labels, or DIR/labels.csv.
#[derive(Args)]
pub struct ObjectArgs {
    /// Directory of per-object light curves.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Label table of the objects (default: labels.csv in the --data directory). Only
    /// the objects it lists are read.
    #[arg(long, requires = "data")]
    labels: Option<PathBuf>,
    #[command(flatten)]
    columns: ColumnArgs,
}

impl ObjectArgs {
    fn set(&self) -> Option<ObjectSet> {
        self.data.clone().map(|dir| ObjectSet {
            dir,
            labels: self.labels.clone(),
            columns: self.columns.columns(),
        })
    }
}

/// The two files of a PLAsTiCC-layout set; neither means the synthetic set.
#[derive(Args)]
pub struct DataArgs {
    /// Observations CSV: object_id,mjd,passband,flux,flux_err,detected_bool.
    #[arg(long, requires = "meta")]
    obs: Option<PathBuf>,
    /// Metadata CSV: object_id,ra,decl,gal_l,gal_b,ddf,hostgal_specz,hostgal_photoz,
    /// hostgal_photoz_err,distmod,mwebv[,target].
    #[arg(long, requires = "obs")]
    meta: Option<PathBuf>,
    /// Objects of the synthetic set, when no files are given.
    #[arg(long, default_value_t = train::SYNTH_OBJECTS)]
    objects: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[derive(Args)]
pub struct TrainCmd {
    #[command(flatten)]
    data: DataArgs,
    /// Per-object training set: a directory of <object_id>.csv light curves.
    #[arg(long, conflicts_with_all = ["obs", "meta"])]
    train: Option<PathBuf>,
    /// Label table of the training objects (default: labels.csv in --train).
    #[arg(long, requires = "train")]
    labels: Option<PathBuf>,
    /// Per-object test set, scored once with the selected model.
    #[arg(long, requires = "train")]
    test: Option<PathBuf>,
    /// Label table of the test objects (default: labels.csv in --test).
    #[arg(long, requires = "test")]
    test_labels: Option<PathBuf>,
    #[command(flatten)]
    columns: ColumnArgs,
    /// Test set observations (with --test-meta): scored once with the selected model.
    #[arg(long, requires = "test_meta")]
    test_obs: Option<PathBuf>,
    #[arg(long, requires = "test_obs")]
    test_meta: Option<PathBuf>,
    /// survey-mlp, or a JSON model file (a leading flatten is added if it has none).
    #[arg(long, default_value = "survey-mlp")]
    model: String,
    /// Hidden layer widths of survey-mlp, e.g. 64,64 or 512,512,512,512,512.
    #[arg(long, value_delimiter = ',')]
    widths: Option<Vec<usize>>,
    /// Hidden activation of survey-mlp (default relu; the original net used sigmoid).
    #[arg(long, value_enum)]
    activation: Option<ActivationArg>,
    /// Dropout after each hidden layer of survey-mlp (default 0.25; 0 = none).
    #[arg(long)]
    dropout: Option<f32>,
    #[arg(long, default_value_t = train::EPOCHS)]
    epochs: usize,
    #[arg(long, default_value_t = train::BATCH)]
    batch: usize,
    #[arg(long, default_value_t = train::LR)]
    lr: f32,
    /// Fraction of the training objects held out (stratified) to select the best epoch.
    #[arg(long, default_value_t = train::VAL_SPLIT)]
    val_split: f64,
    /// Per-class weights of the metric: `class,weight` lines. Default: all 1.
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Training batches: balanced (every class an equal share, drawn with replacement)
    /// or shuffled (each row once per epoch).
    #[arg(long, value_enum, default_value = "balanced")]
    sampling: SamplingArg,
    /// Weight each class's loss by n / (k * count) (use with --sampling shuffled).
    #[arg(long)]
    class_weights: bool,
    #[arg(long, value_enum, default_value_t)]
    device: DeviceChoice,
    /// Run directory. Default: runs/survey-mlp-seed<seed>.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the interrupted run in --out from its last checkpoint (same arguments).
    #[arg(long)]
    resume: bool,
}

#[derive(Args)]
pub struct EvalCmd {
    /// A model.safetensors written by `survey train`.
    #[arg(long)]
    model: PathBuf,
    #[command(flatten)]
    objects: ObjectArgs,
    #[arg(long, requires = "meta")]
    obs: Option<PathBuf>,
    #[arg(long, requires = "obs")]
    meta: Option<PathBuf>,
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Score objects of classes the model does not know as class 99, with
    /// p_99 = SCALE * (1 - max p) appended to each row (then rows renormalized).
    #[arg(long)]
    unknown_scale: Option<f64>,
    #[arg(long, value_enum, default_value_t)]
    device: DeviceChoice,
}

#[derive(Args)]
pub struct PredictCmd {
    /// A model.safetensors written by `survey train`.
    #[arg(long)]
    model: PathBuf,
    #[command(flatten)]
    objects: ObjectArgs,
    /// Output CSV file.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    device: DeviceChoice,
}

#[derive(Args)]
pub struct SplitCmd {
    /// The label table to split (e.g. a catalogue: other columns are ignored).
    #[arg(long)]
    labels: PathBuf,
    #[command(flatten)]
    columns: ColumnArgs,
    /// Fraction of each class that goes to the test half.
    #[arg(long, default_value_t = 0.5)]
    fraction: f64,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Directory for train_labels.csv and test_labels.csv.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
pub struct FeaturesCmd {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    objects: ObjectArgs,
    /// Output CSV file.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
pub struct SynthCmd {
    /// Directory for train_obs.csv, train_meta.csv, test_obs.csv, test_meta.csv.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 2000)]
    objects: usize,
    #[arg(long, default_value_t = 1000)]
    test_objects: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SamplingArg {
    Balanced,
    Shuffled,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ActivationArg {
    Relu,
    Sigmoid,
    Tanh,
}

impl From<ActivationArg> for Activation {
    fn from(a: ActivationArg) -> Activation {
        match a {
            ActivationArg::Relu => Activation::Relu,
            ActivationArg::Sigmoid => Activation::Sigmoid,
            ActivationArg::Tanh => Activation::Tanh,
        }
    }
}

pub fn run(cmd: SurveyCmd) -> Result<()> {
    match cmd {
        SurveyCmd::Train(t) => train_cmd(t),
        SurveyCmd::Eval(e) => eval_cmd(e),
        SurveyCmd::Predict(p) => predict_cmd(p),
        SurveyCmd::Split(s) => split_cmd(s),
        SurveyCmd::Features(f) => {
            let survey = match f.objects.set() {
                Some(_) if f.data.obs.is_some() => {
                    bail!("give either --data DIR or --obs and --meta, not both")
                }
                Some(set) => set.load()?,
                None => load(&f.data)?,
            };
            let table = FeatureTable::of(&survey);
            table.write_csv(&f.out)?;
            println!("Wrote {} features of {} objects to {}", table.width(), table.rows(), f.out.display());
            Ok(())
        }
        SurveyCmd::Synth(s) => {
            std::fs::create_dir_all(&s.out).with_context(|| format!("cannot create {}", s.out.display()))?;
            for (name, objects, seed) in [("train", s.objects, s.seed), ("test", s.test_objects, !s.seed)] {
                let set = synth::generate(&SurveySynthConfig { objects, seed });
                write_survey(
                    &set,
                    &s.out.join(format!("{name}_obs.csv")),
                    &s.out.join(format!("{name}_meta.csv")),
                )?;
            }
            let classes: Vec<String> =
                SYNTH_CLASSES.iter().map(|(l, what, _)| format!("{l} {what}")).collect();
            println!(
                "Wrote {} training and {} test objects ({}) to {}",
                s.objects,
                s.test_objects,
                classes.join(", "),
                s.out.display()
            );
            Ok(())
        }
    }
}

fn load(d: &DataArgs) -> Result<Survey> {
    Ok(match (&d.obs, &d.meta) {
        (Some(obs), Some(meta)) => read_survey(obs, meta)?,
        _ => synth::generate(&SurveySynthConfig { objects: d.objects, seed: d.seed }),
    })
}

/// `starskope train --model survey-mlp` with no --train: the built-in multi-band set
/// (`objects` of it, None: the default), trained as `starskope survey train` would with
/// these settings (None: its defaults).
pub fn train_builtin(
    settings: BuiltinSettings,
    seed: u64,
    device: DeviceChoice,
    out: Option<PathBuf>,
) -> Result<()> {
    let mut args = SurveyTrainArgs::recipe(
        Source::Synthetic { objects: settings.objects.unwrap_or(train::SYNTH_OBJECTS) },
        seed,
        out.unwrap_or_else(|| default_out(seed)),
    );
    args.epochs = settings.epochs.unwrap_or(args.epochs);
    args.batch = settings.batch.unwrap_or(args.batch);
    args.lr = settings.lr.unwrap_or(args.lr);
    eprintln!("--model survey-mlp with no --train: training on the built-in multi-band survey set (see `starskope survey train --help`)");
    train_and_print(&args, device)
}

/// What `starskope train` may set of the built-in survey run; None keeps the recipe's.
pub struct BuiltinSettings {
    pub objects: Option<usize>,
    pub epochs: Option<usize>,
    pub batch: Option<usize>,
    pub lr: Option<f32>,
}

fn default_out(seed: u64) -> PathBuf {
    PathBuf::from(format!("runs/survey-mlp-seed{seed}"))
}

fn train_and_print(args: &SurveyTrainArgs, device: DeviceChoice) -> Result<()> {
    let mut be = device::open(device)?;
    let m = train::train(args, be.as_mut())?;
    print_metrics(&m);
    println!("Model and metrics.json written to {}/", args.out.display());
    Ok(())
}

fn train_cmd(t: TrainCmd) -> Result<()> {
    let columns = t.columns.columns();
    let set = |dir: PathBuf, labels: Option<PathBuf>| ObjectSet { dir, labels, columns: columns.clone() };
    let source = match (t.data.obs, t.data.meta, t.train) {
        (_, _, Some(train)) => {
            Source::Objects { train: set(train, t.labels), test: t.test.map(|dir| set(dir, t.test_labels)) }
        }
        (Some(obs), Some(meta), None) => Source::Files { obs, meta, test: t.test_obs.zip(t.test_meta) },
        _ if t.test_obs.is_some() => bail!("--test-obs needs training files too: give --obs and --meta"),
        _ => Source::Synthetic { objects: t.data.objects },
    };
    let args = SurveyTrainArgs {
        source,
        out: t.out.unwrap_or_else(|| default_out(t.data.seed)),
        model: t.model,
        mlp: MlpOptions { widths: t.widths, activation: t.activation.map(Into::into), dropout: t.dropout },
        epochs: t.epochs,
        batch: t.batch,
        lr: t.lr,
        seed: t.data.seed,
        val_split: t.val_split,
        weights: t.weights,
        sampling: match t.sampling {
            SamplingArg::Balanced => SampleMode::Balanced,
            SamplingArg::Shuffled => SampleMode::Shuffled,
        },
        class_weights: t.class_weights,
        resume: t.resume,
    };
    train_and_print(&args, t.device)
}

fn print_metrics(m: &SurveyMetrics) {
    let r = &m.run.report;
    println!(
        "{} set ({} objects, {}): accuracy {:.4}, balanced accuracy {:.4}, weighted log loss {:.4}; \
         class-prior baseline (its argmax is the majority-class guess): accuracy {:.4}, balanced accuracy {:.4}, \
         weighted log loss {:.4}; final train loss {:.6}, selected epoch {}",
        m.run.evaluated_on,
        r.samples,
        m.run.device,
        r.accuracy,
        r.balanced_accuracy,
        m.weighted_log_loss,
        m.prior_baseline.accuracy,
        m.prior_baseline.balanced_accuracy,
        m.prior_baseline.weighted_log_loss,
        m.final_train_loss,
        m.run.selected_epoch.unwrap_or(0)
    );
    println!("{}", render_table(r));
}

/// The objects an eval or predict command names: a per-object set or PLAsTiCC files.
fn scored_objects(objects: &ObjectArgs, obs: Option<&PathBuf>, meta: Option<&PathBuf>) -> Result<Survey> {
    match (objects.set(), obs.zip(meta)) {
        (Some(_), Some(_)) => bail!("give either --data DIR or --obs and --meta, not both"),
        (Some(set), None) => set.load(),
        (None, Some((obs, meta))) => Ok(read_survey(obs, meta)?),
        (None, None) => bail!("give the objects to score: --data DIR (per-object files) or --obs and --meta"),
    }
}

fn predict_cmd(p: PredictCmd) -> Result<()> {
    let survey = scored_objects(&p.objects, None, None)?;
    let mut be = device::open(p.device)?;
    write_predictions(be.as_mut(), &p.model, &survey, &p.out)
}

/// The objects `starskope eval`/`predict` score with a survey model: a per-object
/// directory (classes from `labels`, or its own labels.csv), or PLAsTiCC-layout
/// observations with their `meta`data.
pub fn objects_at(data: &Path, labels: Option<&Path>, meta: Option<&Path>) -> Result<Survey> {
    match meta {
        Some(meta) if labels.is_some() => bail!(
            "--labels names the classes of a per-object directory; PLAsTiCC-layout files ({} with --meta {}) \
             carry theirs in the metadata's target column",
            data.display(),
            meta.display()
        ),
        Some(meta) => Ok(read_survey(data, meta)?),
        None if data.is_dir() => ObjectSet {
            dir: data.to_path_buf(),
            labels: labels.map(Path::to_path_buf),
            columns: LabelColumns::default(),
        }
        .load(),
        None => bail!(
            "{} is not a directory: a survey model scores a directory of per-object files, or PLAsTiCC-layout \
             observations given with their metadata (--meta FILE)",
            data.display()
        ),
    }
}

/// Each object's class probabilities from the survey model at `model`, written to `out`:
/// object_id, label (if known), p_<class>..., predicted.
pub fn write_predictions(be: &mut dyn Backend, model: &Path, survey: &Survey, out: &Path) -> Result<()> {
    let (card, probs) = train::score(be, model, survey)?;
    let labels = survey.labels();
    let mut text = String::from("object_id");
    if labels.is_some() {
        text += ",label";
    }
    for c in &card.classes {
        text += ",";
        text += &csv_cell(&format!("p_{c}"));
    }
    text += ",predicted\n";
    let k = card.classes.len();
    for (i, (o, row)) in survey.objects.iter().zip(probs.chunks(k)).enumerate() {
        text += &csv_cell(&o.object_id);
        if let Some(l) = &labels {
            text += ",";
            text += &l[i].csv_cell();
        }
        for p in row {
            text += &format!(",{p:.6}");
        }
        text += ",";
        text += &card.classes[crate::metrics::report::argmax(row)].csv_cell();
        text += "\n";
    }
    crate::model::checkpoint::write_atomically(out, text.as_bytes())?;
    println!("Wrote {} predictions to {}", survey.objects.len(), out.display());
    Ok(())
}

fn split_cmd(s: SplitCmd) -> Result<()> {
    let table = LabelTable::read(&s.labels, &s.columns.columns())?;
    let (train_rows, test_rows) = crate::data::stratified_split(&table.labels, s.fraction, s.seed)?;
    std::fs::create_dir_all(&s.out).with_context(|| format!("cannot create {}", s.out.display()))?;
    let (train, test) = (table.subset(&train_rows), table.subset(&test_rows));
    train.write(&s.out.join("train_labels.csv"))?;
    test.write(&s.out.join("test_labels.csv"))?;
    let count = |t: &LabelTable| {
        let classes = crate::data::label::distinct(&t.labels);
        classes
            .iter()
            .map(|c| format!("{} {c}", t.labels.iter().filter(|l| *l == c).count()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "Split {} objects of {} (seed {}, {} of each class to test): train_labels.csv {} ({}), test_labels.csv {} ({}) in {}",
        table.ids.len(),
        s.labels.display(),
        s.seed,
        s.fraction,
        train.ids.len(),
        count(&train),
        test.ids.len(),
        count(&test),
        s.out.display()
    );
    Ok(())
}

fn eval_cmd(e: EvalCmd) -> Result<()> {
    let survey = scored_objects(&e.objects, e.obs.as_ref(), e.meta.as_ref())?;
    let mut be = device::open(e.device)?;
    print_eval(be.as_mut(), &e.model, &survey, e.weights.as_deref(), e.unknown_scale)
}

/// Scores labelled objects with the survey model at `model` and prints the report and
/// the competition metric (with `weights`, all 1 without); `unknown_scale`: see `EvalCmd`.
pub fn print_eval(
    be: &mut dyn Backend,
    model: &Path,
    survey: &Survey,
    weights: Option<&Path>,
    unknown_scale: Option<f64>,
) -> Result<()> {
    let labels =
        survey.labels().with_context(|| format!("{}: eval needs the objects' classes", survey.source))?;
    let (card, mut probs) = train::score(be, model, survey)?;
    let mut classes = card.classes.clone();
    if let Some(scale) = unknown_scale {
        if classes.iter().any(|c| *c >= UNKNOWN_LABEL) {
            bail!(
                "--unknown-scale adds class {UNKNOWN_LABEL}, so the model's classes must all be integers below it ({})",
                crate::data::label::label_list(&classes)
            );
        }
        probs = metric::with_unknown(&probs, classes.len(), scale);
        classes.push(UNKNOWN_LABEL);
    }
    let truth: Vec<usize> = labels
        .iter()
        .map(|l| match classes.iter().position(|c| c == l) {
            Some(k) => Ok(k),
            None if unknown_scale.is_some() => Ok(classes.len() - 1),
            None => bail!(
                "{}: class {l} is not one the model knows ({}); pass --unknown-scale to score such objects as class 99",
                survey.source,
                crate::data::label::label_list(&card.classes)
            ),
        })
        .collect::<Result<_>>()?;
    let weights = match weights {
        // classes stay ascending with 99 appended (checked above)
        Some(path) => metric::read_class_weights(path, &classes)?,
        None => vec![1.0; classes.len()],
    };
    let s = train::scores(&classes, &probs, &truth, &weights)?;
    println!(
        "{} on {} ({} objects, {}): accuracy {:.4}, balanced accuracy {:.4}, weighted log loss {:.4}",
        model.display(),
        survey.source,
        truth.len(),
        be.name(),
        s.accuracy,
        s.balanced_accuracy,
        s.weighted_log_loss
    );
    println!("{}", render_table(&Report::new(&classes, &truth, &probs)?));
    Ok(())
}
