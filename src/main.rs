//! The `starskope` command line: one function per subcommand.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

use starskope::data::{NanPolicy, ReadOptions, SampleMode};
use starskope::device::{self, DeviceChoice};
use starskope::gpu::Precision;
use starskope::metrics::{render_table, Report};
use starskope::model::{self, plan, summary};
use starskope::synth::{self, SynthConfig};
use starskope::train::guard::OnNan;
use starskope::train::run::{self, TrainArgs};
use starskope::train::shard::{self, Shard};
use starskope::train::{infer, predict_curves};

#[derive(Parser)]
#[command(
    name = "starskope",
    version,
    about = "Train and evaluate light-curve classifiers (1D CNN, LSTM, FCN) on any GPU or on the CPU",
    long_about = "Train and evaluate light-curve classifiers (1D CNN, LSTM, FCN) on any GPU or on the CPU.\n\n\
        Data are CSV files with one light curve per row: the class label first, then the flux values \
        (the Kaggle exoTrain.csv/exoTest.csv layout, or UCR archive data in the same layout).\n\n\
        Start with `starskope train`: with no data it generates a synthetic K2-like set and trains the \
        seed CNN on it, then writes a report to runs/."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model; writes metrics.json, history.csv, model.safetensors and plots to --out.
    Train(TrainCmd),
    /// Score a labelled CSV with a trained model and print the full report.
    Eval {
        /// A model.safetensors written by `train` or `survey train`.
        #[arg(long)]
        model: PathBuf,
        /// CSV in the training layout (label column first), or light curves with time
        /// stamps (MAST FITS or text tables: a directory, a glob or one file) with --labels.
        /// For a survey model: a directory of per-object files (classes from --labels or
        /// its labels.csv), or PLAsTiCC-layout observations with --meta.
        #[arg(long)]
        data: PathBuf,
        /// Survey models: the PLAsTiCC-layout metadata of the observations in --data.
        #[arg(long)]
        meta: Option<PathBuf>,
        /// The truth table `synth` wrote for this file: adds recall by transit S/N.
        #[arg(long)]
        truth: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t)]
        device: DeviceChoice,
        /// Missing or non-finite values: error, fill (interpolate), or drop the row.
        #[arg(long, value_enum, default_value_t = NanArg::Error)]
        nan: NanArg,
        #[command(flatten)]
        read: starskope::lightcurve::ReadArgs,
    },
    /// Write one row per light curve (index, label, class probabilities, predicted label), or
    /// per target of light-curve files (with the transit search's period, epoch, depth, duration, S/N).
    Predict {
        /// A model.safetensors written by `train` or `survey train`.
        #[arg(long)]
        model: PathBuf,
        /// Light curves with time stamps (MAST FITS or text tables: a directory, a glob or
        /// one file; one row per target), or a CSV in the training layout (one row per
        /// light curve; its label column, integers or names, is copied, not checked).
        /// For a survey model: a directory of per-object files, or PLAsTiCC-layout
        /// observations with --meta (one row per object).
        #[arg(long)]
        data: PathBuf,
        /// Survey models: the PLAsTiCC-layout metadata of the observations in --data.
        #[arg(long)]
        meta: Option<PathBuf>,
        /// Output CSV file.
        #[arg(long)]
        out: PathBuf,
        /// Score only the K-th of N parts of the input (counted from 0): contiguous blocks
        /// of the targets (in sorted file order) or of the CSV's rows. The output starts with
        /// a line naming the part; `starskope merge` joins the N outputs into the file one
        /// run without --shard writes.
        #[arg(long, value_name = "K/N")]
        shard: Option<Shard>,
        #[arg(long, value_enum, default_value_t)]
        device: DeviceChoice,
        /// Missing or non-finite values: error, fill (interpolate), or drop the row.
        #[arg(long, value_enum, default_value_t = NanArg::Error)]
        nan: NanArg,
        #[command(flatten)]
        read: starskope::lightcurve::ReadArgs,
    },
    /// Join the outputs of `predict --shard K/N` (all N, in any order) into the file one
    /// `predict` without --shard writes, byte for byte.
    Merge {
        /// The merged CSV file.
        #[arg(long)]
        out: PathBuf,
        /// The parts: the files `predict --shard` wrote.
        #[arg(required = true)]
        parts: Vec<PathBuf>,
    },
    /// Generate synthetic K2-like light curves as exoTrain.csv/exoTest.csv plus truth tables.
    Synth(SynthCmd),
    /// Print a model's layers, output shapes and parameter counts.
    Summary {
        /// A preset (seed-cnn, seed-lstm, fcn) or a JSON model file.
        #[arg(long, default_value = "seed-cnn")]
        model: String,
        /// Samples per light curve.
        #[arg(long, default_value_t = 3197)]
        length: usize,
        /// Input channels (2: flux and its moving average).
        #[arg(long, default_value_t = 2)]
        channels: usize,
        /// Output classes.
        #[arg(long, default_value_t = 2)]
        classes: usize,
    },
    /// Check every op against the golden reference values in DIR; non-zero exit on a failure.
    Verify {
        /// Directory of golden JSON files (e.g. ../shared/golden).
        #[arg(long)]
        golden: PathBuf,
        #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
        device: DeviceChoice,
    },
    /// List the GPU adapters wgpu sees, with backend, type and limits.
    Devices,
    /// Multi-band survey light curves (PLAsTiCC layout): train, eval, features, synth.
    Survey {
        #[command(subcommand)]
        command: starskope::survey::cli::SurveyCmd,
    },
    /// Time every op of each preset's training step, and whole steps per second.
    Bench(BenchCmd),
    /// Read mission light curves (FITS, text) and print, per target, what was read.
    Inspect {
        /// A directory (searched recursively), a glob ("lc/*.fits") or one file.
        #[arg(long)]
        data: String,
        #[command(flatten)]
        read: starskope::lightcurve::ReadArgs,
    },
}

