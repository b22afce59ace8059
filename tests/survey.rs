//! Multi-band survey light curves: the PLAsTiCC reader and its error messages, the
//! per-object features against numpy/scipy and a plain reference, the competition's
//! weighted log loss by hand, the synthetic set, and survey-mlp trained on the CPU and
//! GPU backends (lavapipe on machines without a GPU: these tests FAIL with no adapter).

use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use starskope::backend::Backend;
use starskope::data::label::{ints, Label};
use starskope::data::SampleMode;
use starskope::fastcpu::FastCpuBackend;
use starskope::gpu::GpuBackend;
use starskope::survey::features::GROUP_STATS;
use starskope::survey::metric::{prior_probs, read_class_weights, weighted_log_loss, with_unknown};
use starskope::survey::synth::{generate, SurveySynthConfig};
use starskope::survey::train::{self, MlpOptions, Source, SurveyMetrics, SurveyTrainArgs};
use starskope::survey::{
    feature_names, object_features, read_survey, write_survey, FeatureTable, Observation, SurveyObject,
    META_COLUMNS, PASSBANDS,
};

const META_HEADER: &str =
    "object_id,ra,decl,gal_l,gal_b,ddf,hostgal_specz,hostgal_photoz,hostgal_photoz_err,distmod,mwebv,target";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The value of feature `name` in an object's feature vector.
fn feature(values: &[f64], name: &str) -> f64 {
    let names = feature_names(true);
    values[names.iter().position(|n| n == name).unwrap_or_else(|| panic!("no feature {name}"))]
}

fn assert_close(got: f64, want: f64, what: &str) {
    assert!((got - want).abs() <= 1e-9 * (1.0 + want.abs()), "{what}: got {got}, want {want}");
}

/// Band u: five observations out of time order; g: one; r: none; i: two at the same
/// time; z: three equal fluxes; y: two. Metadata: distmod and hostgal_specz missing.
fn fixed_object_files(dir: &Path) -> (PathBuf, PathBuf) {
    let obs = "object_id,mjd,passband,flux,flux_err,detected_bool\n\
        615,10.0,0,12.5,2.0,1\n615,3.0,0,-4.0,1.5,0\n615,7.5,0,30.25,2.5,1\n615,1.0,0,0.5,1.0,0\n\
        615,12.0,0,8.0,2.0,1\n615,4.0,1,-7.25,0.5,1\n615,5.0,3,1.0,1.0,0\n615,5.0,3,3.0,1.0,0\n\
        615,2.0,4,6.0,3.0,0\n615,6.0,4,6.0,3.0,0\n615,9.0,4,6.0,3.0,0\n615,1.5,5,-2.0,4.0,0\n615,2.5,5,2.0,4.0,0\n";
    let meta = format!("{META_HEADER}\n615,349.04,-61.94,320.8,-51.75,1,,0.3,0.02,,0.017,90\n");
    (write(dir, "obs.csv", obs), write(dir, "meta.csv", &meta))
}

