//! `cargo bench --bench noise_spectrum`: the simulator's light curves against the real ones
//! kept beside the repository (realdata/k2, kepler, tess), by their noise per time scale,
//! as the network sees them: each curve averaged onto the main job's 3,197-bin time grid
//! (`data::time_grid`), divided by its median, less a two-day running mean of the observed
//! bins. Per curve: the robust scatter of one bin (1.4826 x MAD, ppm) and, for means of 4
//! and 12 bins (2 h and 6 h at the 29.4-min step), that scatter times sqrt(n) over the
//! one-bin scatter: 1 for white noise, above 1 where noise is correlated (granulation,
//! K2's 6-hour roll sawtooth, a spotted star's residuals), below 1 where neighbouring bins
//! anti-correlate. Also the share of bins observed, the grid's step and the rms of the
//! two-day trend (the star's own variability, ppm). The simulator's figures are the 10th,
//! 50th and 90th percentiles over the non-planet stars of the main job's seed 42.

use std::path::PathBuf;

use starskope::data::time_grid::TimeGrid;
use starskope::lightcurve::{list_targets, read_target, ReadOptions};
use starskope::synth::{self, SynthConfig, CADENCE_DAYS};

/// The main job's input length.
const LEN: usize = 3197;
/// Half-width of the running mean taken out, bins (two days at the 29.4-min step).
const TREND_HALF: usize = 49;
/// Simulated non-planet stars measured.
const SIMULATED: usize = 400;

/// The noise figures of one curve.
struct Noise {
    step_hours: f64,
    observed: f64,
    trend_ppm: f64,
    bin_ppm: f64,
    /// scatter of 4- and 12-bin means, times sqrt(n), over the one-bin scatter
    red: [f64; 2],
}

fn robust_sigma(values: &mut [f64]) -> f64 {
    let median = |v: &mut [f64]| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let m = median(values);
    let mut dev: Vec<f64> = values.iter().map(|v| (v - m).abs()).collect();
    1.4826 * median(&mut dev)
}

fn measure(time: &[f64], flux: &[f64]) -> Noise {
    let grid = TimeGrid::resample(time, flux, LEN);
    let seen: Vec<usize> = (0..LEN).filter(|&i| grid.observed[i]).collect();
    let mut level: Vec<f64> = seen.iter().map(|&i| f64::from(grid.values[i])).collect();
    level.sort_by(f64::total_cmp);
    let median = level[level.len() / 2];
    let rel: Vec<f64> = grid.values.iter().map(|&v| f64::from(v) / median - 1.0).collect();
    let mut trend = vec![f64::NAN; LEN];
    let mut residual = vec![f64::NAN; LEN];
    for &i in &seen {
        let window = i.saturating_sub(TREND_HALF)..(i + TREND_HALF + 1).min(LEN);
        let (sum, count) =
            window.filter(|&j| grid.observed[j]).fold((0.0, 0usize), |(s, c), j| (s + rel[j], c + 1));
        trend[i] = sum / count as f64;
        residual[i] = rel[i] - trend[i];
    }
    let mut ones: Vec<f64> = seen.iter().map(|&i| residual[i]).collect();
    let bin = robust_sigma(&mut ones);
    let red = [4usize, 12].map(|n| {
        let mut means: Vec<f64> = (0..LEN / n)
            .map(|b| &residual[b * n..(b + 1) * n])
            .filter(|block| block.iter().all(|v| v.is_finite()))
            .map(|block| block.iter().sum::<f64>() / n as f64)
            .collect();
        robust_sigma(&mut means) * (n as f64).sqrt() / bin
    });
    let trend_rms = (seen.iter().map(|&i| trend[i].powi(2)).sum::<f64>() / seen.len() as f64).sqrt();
    Noise {
        step_hours: grid.step * 24.0,
        observed: seen.len() as f64 / LEN as f64,
        trend_ppm: trend_rms * 1e6,
        bin_ppm: bin * 1e6,
        red,
    }
}

fn row(name: &str, n: &Noise) {
    println!(
        "| {name} | {:.2} | {:.2} | {:.0} | {:.0} | {:.2} | {:.2} |",
        n.step_hours, n.observed, n.trend_ppm, n.bin_ppm, n.red[0], n.red[1]
    );
}

fn main() {
    println!("| light curve | grid step, h | bins observed | trend rms, ppm | 1-bin scatter, ppm | 4-bin red factor | 12-bin red factor |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let realdata = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/realdata"));
    for dir in ["k2", "kepler", "tess"] {
        let targets =
            list_targets(&realdata.join(dir).to_string_lossy(), None).expect("the real light curves");
        for t in &targets {
            let c = read_target(t, &ReadOptions::default()).expect("a real light curve");
            row(&format!("{} ({dir})", t.target), &measure(&c.time, &c.flux));
        }
    }
    let cfg = SynthConfig {
        train_stars: SIMULATED,
        train_planets: 0,
        test_stars: 0,
        test_planets: 0,
        eb_fraction: 0.0,
        single_dip_fraction: 0.0,
        ..SynthConfig::default()
    };
    let set = synth::generate(&cfg).expect("the simulator");
    let time: Vec<f64> = (0..set.train.len).map(|i| i as f64 * CADENCE_DAYS).collect();
    let noises: Vec<Noise> = (0..set.train.rows())
        .map(|r| {
            // The generator fills gaps with straight lines; they are left out as gaps.
            let s = set.train.series(r);
            let kept: Vec<usize> = (0..s.len())
                .filter(|&i| i == 0 || i + 1 == s.len() || (s[i + 1] - s[i]) != (s[i] - s[i - 1]))
                .collect();
            let t: Vec<f64> = kept.iter().map(|&i| time[i]).collect();
            let f: Vec<f64> = kept.iter().map(|&i| f64::from(s[i])).collect();
            measure(&t, &f)
        })
        .collect();
    for (q, name) in [(0.1, "10th"), (0.5, "50th"), (0.9, "90th")] {
        let pick = |f: &dyn Fn(&Noise) -> f64| {
            let mut v: Vec<f64> = noises.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            v[((v.len() - 1) as f64 * q).round() as usize]
        };
        let n = Noise {
            step_hours: pick(&|n| n.step_hours),
            observed: pick(&|n| n.observed),
            trend_ppm: pick(&|n| n.trend_ppm),
            bin_ppm: pick(&|n| n.bin_ppm),
            red: [pick(&|n| n.red[0]), pick(&|n| n.red[1])],
        };
        row(&format!("simulator, {SIMULATED} non-planet stars, {name} percentile"), &n);
    }
}
