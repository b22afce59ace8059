//! Class labels that are names ("ab", "SN Ia") through train, eval and predict, and
//! checkpoints written when labels were integers only.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn starskope() -> Command {
    let mut cmd = Command::cargo_bin("starskope").unwrap();
    cmd.env("NODEVICE_SELECT", "1");
    cmd
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    text
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures")).join(name)
}

/// The same header, rows, labels and predicted classes, and probabilities within one unit
/// of their sixth printed decimal: the fast CPU backend's kernels may sum in another order
/// than the build that wrote the fixture (a new GEMM library moved 0.249579 to 0.249578).
fn same_predictions(got: &str, want: &str) {
    let (got_lines, want_lines): (Vec<&str>, Vec<&str>) = (got.lines().collect(), want.lines().collect());
    assert_eq!(got_lines.len(), want_lines.len(), "{got}");
    assert_eq!(got_lines[0], want_lines[0]);
    for (g, w) in got_lines[1..].iter().zip(&want_lines[1..]) {
        let (g_cells, w_cells): (Vec<&str>, Vec<&str>) = (g.split(',').collect(), w.split(',').collect());
        assert_eq!(g_cells.len(), w_cells.len(), "{g} vs {w}");
        let last = w_cells.len() - 1;
        for (i, (gc, wc)) in g_cells.iter().zip(&w_cells).enumerate() {
            if i < 2 || i == last {
                assert_eq!(gc, wc, "{g} vs {w}");
            } else {
                let (gp, wp): (f64, f64) = (gc.parse().unwrap(), wc.parse().unwrap());
                assert!((gp - wp).abs() <= 1.5e-6, "{g} vs {w}");
            }
        }
    }
}

/// A checkpoint, its data and its predictions as `starskope predict` wrote them before
/// labels could be names (card classes `[1, 2]`): the same file still loads and predicts
/// the same classes and probabilities (`same_predictions`).
#[test]
fn a_checkpoint_with_integer_classes_still_loads_and_predicts_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pred.csv");
    run_ok(
        starskope()
            .args(["predict", "--device", "cpu", "--model"])
            .arg(fixture("int_classes_v1.safetensors"))
            .arg("--data")
            .arg(fixture("int_classes_v1.csv"))
            .arg("--out")
            .arg(&out),
    );
    let want = std::fs::read_to_string(fixture("int_classes_v1_predictions.csv")).unwrap();
    same_predictions(&std::fs::read_to_string(&out).unwrap(), &want);
    let eval = run_ok(
        starskope()
            .args(["eval", "--device", "cpu", "--model"])
            .arg(fixture("int_classes_v1.safetensors"))
            .arg("--data")
            .arg(fixture("int_classes_v1.csv")),
    );
    assert!(eval.contains("true 1") && eval.contains("pred 2"), "{eval}");
}

/// Rows labelled `ab` or `c` in the exoTrain layout (the first row is data, not a header).
fn named_csv(dir: &Path) -> PathBuf {
    let mut text = String::new();
    for r in 0..24 {
        let (label, level) = if r % 3 == 0 { ("c", 1.0) } else { ("ab", -1.0) };
        let cells: Vec<String> =
            (0..16).map(|t| format!("{:.3}", level + 0.1 * ((r * 7 + t) % 5) as f64)).collect();
        text += &format!("{label},{}\n", cells.join(","));
    }
    let path = dir.join("named.csv");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn named_classes_reach_metrics_checkpoint_and_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let data = named_csv(dir.path());
    std::fs::write(
        dir.path().join("tiny.json"),
        r#"{"name": "tiny", "layers": [{"type": "flatten"}, {"type": "dense", "units": 4, "activation": "relu"}]}"#,
    )
    .unwrap();
    let run = dir.path().join("run");
    let text = run_ok(
        starskope()
            .args(["train", "--device", "cpu", "--epochs", "3", "--model"])
            .arg(dir.path().join("tiny.json"))
            .arg("--train")
            .arg(&data)
            .arg("--out")
            .arg(&run),
    );
    assert!(text.contains("true ab") && text.contains("pred c"), "{text}");
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["classes"], serde_json::json!(["ab", "c"]));
    assert_eq!(metrics["per_class"][1]["label"], "c");
    assert_eq!(metrics["binary"]["positive_label"], "c");

    let out = dir.path().join("pred.csv");
    run_ok(
        starskope()
            .args(["predict", "--device", "cpu", "--model"])
            .arg(run.join("model.safetensors"))
            .arg("--data")
            .arg(&data)
            .arg("--out")
            .arg(&out),
    );
    let pred = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = pred.lines().collect();
    assert_eq!(lines[0], "index,label,p_ab,p_c,predicted");
    assert!(lines[1].starts_with("0,c,"), "{}", lines[1]);
    assert!(lines[1..].iter().all(|l| l.ends_with(",ab") || l.ends_with(",c")), "{pred}");
}

/// A test set with a name the model never saw is refused with both lists of names.
#[test]
fn an_unknown_named_class_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let data = named_csv(dir.path());
    let other = dir.path().join("other.csv");
    let text = std::fs::read_to_string(&data).unwrap().replacen("c,", "\"SN Ia, peculiar\",", 2);
    std::fs::write(&other, text).unwrap();
    let out = starskope()
        .args(["eval", "--device", "cpu", "--model"])
        .arg(fixture("int_classes_v1.safetensors"))
        .arg("--data")
        .arg(&other)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("2 row(s) have label SN Ia, peculiar") && err.contains("it knows 1, 2"), "{err}");
}