#[test]
fn features_match_numpy_and_scipy_on_a_fixed_object() {
    let dir = tempfile::tempdir().unwrap();
    let (obs, meta) = fixed_object_files(dir.path());
    let survey = read_survey(&obs, &meta).unwrap();
    let f = object_features(&survey.objects[0], true);
    assert_eq!(f.len(), feature_names(true).len());
    assert!(f.iter().all(|v| v.is_finite()));
    // numpy 2.4.6 / scipy 1.17.1 on band u sorted by mjd: flux [0.5, -4, 30.25, 12.5, 8]
    let u = [
        ("u_count", 5.0),
        ("u_mean", 9.45),
        ("u_median", 8.0),
        ("u_max", 30.25),
        ("u_min", -4.0),
        ("u_std", 11.874763155532829),
        ("u_skew", 0.7016206733128496),
        ("u_kurtosis", -0.7226664646297012),
        ("u_p10", -2.2),
        ("u_p25", 0.5),
        ("u_p75", 12.5),
        ("u_p90", 23.15),
        ("u_max_slope", 7.611111111111111),
        ("u_min_slope", -7.1),
        ("u_snr_mean", 4.036666666666667),
        ("u_snr_max", 12.1),
        ("u_det_frac", 0.6),
        ("u_det_span", 4.5),
    ];
    for (name, want) in u {
        assert_close(feature(&f, name), want, name);
    }
    // one observation: location = the value, spread/shape/slopes 0
    for (name, want) in [
        ("g_count", 1.0),
        ("g_mean", -7.25),
        ("g_median", -7.25),
        ("g_p10", -7.25),
        ("g_p90", -7.25),
        ("g_std", 0.0),
        ("g_skew", 0.0),
        ("g_kurtosis", 0.0),
        ("g_max_slope", 0.0),
        ("g_min_slope", 0.0),
        ("g_snr_mean", -14.5),
        ("g_snr_max", 14.5),
        ("g_det_frac", 1.0),
        ("g_det_span", 0.0),
    ] {
        assert_close(feature(&f, name), want, name);
    }
    // no observation: everything 0
    for stat in GROUP_STATS {
        assert_eq!(feature(&f, &format!("r_{stat}")), 0.0, "r_{stat}");
    }
    // two observations at one time: no slope; a constant band: no skew or kurtosis
    assert_eq!(feature(&f, "i_max_slope"), 0.0);
    assert_close(feature(&f, "i_std"), 1.0, "i_std");
    assert_eq!((feature(&f, "z_std"), feature(&f, "z_skew"), feature(&f, "z_kurtosis")), (0.0, 0.0, 0.0));
    // shares: max per band u 30.25, g -7.25, r 0, i 3, z 6, y 2 -> sum of |.| 48.5
    assert_close(feature(&f, "u_max_share"), 30.25 / 48.5, "u_max_share");
    assert_close(feature(&f, "g_max_share"), -7.25 / 48.5, "g_max_share");
    assert_eq!(feature(&f, "r_max_share"), 0.0);
    // metadata: missing values are 0 with the flag set
    assert_eq!((feature(&f, "meta_distmod"), feature(&f, "meta_distmod_missing")), (0.0, 1.0));
    assert_eq!((feature(&f, "meta_hostgal_specz"), feature(&f, "meta_hostgal_specz_missing")), (0.0, 1.0));
    assert_eq!((feature(&f, "meta_mwebv"), feature(&f, "meta_mwebv_missing")), (0.017, 0.0));
    assert_eq!(feature(&f, "all_count"), 13.0);
    assert_eq!(survey.objects[0].target, Some(Label::Int(90)));
}

