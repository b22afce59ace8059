//! Every subcommand through the built binary, as a user runs it.

use std::path::PathBuf;
use std::process::Output;

use assert_cmd::Command;

fn starskope() -> Command {
    let mut cmd = Command::cargo_bin("starskope").unwrap();
    cmd.env("NODEVICE_SELECT", "1");
    cmd
}

fn shared(path: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared")).join(path)
}

fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn help_names_every_subcommand() {
    let text = stdout(&run_ok(starskope().arg("--help")));
    for sub in
        ["train", "eval", "predict", "synth", "summary", "verify", "devices", "bench", "survey", "inspect"]
    {
        assert!(text.contains(sub), "--help lacks {sub}: {text}");
        let sub_help = stdout(&run_ok(starskope().args([sub, "--help"])));
        assert!(sub_help.contains("Usage: starskope"), "{sub} --help: {sub_help}");
    }
    let train_help = stdout(&run_ok(starskope().args(["train", "--help"])));
    for flag in [
        "--train",
        "--test",
        "--val",
        "--val-split",
        "--model",
        "--epochs",
        "--batch",
        "--lr",
        "--seed",
        "--device",
        "--out",
    ] {
        assert!(train_help.contains(flag), "train --help lacks {flag}");
    }
}

#[test]
fn summary_prints_the_keras_parameter_count() {
    let text = stdout(&run_ok(starskope().args([
        "summary",
        "--model",
        "seed-cnn",
        "--length",
        "3197",
        "--channels",
        "2",
    ])));
    assert!(text.contains("Total params: 71,241"), "{text}");
}

#[test]
fn verify_passes_every_golden_file_on_the_cpu() {
    let text =
        stdout(&run_ok(starskope().args(["verify", "--device", "cpu", "--golden"]).arg(shared("golden"))));
    assert!(text.contains("16 passed, 0 failed"), "{text}");
}

#[test]
fn devices_lists_adapters() {
    let text = stdout(&run_ok(starskope().arg("devices")));
    assert!(!text.trim().is_empty());
}

/// synth -> train -> eval -> predict on a small synthetic set.
#[test]
fn synth_train_eval_predict() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    run_ok(
        starskope()
            .args(["synth", "--train-stars", "120", "--train-planets", "12", "--test-stars", "40"])
            .args(["--test-planets", "4", "--samples", "1000", "--out"])
            .arg(dir),
    );
    for f in ["exoTrain.csv", "exoTest.csv", "truth_train.csv", "truth_test.csv"] {
        assert!(dir.join(f).is_file(), "synth wrote no {f}");
    }
    let run = dir.join("run");
    let out = run_ok(
        starskope()
            .args([
                "train", "--device", "cpu", "--model", "seed-cnn", "--epochs", "2", "--batch", "8", "--train",
            ])
            .arg(dir.join("exoTrain.csv"))
            .arg("--test")
            .arg(dir.join("exoTest.csv"))
            .arg("--out")
            .arg(&run),
    );
    assert!(stdout(&out).contains("Confusion matrix"));
    for f in [
        "metrics.json",
        "history.csv",
        "model.safetensors",
        "checkpoint.safetensors",
        "history.png",
        "confusion.png",
        "roc.png",
        "pr.png",
        "light_curves.png",
    ] {
        assert!(run.join(f).is_file(), "train wrote no {f}");
    }
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    for key in [
        "accuracy",
        "classes",
        "per_class",
        "confusion",
        "roc_auc",
        "pr_auc",
        "epochs",
        "selected_epoch",
        "last_epoch",
        "device",
        "samples_per_second",
    ] {
        assert!(metrics.get(key).is_some(), "metrics.json lacks {key}");
    }
    assert_eq!(metrics["classes"], serde_json::json!([1, 2]));
    assert_eq!(metrics["epochs"].as_array().unwrap().len(), 2);

    let model = run.join("model.safetensors");
    let eval = stdout(&run_ok(
        starskope()
            .args(["eval", "--device", "cpu", "--model"])
            .arg(&model)
            .arg("--data")
            .arg(dir.join("exoTest.csv"))
            .arg("--truth")
            .arg(dir.join("truth_test.csv")),
    ));
    assert!(eval.contains("Confusion matrix") && eval.contains("signal-to-noise"), "{eval}");

    let scores = dir.join("scores.csv");
    run_ok(
        starskope()
            .args(["predict", "--device", "cpu", "--model"])
            .arg(&model)
            .arg("--data")
            .arg(dir.join("exoTest.csv"))
            .arg("--out")
            .arg(&scores),
    );
    let text = std::fs::read_to_string(&scores).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "index,label,p_1,p_2,predicted");
    assert_eq!(lines.len(), 41);
    assert_metrics_match_predictions(&metrics, &lines[1..]);
}

/// eval/predict from the checkpoint alone reproduce the run's own test report.
fn assert_metrics_match_predictions(metrics: &serde_json::Value, rows: &[&str]) {
    let correct = rows
        .iter()
        .filter(|r| {
            let cells: Vec<&str> = r.split(',').collect();
            cells[1] == cells[4]
        })
        .count();
    let accuracy = correct as f64 / rows.len() as f64;
    assert!(
        (accuracy - metrics["accuracy"].as_f64().unwrap()).abs() < 1e-9,
        "predict {accuracy} vs metrics.json {}",
        metrics["accuracy"]
    );
}

#[test]
fn train_reports_a_missing_file_without_panicking() {
    let out = starskope()
        .args(["train", "--device", "cpu", "--train", "/nonexistent/exoTrain.csv"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/exoTrain.csv") && !err.contains("panicked"), "{err}");
}

/// As a newcomer runs it: default device (which asks Vulkan for adapters), and a shell
/// without a display session, where Mesa's device-select layer would print `error:` lines.
#[test]
fn the_shipped_sample_trains_without_error_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample"));
    let out = run_ok(
        starskope()
            .env_remove("NODEVICE_SELECT")
            .env_remove("XDG_RUNTIME_DIR")
            .args(["train", "--epochs", "1", "--train"])
            .arg(sample.join("exoTrain.csv"))
            .arg("--test")
            .arg(sample.join("exoTest.csv"))
            .arg("--out")
            .arg(tmp.path().join("run")),
    );
    assert!(tmp.path().join("run/metrics.json").is_file());
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!text.lines().any(|l| l.starts_with("error:")), "{text}");
}

#[test]
fn bench_prints_a_table_and_json() {
    let args = ["bench", "--device", "cpu", "--quick", "--preset", "fcn", "--length", "64"];
    let table = stdout(&run_ok(starskope().args(args)));
    assert!(table.contains("fcn") && table.contains("GFLOP/s"), "{table}");
    let json = stdout(&run_ok(starskope().args(args).args(["--json", "--no-ops"])));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert!(v.is_object(), "{json}");
}