#[derive(clap::Args)]
struct BenchCmd {
    #[arg(long, value_enum, default_value_t)]
    device: DeviceChoice,
    /// GPU storage precision: f16 halves the bytes every kernel moves (arithmetic stays
    /// f32); needs an adapter with SHADER_F16.
    #[arg(long, value_enum, default_value_t)]
    precision: Precision,
    /// Print the report as JSON instead of tables.
    #[arg(long)]
    json: bool,
    /// Fewer runs per figure (for software Vulkan and smoke runs); shapes stay the same.
    #[arg(long)]
    quick: bool,
    /// Only this preset (repeatable). Default: seed-cnn, seed-lstm, fcn.
    #[arg(long)]
    preset: Vec<String>,
    /// Series length for every preset instead of its own (3197, 512); reported as such.
    #[arg(long)]
    length: Option<usize>,
    /// Skip the per-op table: whole steps only.
    #[arg(long)]
    no_ops: bool,
}

#[derive(clap::Args)]
struct TrainCmd {
    /// Training CSV, or light-curve files with --labels. Without it, trains on the
    /// built-in synthetic K2-like set.
    #[arg(long)]
    train: Option<PathBuf>,
    /// Test CSV (or light-curve files with --test-labels): measured once, with the
    /// selected model; never used for selection.
    #[arg(long)]
    test: Option<PathBuf>,
    /// Validation CSV used for model selection and early stopping.
    #[arg(long, conflicts_with = "val_split")]
    val: Option<PathBuf>,
    /// Hold out this fraction of the training set (stratified) for validation.
    #[arg(long)]
    val_split: Option<f64>,
    /// A preset or a JSON model file. Each preset's defaults, on your CSV: seed-cnn (the
    /// Kaggle exoplanet notebook's CNN) flux and its 200-point moving average, batch 32,
    /// Adam 3e-4, 40 epochs; seed-lstm the same channels, batch 32, 1e-3, 10 epochs; fcn
    /// (Wang et al. 2017) the flux alone, batch 16, 1e-3, 200 epochs; JSON models as
    /// seed-cnn. Every model gets shuffled batches without rolls and one network. On the
    /// built-in data (no --train), the K2 recipe: seed-cnn and seed-lstm (and JSON models)
    /// take the notebook's balanced batches with random rolls, and seed-cnn the transit
    /// search's channels (whitened flux and its fold at the best box period, behind a
    /// detection gate) and an ensemble of 2 networks; fcn keeps its own.
    #[arg(long, default_value = "seed-cnn")]
    model: String,
    /// Default: 40 for seed-cnn (on the built-in data, for each of its two networks), 10
    /// for seed-lstm, 200 for fcn.
    #[arg(long)]
    epochs: Option<usize>,
    /// Train this many networks side by side from different initial values and average
    /// their probabilities: steadier verdicts on borderline curves, for that many times
    /// the training time. Default: 2 for seed-cnn on the built-in data, 1 otherwise.
    #[arg(long)]
    members: Option<usize>,
    /// Default: 32 (16 for fcn).
    #[arg(long)]
    batch: Option<usize>,
    /// Adam learning rate. Default: 3e-4 for seed-cnn, 1e-3 otherwise.
    #[arg(long, allow_hyphen_values = true)]
    lr: Option<f32>,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[arg(long, value_enum, default_value_t)]
    device: DeviceChoice,
    /// GPU storage precision: f16 stores activations, gradients and weights in half
    /// precision with f32 arithmetic, f32 Adam state and f32 master weights; needs an
    /// adapter with SHADER_F16. Checkpoints hold the f32 master weights.
    #[arg(long, value_enum, default_value_t)]
    precision: Precision,
    /// Run directory. Default: runs/<model>-seed<seed>.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the interrupted run in --out from its last checkpoint.
    #[arg(long)]
    resume: bool,
    /// Batches: balanced (equal share per class, the seed notebook's) or shuffled. Default:
    /// shuffled, except balanced for seed-cnn, seed-lstm and JSON models on the built-in
    /// data.
    #[arg(long, value_enum)]
    sampling: Option<SamplingArg>,
    /// Roll each sample by a random offset (the seed notebook's augmentation). Default: off,
    /// except on for seed-cnn, seed-lstm and JSON models on the built-in data.
    #[arg(long, overrides_with = "no_roll")]
    roll: bool,
    #[arg(long)]
    no_roll: bool,
    /// Weight each class's loss by n / (k * count) (use with --sampling shuffled).
    #[arg(long)]
    class_weights: bool,
    /// Stop after this many epochs without improvement.
    #[arg(long)]
    patience: Option<usize>,
    /// Moving-average window of the second input channel; 0 = no second channel.
    #[arg(long)]
    smooth: Option<usize>,
    /// Missing or non-finite values: error, fill (interpolate), or drop the row.
    #[arg(long, value_enum, default_value_t = NanArg::Error)]
    nan: NanArg,
    /// A NaN or infinite loss: stop (keeping the last checkpoint), or reload the last
    /// checkpoint and continue with the learning rate halved (up to 4 times).
    #[arg(long, value_enum, default_value_t)]
    on_nan: OnNan,
    /// Stars in the built-in synthetic training set (default: 5087, as Kaggle's exoTrain;
    /// with --model survey-mlp: objects of the built-in survey set, default 2000).
    #[arg(long)]
    synth_stars: Option<usize>,
    /// Add this many copies of non-planet training curves with simulated, limb-darkened
    /// transits injected (labelled --planet-label), so the model learns from more planets
    /// than a survey holds. Default: 2000 for the built-in data, 0 with --train.
    #[arg(long)]
    inject: Option<usize>,
    /// The label of planet hosts (2 in Kaggle's exoTrain.csv); --inject uses it.
    #[arg(long)]
    planet_label: Option<starskope::data::Label>,
    /// The labels table (`target,label`) of --test when it is light-curve files.
    #[arg(long)]
    test_labels: Option<PathBuf>,
    /// --train and --test may also be light-curve files (MAST FITS or text tables: a
    /// directory, a glob or one file), labelled by --labels and --test-labels.
    #[command(flatten)]
    read: starskope::lightcurve::ReadArgs,
}

