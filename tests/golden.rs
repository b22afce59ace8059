//! The golden vectors (shared/golden) through the CPU reference: the generic functions
//! in f64 at 1e-9, and `CpuBackend` (f32, through the `Backend` trait) at 1e-4 / 1e-3;
//! and through the fast CPU backend (`--device cpu`) at the same f32 tolerances.

use starskope::backend::Backend;
use starskope::cpu::CpuBackend;
use starskope::fastcpu::FastCpuBackend;
use starskope::verify::{verify_dir, verify_dir_f64, GoldenReport};
use std::path::Path;

fn golden_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/golden"))
}

/// Every file ran (one report each) and passed.
fn assert_all_pass(reports: &[GoldenReport]) {
    let files = std::fs::read_dir(golden_dir())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "json"))
        .count();
    assert_eq!(reports.len(), files, "one report per golden file");
    for r in reports {
        println!("{r}");
    }
    let failed: Vec<String> = reports.iter().filter(|r| !r.passed).map(|r| r.to_string()).collect();
    assert!(failed.is_empty(), "golden files failed:\n{}", failed.join("\n"));
}

#[test]
fn f64_reference_matches_every_golden_file() {
    let reports = verify_dir_f64(golden_dir()).unwrap();
    for r in &reports {
        assert_eq!(r.tolerance, 1e-9);
    }
    assert_all_pass(&reports);
}

fn f32_backend_matches_every_golden_file(be: &mut dyn Backend) {
    let reports = verify_dir(golden_dir(), be).unwrap();
    for r in &reports {
        assert_eq!(r.tolerance, if r.op == "lstm" { 1e-3 } else { 1e-4 }, "{r}");
        // f32 through the trait is not exact: a zero error would mean nothing ran in f32
        assert!(r.max_rel_error > 0.0 || r.op == "maxpool1d", "{r}");
    }
    assert_all_pass(&reports);
}

#[test]
fn unknown_op_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("strange.json");
    std::fs::write(&path, r#"{"op": "fft", "config": {}, "inputs": {}, "outputs": {}}"#).unwrap();
    let err = verify_dir_f64(dir.path()).unwrap_err().to_string();
    assert!(err.contains("strange.json") && err.contains("unknown op 'fft'"), "{err}");
}

#[test]
fn a_wrong_golden_value_fails() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(golden_dir().join("dense_linear.json")).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let first = &mut json["outputs"]["dweight"]["data"][0];
    *first = serde_json::json!(first.as_f64().unwrap() + 1e-3);
    std::fs::write(dir.path().join("dense_linear.json"), json.to_string()).unwrap();
    let reports = verify_dir_f64(dir.path()).unwrap();
    assert!(!reports[0].passed, "{}", reports[0]);
    assert_eq!(reports[0].worst().unwrap().name, "dweight");
}

#[test]
fn a_missing_input_names_file_and_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(golden_dir().join("conv1d_k5.json")).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["inputs"].as_object_mut().unwrap().remove("bias");
    std::fs::write(dir.path().join("conv1d_k5.json"), json.to_string()).unwrap();
    let err = verify_dir_f64(dir.path()).unwrap_err().to_string();
    assert!(err.contains("conv1d_k5.json") && err.contains("'bias'"), "{err}");
}

#[test]
fn cpu_backend_matches_every_golden_file() {
    f32_backend_matches_every_golden_file(&mut CpuBackend::new());
}

#[test]
fn fast_cpu_backend_matches_every_golden_file() {
    f32_backend_matches_every_golden_file(&mut FastCpuBackend::new());
}
