//! `cargo bench --bench read_lightcurves -- PATH...`: how fast light-curve files are read,
//! cleaned and stitched on one core (src/lightcurve), per data set PATH (a directory, a
//! glob or one file): targets, files and points per second, and the time split between
//! reading the files and cleaning/stitching them. Without PATH it reads the project's real
//! light curves beside the repository (../shared/realdata/kepler and its TESS sector).

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use starskope::lightcurve::{self, list_targets, read_target, ReadOptions};

/// Repeat each set until this much time has passed, so that small sets are timed over
/// many passes.
const MIN_TIME: Duration = Duration::from_secs(3);

fn main() -> ExitCode {
    // cargo passes `--bench` to a harness-less bench: only paths count
    let mut paths: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    if paths.is_empty() {
        let shared = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/realdata");
        paths = vec![format!("{shared}/kepler/*.fits"), format!("{shared}/tess/PiMen_S1_2min.csv")];
    }
    let opts = ReadOptions::default();
    println!("set\ttargets\tfiles\tpoints\tpasses\ttargets/s\tfiles/s\tpoints/s\tread share");
    for path in &paths {
        match measure(path, &opts) {
            Ok(line) => println!("{line}"),
            Err(e) => {
                eprintln!("{path}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

fn measure(path: &str, opts: &ReadOptions) -> Result<String, lightcurve::LightCurveError> {
    let targets = list_targets(path, None)?;
    let files: usize = targets.iter().map(|t| t.files.len()).sum();
    let mut points = 0;
    let (mut passes, mut read_only) = (0u32, Duration::ZERO);
    let start = Instant::now();
    while start.elapsed() < MIN_TIME {
        points = 0;
        for t in &targets {
            points += read_target(t, opts)?.time.len();
        }
        // the same files read and parsed without cleaning or stitching
        let read_start = Instant::now();
        for file in targets.iter().flat_map(|t| &t.files) {
            std::hint::black_box(lightcurve::read_file(Path::new(file), opts)?);
        }
        read_only += read_start.elapsed();
        passes += 1;
    }
    let whole = (start.elapsed() - read_only).as_secs_f64() / f64::from(passes);
    let read = read_only.as_secs_f64() / f64::from(passes);
    Ok(format!(
        "{path}\t{}\t{files}\t{points}\t{passes}\t{:.1}\t{:.1}\t{:.0}\t{:.0}%",
        targets.len(),
        targets.len() as f64 / whole,
        files as f64 / whole,
        points as f64 / whole,
        100.0 * read / whole,
    ))
}