#[derive(clap::Args)]
struct SynthCmd {
    /// Directory for exoTrain.csv, exoTest.csv and their truth tables (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Stars in exoTrain.csv, planet hosts included (the defaults are Kaggle's counts).
    #[arg(long, default_value_t = 5087)]
    train_stars: usize,
    /// Planet hosts among the training stars.
    #[arg(long, default_value_t = 37)]
    train_planets: usize,
    /// Stars in exoTest.csv, planet hosts included.
    #[arg(long, default_value_t = 570)]
    test_stars: usize,
    /// Planet hosts among the test stars.
    #[arg(long, default_value_t = 5)]
    test_planets: usize,
    /// Samples per light curve (29.4-minute cadence).
    #[arg(long, default_value_t = 3197)]
    samples: usize,
    /// Fixes every star; the same seed gives the same files.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum SamplingArg {
    Balanced,
    Shuffled,
}

#[derive(Clone, Copy, ValueEnum)]
enum NanArg {
    Error,
    Fill,
    Drop,
}

impl From<NanArg> for ReadOptions {
    fn from(n: NanArg) -> ReadOptions {
        let nan = match n {
            NanArg::Error => NanPolicy::Error,
            NanArg::Fill => NanPolicy::Fill,
            NanArg::Drop => NanPolicy::Drop,
        };
        ReadOptions { nan }
    }
}