/// numpy-style statistics of one group, written the obvious way.
fn reference_group(obs: &[Observation]) -> Vec<f64> {
    let mut o = obs.to_vec();
    o.sort_by(|a, b| a.mjd.total_cmp(&b.mjd));
    let n = o.len();
    if n == 0 {
        return vec![0.0; GROUP_STATS.len()];
    }
    let x: Vec<f64> = o.iter().map(|v| v.flux).collect();
    let mean = x.iter().sum::<f64>() / n as f64;
    let m = |p: i32| x.iter().map(|v| (v - mean).powi(p)).sum::<f64>() / n as f64;
    let mut s = x.clone();
    s.sort_by(f64::total_cmp);
    let pct = |q: f64| {
        let pos = q / 100.0 * (n - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        s[lo] * (1.0 - (pos - lo as f64)) + s[hi] * (pos - lo as f64)
    };
    let slopes: Vec<f64> = o
        .windows(2)
        .filter(|w| w[1].mjd > w[0].mjd)
        .map(|w| (w[1].flux - w[0].flux) / (w[1].mjd - w[0].mjd))
        .collect();
    let det: Vec<f64> = o.iter().filter(|v| v.detected).map(|v| v.mjd).collect();
    let (skew, kurt) =
        if m(2) > 0.0 { (m(3) / m(2).powf(1.5), m(4) / m(2).powi(2) - 3.0) } else { (0.0, 0.0) };
    vec![
        n as f64,
        mean,
        pct(50.0),
        s[n - 1],
        s[0],
        m(2).sqrt(),
        skew,
        kurt,
        pct(10.0),
        pct(25.0),
        pct(75.0),
        pct(90.0),
        slopes.iter().copied().reduce(f64::max).unwrap_or(0.0),
        slopes.iter().copied().reduce(f64::min).unwrap_or(0.0),
        o.iter().map(|v| v.flux / v.flux_err).sum::<f64>() / n as f64,
        o.iter().map(|v| v.flux.abs() / v.flux_err).fold(0.0, f64::max),
        det.len() as f64 / n as f64,
        if det.is_empty() { 0.0 } else { det[det.len() - 1] - det[0] },
    ]
}

#[test]
fn features_match_a_plain_reference_on_random_objects() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for trial in 0..20 {
        // 0-12 observations spread over the bands: some bands get none or one
        let obs: Vec<Observation> = (0..rng.gen_range(0..13))
            .map(|_| Observation {
                mjd: rng.gen_range(0..40) as f64 * 0.5,
                passband: rng.gen_range(0..6),
                flux: rng.gen_range(-50.0..200.0),
                flux_err: rng.gen_range(0.5..10.0),
                detected: rng.gen_bool(0.4),
            })
            .collect();
        let object = SurveyObject {
            object_id: trial.to_string(),
            meta: [rng.gen(); 10],
            target: None,
            obs: obs.clone(),
        };
        let got = object_features(&object, true);
        let mut want = Vec::new();
        for band in 0..PASSBANDS.len() {
            want.extend(reference_group(
                &obs.iter().copied().filter(|o| o.passband == band).collect::<Vec<_>>(),
            ));
        }
        want.extend(reference_group(&obs));
        let names = feature_names(true);
        for (i, w) in want.iter().enumerate() {
            assert_close(got[i], *w, &format!("trial {trial}, {}", names[i]));
        }
        assert_eq!(got.len(), want.len() + 18 + 2 * META_COLUMNS.len());
        assert!(got.iter().all(|v| v.is_finite()), "trial {trial}: non-finite feature");
    }
}

#[test]
fn weighted_log_loss_matches_a_hand_computed_example() {
    // 3 classes, weights 1, 2, 1. Row 3 gives its true class 0 (clipped to 1e-15); row 4
    // does not sum to 1 and is rescaled to [0.5, 0.25, 0.25].
    let probs = [0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.3, 0.3, 0.4, 0.0, 0.5, 0.5, 2.0, 1.0, 1.0];
    let truth = [0, 1, 2, 0, 0];
    // class 0: (ln 0.7 + ln 1e-15 + ln 0.5) / 3 = (-0.356675 - 34.538776 - 0.693147) / 3 = -11.862866
    // class 1: ln 0.8 = -0.223144, weight 2; class 2: ln 0.4 = -0.916291
    // loss = (11.862866 + 2 * 0.223144 + 0.916291) / 4 = 3.306361 (numpy: 3.306361001909757)
    let got = weighted_log_loss(&probs, &truth, &[1.0, 2.0, 1.0]);
    assert!((got - 3.306361001909757).abs() < 1e-6, "got {got}");
    // a class absent from the truth leaves both sums: class 2 dropped
    let two = weighted_log_loss(&probs[..6], &truth[..2], &[1.0, 2.0, 5.0]);
    let want = -((0.7f64).ln() + 2.0 * (0.8f64).ln()) / 3.0;
    assert!((two - want).abs() < 1e-6, "got {two}, want {want}");
}

#[test]
fn unknown_class_column_and_prior_baseline() {
    let p = with_unknown(&[0.6, 0.4, 0.1, 0.9], 2, 0.5);
    let want = [0.6, 0.4, 0.2, 0.1, 0.9, 0.05];
    assert!(p.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6), "{p:?}");
    // scored as class 99 (index 2): row 0's p_99 after rescaling is 0.2 / 1.2
    let loss = weighted_log_loss(&p[..3], &[2], &[1.0, 1.0, 1.0]);
    assert!((loss + (0.2f64 / 1.2).ln()).abs() < 1e-6);
    assert_eq!(prior_probs(&[0, 1, 1, 1], 2, 2), vec![0.25, 0.75, 0.25, 0.75]);
}

