//! The built-in networks of design.md, and the training defaults that go with each.

use crate::backend::Activation as Act;
use crate::backend::Activation::Relu;
use crate::model::spec::{Head, LayerSpec, LayerSpec::*, ModelSpec, Padding};

/// The presets over light curves (what `starskope bench` runs).
pub const PRESETS: [&str; 3] = ["seed-cnn", "seed-lstm", "fcn"];

/// The presets over feature vectors (`starskope survey train`).
pub const FEATURE_PRESETS: [&str; 1] = ["survey-mlp"];

/// Hidden widths of the default `survey-mlp`: the PLAsTiCC Kaggle starter MLP's.
pub const SURVEY_MLP_WIDTHS: [usize; 4] = [512, 256, 128, 64];

pub fn preset(name: &str) -> Option<ModelSpec> {
    let (layers, head) = match name {
        "seed-cnn" => (seed_cnn(), Head::Auto),
        "seed-lstm" => (seed_lstm(), Head::Softmax),
        "fcn" => (fcn(), Head::Softmax),
        "survey-mlp" => (survey_mlp(&SURVEY_MLP_WIDTHS, Relu, 0.25), Head::Softmax),
        _ => return None,
    };
    Some(ModelSpec { name: name.to_string(), layers, head })
}

fn keras_batch_norm() -> LayerSpec {
    BatchNorm { eps: 1e-3, momentum: 0.01, unbiased_running_var: false }
}

/// The Kaggle exoplanet notebook's CNN: Keras MaxPool1D(strides=4) means pool 2, stride 4.
fn seed_cnn() -> Vec<LayerSpec> {
    let conv = |filters| Conv1d { filters, kernel: 11, padding: Padding::Valid, activation: Some(Relu) };
    let pool = || MaxPool { pool: 2, stride: Some(4) };
    vec![
        conv(8),
        pool(),
        keras_batch_norm(),
        conv(16),
        pool(),
        keras_batch_norm(),
        conv(32),
        pool(),
        keras_batch_norm(),
        conv(64),
        pool(),
        Flatten,
        Dropout { rate: 0.5 },
        Dense { units: 64, activation: Some(Relu) },
        Dropout { rate: 0.25 },
        Dense { units: 64, activation: Some(Relu) },
    ]
}

fn seed_lstm() -> Vec<LayerSpec> {
    vec![
        Lstm { units: 128, return_sequences: true },
        Dropout { rate: 0.3 },
        Lstm { units: 64, return_sequences: false },
        Dropout { rate: 0.3 },
        Dense { units: 64, activation: Some(Relu) },
        Dropout { rate: 0.3 },
    ]
}

/// Wang, Yan & Oates 2017, the UCR archive's fully convolutional baseline. Its batch norm
/// uses PyTorch's momentum 0.1: UCR training sets are small (ECG200: 7 steps an epoch), and
/// with Keras's 0.01 the running statistics trail the weights by ~100 steps, so the
/// inference-mode model lags the trained one.
fn fcn() -> Vec<LayerSpec> {
    let block = |filters, kernel| {
        [
            Conv1d { filters, kernel, padding: Padding::Same, activation: None },
            BatchNorm { eps: 1e-5, momentum: 0.1, unbiased_running_var: true },
            Activation { activation: Relu },
        ]
    };
    let mut layers = Vec::new();
    layers.extend(block(128, 8));
    layers.extend(block(256, 5));
    layers.extend(block(128, 3));
    layers.push(GlobalAvgPool);
    layers
}

/// A dense classifier of flat feature vectors (the survey features, read as one channel):
/// flatten, then per width dense, batch norm, activation, dropout; the head adds softmax.
/// The original Starskøpe's PLAsTiCC net is `survey_mlp(&[512; 5], Sigmoid, rate)`. Batch
/// norm uses PyTorch's momentum 0.1: feature sets are small, few steps an epoch (see fcn).
pub fn survey_mlp(widths: &[usize], activation: Act, dropout: f32) -> Vec<LayerSpec> {
    let mut layers = vec![Flatten];
    for &units in widths {
        layers.push(Dense { units, activation: None });
        layers.push(BatchNorm { eps: 1e-5, momentum: 0.1, unbiased_running_var: true });
        layers.push(Activation { activation });
        if dropout > 0.0 {
            layers.push(Dropout { rate: dropout });
        }
    }
    layers
}
