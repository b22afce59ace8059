//! `starskope survey train|eval|features|synth`: the survey subcommands' arguments and
//! what each prints. The work itself is in [`super::train`] and the data modules.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};

use crate::backend::Activation;
use crate::data::Label;
use crate::device::{self, DeviceChoice};
use crate::metrics::{render_table, Report};

use super::features::FeatureTable;
use super::metric;
use super::reader::{read_survey, Survey};
use super::synth::{self, SurveySynthConfig, SYNTH_CLASSES};
use super::train::{self, MlpOptions, Source, SurveyMetrics, SurveyTrainArgs};
use super::writer::write_survey;

/// The competition's label for "none of the training classes".
pub const UNKNOWN_LABEL: Label = Label::Int(99);

#[derive(Subcommand)]
pub enum SurveyCmd {
    /// Train survey-mlp on per-object features of PLAsTiCC-layout files (or, with no
    /// --obs/--meta, of a synthetic multi-band set); writes model.safetensors,
    /// standardization.json and metrics.json to --out.
    Train(TrainCmd),
    /// Score labelled PLAsTiCC-layout files with a trained survey model.
    Eval(EvalCmd),
    /// Write the per-object features as CSV (object_id, target, one column per feature).
    Features(FeaturesCmd),
    /// Write a synthetic multi-band set as PLAsTiCC-layout observations and metadata CSVs.
    Synth(SynthCmd),
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
    #[arg(long, default_value_t = 2000)]
    objects: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

// Parser too: `starskope train --model survey-mlp` parses its defaults from a built argv.
#[derive(clap::Parser)]
pub struct TrainCmd {
    #[command(flatten)]
    data: DataArgs,
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
    #[arg(long, default_value_t = 40)]
    epochs: usize,
    #[arg(long, default_value_t = 64)]
    batch: usize,
    #[arg(long, default_value_t = 1e-3)]
    lr: f32,
    /// Fraction of the training objects held out (stratified) to select the best epoch.
    #[arg(long, default_value_t = 0.2)]
    val_split: f64,
    /// Per-class weights of the metric: `class,weight` lines. Default: all 1.
    #[arg(long)]
    weights: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    device: DeviceChoice,
    /// Run directory. Default: runs/survey-mlp-seed<seed>.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
pub struct EvalCmd {
    /// A model.safetensors written by `survey train` (standardization.json beside it).
    #[arg(long)]
    model: PathBuf,
    #[arg(long)]
    obs: PathBuf,
    #[arg(long)]
    meta: PathBuf,
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
pub struct FeaturesCmd {
    #[command(flatten)]
    data: DataArgs,
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
        SurveyCmd::Features(f) => {
            let survey = load(&f.data)?;
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

/// `starskope train --model survey-mlp` with no --train: the built-in multi-band set,
/// trained as `starskope survey train` would with these settings (None: its defaults).
pub fn train_builtin(
    epochs: Option<usize>,
    batch: Option<usize>,
    lr: Option<f32>,
    seed: u64,
    device: DeviceChoice,
    out: Option<PathBuf>,
) -> Result<()> {
    let mut argv = vec!["survey".to_string(), "--seed".into(), seed.to_string()];
    let options = [("--epochs", epochs.map(|e| e.to_string())), ("--batch", batch.map(|b| b.to_string()))];
    let more = [("--lr", lr.map(|l| l.to_string())), ("--out", out.map(|o| o.display().to_string()))];
    for (flag, value) in options.into_iter().chain(more) {
        argv.extend(value.map(|v| [flag.to_string(), v]).into_iter().flatten());
    }
    let mut t = <TrainCmd as clap::Parser>::try_parse_from(argv)?;
    t.device = device;
    eprintln!("--model survey-mlp with no --train: training on the built-in multi-band survey set (see `starskope survey train --help`)");
    train_cmd(t)
}

fn train_cmd(t: TrainCmd) -> Result<()> {
    let source = match (t.data.obs, t.data.meta) {
        (Some(obs), Some(meta)) => Source::Files { obs, meta, test: t.test_obs.zip(t.test_meta) },
        _ if t.test_obs.is_some() => bail!("--test-obs needs training files too: give --obs and --meta"),
        _ => Source::Synthetic { objects: t.data.objects },
    };
    let args = SurveyTrainArgs {
        source,
        out: t.out.unwrap_or_else(|| PathBuf::from(format!("runs/survey-mlp-seed{}", t.data.seed))),
        model: t.model,
        mlp: MlpOptions { widths: t.widths, activation: t.activation.map(Into::into), dropout: t.dropout },
        epochs: t.epochs,
        batch: t.batch,
        lr: t.lr,
        seed: t.data.seed,
        val_split: t.val_split,
        weights: t.weights,
        verbose: true,
    };
    if args.epochs == 0 || args.batch == 0 || !(args.lr > 0.0 && args.lr.is_finite()) {
        bail!("--epochs and --batch must be at least 1 and --lr a positive number");
    }
    let mut be = device::open(t.device)?;
    let m = train::train(&args, be.as_mut())?;
    print_metrics(&m);
    println!("Model, standardization.json and metrics.json written to {}/", args.out.display());
    Ok(())
}

fn print_metrics(m: &SurveyMetrics) {
    println!(
        "{} set ({} objects, {}): accuracy {:.4}, weighted log loss {:.4}; class-prior baseline: accuracy {:.4}, weighted log loss {:.4}; final train loss {:.6}, selected epoch {}",
        m.evaluated_on,
        m.report.samples,
        m.device,
        m.model.accuracy,
        m.model.weighted_log_loss,
        m.prior_baseline.accuracy,
        m.prior_baseline.weighted_log_loss,
        m.final_train_loss,
        m.selected_epoch.unwrap_or(0)
    );
    println!("{}", render_table(&m.report));
}

fn eval_cmd(e: EvalCmd) -> Result<()> {
    let survey = read_survey(&e.obs, &e.meta)?;
    let labels =
        survey.labels().with_context(|| format!("{}: eval needs a target column", e.meta.display()))?;
    let mut be = device::open(e.device)?;
    let (card, mut probs) = train::score(be.as_mut(), &e.model, &survey)?;
    let mut classes = card.classes.clone();
    if let Some(scale) = e.unknown_scale {
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
            None if e.unknown_scale.is_some() => Ok(classes.len() - 1),
            None => bail!(
                "{}: class {l} is not one the model knows ({:?}); pass --unknown-scale to score such objects as class 99",
                e.meta.display(),
                card.classes
            ),
        })
        .collect::<Result<_>>()?;
    let weights = match &e.weights {
        // classes stay ascending with 99 appended (checked above)
        Some(path) => metric::read_class_weights(path, &classes)?,
        None => vec![1.0; classes.len()],
    };
    let s = train::scores(&probs, &truth, &weights);
    println!(
        "{} on {} ({} objects, {}): accuracy {:.4}, weighted log loss {:.4}",
        e.model.display(),
        survey.source,
        truth.len(),
        be.name(),
        s.accuracy,
        s.weighted_log_loss
    );
    println!("{}", render_table(&Report::new(&classes, &truth, &probs)?));
    Ok(())
}
