//! The synthetic K2-like generator: reproducible, well-formed, and holding the transits
//! its truth table says it holds.

use starskope::data::label::ints;
use starskope::synth::{
    eclipsing_binaries, generate, recall_by_snr, snr_bins, write_exo_csv, write_truth_csv, Kind, SynthConfig,
    SynthSet, TruthRow, CADENCE_DAYS,
};

fn small(seed: u64, samples: usize) -> SynthConfig {
    SynthConfig {
        train_stars: 200,
        test_stars: 60,
        train_planets: 24,
        test_planets: 5,
        samples,
        seed,
        ..SynthConfig::default()
    }
}

fn make(cfg: &SynthConfig) -> SynthSet {
    generate(cfg).expect("valid config")
}

fn in_pool<T: Send>(threads: usize, job: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool").install(job)
}

#[test]
fn same_seed_gives_the_same_set_whatever_the_thread_count() {
    let cfg = small(7, 700);
    let one = in_pool(1, || make(&cfg));
    let three = in_pool(3, || make(&cfg));
    let default = make(&cfg);
    for other in [&three, &default] {
        assert_eq!(one.train, other.train);
        assert_eq!(one.test, other.test);
        assert_eq!(one.train_truth, other.train_truth);
        assert_eq!(one.test_truth, other.test_truth);
    }
    let reseeded = make(&small(8, 700));
    assert_ne!(one.train.values, reseeded.train.values);
    assert_ne!(one.train_truth, reseeded.train_truth);
}

#[test]
fn train_and_test_draw_different_stars() {
    let set = make(&small(11, 300));
    let rows = set.test.rows().min(set.train.rows());
    for row in 0..rows {
        assert_ne!(set.train.series(row), set.test.series(row), "row {row}");
    }
}

#[test]
fn labels_counts_and_planet_rows_first() {
    let cfg = small(3, 400);
    let set = make(&cfg);
    for (ds, truth, stars, planets) in [
        (&set.train, &set.train_truth, cfg.train_stars, cfg.train_planets),
        (&set.test, &set.test_truth, cfg.test_stars, cfg.test_planets),
    ] {
        assert_eq!(ds.rows(), stars);
        assert_eq!(ds.len, cfg.samples);
        assert_eq!(ds.values.len(), stars * cfg.samples);
        assert_eq!(truth.len(), stars);
        let expected: Vec<i64> = (0..stars).map(|r| if r < planets { 2 } else { 1 }).collect();
        assert_eq!(ds.labels, expected);
        for (row, t) in truth.iter().enumerate() {
            assert_eq!(t.star, row);
            assert_eq!(t.label, ds.labels[row]);
            assert_eq!(t.kind == Kind::Planet, t.label == 2, "row {row}: {t:?}");
            assert_eq!(t.n_planets > 0, t.kind == Kind::Planet);
            assert!((1..=2).contains(&t.n_planets) || t.kind != Kind::Planet);
            assert!((9.0..16.0).contains(&t.kepmag));
        }
    }
    let ebs = set.train_truth.iter().filter(|t| t.kind == Kind::Eb).count();
    // 176 non-hosts at 5%: 8.8 expected.
    assert!((2..=20).contains(&ebs), "{ebs} eclipsing binaries");
    let two = set.train_truth.iter().filter(|t| t.n_planets == 2).count();
    assert!((1..=12).contains(&two), "{two} two-planet hosts of 24");
}

#[test]
fn every_value_is_finite_and_positive_at_every_length() {
    for samples in [128, 1000, 3197] {
        let set = make(&small(samples as u64, samples));
        for ds in [&set.train, &set.test] {
            let bad = ds.values.iter().position(|v| !v.is_finite());
            assert_eq!(bad, None, "{samples} samples");
            // Deep eclipses and dips never take the flux below a fifth of the star.
            for row in 0..ds.rows() {
                let s = ds.series(row);
                let mut sorted = s.to_vec();
                sorted.sort_by(f32::total_cmp);
                let median = sorted[sorted.len() / 2];
                assert!(median > 1000.0, "row {row}: median {median} e-/s");
                assert!(sorted[0] > 0.2 * median, "row {row}: min {}", sorted[0]);
            }
        }
    }
}

