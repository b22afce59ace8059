//! A training run killed mid-epoch loses at most the epoch in progress: after SIGKILL
//! the last checkpoint loads and `--resume` completes the run; after SIGINT the run
//! stops with a message that says how to resume, and the checkpoint is intact; a panic
//! in the batch scheduler thread becomes an error. Either way the resumed run ends with
//! the parameters of an uninterrupted one (the SIGINT run trains an ensemble of two).

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use starskope::model::checkpoint;

const EPOCHS: usize = 4;

fn starskope(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_starskope"));
    cmd.current_dir(dir).env("NODEVICE_SELECT", "1");
    cmd
}

/// 160 two-class series of 128 samples: with fcn on the CPU an epoch takes about a second,
/// long enough to land a signal inside the second epoch.
fn write_data(dir: &Path, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut text = String::new();
    for r in 0..160 {
        let label = 1 + r % 2;
        let cells: Vec<String> = (0..128)
            .map(|t| {
                let signal = if label == 2 { (t as f64 / 5.0).sin() } else { 0.0 };
                format!("{:.4}", signal + rng.gen_range(-1.0..1.0))
            })
            .collect();
        text += &format!("{label},{}\n", cells.join(","));
    }
    std::fs::write(dir.join("train.csv"), text).unwrap();
}

/// The run's arguments: `members` networks side by side, and `extra`.
fn train_args(members: &'static str, extra: &[&'static str]) -> Vec<String> {
    let epochs = EPOCHS.to_string();
    let mut args = vec!["train", "--train", "train.csv", "--model", "fcn", "--epochs", &epochs];
    args.extend(["--batch", "16", "--seed", "5", "--device", "cpu", "--out", "run", "--members", members]);
    args.extend(extra);
    args.into_iter().map(String::from).collect()
}

/// Starts a training run and returns it once the first epoch's checkpoint exists, after
/// waiting half as long again so that the run is inside its second epoch.
fn start_and_wait_for_checkpoint(dir: &Path, members: &'static str) -> Child {
    let started = Instant::now();
    let mut child = starskope(dir)
        .args(train_args(members, &[]))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the starskope binary starts");
    let checkpoint = dir.join("run/checkpoint.safetensors");
    while !checkpoint.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before writing a checkpoint");
        }
        assert!(started.elapsed() < Duration::from_secs(300), "no checkpoint after 300 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(started.elapsed() / 2);
    assert!(child.try_wait().unwrap().is_none(), "the run finished before it could be interrupted");
    child
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().unwrap();
    assert!(status.success(), "kill -{name} failed");
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `eval` of a checkpoint file succeeds and prints an accuracy.
fn assert_loads(dir: &Path, file: &str) {
    let out = starskope(dir)
        .args(["eval", "--model", &format!("run/{file}"), "--data", "train.csv", "--device", "cpu"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{file} does not load:\n{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("accuracy"));
}

fn epochs_in_history(dir: &Path) -> usize {
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run/metrics.json")).unwrap()).unwrap();
    metrics["epochs"].as_array().expect("metrics.json lists epochs").len()
}

/// `--resume` finishes the run of `members` networks in `dir`, whose data came from
/// `data_seed`, with the parameters that an uninterrupted run on the same data ends with.
fn resume_completes(dir: &Path, data_seed: u64, members: &'static str) {
    let out = starskope(dir).args(train_args(members, &["--resume"])).output().unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "--resume failed:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(epochs_in_history(dir), EPOCHS);

    let whole = tempfile::tempdir().unwrap();
    write_data(whole.path(), data_seed);
    let out = starskope(whole.path()).args(train_args(members, &[])).output().unwrap();
    assert!(out.status.success(), "the uninterrupted run failed:\n{}", stderr(&out));
    let params = |d: &Path| checkpoint::load(&d.join("run/model.safetensors")).unwrap().tensors;
    let resumed = params(dir);
    assert!(resumed == params(whole.path()), "the resumed run ended with other parameters");
    let last_member = format!("member{}.", members.parse::<usize>().unwrap() - 1);
    assert!(
        members == "1" || resumed.keys().any(|name| name.starts_with(&last_member)),
        "the model lacks ensemble member {last_member}"
    );
}

#[test]
fn sigkill_mid_epoch_keeps_a_loadable_checkpoint_and_resume_completes() {
    let dir = tempfile::tempdir().unwrap();
    write_data(dir.path(), 1);
    let child = start_and_wait_for_checkpoint(dir.path(), "1");
    signal(&child, "KILL");
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(!stderr(&out).contains("panicked"));
    assert!(!dir.path().join("run/metrics.json").exists(), "the killed run cannot have finished");

    assert_loads(dir.path(), "model.safetensors");
    assert_loads(dir.path(), "checkpoint.safetensors");
    resume_completes(dir.path(), 1, "1");
}

#[test]
fn sigint_finishes_the_step_says_how_to_resume_and_keeps_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    write_data(dir.path(), 2);
    let child = start_and_wait_for_checkpoint(dir.path(), "2");
    signal(&child, "INT");
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert!(!out.status.success(), "an interrupted run must not exit 0:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    for part in ["interrupted", "run/checkpoint.safetensors", "starskope train --resume --out run"] {
        assert!(err.contains(part), "the message lacks {part:?}:\n{err}");
    }
    assert_loads(dir.path(), "checkpoint.safetensors");
    resume_completes(dir.path(), 2, "2");
}

#[test]
fn a_panic_in_the_batch_scheduler_is_an_error_naming_it() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let fail_at = rng.gen_range(1..20);
    let mut prefetch = starskope::train::scheduler::Prefetcher::spawn(40, 2, move |i| {
        assert!(i != fail_at, "batch {i} could not be built");
        i * 3
    });
    for i in 0..fail_at {
        assert_eq!(prefetch.recv().unwrap(), i * 3);
    }
    let err = prefetch.recv().expect_err("the worker panicked").to_string();
    for part in [
        "batch scheduler thread failed",
        &format!("batch {fail_at} could not be built"),
        "checkpoint is intact",
    ] {
        assert!(err.contains(part), "lacks {part:?}: {err}");
    }
}