#[test]
fn class_weights_file_is_read_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "w.csv", "class,weight\n90,1\n42,2\n64,2\n");
    assert_eq!(read_class_weights(&good, &ints(&[42, 90])).unwrap(), vec![2.0, 1.0]);
    let err = read_class_weights(&good, &ints(&[42, 88, 90])).unwrap_err().to_string();
    assert!(err.contains("no weight for class 88"), "{err}");
    let bad = write(dir.path(), "bad.csv", "class,weight\n90,1\n42,-2\n");
    let err = read_class_weights(&bad, &ints(&[42, 90])).unwrap_err().to_string();
    assert!(err.contains("line 3") && err.contains("\"-2\""), "{err}");
}

/// The error message reading `obs` (with the fixed metadata) or `meta` gives.
fn read_error(obs: &str, meta: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let o = write(dir.path(), "obs.csv", obs);
    let m = write(dir.path(), "meta.csv", meta);
    read_survey(&o, &m).unwrap_err().to_string()
}

#[test]
fn reader_errors_name_file_line_and_column() {
    let meta = format!("{META_HEADER}\n1,0,0,0,0,0,0,0,0,40,0.1,90\n2,0,0,0,0,0,0,0,0,,0.1,42\n");
    let head = "object_id,mjd,passband,flux,flux_err,detected\n";
    let cases = [
        (format!("{head}1,1.0,0,1.0,1.0,1\n2,2.0,7,1.0,1.0,0\n"), "line 3, column 3 (\"passband\")"),
        (format!("{head}1,1.0,0,abc,1.0,1\n"), "line 2, column 4 (\"flux\")"),
        (format!("{head}1,1.0,0,1.0,0,1\n"), "column 5 (\"flux_err\")"),
        (format!("{head}1,1.0,0,1.0,1.0,yes\n"), "column 6 (\"detected\")"),
        (format!("{head}1,1.0,0,1.0,1.0,1\n3,1.0,0,1.0,1.0,1\n"), "line 3: object 3 is not in the metadata"),
        (format!("{head}1,1.0,0,1.0,1.0,1\n"), "line 3: object 2 has no rows"),
        (format!("{head}1,1.0,0,1.0\n"), "line 2: the row has 4 columns"),
        ("object_id,mjd,passband,flux,detected\n".to_string(), "no \"flux_err\" column"),
        (String::new(), "the file is empty"),
    ];
    for (obs, want) in cases {
        let err = read_error(&obs, &meta);
        let names_file = err.contains("obs.csv") || err.contains("meta.csv");
        assert!(err.contains(want) && names_file, "want {want:?} in: {err}");
    }
    let obs = format!("{head}1,1.0,0,1.0,1.0,1\n2,1.0,0,1.0,1.0,1\n");
    let dup = format!("{META_HEADER}\n1,0,0,0,0,0,0,0,0,40,0.1,90\n1,0,0,0,0,0,0,0,0,40,0.1,90\n");
    assert!(read_error(&obs, &dup).contains("line 3: object 1 appears a second time (first on line 2)"));
    let partial = format!("{META_HEADER}\n1,0,0,0,0,0,0,0,0,40,0.1,90\n2,0,0,0,0,0,0,0,0,40,0.1,\n");
    assert!(read_error(&obs, &partial).contains("meta.csv: line 3: object 2 has no target"));
    let bad_meta = format!("{META_HEADER}\n1,0,0,0,x,0,0,0,0,40,0.1,90\n");
    assert!(
        read_error(&obs, &bad_meta).contains("meta.csv: line 2, column 5 (\"gal_b\"): \"x\" is not a number")
    );
    // unlabelled data: no target column at all is fine
    let dir = tempfile::tempdir().unwrap();
    let o = write(dir.path(), "obs.csv", &obs);
    let m = write(dir.path(), "meta.csv", "object_id,ra,decl,gal_l,gal_b,ddf,hostgal_specz,hostgal_photoz,hostgal_photoz_err,distmod,mwebv\n2,0,0,0,0,0,0,0,0,,0.1\n1,0,0,0,0,0,0,0,0,40,0.1\n");
    let s = read_survey(&o, &m).unwrap();
    assert_eq!((s.labels(), s.objects[0].object_id.as_str()), (None, "2"));
}

