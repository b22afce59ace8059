//! Per-object survey data sets (one CSV per object, a label table), the period features
//! against a straightforward reference, and the bad inputs a user meets.

use std::f64::consts::TAU;
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use starskope::data::Label;
use starskope::survey::labels::{LabelColumns, LabelTable};
use starskope::survey::objects::{read_object, read_objects};
use starskope::survey::period::{
    self, best_frequency, fourier_fit, periodogram, power_at, Series, MIN_PERIOD_DAYS, OVERSAMPLE,
};
use starskope::survey::Observation;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn shared(path: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/realdata")).join(path)
}

/// A pulsating star seen irregularly in g and r over three seasons: a fundamental and two
/// harmonics of known amplitudes and phases, g 1.5 times r's amplitude.
fn pulsator(rng: &mut ChaCha8Rng, period: f64, noise: f64) -> Vec<Observation> {
    let mut obs = Vec::new();
    for season in 0..3 {
        for _ in 0..60 {
            let t = 55_000.0 + 365.25 * season as f64 + rng.gen_range(0.0..120.0);
            for (band, scale) in [(1usize, 1.5), (2, 1.0)] {
                let x = TAU * t / period;
                let shape =
                    0.3 * (x + 0.4).cos() + 0.12 * (2.0 * x + 1.1).cos() + 0.05 * (3.0 * x + 2.0).cos();
                let flux = 1000.0 * (1.0 + scale * shape) + noise * rng.gen_range(-1.0..1.0);
                obs.push(Observation { mjd: t, passband: band, flux, flux_err: 5.0, detected: true });
            }
        }
    }
    obs
}

#[test]
fn the_recurrence_periodogram_matches_the_direct_sums() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let series = Series::relative(&pulsator(&mut rng, 0.57, 20.0));
    let (f0, df, n) = (0.013, 0.000_37, 3000);
    let fast = periodogram(&series, f0, df, n);
    for i in (0..n).step_by(37) {
        let direct = power_at(&series, f0 + i as f64 * df);
        assert!((fast[i] - direct).abs() < 1e-9, "frequency {i}: {} vs {direct}", fast[i]);
    }
}

#[test]
fn the_best_period_and_the_fourier_shape_are_recovered() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let obs = pulsator(&mut rng, 0.57, 2.0);
    let series = Series::relative(&obs);
    let (f, p, n) = best_frequency(&series).unwrap();
    assert!((1.0 / f - 0.57).abs() < 1e-4, "period {}", 1.0 / f);
    assert!(p > 0.8 && p <= 1.0, "power {p}");
    let span = series.t.iter().copied().fold(0.0, f64::max);
    assert_eq!(n, ((1.0 / MIN_PERIOD_DAYS - 1.0 / span) * OVERSAMPLE * span).floor() as usize + 1);
    // noiseless r band at the true frequency: the fit returns the generating series
    let t: Vec<f64> = (0..40).map(|i| i as f64 * 0.731 + 0.01 * (i * i) as f64).collect();
    let y: Vec<f64> = t
        .iter()
        .map(|&t| {
            let x = TAU * t / 0.57;
            0.2 + 0.3 * (x + 0.4).cos() + 0.12 * (2.0 * x + 1.1).cos() + 0.05 * (3.0 * x + 2.0).cos()
        })
        .collect();
    let coef = fourier_fit(&t, &y, &vec![1.0; 40], 1.0 / 0.57).unwrap();
    let amp = |k: usize| coef[2 * k - 1].hypot(coef[2 * k]);
    let phase = |k: usize| (-coef[2 * k]).atan2(coef[2 * k - 1]);
    assert!((coef[0] - 0.2).abs() < 1e-9);
    for (k, a, ph) in [(1, 0.3, 0.4), (2, 0.12, 1.1), (3, 0.05, 2.0)] {
        assert!((amp(k) - a).abs() < 1e-9 && (phase(k) - ph).abs() < 1e-9, "harmonic {k}");
    }
    // the features: period, R21 = 0.4 and phi21 = 1.1 - 0.8 in both bands, colour g-r 0
    let names = period::feature_names();
    let values = period::period_features(&obs);
    let get = |name: &str| values[names.iter().position(|n| n == name).unwrap()];
    assert!((get("log10_period") - 0.57f64.log10()).abs() < 1e-4);
    for band in ["g", "r"] {
        assert!(
            (get(&format!("{band}_r21")) - 0.4).abs() < 0.02,
            "{band} r21 {}",
            get(&format!("{band}_r21"))
        );
        assert!((get(&format!("{band}_cos_phi21")) - 0.3f64.cos()).abs() < 0.05);
    }
    // amplitudes are relative to each band's median flux, which the curve's shape moves
    // a little away from 1000
    let ratio = get("g_amp1") / get("r_amp1");
    assert!((ratio - 1.5).abs() < 0.1, "g/r amplitude {ratio}");
    let median = |band: usize| {
        let mut f: Vec<f64> = obs.iter().filter(|o| o.passband == band).map(|o| o.flux).collect();
        f.sort_by(f64::total_cmp);
        0.5 * (f[f.len() / 2 - 1] + f[f.len() / 2])
    };
    assert!((get("colour_g_r") + 2.5 * (median(1) / median(2)).log10()).abs() < 1e-12);
    assert_eq!((get("u_power"), get("colour_u_g")), (0.0, 0.0), "no u band");
    assert!(get("log10_fap") < -50.0);
}

