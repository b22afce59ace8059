//! Presets match src/model/presets.rs's papers and notebooks: parameter counts, output shapes, and clear errors.

use starskope::model::plan::{input_dims, min_length, plan, Dims};
use starskope::model::{self, summary, ModelSpec, Output};

fn totals(model: &str, channels: usize, len: usize, classes: usize) -> (usize, usize) {
    let spec = model::resolve(model).unwrap();
    let layers = plan(&spec, input_dims(&spec, channels, len), spec.output(classes).unwrap()).unwrap();
    let t = summary::totals(&layers);
    (t.total, t.trainable)
}

#[test]
fn seed_cnn_has_the_keras_parameter_count() {
    // Keras's model.summary() of the Kaggle notebook's CNN, BN moving statistics included
    assert_eq!(totals("seed-cnn", 2, 3197, 2), (71_241, 71_241 - 2 * (8 + 16 + 32)));
    let spec = model::resolve("seed-cnn").unwrap();
    let layers = plan(&spec, input_dims(&spec, 2, 3197), Output::Sigmoid).unwrap();
    let text = summary::render("seed-cnn", &layers);
    assert!(text.contains("Total params: 71,241"), "{text}");
    // Keras MaxPool1D(2, strides=4): (3187 - 2) / 4 + 1 = 797
    assert_eq!(layers[1].output, Dims::Seq { channels: 8, len: 797 });
    assert_eq!(layers.last().unwrap().output, Dims::Flat(1));
}

#[test]
fn seed_cnn_uses_softmax_for_more_than_two_classes() {
    let spec = model::resolve("seed-cnn").unwrap();
    assert_eq!(spec.output(2).unwrap(), Output::Sigmoid);
    assert_eq!(spec.output(7).unwrap(), Output::Softmax { classes: 7 });
    // the head grows from 65 to 7 * 65 parameters
    assert_eq!(totals("seed-cnn", 2, 3197, 7).0, 71_241 - 65 + 7 * 65);
}

#[test]
fn fcn_and_lstm_counts() {
    // FCN (Wang et al.): conv 128x1x8, 256x128x5, 128x256x3 with BN, then dense K
    let conv = (128 * 8 + 128) + (256 * 128 * 5 + 256) + (128 * 256 * 3 + 128);
    let bn = 4 * (128 + 256 + 128);
    assert_eq!(totals("fcn", 1, 96, 2).0, conv + bn + 128 * 2 + 2);
    // LSTM: 4H(I + H + 1) with a single bias
    let lstm = 4 * 128 * (2 + 128 + 1) + 4 * 64 * (128 + 64 + 1);
    assert_eq!(totals("seed-lstm", 2, 100, 2).0, lstm + 64 * 64 + 64 + 64 * 2 + 2);
}

#[test]
fn too_short_series_name_the_minimum_length() {
    let spec = model::resolve("seed-cnn").unwrap();
    let err = plan(&spec, input_dims(&spec, 2, 50), Output::Sigmoid).unwrap_err().to_string();
    assert!(err.contains("shorter than"), "{err}");
    let min = min_length(&spec, 2, Output::Sigmoid).unwrap();
    assert!(plan(&spec, input_dims(&spec, 2, min), Output::Sigmoid).is_ok());
    assert!(plan(&spec, input_dims(&spec, 2, min - 1), Output::Sigmoid).is_err());
}

#[test]
fn json_models_parse_and_errors_point_at_the_text() {
    let spec = ModelSpec::from_json(
        r#"{"name": "tiny", "layers": [{"type": "conv1d", "filters": 4, "kernel": 3, "padding": "same", "activation": "relu"},
            {"type": "max_pool", "pool": 2}, {"type": "global_avg_pool"}], "head": "softmax"}"#,
        "tiny.json",
    )
    .unwrap();
    assert_eq!(spec.output(2).unwrap(), Output::Softmax { classes: 2 });
    let err =
        ModelSpec::from_json(r#"{"name": "x", "layers": [{"type": "conv2d"}]}"#, "bad.json").unwrap_err();
    assert!(err.to_string().contains("bad.json: line 1"), "{err}");
    let spec = ModelSpec::from_json(r#"{"name": "d", "layers": [{"type": "dense", "units": 3}]}"#, "d.json")
        .unwrap();
    let err = plan(&spec, input_dims(&spec, 1, 10), Output::Sigmoid).unwrap_err().to_string();
    assert!(err.contains("flatten"), "{err}");
}