#[test]
fn synthetic_set_round_trips_through_the_plasticc_layout() {
    let set = generate(&SurveySynthConfig { objects: 40, seed: 3 });
    let dir = tempfile::tempdir().unwrap();
    let (o, m) = (dir.path().join("o.csv"), dir.path().join("m.csv"));
    write_survey(&set, &o, &m).unwrap();
    let back = read_survey(&o, &m).unwrap();
    assert_eq!(back.objects.len(), 40);
    // NaN (a missing distmod) is not equal to itself: compare the metadata's bits
    let same = |a: &SurveyObject, b: &SurveyObject| {
        assert_eq!((&a.object_id, &a.target, &a.obs), (&b.object_id, &b.target, &b.obs));
        assert_eq!(a.meta.map(f64::to_bits), b.meta.map(f64::to_bits), "object {}", a.object_id);
    };
    set.objects.iter().zip(&back.objects).for_each(|(a, b)| same(a, b));
    // the first objects do not depend on how many are generated
    let five = generate(&SurveySynthConfig { objects: 5, seed: 3 });
    five.objects.iter().zip(&set.objects).for_each(|(a, b)| same(a, b));
    // irregular cadence with seasonal gaps: some gap between observations exceeds 150 days
    let t: Vec<f64> = set.objects[0].obs.iter().map(|o| o.mjd).collect();
    assert!(t.windows(2).any(|w| w[1] - w[0] > 150.0), "no seasonal gap");
    let classes: std::collections::BTreeSet<Label> =
        set.objects.iter().filter_map(|o| o.target.clone()).collect();
    assert_eq!(classes.len(), 5, "{classes:?}");
    let table = FeatureTable::of(&set);
    assert!(table.values.iter().all(|v| v.is_finite()));
    assert_eq!(table.to_csv().lines().count(), 41);
}

fn small_run(dir: &Path, objects: usize, widths: Vec<usize>, epochs: usize) -> SurveyTrainArgs {
    SurveyTrainArgs {
        source: Source::Synthetic { objects },
        model: "survey-mlp".into(),
        mlp: MlpOptions { widths: Some(widths), activation: None, dropout: None },
        epochs,
        batch: 32,
        lr: 1e-3,
        seed: 11,
        val_split: 0.2,
        weights: None,
        sampling: SampleMode::Balanced,
        class_weights: false,
        out: dir.to_path_buf(),
        resume: false,
    }
}

fn assert_beats_prior(m: &SurveyMetrics) {
    assert!(
        m.run.report.accuracy > m.prior_baseline.accuracy + 0.3,
        "accuracy {} vs prior {}",
        m.run.report.accuracy,
        m.prior_baseline.accuracy
    );
    assert!(
        m.weighted_log_loss < 0.6 * m.prior_baseline.weighted_log_loss,
        "log loss {} vs prior {}",
        m.weighted_log_loss,
        m.prior_baseline.weighted_log_loss
    );
}