/// Real SDSS Stripe 82 RR Lyrae, read in place: the catalogue periods of three stars
/// (one c, two ab) come back from the light curves alone.
#[test]
fn real_rr_lyrae_periods_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let labels = write(
        dir.path(),
        "some.csv",
        "Num,Type,Per\n4099,ab,0.641754351271\n27887,c,0.31149403602\n91658,ab,0.647260858223\n",
    );
    let table = LabelTable::read(&labels, &LabelColumns::default()).unwrap();
    assert_eq!(table.labels, vec![Label::from("ab"), Label::from("c"), Label::from("ab")]);
    let (survey, skipped) = read_objects(&shared("rrlyrae/light-curves"), Some(&table)).unwrap();
    assert_eq!(skipped.unlabelled_files, 480);
    for (object, want) in survey.objects.iter().zip([0.641754351271, 0.31149403602, 0.647260858223]) {
        let values = period::period_features(&object.obs);
        let got = 10f64.powf(values[0]);
        assert!((got - want).abs() / want < 1e-4, "{}: period {got}, catalogue {want}", object.object_id);
    }
}

#[test]
fn magnitudes_become_fluxes_and_flux_files_are_read_as_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let mag = write(dir.path(), "a.csv", "band,time,magerr,mag,extra\ng,1.5,0.1,23.9,x\nR,2.5,0.01,21.4,y\n");
    let (obs, sentinels) = read_object(&mag).unwrap();
    assert_eq!(sentinels, 0);
    assert_eq!((obs[0].passband, obs[0].mjd, obs[0].flux), (1, 1.5, 1.0));
    assert!((obs[0].flux_err - 0.1 * 0.4 * std::f64::consts::LN_10).abs() < 1e-12);
    assert_eq!(obs[1].passband, 2, "ZTF's R is r");
    assert!((obs[1].flux - 10.0).abs() < 1e-9);
    let flux = write(dir.path(), "b.csv", "time,flux,fluxerr,band\n3,-4.5,2,4\n");
    let (obs, _) = read_object(&flux).unwrap();
    assert_eq!((obs[0].passband, obs[0].flux, obs[0].flux_err), (4, -4.5, 2.0));
}

