//! The built-in networks of design.md, and the training defaults that go with each.

use crate::backend::Activation::Relu;
use crate::model::spec::{Head, LayerSpec, LayerSpec::*, ModelSpec, Padding};

pub const PRESETS: [&str; 3] = ["seed-cnn", "seed-lstm", "fcn"];

pub fn preset(name: &str) -> Option<ModelSpec> {
    let (layers, head) = match name {
        "seed-cnn" => (seed_cnn(), Head::Auto),
        "seed-lstm" => (seed_lstm(), Head::Softmax),
        "fcn" => (fcn(), Head::Softmax),
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