#[test]
fn survey_mlp_beats_the_prior_and_eval_reproduces_it() {
    let dir = tempfile::tempdir().unwrap();
    let args = small_run(dir.path(), 600, vec![64, 64], 15);
    let m = train::train(&args, &mut FastCpuBackend::new()).unwrap();
    assert_beats_prior(&m);
    assert_eq!(m.run.evaluated_on, "test");
    // the model file alone scores the test set the same way
    let data = dir.path().join("data");
    let test = read_survey(&data.join("test_obs.csv"), &data.join("test_meta.csv")).unwrap();
    let (card, probs) =
        train::score(&mut FastCpuBackend::new(), &dir.path().join("model.safetensors"), &test).unwrap();
    let truth: Vec<usize> =
        test.labels().unwrap().iter().map(|l| card.classes.binary_search(l).unwrap()).collect();
    let again = train::scores(&card.classes, &probs, &truth, &m.class_weights).unwrap();
    assert_eq!(again.accuracy, m.run.report.accuracy);
    // not bit for bit: the fast backend's GEMM (the `gemm` crate) blocks a product by its
    // shape, so a sample's f32 logits can move in the last bit with the size of the batch
    // it is scored in (1.6e-9 here); a model file that differed from the trained model
    // would move the loss by orders of magnitude more
    assert!((again.weighted_log_loss - m.weighted_log_loss).abs() < 1e-6);
}

#[test]
fn cpu_and_gpu_runs_from_one_seed_agree() {
    let mut gpu = GpuBackend::new().unwrap_or_else(|e| panic!("the GPU test needs a GPU adapter: {e:#}"));
    let mut final_loss = Vec::new();
    for be in [&mut FastCpuBackend::new() as &mut dyn Backend, &mut gpu] {
        let dir = tempfile::tempdir().unwrap();
        let m = train::train(&small_run(dir.path(), 300, vec![32, 32], 12), be).unwrap();
        assert_beats_prior(&m);
        final_loss.push(m.final_train_loss);
    }
    let rel = (final_loss[0] - final_loss[1]).abs() / final_loss[0];
    assert!(rel < 1e-3, "final train loss cpu {} gpu {} (relative {rel:e})", final_loss[0], final_loss[1]);
}

#[test]
fn cli_writes_trains_on_and_evaluates_plasticc_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |args: &[&str]| {
        let out =
            assert_cmd::Command::cargo_bin("starskope").unwrap().current_dir(d).args(args).output().unwrap();
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    };
    let (ok, text) = run(&["survey", "synth", "--out", "set", "--objects", "300", "--test-objects", "150"]);
    assert!(ok, "{text}");
    let files = ["--obs", "set/train_obs.csv", "--meta", "set/train_meta.csv"];
    let test = ["--test-obs", "set/test_obs.csv", "--test-meta", "set/test_meta.csv"];
    let net = ["--widths", "16", "--epochs", "3", "--device", "cpu", "--out", "run"];
    let (ok, text) =
        run(&["survey", "train"].iter().chain(&files).chain(&test).chain(&net).copied().collect::<Vec<_>>());
    assert!(ok && text.contains("weighted log loss"), "{text}");
    for f in ["run/model.safetensors", "run/metrics.json"] {
        assert!(d.join(f).exists(), "{f} missing");
    }
    // the checkpoint holds the standardization: no sidecar
    assert!(!d.join("run/standardization.json").exists());
    let eval = ["survey", "eval", "--model", "run/model.safetensors", "--obs", "set/test_obs.csv"];
    let (ok, survey_eval) = run(&[&eval[..], &["--meta", "set/test_meta.csv", "--device", "cpu"]].concat());
    assert!(ok && survey_eval.contains("150 objects"), "{survey_eval}");
    // `starskope eval` and `predict` know a survey model by its checkpoint
    let tables = ["--data", "set/test_obs.csv", "--meta", "set/test_meta.csv", "--device", "cpu"];
    let (ok, text) = run(&[&["eval", "--model", "run/model.safetensors"][..], &tables].concat());
    assert!(ok, "{text}");
    let summary = |t: &str| t.lines().next().unwrap().split_once("): ").unwrap().1.to_string();
    assert_eq!(summary(&text), summary(&survey_eval));
    let (ok, text) =
        run(&[&["predict", "--model", "run/model.safetensors", "--out", "p.csv"][..], &tables].concat());
    assert!(ok, "{text}");
    let predictions = std::fs::read_to_string(d.join("p.csv")).unwrap();
    assert_eq!(predictions.lines().count(), 151);
    assert!(predictions.starts_with("object_id,label,p_"), "{predictions}");
    let (ok, text) =
        run(&["survey", "features", "--obs", "set/test_obs.csv", "--meta", "set/nope.csv", "--out", "f.csv"]);
    assert!(!ok && text.contains("set/nope.csv: no such file"), "{text}");
}

