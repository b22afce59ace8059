//! Checkpoints written by the binary before `Preprocess` was an enum (commit fc401a8):
//! each still loads as the kind of preprocessing it was trained with, and `starskope
//! predict` writes the same bytes that binary wrote on the same data.
//!
//! How the fixtures were made (in a scratch directory, with that binary):
//! - `plain_v1`: `train --device cpu --model plain_v1_model.json --train T.csv --smooth 6
//!   --epochs 1` on 30 rows of length 48, then `predict` on `plain_v1.csv`;
//! - `transit_v1`: `train --device cpu --model transit_v1_model.json --synth-stars 100
//!   --inject 0 --members 1 --epochs 1` (a JSON model named seed-cnn gets the built-in
//!   data's transit search), then `predict` on three rows of its exoTest.csv, rounded;
//! - `survey_v1`: `survey train --train DIR --widths 8 --epochs 2` on 60 objects of
//!   `survey synth --objects 60` written as per-object files, then `survey predict` on
//!   six test objects (`survey_v1_objects`). Its standardization was the sidecar
//!   `standardization.json`.

use std::path::PathBuf;

use assert_cmd::Command;
use starskope::data::Preprocess;
use starskope::model::checkpoint;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures")).join(name)
}

fn predict(args: &[&str], model: &str, data: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pred.csv");
    let run = Command::cargo_bin("starskope")
        .unwrap()
        .env("NODEVICE_SELECT", "1")
        .args(args)
        .args(["--device", "cpu", "--model"])
        .arg(fixture(model))
        .arg("--data")
        .arg(fixture(data))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    std::fs::read_to_string(&out).unwrap()
}

fn want(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap()
}

#[test]
fn a_plain_checkpoint_loads_as_plain_and_predicts_the_same() {
    let card = checkpoint::load(&fixture("plain_v1.safetensors")).unwrap().card;
    assert_eq!(card.preprocess, Preprocess::Plain { standardize: true, smooth_window: Some(6) });
    assert_eq!(
        predict(&["predict"], "plain_v1.safetensors", "plain_v1.csv"),
        want("plain_v1_predictions.csv")
    );
}

#[test]
fn a_transit_search_checkpoint_loads_as_the_transit_search_and_predicts_the_same() {
    let card = checkpoint::load(&fixture("transit_v1.safetensors")).unwrap().card;
    let view = card.preprocess.transit_view().expect("the transit search");
    assert_eq!(view.detection.map(|d| d.planet_label), Some(2));
    assert_eq!(card.preprocess.channels(), card.channels);
    assert_eq!(
        predict(&["predict"], "transit_v1.safetensors", "transit_v1.csv"),
        want("transit_v1_predictions.csv")
    );
}

/// The old survey model's card says "plain, unstandardized"; its sidecar makes it a
/// survey model, for `survey predict` and for `starskope predict` alike.
#[test]
fn a_survey_checkpoint_with_its_sidecar_predicts_the_same_through_both_commands() {
    let card = checkpoint::load(&fixture("survey_v1/model.safetensors")).unwrap().card;
    assert_eq!(card.preprocess, Preprocess::Plain { standardize: false, smooth_window: None });
    let (ck, scaling) =
        starskope::survey::standardize::load_model(&fixture("survey_v1/model.safetensors")).unwrap();
    assert_eq!(ck.card.preprocess, Preprocess::SurveyFeatures { scaling: scaling.clone() });
    assert_eq!(scaling.names.len(), card.length);
    let expected = want("survey_v1_predictions.csv");
    for command in [&["survey", "predict"][..], &["predict"][..]] {
        assert_eq!(
            predict(command, "survey_v1/model.safetensors", "survey_v1_objects"),
            expected,
            "{command:?}"
        );
    }
}

#[test]
fn preprocess_round_trips_in_its_tagged_layout() {
    let kinds = [
        Preprocess::default(),
        Preprocess::Plain { standardize: false, smooth_window: None },
        Preprocess::transit_search(starskope::train::k2_recipe::DETECTION),
        Preprocess::SurveyFeatures {
            scaling: starskope::data::FeatureScaling::fit(&["a".into(), "b".into()], &[1.0, 2.0, 3.0, 5.0]),
        },
    ];
    for pre in kinds {
        let json = serde_json::to_string(&pre).unwrap();
        assert!(json.starts_with("{\"kind\":"), "{json}");
        let back =
            starskope::data::preprocess::deserialize_stored(&mut serde_json::Deserializer::from_str(&json));
        assert_eq!(back.unwrap(), pre);
    }
}
