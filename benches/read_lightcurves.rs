//! `cargo bench --bench read_lightcurves -- PATH...`: how fast light-curve files are read,
//! cleaned and stitched on one core (src/lightcurve), per data set PATH (a directory, a
//! glob or one file): targets, files and points per second, and the time split between
//! reading the files and cleaning/stitching them. Without PATH it reads the project's real
//! light curves beside the repository (../shared/realdata/kepler and its TESS sector).
//!
//! Rates are per second of this process's CPU time (Linux /proc/self/stat), not of wall
//! time, so that they stay the same on a machine shared with other work; the wall-clock
//! rate is given beside them.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use starskope::lightcurve::{self, list_targets, read_target, ReadOptions};

/// Repeat each set until it has used this much CPU time (seconds), so that small sets are
/// timed over many passes and the 10 ms clock ticks do not count.
const MIN_CPU: f64 = 3.0;

/// This process's user + system CPU time, seconds (Linux counts it in 1/100 s ticks).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // the fields after the command name (which may hold spaces) start after its ')'
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn main() -> ExitCode {
    // cargo passes `--bench` to a harness-less bench: only paths count
    let mut paths: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    if paths.is_empty() {
        let shared = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/realdata");
        paths = vec![format!("{shared}/kepler/*.fits"), format!("{shared}/tess/PiMen_S1_2min.csv")];
    }
    let opts = ReadOptions::default();
    if cpu_seconds() == 0.0 && !Path::new("/proc/self/stat").exists() {
        eprintln!("this bench needs Linux's /proc/self/stat for CPU time");
        return ExitCode::FAILURE;
    }
    println!("set\ttargets\tfiles\tpoints\tpasses\ttargets/cpu-s\tfiles/cpu-s\tpoints/cpu-s\tpoints/wall-s\tread share");
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
    let (mut passes, mut read_cpu) = (0u32, 0.0);
    let start_cpu = cpu_seconds();
    let mut whole_wall = 0.0;
    while cpu_seconds() - start_cpu - read_cpu < MIN_CPU {
        points = 0;
        let pass = Instant::now();
        for t in &targets {
            points += read_target(t, opts)?.time.len();
        }
        whole_wall += pass.elapsed().as_secs_f64();
        // the same files read and parsed without cleaning or stitching
        let read_start = cpu_seconds();
        for file in targets.iter().flat_map(|t| &t.files) {
            std::hint::black_box(lightcurve::read_file(Path::new(file), opts)?);
        }
        read_cpu += cpu_seconds() - read_start;
        passes += 1;
    }
    let total_cpu = cpu_seconds() - start_cpu;
    let whole = (total_cpu - read_cpu) / f64::from(passes);
    let read = read_cpu / f64::from(passes);
    Ok(format!(
        "{path}\t{}\t{files}\t{points}\t{passes}\t{:.1}\t{:.1}\t{:.0}\t{:.0}\t{:.0}%",
        targets.len(),
        targets.len() as f64 / whole,
        files as f64 / whole,
        points as f64 / whole,
        points as f64 * f64::from(passes) / whole_wall,
        100.0 * read / whole,
    ))
}