/// Median relative flux loss at mid-transit: cadences within a quarter duration of each
/// mid-transit, against a quadratic in time fitted to the cadences 0.75 to 1.75 durations
/// away on both sides (a local baseline that follows even a fast-rotating spotted star).
/// Also returns the median residual of the baseline cadences, which should be ~0.
fn measured_depth(series: &[f32], t: &TruthRow) -> (f64, f64) {
    let duration = t.duration_hours / 24.0;
    let wing = duration.max(0.25);
    let mut deficits = Vec::new();
    let mut wings_off = Vec::new();
    let mut epoch = t.epoch_days;
    let end = series.len() as f64 * CADENCE_DAYS;
    while epoch < end {
        let at = |lo: f64, hi: f64| -> Vec<(f64, f64)> {
            (0..series.len())
                .map(|c| (c as f64 * CADENCE_DAYS - epoch, series[c] as f64))
                .filter(|&(off, _)| off.abs() >= lo && off.abs() < hi)
                .collect()
        };
        let inside = at(0.0, duration / 4.0);
        let baseline = at(0.75 * duration, 0.75 * duration + wing);
        let both_sides = baseline.iter().any(|p| p.0 < 0.0) && baseline.iter().any(|p| p.0 > 0.0);
        if !inside.is_empty() && baseline.len() >= 6 && both_sides {
            let fit = quadratic_fit(&baseline);
            deficits.extend(inside.iter().map(|&(x, y)| 1.0 - y / fit(x)));
            wings_off.extend(baseline.iter().map(|&(x, y)| 1.0 - y / fit(x)));
        }
        epoch += t.period_days;
    }
    (median(deficits), median(wings_off))
}

