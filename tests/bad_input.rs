//! The catalogue of bad inputs (issue 6), each through the built binary: the run fails
//! with a non-zero exit, stderr names the problem, where it is and the fix, and nothing
//! panics. Trainings here are tiny (a few rows, one epoch, a small JSON model).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tempfile::TempDir;

// ---------------------------------------------------------------- helpers

fn starskope(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_starskope"))
        .args(args)
        .current_dir(dir)
        // lavapipe's device-select layer otherwise writes a harmless error line to stderr
        .env("NODEVICE_SELECT", "1")
        .output()
        .expect("the starskope binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The command failed, without a panic, and its message mentions every part.
fn assert_fails(out: &Output, parts: &[&str]) -> String {
    let err = stderr(out);
    assert!(!out.status.success(), "expected a failure, got success; stderr:\n{err}");
    assert!(!err.contains("panicked"), "a panic instead of a message:\n{err}");
    for part in parts {
        assert!(err.contains(part), "the message lacks {part:?}:\n{err}");
    }
    err
}

fn assert_succeeds(out: &Output) {
    let err = stderr(out);
    assert!(out.status.success(), "expected success; stderr:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Light curves of `len` samples, labels cycling through `classes`, class-dependent
/// means and random scale, with a header row.
fn random_rows(rng: &mut ChaCha8Rng, rows: usize, len: usize, classes: &[i64]) -> Vec<String> {
    let mut lines = vec![std::iter::once("LABEL".to_string())
        .chain((1..=len).map(|i| format!("FLUX.{i}")))
        .collect::<Vec<_>>()
        .join(",")];
    for r in 0..rows {
        let c = classes[r % classes.len()];
        let scale = 10f64.powi(rng.gen_range(-2..4));
        let cells: Vec<String> =
            (0..len).map(|_| format!("{:.5}", (c as f64 + rng.gen_range(-1.0..1.0)) * scale)).collect();
        lines.push(format!("{c},{}", cells.join(",")));
    }
    lines
}

fn write_lines(dir: &Path, name: &str, lines: &[String]) -> String {
    std::fs::write(dir.join(name), lines.join("\n") + "\n").unwrap();
    name.to_string()
}

/// A small conv net that accepts series of 16 samples or more.
fn tiny_model(dir: &Path) -> String {
    std::fs::write(
        dir.join("tiny.json"),
        r#"{"name": "tiny", "layers": [
            {"type": "conv1d", "filters": 4, "kernel": 5, "activation": "relu"},
            {"type": "max_pool", "pool": 2},
            {"type": "flatten"},
            {"type": "dense", "units": 8, "activation": "relu"}]}"#,
    )
    .unwrap();
    "tiny.json".to_string()
}

struct Fixture {
    dir: TempDir,
    rng: ChaCha8Rng,
}

impl Fixture {
    fn new(seed: u64) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        tiny_model(dir.path());
        Fixture { dir, rng: ChaCha8Rng::seed_from_u64(seed) }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A two-class training file of 24 rows of 32 samples, as lines.
    fn rows(&mut self, classes: &[i64]) -> Vec<String> {
        random_rows(&mut self.rng, 24, 32, classes)
    }

    fn csv(&mut self, name: &str, classes: &[i64]) -> String {
        let lines = self.rows(classes);
        write_lines(self.path(), name, &lines)
    }

    fn run(&self, args: &[&str]) -> Output {
        starskope(self.path(), args)
    }

    /// `train` of the tiny model on the CPU (one epoch unless `extra` says), plus `extra`.
    fn train(&self, train: &str, out: &str, extra: &[&str]) -> Output {
        let mut args = vec!["train", "--train", train, "--model", "tiny.json"];
        args.extend(["--batch", "8", "--device", "cpu", "--out", out]);
        if !extra.contains(&"--epochs") {
            args.extend(["--epochs", "1"]);
        }
        args.extend(extra);
        self.run(&args)
    }

    /// A run directory with a trained model and checkpoint.
    fn trained(&mut self, out: &str) -> PathBuf {
        let train = self.csv("train.csv", &[1, 2]);
        assert_succeeds(&self.train(&train, out, &[]));
        self.path().join(out)
    }
}

/// Replaces the cell at (line index, column index) of `lines`.
fn set_cell(lines: &mut [String], line: usize, column: usize, text: &str) {
    let mut cells: Vec<&str> = lines[line].split(',').collect();
    cells[column] = text;
    lines[line] = cells.join(",");
}

// ---------------------------------------------------------------- files

#[test]
fn a_missing_file_is_named() {
    let f = Fixture::new(1);
    assert_fails(&f.train("nowhere.csv", "run", &[]), &["nowhere.csv", "no such file", "Check the path"]);
}

#[test]
fn a_directory_is_a_set_of_light_curve_files_with_a_labels_table() {
    let f = Fixture::new(2);
    std::fs::create_dir(f.path().join("stars")).unwrap();
    let needs = "light-curve files need --labels: a table of target,label for every target";
    assert_fails(&f.train("stars", "run", &[]), &["stars", needs]);
    std::fs::write(f.path().join("labels.csv"), "target,label\n").unwrap();
    assert_fails(
        &f.train("stars", "run", &["--labels", "labels.csv"]),
        &["stars", "holds no light-curve file"],
    );
}

#[test]
fn an_empty_file_is_reported() {
    let f = Fixture::new(3);
    std::fs::write(f.path().join("empty.csv"), "").unwrap();
    assert_fails(
        &f.train("empty.csv", "run", &[]),
        &["empty.csv", "the file is empty", "one light curve per row"],
    );
}

#[test]
fn a_header_without_rows_is_reported() {
    let mut f = Fixture::new(4);
    let lines = f.rows(&[1, 2]);
    let name = write_lines(f.path(), "header.csv", &lines[..1]);
    assert_fails(&f.train(&name, "run", &[]), &["header.csv", "header but no data rows"]);
}

#[test]
fn a_ragged_row_names_its_line_and_the_expected_width() {
    let mut f = Fixture::new(5);
    let mut lines = f.rows(&[1, 2]);
    let line = f.rng.gen_range(2..lines.len());
    lines[line] = lines[line].rsplit_once(',').unwrap().0.to_string();
    let name = write_lines(f.path(), "ragged.csv", &lines);
    assert_fails(
        &f.train(&name, "run", &[]),
        &[
            "ragged.csv",
            &format!("line {}", line + 1),
            "the row has 32 columns",
            "the header (line 1) has 33",
            "same number of columns",
        ],
    );
}

#[test]
fn a_non_numeric_cell_names_line_and_column() {
    let mut f = Fixture::new(6);
    let mut lines = f.rows(&[1, 2]);
    let (line, column) = (f.rng.gen_range(1..lines.len()), f.rng.gen_range(1..33));
    set_cell(&mut lines, line, column, "1O.5");
    let name = write_lines(f.path(), "text.csv", &lines);
    assert_fails(
        &f.train(&name, "run", &[]),
        &[
            "text.csv",
            &format!("line {}, column {} (\"FLUX.{column}\")", line + 1, column + 1),
            "\"1O.5\" is not a number",
            "fix that cell",
        ],
    );
}

#[test]
fn missing_values_need_a_policy_and_fill_and_drop_then_train() {
    for (i, cell) in ["NaN", "inf", "-Infinity", "", "NA"].into_iter().enumerate() {
        let mut f = Fixture::new(10 + i as u64);
        let mut lines = f.rows(&[1, 2]);
        let (line, column) = (f.rng.gen_range(1..lines.len()), f.rng.gen_range(1..33));
        set_cell(&mut lines, line, column, cell);
        let name = write_lines(f.path(), "gaps.csv", &lines);
        assert_fails(
            &f.train(&name, "run", &[]),
            &["gaps.csv", &format!("line {}, column {}", line + 1, column + 1), "--nan fill", "--nan drop"],
        );
        for policy in ["fill", "drop"] {
            let out = f.train(&name, policy, &["--nan", policy]);
            assert_succeeds(&out);
            assert!(f.path().join(policy).join("metrics.json").exists());
            let said = if policy == "fill" { "interpolated 1 missing values" } else { "dropped 1 rows" };
            assert!(stderr(&out).contains(said), "{cell:?} {policy}: {}", stderr(&out));
        }
    }
}

#[test]
fn a_file_without_a_label_column_is_reported_at_its_first_cell() {
    let mut f = Fixture::new(20);
    let lines: Vec<String> =
        f.rows(&[1, 2]).iter().map(|l| l.split_once(',').unwrap().1.to_string()).collect();
    let name = write_lines(f.path(), "nolabel.csv", &lines);
    assert_fails(&f.train(&name, "run", &[]), &["nolabel.csv", "line 2, column 1", "is not an integer"]);
}

#[test]
fn a_fractional_or_missing_label_is_reported() {
    for label in ["2.5", "nan"] {
        let mut f = Fixture::new(21);
        let mut lines = f.rows(&[1, 2]);
        let line = f.rng.gen_range(1..lines.len());
        set_cell(&mut lines, line, 0, label);
        let name = write_lines(f.path(), "labels.csv", &lines);
        assert_fails(
            &f.train(&name, "run", &[]),
            &[
                "labels.csv",
                &format!("line {}, column 1", line + 1),
                &format!("the label \"{label}\" is not an integer or a name"),
                "integer class label",
            ],
        );
    }
}

#[test]
fn a_csv_of_one_column_has_no_samples() {
    let f = Fixture::new(22);
    let lines: Vec<String> = ["LABEL", "1", "2", "1"].map(String::from).to_vec();
    let name = write_lines(f.path(), "one.csv", &lines);
    assert_fails(&f.train(&name, "run", &[]), &["one.csv", "line 2", "only a label column"]);
}

#[test]
fn a_csv_of_ten_thousand_columns_trains_seed_cnn_for_an_epoch() {
    let f = Fixture::new(23);
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    let lines = random_rows(&mut rng, 6, 9_999, &[1, 2]);
    let name = write_lines(f.path(), "wide.csv", &lines);
    let out = f.run(&[
        "train", "--train", &name, "--model", "seed-cnn", "--epochs", "1", "--batch", "2", "--device", "cpu",
        "--out", "wide",
    ]);
    assert_succeeds(&out);
    let metrics = std::fs::read_to_string(f.path().join("wide/metrics.json")).unwrap();
    assert!(metrics.contains("\"accuracy\""), "{metrics}");
}

// ---------------------------------------------------------------- classes and shapes

#[test]
fn a_training_set_of_one_class_is_refused() {
    let mut f = Fixture::new(30);
    let name = f.csv("single.csv", &[2]);
    assert_fails(&f.train(&name, "run", &[]), &["single.csv", "every row has label 2", "at least 2 classes"]);
}

/// Injected transits take the planet label; data without it (UCR-style -1/1 labels)
/// would gain a class, so the run stops and says which option to give. With the label
/// named, the injected curves join the training set.
#[test]
fn inject_needs_the_planet_label_in_the_training_set() {
    let mut f = Fixture::new(32);
    let lines = random_rows(&mut f.rng, 24, 160, &[-1, 1]);
    let name = write_lines(f.path(), "ucr.csv", &lines);
    assert_fails(
        &f.train(&name, "run", &["--inject", "8"]),
        &["--inject", "planet label 2", "--planet-label"],
    );
    let out = f.train(&name, "run", &["--inject", "8", "--planet-label", "1"]);
    assert_succeeds(&out);
    assert!(stderr(&out).contains("Added 8 training curves with simulated transits"), "{}", stderr(&out));
}

#[test]
fn a_test_set_with_an_unseen_class_is_refused_by_train_and_eval() {
    let mut f = Fixture::new(31);
    let dir = f.trained("run");
    let test = f.csv("test.csv", &[1, 2, 7]);
    assert_fails(
        &f.train("train.csv", "run2", &["--test", &test]),
        &["test.csv", "8 row(s) have label 7", "it knows 1, 2", "retrain with class 7"],
    );
    let model = dir.join("model.safetensors");
    let out = f.run(&["eval", "--model", model.to_str().unwrap(), "--data", &test, "--device", "cpu"]);
    assert_fails(&out, &["test.csv", "label 7", "it knows 1, 2"]);
}

#[test]
fn series_shorter_than_the_preset_allows_say_how_long_they_must_be() {
    let mut f = Fixture::new(32);
    let lines = random_rows(&mut f.rng, 8, 40, &[1, 2]);
    let name = write_lines(f.path(), "short.csv", &lines);
    let out = f.run(&["train", "--train", &name, "--model", "seed-cnn", "--epochs", "1", "--device", "cpu"]);
    assert_fails(&out, &["the series have 40 samples", "'seed-cnn' needs at least 936", "use longer series"]);
}

#[test]
fn eval_on_series_of_another_length_names_both_lengths() {
    let mut f = Fixture::new(33);
    let dir = f.trained("run");
    let lines = random_rows(&mut f.rng, 4, 48, &[1, 2]);
    let name = write_lines(f.path(), "longer.csv", &lines);
    let model = dir.join("model.safetensors");
    let out = f.run(&["eval", "--model", model.to_str().unwrap(), "--data", &name, "--device", "cpu"]);
    assert_fails(&out, &["longer.csv", "have 48 samples", "trained on 32", "same length"]);
}

// ---------------------------------------------------------------- checkpoints

/// Damaged copies of a real checkpoint, with what the message must say about each.
fn damaged_checkpoints(original: &[u8], rng: &mut ChaCha8Rng) -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let header_len = u64::from_le_bytes(original[..8].try_into().unwrap()) as usize;
    let mut garbled = original.to_vec();
    for b in &mut garbled[8..8 + header_len / 2] {
        *b = rng.gen();
    }
    let mut nan = original.to_vec();
    let data = 8 + header_len;
    nan[data..data + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    // A valid safetensors file written by another tool: one tensor, no Starskøpe card.
    let foreign_header = br#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
    let mut foreign = (foreign_header.len() as u64).to_le_bytes().to_vec();
    foreign.extend_from_slice(foreign_header);
    foreign.extend_from_slice(&[0; 8]);
    // An edited card: the model's input channels no longer match those its preprocessing makes.
    let field = br#"\"channels\":2"#;
    let at = original.windows(field.len()).position(|w| w == field).expect("the card's channels field");
    let mut edited = original.to_vec();
    edited[at + field.len() - 1] = b'3';
    vec![
        ("truncated", original[..original.len() / 2].to_vec(), "not fully covered"),
        ("edited", edited, "takes 3 input channels, but its preprocessing makes 2"),
        ("corrupt", garbled, "not a usable Starskøpe checkpoint"),
        ("nan", nan, "holds NaN or infinite values"),
        ("foreign", foreign, "no Starskøpe metadata"),
        ("empty", Vec::new(), "not a usable Starskøpe checkpoint"),
    ]
}

#[test]
fn damaged_checkpoints_are_refused_by_eval_and_predict() {
    let mut f = Fixture::new(40);
    let dir = f.trained("run");
    let original = std::fs::read(dir.join("model.safetensors")).unwrap();
    for (what, bytes, says) in damaged_checkpoints(&original, &mut f.rng) {
        let name = format!("{what}.safetensors");
        std::fs::write(f.path().join(&name), bytes).unwrap();
        let eval = f.run(&["eval", "--model", &name, "--data", "train.csv", "--device", "cpu"]);
        assert_fails(&eval, &[&name, says, "Use the model.safetensors"]);
        let predict =
            f.run(&["predict", "--model", &name, "--data", "train.csv", "--out", "p.csv", "--device", "cpu"]);
        assert_fails(&predict, &[&name, says]);
    }
}

#[test]
fn damaged_checkpoints_are_refused_by_resume() {
    let mut f = Fixture::new(41);
    let dir = f.trained("run");
    let checkpoint = dir.join("checkpoint.safetensors");
    let original = std::fs::read(&checkpoint).unwrap();
    for (_, bytes, says) in damaged_checkpoints(&original, &mut f.rng) {
        std::fs::write(&checkpoint, bytes).unwrap();
        let out = f.train("train.csv", "run", &["--resume", "--epochs", "2"]);
        assert_fails(&out, &["checkpoint.safetensors", says]);
    }
}

#[test]
fn resume_refuses_a_checkpoint_of_another_model() {
    let mut f = Fixture::new(42);
    f.trained("run");
    assert_fails(
        &f.train("train.csv", "run", &["--resume", "--epochs", "2", "--members", "2"]),
        &["--resume", "number of --members", "resume with the same --model, --train and --members"],
    );
    let three = f.csv("three.csv", &[1, 2, 3]);
    assert_succeeds(&f.train(&three, "other", &[]));
    std::fs::copy(f.path().join("other/checkpoint.safetensors"), f.path().join("run/checkpoint.safetensors"))
        .unwrap();
    assert_fails(
        &f.train("train.csv", "run", &["--resume", "--epochs", "2"]),
        &["--resume", "trained with another model, data shape, classes", "choose a new --out"],
    );
    assert_fails(
        &f.train("train.csv", "empty_dir", &["--resume"]),
        &["--resume", "empty_dir has no checkpoint.safetensors"],
    );
}

// ---------------------------------------------------------------- options and output

#[test]
fn out_of_range_options_are_refused() {
    let mut f = Fixture::new(50);
    let name = f.csv("train.csv", &[1, 2]);
    let cases: [(&[&str], &[&str]); 5] = [
        (&["--batch", "0"], &["--batch must be at least 1"]),
        (&["--lr", "-1"], &["--lr must be a positive number, got -1"]),
        (&["--lr", "0"], &["--lr must be a positive number, got 0"]),
        (&["--epochs", "0"], &["--epochs must be at least 1"]),
        (&["--val-split", "1.5"], &["1.5 is not between 0 and 1", "--val-split 0.2"]),
    ];
    for (extra, says) in cases {
        let mut args = vec!["train", "--train", &name, "--model", "tiny.json", "--device", "cpu"];
        args.extend(extra);
        assert_fails(&f.run(&args), says);
    }
}

#[test]
fn an_output_directory_that_cannot_be_created_is_named() {
    // Under a regular file: fails for root too, who ignores permissions.
    let mut f = Fixture::new(51);
    let name = f.csv("train.csv", &[1, 2]);
    assert_fails(
        &f.train(&name, "train.csv/run", &[]),
        &["train.csv/run", "give --out a directory you can write to"],
    );
    let dir = f.trained("run");
    let model = dir.join("model.safetensors");
    let out = f.run(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--data",
        &name,
        "--out",
        "train.csv/p.csv",
        "--device",
        "cpu",
    ]);
    assert_fails(&out, &["train.csv/p.csv", "writable"]);
}

#[test]
fn a_batch_too_large_for_the_gpu_says_the_largest_that_fits() {
    // seed-cnn's first conv output on K2-length series is 8 x 3187 floats per sample: a
    // million samples exceed any device's largest buffer (lavapipe's is 128 MiB).
    let mut f = Fixture::new(52);
    let lines = random_rows(&mut f.rng, 4, 3197, &[1, 2]);
    let name = write_lines(f.path(), "k2.csv", &lines);
    let out = f.run(&[
        "train", "--train", &name, "--model", "seed-cnn", "--epochs", "1", "--batch", "1000000", "--device",
        "gpu", "--out", "run",
    ]);
    let err = assert_fails(
        &out,
        &["a batch of 1000000 does not fit", "the output of layer 1 (conv1d_0)", "--batch"],
    );
    let number_after = |text: &str| -> f64 {
        let rest = err.split(text).nth(1).unwrap_or_else(|| panic!("lacks {text:?}: {err}"));
        rest.split([' ', ':']).next().unwrap().parse().unwrap()
    };
    let (fits, max_mib) = (number_after("the largest batch that fits is "), number_after("holds at most "));
    let sample_mib = (8 * 3187 * 4) as f64 / (1024.0 * 1024.0);
    assert!(fits * sample_mib <= max_mib + 0.5 && (fits + 1.0) * sample_mib > max_mib - 0.5, "{err}");
}

// ---------------------------------------------------------------- numerical guard

#[test]
fn a_diverging_run_names_the_step_and_layer_and_keeps_no_poisoned_checkpoint() {
    let mut f = Fixture::new(60);
    let name = f.csv("train.csv", &[1, 2]);
    let out = f.train(&name, "run", &["--lr", "1e30", "--epochs", "3"]);
    assert_fails(
        &out,
        &[
            "training stopped",
            "at epoch 1, step",
            "the first non-finite values are in",
            "layer",
            "--on-nan reduce-lr",
        ],
    );
    assert!(!f.path().join("run/checkpoint.safetensors").exists(), "a poisoned checkpoint was written");
}

#[test]
fn reduce_lr_goes_back_to_the_last_checkpoint_and_finishes() {
    let mut f = Fixture::new(61);
    let name = f.csv("train.csv", &[1, 2]);
    // Measured on this data set with balanced, rolled batches: at 1e10 the weights overflow
    // in epoch 1 at the first two rates and in epoch 3 at the third, so the run goes back
    // both to the start and to a checkpoint; at 1e15 every halving diverges.
    let batches = ["--sampling", "balanced", "--roll"];
    let out = f.train(
        &name,
        "run",
        &[&["--lr", "1e10", "--epochs", "3", "--on-nan", "reduce-lr"][..], &batches].concat(),
    );
    assert_succeeds(&out);
    let err = stderr(&out);
    for said in
        ["going back to the start and continuing with --lr 5000000000", "going back to the end of epoch"]
    {
        assert!(err.contains(said), "lacks {said:?}:\n{err}");
    }
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f.path().join("run/metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["epochs"].as_array().unwrap().len(), 3);

    let out = f.train(
        &name,
        "gives_up",
        &[&["--lr", "1e15", "--epochs", "2", "--on-nan", "reduce-lr"][..], &batches].concat(),
    );
    assert_fails(&out, &["halving 4 of 4", "training stopped", "non-finite"]);
}
