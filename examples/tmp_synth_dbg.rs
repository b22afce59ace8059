use plotters::prelude::*;
use starskope::data::synth::*;
use std::time::Instant;

fn panel(
    area: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
    s: &[f32],
    lo: usize,
    hi: usize,
    color: RGBColor,
) {
    let seg = &s[lo..hi];
    let mn = seg.iter().cloned().fold(f32::INFINITY, f32::min) as f64;
    let mx = seg.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
    let pad = (mx - mn) * 0.05 + 1e-9;
    let mut chart = ChartBuilder::on(area)
        .margin(6)
        .build_cartesian_2d(lo as f64..hi as f64, (mn - pad)..(mx + pad))
        .unwrap();
    chart
        .draw_series(LineSeries::new(
            seg.iter().enumerate().map(|(i, v)| ((lo + i) as f64, *v as f64)),
            &color,
        ))
        .unwrap();
    chart
        .draw_series(
            seg.iter().enumerate().map(|(i, v)| Circle::new(((lo + i) as f64, *v as f64), 1, color.filled())),
        )
        .unwrap();
}

fn main() {
    let t0 = Instant::now();
    let set = generate(&SynthConfig::default()).unwrap();
    let gen = t0.elapsed();
    let dir = std::env::temp_dir().join("synthdbg");
    std::fs::create_dir_all(&dir).unwrap();
    let t1 = Instant::now();
    write_exo_csv(dir.join("exoTrain.csv"), &set.train).unwrap();
    write_exo_csv(dir.join("exoTest.csv"), &set.test).unwrap();
    write_truth_csv(dir.join("truth.csv"), &set.train_truth).unwrap();
    println!("generate {:?}, write {:?}, threads {}", gen, t1.elapsed(), rayon::current_num_threads());
    let mut snr: Vec<f64> = set
        .train_truth
        .iter()
        .chain(&set.test_truth)
        .filter(|t| t.kind == Kind::Planet)
        .map(|t| t.snr)
        .collect();
    snr.sort_by(f64::total_cmp);
    println!("planet snr: {:?}", snr.iter().map(|s| format!("{s:.1}")).collect::<Vec<_>>());
    for t in set.train_truth.iter().take(37) {
        println!(
            "{:?} n{} P{:.2} d{:.0} dur{:.1} snr{:.1} kp{:.1}",
            t.kind, t.n_planets, t.period_days, t.depth_ppm, t.duration_hours, t.snr, t.kepmag
        );
    }
    let ebs = set.train_truth.iter().filter(|t| t.kind == Kind::Eb).count();
    println!("ebs {ebs}");
    let bins = recall_by_snr(&set.train_truth, &vec![false; set.train_truth.len()]);
    for b in bins {
        println!("{} {} {}", b.lo, b.hi, b.planets);
    }
    // pick examples
    let tr = &set.train_truth;
    let hi_planet = tr
        .iter()
        .filter(|t| t.kind == Kind::Planet && t.n_planets == 1)
        .max_by(|a, b| a.snr.total_cmp(&b.snr))
        .unwrap();
    let mid_planet = tr.iter().filter(|t| t.kind == Kind::Planet && t.n_planets == 2).nth(3).unwrap();
    let lo_planet =
        tr.iter().filter(|t| t.kind == Kind::Planet).min_by(|a, b| a.snr.total_cmp(&b.snr)).unwrap();
    let eb = tr
        .iter()
        .filter(|t| t.kind == Kind::Eb && t.period_days > 3.0)
        .min_by(|a, b| a.depth_ppm.total_cmp(&b.depth_ppm))
        .unwrap();
    let star = &tr[std::env::args().nth(1).map_or(100, |a| a.parse().unwrap())];
    let rows = [hi_planet, mid_planet, lo_planet, eb, star];
    for t in rows {
        println!("PLOT {t:?}");
    }
    let root = BitMapBackend::new("/tmp/synthdbg/curves.png", (1400, 1500)).into_drawing_area();
    root.fill(&WHITE).unwrap();
    let areas = root.split_evenly((5, 2));
    for (k, t) in rows.iter().enumerate() {
        let s = set.train.series(t.star);
        panel(&areas[2 * k], s, 0, s.len(), BLUE);
        let c = if t.period_days > 0.0 { (t.epoch_days / CADENCE_DAYS) as usize } else { 1600 };
        let lo = c.saturating_sub(60);
        panel(&areas[2 * k + 1], s, lo, (lo + 120).min(s.len()), RED);
    }
    root.present().unwrap();
}
