//! `starskope predict` on the real Kepler, K2 and TESS light curves kept beside the
//! repository (realdata/k2, kepler, tess), read in place as the archives and the papers'
//! examples ship them.
//!
//! The main job's model takes about 7 minutes to train, too long for CI, so the model here
//! is the main job's network and preprocessing with untrained weights (written in the
//! test): what it checks is that every file is read and every target scored, and what the
//! transit search finds, which does not depend on the weights: the known planets' periods
//! within 1%, and the detection gate stopping GJ 1243 (no planet) whatever the network
//! says. Whether the trained model calls the planets planets is measured on the main
//! job's model and recorded in benches/RESULTS.md.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use starskope::data::{Label, Preprocess};
use starskope::device::{self, DeviceChoice};
use starskope::model::checkpoint::{self, ModelCard};
use starskope::model::{self, Ensemble};
use starskope::train::k2_recipe::{DETECTION, PLANET_LABEL};

fn realdata(dir: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/realdata")).join(dir)
}

/// The main job's network and preprocessing, initial weights of seed 7.
fn untrained_main_job_model(path: &Path) {
    let preprocess = Preprocess::transit_search(DETECTION);
    let card = ModelCard {
        spec: model::resolve("seed-cnn").unwrap(),
        channels: preprocess.channels(),
        preprocess,
        classes: vec![Label::Int(1), Label::Int(PLANET_LABEL)],
        length: 3197,
        members: 1,
    };
    let layers = card.plan().unwrap();
    let mut be = device::open(DeviceChoice::Cpu).unwrap();
    let nets = Ensemble::build(be.as_mut(), &layers, card.output().unwrap(), 1, 1).unwrap();
    nets.init(be.as_mut(), &layers, 7);
    let tensors = nets.download_params(be.as_mut(), false).unwrap();
    checkpoint::save(path, &card, &tensors, None).unwrap();
}

/// predict's rows by target: column name to cell.
fn predict(model: &Path, data: &Path, out: &Path) -> HashMap<String, HashMap<String, String>> {
    let run = Command::cargo_bin("starskope")
        .unwrap()
        .env("NODEVICE_SELECT", "1")
        .args(["predict", "--device", "cpu", "--model"])
        .arg(model)
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success() && !text.contains("panicked"), "{text}");
    let mut reader = csv::Reader::from_path(out).unwrap();
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let row: HashMap<String, String> =
                header.iter().zip(r.iter()).map(|(h, c)| (h.into(), c.into())).collect();
            (row["target"].clone(), row)
        })
        .collect()
}

fn period(row: &HashMap<String, String>) -> f64 {
    row["period_days"].parse().unwrap_or(f64::NAN)
}

#[test]
fn predict_reads_every_real_light_curve_and_finds_the_known_periods() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model.safetensors");
    untrained_main_job_model(&model);
    let p_planet = format!("p_{PLANET_LABEL}");

    let k2 = predict(&model, &realdata("k2"), &dir.path().join("k2.csv"));
    let tess = predict(&model, &realdata("tess"), &dir.path().join("tess.csv"));
    let kepler = predict(&model, &realdata("kepler"), &dir.path().join("kepler.csv"));
    assert_eq!((k2.len(), tess.len(), kepler.len()), (4, 1, 3), "{k2:?} {tess:?} {kepler:?}");

    let known = [
        (&k2, "WASP-75_EPIC206154641_C3", 2.4842),
        (&k2, "K2-32_C3", 8.992),
        (&k2, "K2-3_EPIC201367065_C1", 10.054),
        (&k2, "K2-140_C10", 6.569),
        (&tess, "PiMen_S1_2min", 6.268),
    ];
    for (rows, target, known) in known {
        let row = &rows[target];
        assert!((period(row) / known - 1.0).abs() < 0.01, "{target}: {row:?}");
        assert!(row["snr"].parse::<f64>().unwrap() > 15.0, "{target}: {row:?}");
    }

    let kepler90 = &kepler["KIC 11442793"];
    assert_eq!(kepler90["files"].split(';').count(), 3, "{kepler90:?}");
    let periods = [7.008, 8.719, 14.449, 59.737, 91.939, 124.914];
    assert!(periods.iter().any(|p| (period(kepler90) / p - 1.0).abs() < 0.01), "Kepler-90: {kepler90:?}");

    let gj1243 = &kepler["GJ1243_sc_binned"];
    assert_eq!(gj1243[&p_planet].parse::<f64>().unwrap(), 0.0, "GJ 1243: {gj1243:?}");
    assert_ne!(gj1243["predicted"], PLANET_LABEL.to_string(), "GJ 1243: {gj1243:?}");
    assert!(kepler.contains_key("KOI-1003_Q2"), "{kepler:?}");
}

#[test]
fn eval_reports_on_labelled_light_curves_and_asks_for_the_labels() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model.safetensors");
    untrained_main_job_model(&model);
    let labels = dir.path().join("labels.csv");
    std::fs::write(
        &labels,
        "target,label\nWASP-75_EPIC206154641_C3,2\nK2-32_C3,2\nK2-3_EPIC201367065_C1,2\nK2-140_C10,1\n",
    )
    .unwrap();
    let eval = |with_labels: bool| {
        let mut cmd = Command::cargo_bin("starskope").unwrap();
        cmd.env("NODEVICE_SELECT", "1").args(["eval", "--device", "cpu", "--model"]).arg(&model);
        cmd.arg("--data").arg(realdata("k2"));
        if with_labels {
            cmd.arg("--labels").arg(&labels);
        }
        let out = cmd.output().unwrap();
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    };
    let (ok, text) = eval(true);
    assert!(ok && text.contains("(4 targets") && text.contains("Confusion matrix"), "{text}");
    let (ok, text) = eval(false);
    assert!(!ok && text.contains("needs --labels") && !text.contains("panicked"), "{text}");
}