/// A directory of `n` objects `o0..`, each with `points` r-band points, and its labels.csv.
fn object_dir(dir: &Path, n: usize, points: usize) {
    let mut labels = String::from("object_id,label\n");
    for i in 0..n {
        let rows: String =
            (0..points).map(|t| format!("{t},{},0.05,r\n", 18.0 + 0.1 * (t % 3) as f64)).collect();
        write(dir, &format!("o{i}.csv"), &format!("time,mag,magerr,band\n{rows}"));
        labels += &format!("o{i},{}\n", if i % 2 == 0 { "SN Ia" } else { "SN Ia-91T" });
    }
    write(dir, "labels.csv", &labels);
}

fn error_of(dir: &Path, labels: Option<&LabelTable>) -> String {
    read_objects(dir, labels).unwrap_err().to_string()
}

fn assert_mentions(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "expected {p:?} in {msg:?}");
    }
}

#[test]
fn bad_per_object_inputs_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    object_dir(d, 4, 6);
    let own = LabelTable::read(&d.join("labels.csv"), &LabelColumns::default()).unwrap();
    assert_eq!(own.labels[1], Label::from("SN Ia-91T"));

    // an object of the label table without a file
    let extra = write(d, "extra.csv", "object_id,label\no1,a\nmissing,b\n");
    let table = LabelTable::read(&extra, &LabelColumns::default()).unwrap();
    let file = d.join("missing.csv").display().to_string();
    assert_mentions(
        &error_of(d, Some(&table)),
        &["extra.csv: line 3", "object missing", "no light-curve file", &file],
    );
    // files the table does not name are counted, not read
    let one = write(d, "one.lbl", "object_id,label\no1,a\n");
    let (survey, skipped) =
        read_objects(d, Some(&LabelTable::read(&one, &LabelColumns::default()).unwrap())).unwrap();
    // o0, o2, o3 and extra.csv itself
    assert_eq!((survey.objects.len(), skipped.unlabelled_files), (1, 4));
    std::fs::remove_file(&extra).unwrap();

    // too few points in every band: a counted warning, or an error when no object is left
    write(d, "o1.csv", "time,mag,magerr,band\n1,18,0.1,r\n2,18,0.1,g\n3,99.99,99.999,r\n");
    let (survey, skipped) = read_objects(d, Some(&own)).unwrap();
    assert_eq!(
        (survey.objects.len(), skipped.too_few_points.clone(), skipped.sentinel_rows),
        (3, vec!["o1".to_string()], 1)
    );
    let warnings = skipped.warnings(d).join("\n");
    assert_mentions(
        &warnings,
        &["1 object(s) have fewer than 5 points in every band", "first: o1", "1 row(s) with a magnitude"],
    );
    let sparse = tempfile::tempdir().unwrap();
    object_dir(sparse.path(), 2, 3);
    assert_mentions(&error_of(sparse.path(), None), &["no object has 5 or more points in any band"]);

    // unknown band, non-numeric cell, non-positive error, no brightness columns
    let cases = [
        (
            "time,mag,magerr,band\n1,18,0.1,r\n2,18,0.1,V\n",
            "line 3, column 4 (\"band\"): \"V\" is not a band",
        ),
        (
            "time,mag,magerr,band\n1,18,0.1,r\n2,abc,0.1,r\n",
            "line 3, column 2 (\"mag\"): \"abc\" is not a number",
        ),
        (
            "time,mag,magerr,band\n1,18,0,r\n",
            "line 2, column 3 (\"magerr\"): \"0\" is not a positive uncertainty",
        ),
        ("time,value,band\n1,18,r\n", "neither mag and magerr nor flux and fluxerr"),
        ("mag,magerr,band\n18,0.1,r\n", "no \"time\" or \"mjd\" column"),
    ];
    for (text, message) in cases {
        let path = write(d, "o0.csv", text);
        let msg = error_of(d, Some(&own));
        assert_mentions(&msg, &[&path.display().to_string(), message]);
    }

    // label tables: duplicate rows, a missing class column, columns named on the command line
    let dup = write(d, "dup.csv", "object_id,label\no1,a\no2,b\no1,c\n");
    let msg = LabelTable::read(&dup, &LabelColumns::default()).unwrap_err().to_string();
    assert_mentions(&msg, &["dup.csv: line 4", "object o1 appears a second time (first on line 2)"]);
    let cat = write(d, "cat.csv", "star,kind,Per\no1,ab,0.5\n");
    let msg = LabelTable::read(&cat, &LabelColumns::default()).unwrap_err().to_string();
    assert_mentions(&msg, &["cat.csv: line 1", "(it has: star,kind,Per)"]);
    let named = LabelColumns { id: Some("star".into()), label: Some("kind".into()) };
    assert_eq!(LabelTable::read(&cat, &named).unwrap().ids, vec!["o1".to_string()]);
    let msg = read_objects(&d.join("nope"), None).unwrap_err().to_string();
    assert_mentions(&msg, &["nope: cannot be read as a directory of light curves"]);
}