/// `starskope train --model survey-mlp` writes metrics.json with every key of a light-curve
/// run's (the report at the top level) and a model that `eval` and `predict` score.
#[test]
fn train_with_survey_mlp_writes_train_metrics_and_a_model_eval_and_predict_score() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |args: &[&str]| {
        let out = assert_cmd::Command::cargo_bin("starskope")
            .unwrap()
            .env("NODEVICE_SELECT", "1")
            .current_dir(d)
            .args(args)
            .output()
            .unwrap();
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{args:?}: {text}");
        text
    };
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let plain = [&format!("{fixtures}/plain_v1_model.json"), &format!("{fixtures}/plain_v1.csv")];
    run(&[
        "train", "--device", "cpu", "--epochs", "1", "--model", plain[0], "--train", plain[1], "--out", "lc",
    ]);
    run(&[
        "train",
        "--model",
        "survey-mlp",
        "--synth-stars",
        "200",
        "--epochs",
        "2",
        "--device",
        "cpu",
        "--out",
        "sv",
    ]);
    let keys = |run: &str| -> serde_json::Map<String, serde_json::Value> {
        let text = std::fs::read_to_string(d.join(run).join("metrics.json")).unwrap();
        serde_json::from_str::<serde_json::Value>(&text).unwrap().as_object().unwrap().clone()
    };
    let (lc, sv) = (keys("lc"), keys("sv"));
    for key in lc.keys() {
        assert!(sv.contains_key(key), "survey metrics.json lacks {key}");
    }
    assert!(sv["accuracy"].as_f64().is_some() && sv["weighted_log_loss"].as_f64().is_some());
    let tables = ["--data", "sv/data/test_obs.csv", "--meta", "sv/data/test_meta.csv", "--device", "cpu"];
    let text = run(&[&["eval", "--model", "sv/model.safetensors"][..], &tables].concat());
    let accuracy = format!("accuracy {:.4}", sv["accuracy"].as_f64().unwrap());
    assert!(text.contains(&accuracy), "{accuracy}: {text}");
    run(&[&["predict", "--model", "sv/model.safetensors", "--out", "p.csv"][..], &tables].concat());
    assert_eq!(std::fs::read_to_string(d.join("p.csv")).unwrap().lines().count(), 101);
    // a light-curve model takes no --meta
    let out = assert_cmd::Command::cargo_bin("starskope")
        .unwrap()
        .env("NODEVICE_SELECT", "1")
        .current_dir(d)
        .args([
            "eval",
            "--model",
            "lc/model.safetensors",
            "--data",
            plain[1],
            "--meta",
            "m.csv",
            "--device",
            "cpu",
        ])
        .output()
        .unwrap();
    assert!(
        !out.status.success()
            && String::from_utf8_lossy(&out.stderr).contains("--meta goes with survey models")
    );
}

/// survey train goes through the run driver: a run stopped after 2 epochs and resumed to
/// 4 ends where a straight 4-epoch run does.
#[test]
fn survey_runs_resume_from_their_checkpoint() {
    let (straight, resumed) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let once =
        train::train(&small_run(straight.path(), 120, vec![16], 4), &mut FastCpuBackend::new()).unwrap();
    train::train(&small_run(resumed.path(), 120, vec![16], 2), &mut FastCpuBackend::new()).unwrap();
    assert!(resumed.path().join("checkpoint.safetensors").exists());
    let args = SurveyTrainArgs { resume: true, ..small_run(resumed.path(), 120, vec![16], 4) };
    let twice = train::train(&args, &mut FastCpuBackend::new()).unwrap();
    assert_eq!(twice.run.epochs.len(), 4);
    assert_eq!(twice.final_train_loss, once.final_train_loss);
    assert_eq!(twice.run.report.confusion, once.run.report.confusion);
}