fn main() -> ExitCode {
    starskope::gpu::silence_device_select_layer();
    match dispatch(Cli::parse().command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(command: Command) -> Result<ExitCode> {
    match command {
        Command::Train(t) => train(t),
        Command::Eval { model, data, meta, truth, device, nan, read } => {
            if let Some(objects) = survey_objects(&model, &data, meta.as_deref(), &read)? {
                let mut be = device::open(device)?;
                starskope::survey::cli::print_eval(be.as_mut(), &model, &objects, None, None)?;
                return Ok(ExitCode::SUCCESS);
            }
            eval(model, data, truth, device, nan, read)
        }
        Command::Predict { model, data, meta, out, shard, device, nan, read } => {
            let survey = survey_objects(&model, &data, meta.as_deref(), &read)?;
            if survey.is_some() && shard.is_some() {
                bail!("--shard: survey models are scored whole; leave --shard out for {}", model.display());
            }
            let mut be = device::open(device)?;
            if let Some(objects) = survey {
                starskope::survey::cli::write_predictions(be.as_mut(), &model, &objects, &out)?;
                return Ok(ExitCode::SUCCESS);
            }
            if predict_curves::is_light_curve_data(&data) {
                let s = predict_curves::predict_curves(
                    be.as_mut(),
                    &model,
                    &data.to_string_lossy(),
                    read.labels.as_deref(),
                    &read.options(),
                    shard,
                    &out,
                )?;
                eprintln!(
                    "Wrote {} targets to {}: the transit search detected {}, and {} are predicted planets",
                    s.targets,
                    out.display(),
                    s.detected,
                    s.planets
                );
                return Ok(ExitCode::SUCCESS);
            }
            no_labels_table(&read)?;
            let scored = infer::score_shard(be.as_mut(), &model, &data, &nan.into(), shard)?;
            scored.write_csv(&out)?;
            eprintln!("Wrote {} predictions to {}", scored.labels.len(), out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Merge { out, parts } => {
            let rows = shard::merge(&parts, &out)?;
            eprintln!("Wrote {rows} rows from {} parts to {}", parts.len(), out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Synth(s) => synth_cmd(s),
        Command::Summary { model, length, channels, classes } => {
            let spec = model::resolve(&model)?;
            let layers = plan::plan(&spec, plan::input_dims(&spec, channels, length), spec.output(classes)?)?;
            print!("{}", summary::render(&spec.name, &layers));
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { golden, device } => {
            let mut be = device::open(device)?;
            let reports = starskope::verify::verify_dir(&golden, be.as_mut())?;
            println!("golden files in {} on {}:", golden.display(), be.name());
            for r in &reports {
                println!("{r}");
            }
            let failed = reports.iter().filter(|r| !r.passed).count();
            println!("{} passed, {} failed", reports.len() - failed, failed);
            Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Bench(b) => bench(b),
        Command::Inspect { data, read } => inspect(&data, &read),
        Command::Survey { command } => {
            starskope::survey::cli::run(command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Devices => {
            let adapters = starskope::gpu::list_adapters();
            if adapters.is_empty() {
                println!("{}", starskope::gpu::NO_ADAPTER_HELP);
            }
            for a in adapters {
                println!("{a}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn train(t: TrainCmd) -> Result<ExitCode> {
    if t.model == "survey-mlp" && t.train.is_none() {
        let settings = starskope::survey::cli::BuiltinSettings {
            objects: t.synth_stars,
            epochs: t.epochs,
            batch: t.batch,
            lr: t.lr,
        };
        starskope::survey::cli::train_builtin(settings, t.seed, t.device, t.out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let args = TrainArgs {
        out: t.out.unwrap_or_else(|| PathBuf::from(format!("runs/{}-seed{}", model_stem(&t.model), t.seed))),
        train: t.train,
        test: t.test,
        val: t.val,
        val_split: t.val_split,
        model: t.model,
        epochs: t.epochs,
        batch: t.batch,
        lr: t.lr,
        seed: t.seed,
        resume: t.resume,
        sampling: t.sampling.map(|s| match s {
            SamplingArg::Balanced => SampleMode::Balanced,
            SamplingArg::Shuffled => SampleMode::Shuffled,
        }),
        roll: (t.roll || t.no_roll).then_some(t.roll),
        class_weights: t.class_weights,
        patience: t.patience,
        smooth: t.smooth,
        nan: ReadOptions::from(t.nan).nan,
        on_nan: t.on_nan,
        synth: t.synth_stars.map(|n| SynthConfig { train_stars: n, seed: t.seed, ..SynthConfig::default() }),
        inject: t.inject,
        planet_label: t.planet_label,
        members: t.members,
        curves: t.read,
        test_labels: t.test_labels,
    };
    let mut be = device::open_at(t.device, t.precision)?;
    let report = run::train(&args, be.as_mut())?;
    println!("{}", report.render());
    println!("Report, plots and model written to {}/", args.out.display());
    Ok(ExitCode::SUCCESS)
}

fn bench(b: BenchCmd) -> Result<ExitCode> {
    let opts = starskope::bench::Options {
        presets: b.preset,
        length: b.length,
        budget: if b.quick { starskope::bench::Budget::QUICK } else { starskope::bench::Budget::FULL },
        ops: !b.no_ops,
    };
    let mut be = starskope::bench::open(b.device, b.precision)?;
    let report = starskope::bench::run(be.as_mut(), &opts)?;
    println!("{}", if b.json { report.to_json() } else { report.render() });
    Ok(ExitCode::SUCCESS)
}

fn model_stem(model: &str) -> String {
    std::path::Path::new(model).file_stem().map_or(model.into(), |s| s.to_string_lossy().into_owned())
}

fn eval(
    model: PathBuf,
    data: PathBuf,
    truth: Option<PathBuf>,
    device: DeviceChoice,
    nan: NanArg,
    read: starskope::lightcurve::ReadArgs,
) -> Result<ExitCode> {
    let mut be = device::open(device)?;
    if predict_curves::is_light_curve_data(&data) {
        let labels = read
            .labels
            .as_deref()
            .context("eval on light-curve files needs --labels: a table of target,label for every target")?;
        let scored = predict_curves::score_labelled(
            be.as_mut(),
            &model,
            &data.to_string_lossy(),
            labels,
            &read.options(),
        )?;
        let report = Report::new(&scored.classes, &scored.truth, &scored.probs)?;
        print_report(&model, &data, &format!("{} targets, {}", scored.truth.len(), be.name()), &report);
        return Ok(ExitCode::SUCCESS);
    }
    no_labels_table(&read)?;
    let scored = infer::score(be.as_mut(), &model, &data, &nan.into())?;
    let report = Report::new(&scored.card.classes, &scored.truth()?, &scored.probs)?;
    print_report(&model, &data, &format!("{} light curves, {}", scored.labels.len(), be.name()), &report);
    if let Some(path) = truth {
        let rows = synth::read_truth_csv(&path)?;
        let k = scored.card.classes.len();
        let positive: Vec<bool> =
            scored.probs.chunks(k).map(|p| starskope::metrics::report::argmax(p) == k - 1).collect();
        anyhow::ensure!(
            rows.len() == positive.len(),
            "{} has {} rows but {} has {} light curves: give the truth table written with this file",
            path.display(),
            rows.len(),
            data.display(),
            positive.len()
        );
        println!("Recall of planet hosts by transit signal-to-noise:");
        for b in synth::recall_by_snr(&rows, &positive) {
            println!(
                "  S/N {:>6.1} - {:<6.1} {:>4} planets  recall {}",
                b.lo,
                b.hi,
                b.planets,
                b.recall.map_or("-".into(), |r| format!("{r:.2}"))
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The objects `data` (and `meta`) hold when `model` is a survey model (its checkpoint's
/// preprocessing is survey features); None for a light-curve model.
fn survey_objects(
    model: &std::path::Path,
    data: &std::path::Path,
    meta: Option<&std::path::Path>,
    read: &starskope::lightcurve::ReadArgs,
) -> Result<Option<starskope::survey::Survey>> {
    if !starskope::survey::standardize::is_survey_model(model)? {
        anyhow::ensure!(
            meta.is_none(),
            "--meta goes with survey models; {} is a light-curve model",
            model.display()
        );
        return Ok(None);
    }
    starskope::survey::cli::objects_at(data, read.labels.as_deref(), meta).map(Some)
}

/// eval's heading, `what` in brackets, and its report.
fn print_report(model: &std::path::Path, data: &std::path::Path, what: &str, report: &Report) {
    println!("{} on {} ({what}):", model.display(), data.display());
    println!("{}", render_table(report));
}

/// `--labels` labels light-curve files; a CSV in the training layout carries its own.
fn no_labels_table(read: &starskope::lightcurve::ReadArgs) -> Result<()> {
    anyhow::ensure!(
        read.labels.is_none(),
        "--labels goes with light-curve files (FITS or time,flux tables); a CSV in the training layout \
         has its labels in its first column"
    );
    Ok(())
}

fn synth_cmd(s: SynthCmd) -> Result<ExitCode> {
    let cfg = SynthConfig {
        train_stars: s.train_stars,
        train_planets: s.train_planets,
        test_stars: s.test_stars,
        test_planets: s.test_planets,
        samples: s.samples,
        seed: s.seed,
        ..SynthConfig::default()
    };
    let set = synth::generate(&cfg)?;
    std::fs::create_dir_all(&s.out).with_context(|| format!("cannot create {}", s.out.display()))?;
    synth::write_exo_csv(&s.out.join("exoTrain.csv"), &set.train)?;
    synth::write_exo_csv(&s.out.join("exoTest.csv"), &set.test)?;
    synth::write_truth_csv(&s.out.join("truth_train.csv"), &set.train_truth)?;
    synth::write_truth_csv(&s.out.join("truth_test.csv"), &set.test_truth)?;
    println!(
        "Wrote exoTrain.csv ({} stars, {} planet hosts), exoTest.csv ({} stars, {} hosts) and truth tables to {}",
        cfg.train_stars,
        cfg.train_planets,
        cfg.test_stars,
        cfg.test_planets,
        s.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Reads every target of `data` on all cores and prints one line each; a target that
/// cannot be read prints its error and makes the exit status non-zero.
fn inspect(data: &str, read: &starskope::lightcurve::ReadArgs) -> Result<ExitCode> {
    use rayon::prelude::*;
    use starskope::lightcurve::{inspect::Described, list_targets, read_target};
    let targets = list_targets(data, read.labels.as_deref())?;
    let opts = read.options();
    let lines: Vec<Result<String, String>> = targets
        .par_iter()
        .map(|t| {
            read_target(t, &opts)
                .map(|c| match &t.label {
                    Some(label) => format!("{}	label {label}", Described(&c)),
                    None => Described(&c).to_string(),
                })
                .map_err(|e| e.to_string())
        })
        .collect();
    let failed = lines.iter().filter(|l| l.is_err()).count();
    for line in lines {
        match line {
            Ok(line) => println!("{line}"),
            Err(e) => eprintln!("error: {e}"),
        }
    }
    eprintln!("{} target(s) read, {failed} failed", targets.len() - failed);
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
