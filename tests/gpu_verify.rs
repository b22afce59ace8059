//! The golden vectors (shared/golden) through the GPU backend: the library call and the
//! `starskope verify --device gpu` command. Tolerances are the runner's (src/verify.rs):
//! 1e-4 normwise, 1e-3 for the LSTM.
//!
//! These tests run on lavapipe (software Vulkan) on machines without a GPU; a machine with
//! no adapter at all FAILS them with the message that says what to install.

use std::path::Path;
use std::process::Command;

use starskope::gpu::GpuBackend;
use starskope::verify::verify_dir;

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/golden");

fn golden_files() -> usize {
    std::fs::read_dir(GOLDEN)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "json"))
        .count()
}

#[test]
fn gpu_backend_matches_every_golden_file() {
    let mut gpu = GpuBackend::new().unwrap_or_else(|e| panic!("the GPU tests need a GPU adapter: {e:#}"));
    let reports = verify_dir(Path::new(GOLDEN), &mut gpu).unwrap();
    assert_eq!(reports.len(), golden_files(), "one report per golden file");
    for r in &reports {
        println!("{r}");
        assert_eq!(r.tolerance, if r.op == "lstm" { 1e-3 } else { 1e-4 }, "{r}");
    }
    let failed: Vec<String> = reports.iter().filter(|r| !r.passed).map(|r| r.to_string()).collect();
    assert!(failed.is_empty(), "golden files failed on the GPU:\n{}", failed.join("\n"));
}

#[test]
fn verify_command_on_gpu_exits_zero() {
    let out = Command::new(env!("CARGO_BIN_EXE_starskope"))
        .args(["verify", "--golden", GOLDEN, "--device", "gpu"])
        .env("NODEVICE_SELECT", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "starskope verify --device gpu failed:\n{stdout}\n{stderr}");
    // every file was run and reported, none failed
    let expected = format!("{} passed, 0 failed", golden_files());
    assert!(stdout.contains(&expected), "expected '{expected}' in:\n{stdout}");
    assert!(stdout.contains("Vulkan") || stdout.contains("Metal") || stdout.contains("Dx12"), "{stdout}");
}
