//! The built-in networks (README.md lists them), and the training defaults that go
//! with each.

use crate::backend::Activation as Act;
use crate::backend::Activation::Relu;
use crate::data::{Preprocess, SampleMode};
use crate::model::spec::{Head, LayerSpec, LayerSpec::*, ModelSpec, Padding};

/// The presets over light curves (what `starskope bench` runs).
pub const PRESETS: [&str; 3] = ["seed-cnn", "seed-lstm", "fcn"];

/// The presets over feature vectors (`starskope survey train`).
pub const FEATURE_PRESETS: [&str; 1] = ["survey-mlp"];

/// Hidden widths of the default `survey-mlp`: the PLAsTiCC Kaggle starter MLP's.
pub const SURVEY_MLP_WIDTHS: [usize; 4] = [512, 256, 128, 64];

pub fn preset(name: &str) -> Option<ModelSpec> {
    lookup(name).map(|(layers, head, _)| ModelSpec { name: name.to_string(), layers, head })
}

/// What a model trains with unless told otherwise: a preset's own, a JSON model's
/// [`generic_defaults`].
pub fn training_defaults(name: &str) -> TrainDefaults {
    lookup(name).map_or_else(generic_defaults, |(_, _, defaults)| defaults)
}

/// What a preset trains with unless told otherwise: its authors' recipe. On a user's data
/// every model gets shuffled batches without rolls and one network; `on_k2` is what it
/// gets on the built-in K2 data, the light curves the seed notebook's recipe is for.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainDefaults {
    pub preprocess: Preprocess,
    pub batch: usize,
    pub lr: f32,
    pub epochs: usize,
    pub on_k2: OnK2,
}

/// A preset's defaults on the built-in K2 data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OnK2 {
    pub sampling: SampleMode,
    pub roll: bool,
    /// The transit search's channels (whitened flux and the fold at the best box period)
    /// in place of the preset's preprocessing.
    pub transit_search: bool,
    /// Networks trained side by side and averaged (see model::ensemble).
    pub members: usize,
}

/// The seed notebook's batches: half planets per batch and random rolls.
const NOTEBOOK_BATCHES: OnK2 =
    OnK2 { sampling: SampleMode::Balanced, roll: true, transit_search: false, members: 1 };

/// JSON models and the feature presets: the Kaggle exoplanet notebook's optimizer
/// (flux and its 200-point moving average, Adam 3e-4, 40 epochs), with its batches on
/// the built-in data.
fn generic_defaults() -> TrainDefaults {
    TrainDefaults {
        preprocess: Preprocess::default(),
        batch: 32,
        lr: 3e-4,
        epochs: 40,
        on_k2: NOTEBOOK_BATCHES,
    }
}

/// Each preset's layers, head and training defaults.
fn lookup(name: &str) -> Option<(Vec<LayerSpec>, Head, TrainDefaults)> {
    Some(match name {
        // The Kaggle exoplanet notebook's recipe; on the built-in data the transit
        // search's channels, which find planets whose transits are too weak to see one
        // at a time, and an ensemble of two: one network's verdicts on borderline curves
        // depend on its initial values (benches/RESULTS.md, "seed-cnn's ensemble").
        "seed-cnn" => (
            seed_cnn(),
            Head::Auto,
            TrainDefaults {
                on_k2: OnK2 { transit_search: true, members: 2, ..NOTEBOOK_BATCHES },
                ..generic_defaults()
            },
        ),
        "seed-lstm" => {
            (seed_lstm(), Head::Softmax, TrainDefaults { lr: 1e-3, epochs: 10, ..generic_defaults() })
        }
        // Wang et al. 2017 trained on z-normalized UCR series as they are: one channel,
        // plain shuffled batches, no augmentation that breaks the series' alignment, on
        // any data.
        "fcn" => (
            fcn(),
            Head::Softmax,
            TrainDefaults {
                preprocess: Preprocess::Plain { standardize: true, smooth_window: None },
                batch: 16,
                lr: 1e-3,
                epochs: 200,
                on_k2: OnK2 { sampling: SampleMode::Shuffled, roll: false, ..NOTEBOOK_BATCHES },
            },
        ),
        "survey-mlp" => (survey_mlp(&SURVEY_MLP_WIDTHS, Relu, 0.25), Head::Softmax, generic_defaults()),
        _ => return None,
    })
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