/// Least-squares y = a + b x + c x^2, by the 3x3 normal equations (Cramer's rule).
fn quadratic_fit(points: &[(f64, f64)]) -> impl Fn(f64) -> f64 {
    let mut m = [[0.0; 3]; 3];
    let mut v = [0.0; 3];
    for &(x, y) in points {
        let p = [1.0, x, x * x];
        for i in 0..3 {
            v[i] += p[i] * y;
            for j in 0..3 {
                m[i][j] += p[i] * p[j];
            }
        }
    }
    let det = |m: &[[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let whole = det(&m);
    let coef: Vec<f64> = (0..3)
        .map(|col| {
            let mut mc = m;
            for row in 0..3 {
                mc[row][col] = v[row];
            }
            det(&mc) / whole
        })
        .collect();
    move |x| coef[0] + coef[1] * x + coef[2] * x * x
}

fn median(mut v: Vec<f64>) -> f64 {
    assert!(!v.is_empty());
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
fn transits_and_eclipses_sit_at_the_truth_epochs_with_the_truth_depth() {
    let cfg = SynthConfig {
        train_stars: 300,
        test_stars: 0,
        train_planets: 40,
        test_planets: 0,
        samples: 3197,
        seed: 5,
        planet_snr: (40.0, 100.0),
        ..SynthConfig::default()
    };
    let set = make(&cfg);
    let mut checked = 0;
    for t in &set.train_truth {
        let series = set.train.series(t.star);
        let depth = t.depth_ppm * 1e-6;
        match t.kind {
            Kind::Planet if t.n_planets == 1 && t.duration_hours >= 2.0 && t.snr >= 30.0 => {
                let (deficit, wings) = measured_depth(series, t);
                let ratio = deficit / depth;
                assert!((0.6..1.3).contains(&ratio), "{t:?}: measured {deficit}, ratio {ratio}");
                assert!(wings.abs() < 0.3 * depth, "{t:?}: wings {wings}");
                checked += 1;
            }
            Kind::Eb => {
                let (deficit, _) = measured_depth(series, t);
                assert!(deficit > 0.5 * depth, "{t:?}: measured {deficit}");
                checked += 1;
            }
            _ => {}
        }
    }
    assert!(checked >= 25, "only {checked} stars checked");
}

#[test]
fn transit_snr_spans_undetectable_to_obvious() {
    let cfg = SynthConfig { train_planets: 80, ..small(9, 3197) };
    let set = make(&cfg);
    let snr: Vec<f64> = set.train_truth.iter().filter(|t| t.kind == Kind::Planet).map(|t| t.snr).collect();
    let below_7 = snr.iter().filter(|&&s| s < 7.0).count();
    let above_15 = snr.iter().filter(|&&s| s > 15.0).count();
    assert!(below_7 >= 8, "{below_7} planets below SNR 7: {snr:?}");
    assert!(above_15 >= 25, "{above_15} planets above SNR 15: {snr:?}");
    assert!(snr.iter().all(|&s| (2.0..200.0).contains(&s)), "{snr:?}");
    for t in set.train_truth.iter().filter(|t| t.kind == Kind::Planet) {
        assert!((0.5..=30.0).contains(&t.period_days), "{t:?}");
        assert!((1.0..=10.5).contains(&t.duration_hours), "{t:?}");
        assert!(t.epoch_days < t.period_days, "{t:?}");
    }
}

#[test]
fn recall_by_snr_counts_each_planet_once_in_its_bin() {
    let set = make(&small(13, 2000));
    let truth = &set.train_truth;
    // A detector that finds exactly the planets above SNR 10, and flags every EB too.
    let predicted: Vec<bool> =
        truth.iter().map(|t| (t.kind == Kind::Planet && t.snr >= 10.0) || t.kind == Kind::Eb).collect();
    let bins = recall_by_snr(truth, &predicted);
    assert_eq!(bins.len(), snr_bins().len() - 1);
    let planets: usize = bins.iter().map(|b| b.planets).sum();
    assert_eq!(planets, truth.iter().filter(|t| t.kind == Kind::Planet).count());
    for b in &bins {
        match b.recall {
            None => assert_eq!(b.planets, 0),
            Some(r) if b.hi <= 10.0 => assert_eq!(r, 0.0, "{b:?}"),
            Some(r) => assert_eq!(r, 1.0, "{b:?}"),
        }
    }
}

#[test]
fn exo_csv_round_trips_header_labels_and_two_decimals() {
    let set = make(&SynthConfig {
        train_stars: 12,
        test_stars: 3,
        train_planets: 2,
        test_planets: 1,
        ..small(21, 150)
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exoTrain.csv");
    write_exo_csv(&path, &set.train).unwrap();
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let expected: Vec<String> =
        std::iter::once("LABEL".to_string()).chain((1..=150).map(|i| format!("FLUX.{i}"))).collect();
    assert_eq!(header, expected);
    let mut rows = 0;
    for (row, record) in reader.records().enumerate() {
        let record = record.unwrap();
        assert_eq!(record.len(), 151);
        assert_eq!(record[0].parse::<i64>().unwrap(), set.train.labels[row]);
        for (cell, &v) in record.iter().skip(1).zip(set.train.series(row)) {
            let decimals = cell.split('.').nth(1).map_or(0, str::len);
            assert_eq!(decimals, 2, "cell {cell}");
            let back: f64 = cell.parse().unwrap();
            assert!((back - v as f64).abs() <= 0.005 + 1e-6 * v.abs() as f64, "{cell} vs {v}");
        }
        rows += 1;
    }
    assert_eq!(rows, 12);

    let truth_path = dir.path().join("truth.csv");
    write_truth_csv(&truth_path, &set.train_truth).unwrap();
    let mut reader = csv::Reader::from_path(&truth_path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "star",
            "label",
            "kind",
            "n_planets",
            "period_days",
            "epoch_days",
            "depth_ppm",
            "duration_hours",
            "snr",
            "kepmag"
        ]
    );
    let kinds: Vec<String> = reader.records().map(|r| r.unwrap()[2].to_string()).collect();
    assert_eq!(kinds.len(), 12);
    assert_eq!(&kinds[..2], ["planet", "planet"]);
    assert!(kinds[2..].iter().all(|k| k == "star" || k == "eb"), "{kinds:?}");
}

#[test]
fn writing_into_a_missing_directory_names_the_path() {
    let set = make(&SynthConfig {
        train_stars: 2,
        test_stars: 0,
        train_planets: 1,
        test_planets: 0,
        ..small(1, 128)
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("exoTrain.csv");
    let message = write_exo_csv(&path, &set.train).unwrap_err().to_string();
    assert!(message.contains("no-such-dir"), "{message}");
}

#[test]
fn bad_configs_are_errors_that_name_the_field() {
    let cases = [
        (SynthConfig { samples: 100, ..SynthConfig::default() }, "samples"),
        (SynthConfig { train_planets: 6000, ..SynthConfig::default() }, "train planets"),
        (SynthConfig { test_planets: 571, ..SynthConfig::default() }, "test planets"),
        (SynthConfig { eb_fraction: 1.5, ..SynthConfig::default() }, "eb_fraction"),
        (SynthConfig { planet_snr: (0.0, 10.0), ..SynthConfig::default() }, "SNR"),
        (SynthConfig { planet_snr: (20.0, 10.0), ..SynthConfig::default() }, "SNR"),
    ];
    for (cfg, field) in cases {
        let message = generate(&cfg).unwrap_err().to_string();
        assert!(message.contains(field), "{field}: {message}");
    }
}

#[test]
fn default_config_is_the_kaggle_shape() {
    let cfg = SynthConfig::default();
    assert_eq!(
        (cfg.train_stars, cfg.train_planets, cfg.test_stars, cfg.test_planets, cfg.samples),
        (5087, 37, 570, 5, 3197)
    );
}

/// The main job's extra hard negatives: labelled non-planet, reproducible, and stars of
/// their own, not copies of the set's.
#[test]
fn extra_eclipsing_binaries_are_new_labelled_non_planet_stars() {
    let cfg = small(8, 400);
    let binaries = eclipsing_binaries(&cfg, 30).expect("valid config");
    assert_eq!((binaries.rows(), binaries.len), (30, 400));
    assert!(binaries.labels.iter().all(|l| *l == 1));
    assert_eq!(eclipsing_binaries(&cfg, 30).expect("valid config").values, binaries.values);
    let set = make(&cfg);
    for row in 0..binaries.rows() {
        let curve = binaries.series(row);
        assert!(curve.iter().all(|v| v.is_finite()));
        assert!((0..set.train.rows()).all(|r| set.train.series(r) != curve), "binary {row} is a set star");
    }
    assert!(eclipsing_binaries(&SynthConfig { samples: 10, ..cfg }, 3).is_err());
}

/// Detect, then vet: the main job's gate on the box search lets through the planets that
/// the acceptance bar counts (S/N >= 15) and stops most ordinary stars and lone dips
/// before the network sees them, which is where its false alarms came from.
#[test]
fn the_detection_gate_passes_clear_planets_and_stops_most_ordinary_stars_and_lone_dips() {
    use starskope::data::Preprocess;
    use starskope::train::{evaluate::Prepared, k2_recipe};
    use starskope::transit::Detection;
    let pre = k2_recipe::defaults("seed-cnn").preprocess;
    // The share of the rows of `kind` and truth S/N >= `min_snr` that the gate passes.
    let passed_by = |pre: &Preprocess, cfg: &SynthConfig, kind: Kind, min_snr: f64| {
        let set = make(cfg);
        let prepared = Prepared::new(pre, set.test, &ints(&[1, 2]), true);
        let detections = prepared.detections.expect("the main job's preprocessing has a gate");
        assert_eq!(detections.planet, 1);
        let passed = &detections.passed;
        let rows: Vec<usize> = (0..passed.len())
            .filter(|&i| set.test_truth[i].kind == kind && set.test_truth[i].snr >= min_snr)
            .collect();
        let share = rows.iter().filter(|&&i| passed[i]).count() as f64 / rows.len() as f64;
        eprintln!("{kind:?}: the gate passed {share:.3} of {}", rows.len());
        (share, rows.len())
    };
    let passed = |cfg: &SynthConfig, kind: Kind, min_snr: f64| passed_by(&pre, cfg, kind, min_snr);
    let base = SynthConfig { train_stars: 0, train_planets: 0, ..small(12, 3197) };
    let mixed = SynthConfig { test_stars: 400, test_planets: 150, single_dip_fraction: 0.0, ..base.clone() };
    let (planets, strong) = passed(&mixed, Kind::Planet, 15.0);
    assert!(strong >= 40 && planets >= 0.95, "{planets:.3} of {strong} planets at S/N >= 15");
    let (stars, ordinary) = passed(&mixed, Kind::Star, 0.0);
    assert!(ordinary >= 150 && stars <= 0.4, "{stars:.3} of {ordinary} ordinary stars");
    let dips =
        SynthConfig { test_stars: 150, test_planets: 0, eb_fraction: 0.0, single_dip_fraction: 1.0, ..base };
    let (lone, count) = passed(&dips, Kind::Star, 0.0);
    assert!(count == 150 && lone <= 0.2, "{lone:.3} of {count} lone dips");
    // What stops them is that they do not recur: the S/N without the deepest transit, and
    // the search's setting the deepest aside and searching again.
    let gate = pre.detection().expect("a gate");
    let mut total_only = Preprocess::transit_search(Detection { min_snr_without_deepest: 0.0, ..gate });
    if let Preprocess::TransitSearch { view } = &mut total_only {
        view.set_lone_dips_aside = false;
    }
    let (loose, _) = passed_by(&total_only, &dips, Kind::Star, 0.0);
    assert!(loose >= 2.0 * lone, "{loose:.3} of the lone dips pass on the total S/N alone");
}
