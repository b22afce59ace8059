//! `cargo bench --bench prepare`: how many light curves per second one core turns into the
//! main job's network input (time grid, whitening, box search, folds and vetting
//! channels; `data::curve_input::prepare_curve`), for a K2 campaign at the 29.4-minute
//! long cadence (80 days, about 3,900 cadences) and a TESS sector at the 2-minute cadence
//! (27 days with its mid-sector gap, about 18,700 cadences). The curves are made here
//! (noise, a spotted star's wave, K2's 6-hour roll sawtooth, a transit), so the figure
//! does not depend on files at hand; reading them is not timed. Curves per second per core
//! come from the thread's own CPU time (Linux's /proc/thread-self/schedstat), which other
//! work on the machine does not inflate; wall-clock time where that is not available.

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use starskope::data::curve_input::prepare_curve;
use starskope::data::time_grid::LONG_CADENCE_DAYS;
use starskope::data::Preprocess;
use starskope::train::k2_recipe::DETECTION;

/// The main job's input length.
const LEN: usize = 3197;

struct Curve {
    name: &'static str,
    time: Vec<f64>,
    flux: Vec<f64>,
}

fn curve(name: &'static str, cadence: f64, days: f64, gap: (f64, f64), roll: bool, seed: u64) -> Curve {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let time: Vec<f64> = (0..(days / cadence) as usize)
        .map(|i| 2000.0 + i as f64 * cadence)
        .filter(|t| !(2000.0 + gap.0..2000.0 + gap.1).contains(t))
        .collect();
    let flux = time
        .iter()
        .map(|&t| {
            let noise: f64 = (0..12).map(|_| rng.gen::<f64>()).sum::<f64>() - 6.0;
            let sawtooth = if roll { 2e-4 * ((t - 2000.0) / 0.245).fract() } else { 0.0 };
            let transit = if (t - 2001.3).rem_euclid(6.27) < 0.12 { 5e-4 } else { 0.0 };
            1.0 + 3e-3 * (t / 4.1).sin() + sawtooth - transit + 3e-4 * noise
        })
        .collect();
    Curve { name, time, flux }
}

fn main() {
    let pre = Preprocess::transit_search(DETECTION);
    let curves = [
        curve("K2 campaign, 29.4 min", LONG_CADENCE_DAYS, 80.0, (40.0, 40.5), true, 1),
        curve("TESS sector, 2 min", 2.0 / 1440.0, 27.0, (13.2, 14.3), false, 2),
    ];
    let mut dst = vec![0.0f32; pre.channels() * LEN];
    println!("| light curve | cadences | wall ms per curve | CPU ms per curve | curves/s per core |");
    println!("|---|---:|---:|---:|---:|");
    for c in &curves {
        prepare_curve(&pre, LEN, &c.time, &c.flux, &mut dst);
        let runs = 40;
        let (start, cpu_start) = (Instant::now(), cpu_seconds());
        for _ in 0..runs {
            std::hint::black_box(prepare_curve(&pre, LEN, &c.time, &c.flux, &mut dst));
        }
        let wall = start.elapsed().as_secs_f64() / runs as f64;
        let cpu = cpu_start.zip(cpu_seconds()).map(|(a, b)| (b - a) / runs as f64);
        let cpu_ms = cpu.map_or("-".to_string(), |s| format!("{:.1}", s * 1e3));
        let per_core = 1.0 / cpu.unwrap_or(wall);
        println!("| {} | {} | {:.1} | {cpu_ms} | {per_core:.1} |", c.name, c.time.len(), wall * 1e3);
    }
}

/// This thread's CPU time so far, seconds (Linux).
fn cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some(ns * 1e-9)
}
