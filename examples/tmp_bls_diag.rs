// Temporary diagnostic (injection helper): BLS recovery on the synthetic set. Deleted before hand-off.
use starskope::data::synth::{generate, Kind, SynthConfig};
use starskope::data::{bls, whiten};
fn main() {
    let n: usize = std::env::args().nth(1).map(|s| s.parse().unwrap()).unwrap_or(1000);
    let cfg = SynthConfig {
        train_stars: 0,
        train_planets: 0,
        test_stars: n,
        test_planets: n / 4,
        seed: 7,
        ..SynthConfig::default()
    };
    let set = generate(&cfg).unwrap();
    let t = std::time::Instant::now();
    let mut rows = Vec::new();
    for r in 0..set.test.rows() {
        let w = whiten::whiten(set.test.series(r), 49);
        let fit = bls::search(&w.values, &w.observed);
        if fit.map_or(true, |f| f.snr < 0.0) {
            let obs = w.observed.iter().filter(|&&o| o).count();
            let mean = w.values.iter().sum::<f32>() / w.values.len() as f32;
            let neg = w.values.iter().filter(|&&v| v < 0.0).count();
            eprintln!(
                "row {r}: observed {obs} mean {mean} negatives {neg} raw {:?}",
                &set.test.series(r)[..20]
            );
        }
        rows.push(fit);
    }
    eprintln!("{:.2} ms/star", t.elapsed().as_secs_f64() * 1e3 / n as f64);
    let cad = starskope::data::synth::CADENCE_DAYS;
    let mut found = [[0usize; 2]; 8];
    let edges = [0.0, 5.0, 7.1, 10.0, 15.0, 20.0, 30.0, 50.0, 1e9];
    let mut noise_snr = vec![];
    let mut eb_snr = vec![];
    for (tr, fit) in set.test_truth.iter().zip(&rows) {
        let f = fit.unwrap();
        match tr.kind {
            Kind::Planet => {
                let b = edges.windows(2).position(|e| tr.snr >= e[0] && tr.snr < e[1]).unwrap();
                let ratio = f.period * cad / tr.period_days;
                let ok = [1.0, 2.0, 0.5, 3.0, 1.0 / 3.0].iter().any(|h| (ratio / h - 1.0).abs() < 0.01);
                found[b][0] += 1;
                found[b][1] += ok as usize;
                if tr.snr > 15.0 && !ok {
                    eprintln!(
                        "miss snr {:.1} P {:.2} dur {:.1}h found P {:.2} snr {:.1} w {}",
                        tr.snr,
                        tr.period_days,
                        tr.duration_hours,
                        f.period * cad,
                        f.snr,
                        f.width
                    );
                }
            }
            Kind::Eb => eb_snr.push(f.snr),
            Kind::Star => noise_snr.push(f.snr),
        }
    }
    for (b, e) in found.iter().zip(edges.windows(2)) {
        println!("snr {:>5}-{:<5} planets {:>4} period found {:>4}", e[0], e[1], b[0], b[1]);
    }
    noise_snr.sort_by(f32::total_cmp);
    let q = |v: &Vec<f32>, p: f64| v[((v.len() - 1) as f64 * p) as usize];
    println!(
        "non-planet BLS snr: median {:.1} p90 {:.1} p99 {:.1} max {:.1}",
        q(&noise_snr, 0.5),
        q(&noise_snr, 0.9),
        q(&noise_snr, 0.99),
        q(&noise_snr, 1.0)
    );
    eb_snr.sort_by(f32::total_cmp);
    println!("EB snr: min {:.1} p10 {:.1} median {:.1}", eb_snr[0], q(&eb_snr, 0.1), q(&eb_snr, 0.5));
}