/// `survey split`, then `survey train` on the halves in place, `survey eval` and
/// `survey predict`: metrics.json in `starskope train`'s layout, with named classes.
#[test]
fn cli_splits_trains_evaluates_and_predicts_per_object_sets() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("objects");
    std::fs::create_dir(&data).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut catalogue = String::from("Num,Type,Per\n");
    for i in 0..40 {
        let (class, period) = if i % 4 == 0 { ("c", 0.3) } else { ("ab", 0.6) };
        let jitter = rng.gen_range(-0.02..0.02);
        let obs = pulsator(&mut rng, period + jitter, 10.0);
        let rows: String = obs
            .iter()
            .take(120)
            .map(|o| format!("{},{},{},{}\n", o.mjd, o.flux, o.flux_err, ["u", "g", "r"][o.passband]))
            .collect();
        write(&data, &format!("{}.csv", 1000 + i), &format!("time,flux,fluxerr,band\n{rows}"));
        catalogue += &format!("{},{class},{period}\n", 1000 + i);
    }
    write(d, "catalogue.csv", &catalogue);
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
    let text = run(&["survey", "split", "--labels", "catalogue.csv", "--seed", "3", "--out", "split"]);
    assert_mentions(&text, &["train_labels.csv 20 (15 ab, 5 c)", "test_labels.csv 20 (15 ab, 5 c)"]);
    let text = run(&[
        "survey",
        "train",
        "--train",
        "objects",
        "--labels",
        "split/train_labels.csv",
        "--test",
        "objects",
        "--test-labels",
        "split/test_labels.csv",
        "--widths",
        "16",
        "--epochs",
        "5",
        "--device",
        "cpu",
        "--out",
        "run",
    ]);
    assert_mentions(
        &text,
        &[
            "20 light-curve file(s) have no row in the label table",
            "balanced accuracy",
            "majority-class guess",
        ],
    );
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("run/metrics.json")).unwrap()).unwrap();
    for key in [
        "accuracy",
        "balanced_accuracy",
        "per_class",
        "confusion",
        "weighted_log_loss",
        "prior_baseline",
        "epochs",
    ] {
        assert!(metrics.get(key).is_some(), "metrics.json lacks {key}");
    }
    assert_eq!(metrics["classes"], serde_json::json!(["ab", "c"]));
    assert_eq!(metrics["evaluated_on"], "test");
    assert_eq!(metrics["prior_baseline"]["balanced_accuracy"], 0.5);
    // eval and predict score the trained model on the same held-out objects.
    let scored = [
        "--model",
        "run/model.safetensors",
        "--data",
        "objects",
        "--labels",
        "split/test_labels.csv",
        "--device",
        "cpu",
    ];
    let text = run(&[&["survey", "eval"][..], &scored].concat());
    assert_mentions(&text, &["20 objects", "true ab", "pred c"]);
    run(&[&["survey", "predict", "--out", "p.csv"][..], &scored].concat());
    let pred = std::fs::read_to_string(d.join("p.csv")).unwrap();
    assert_eq!(pred.lines().next().unwrap(), "object_id,label,p_ab,p_c,predicted");
    assert_eq!(pred.lines().count(), 21);
}
