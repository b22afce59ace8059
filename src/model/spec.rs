//! What a network is made of, as a user writes it: presets and JSON model files.
//!
//! A model file is JSON: `{"name": "...", "layers": [ ... ], "head": "auto"}`. Each layer
//! is an object with a "type":
//! - `{"type": "conv1d", "filters": 8, "kernel": 11, "padding": "valid"|"same", "activation": "relu"}`
//! - `{"type": "max_pool", "pool": 2, "stride": 4}` (stride defaults to pool)
//! - `{"type": "batch_norm"}` with optional "eps", "momentum" (weight of the new batch
//!   statistic), "unbiased_running_var"; defaults are Keras's (eps 1e-3, momentum 0.01)
//! - `{"type": "lstm", "units": 128, "return_sequences": true}`
//! - `{"type": "dense", "units": 64, "activation": "relu"}`
//! - `{"type": "dropout", "rate": 0.5}`, `{"type": "flatten"}`, `{"type": "global_avg_pool"}`,
//!   `{"type": "activation", "activation": "relu"|"sigmoid"|"tanh"}`
//!
//! The output layer is not listed: the head appends a dense layer to the classes, with a
//! sigmoid unit and binary cross-entropy (`"sigmoid"`, two classes only) or K softmax
//! units and cross-entropy (`"softmax"`); `"auto"` picks sigmoid for two classes.

use serde::{Deserialize, Serialize};

use crate::backend::{Activation, BatchNormConfig};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Padding {
    #[default]
    Valid,
    Same,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum LayerSpec {
    Conv1d {
        filters: usize,
        kernel: usize,
        #[serde(default)]
        padding: Padding,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        activation: Option<Activation>,
    },
    MaxPool {
        pool: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stride: Option<usize>,
    },
    BatchNorm {
        #[serde(default = "keras_eps")]
        eps: f32,
        #[serde(default = "keras_momentum")]
        momentum: f32,
        #[serde(default)]
        unbiased_running_var: bool,
    },
    Lstm {
        units: usize,
        #[serde(default)]
        return_sequences: bool,
    },
    Dense {
        units: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        activation: Option<Activation>,
    },
    Dropout {
        rate: f32,
    },
    Flatten,
    GlobalAvgPool,
    Activation {
        activation: Activation,
    },
}

fn keras_eps() -> f32 {
    BatchNormConfig::KERAS.eps
}

fn keras_momentum() -> f32 {
    BatchNormConfig::KERAS.momentum
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Head {
    #[default]
    Auto,
    Sigmoid,
    Softmax,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    pub name: String,
    pub layers: Vec<LayerSpec>,
    #[serde(default)]
    pub head: Head,
}

/// The output head resolved for a number of classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// One logit; probability of the second class = sigmoid(logit).
    Sigmoid,
    /// One logit per class.
    Softmax { classes: usize },
}

impl Output {
    pub fn units(self) -> usize {
        match self {
            Output::Sigmoid => 1,
            Output::Softmax { classes } => classes,
        }
    }
}

impl ModelSpec {
    pub fn output(&self, classes: usize) -> anyhow::Result<Output> {
        anyhow::ensure!(classes >= 2, "a classifier needs at least 2 classes, got {classes}");
        Ok(match (self.head, classes) {
            (Head::Auto | Head::Sigmoid, 2) => Output::Sigmoid,
            (Head::Sigmoid, k) => anyhow::bail!(
                "model '{}' has a sigmoid head, which fits 2 classes; the data has {k}: use \"head\": \"softmax\"",
                self.name
            ),
            (_, k) => Output::Softmax { classes: k },
        })
    }

    /// Recurrent models read (batch, time, features); convolutional ones (batch, channels, time).
    pub fn time_major_input(&self) -> bool {
        matches!(self.layers.first(), Some(LayerSpec::Lstm { .. }))
    }

    /// Parses a model file's text; `origin` names it in messages.
    pub fn from_json(text: &str, origin: &str) -> anyhow::Result<ModelSpec> {
        serde_json::from_str(text).map_err(|e| {
            anyhow::anyhow!(
                "{origin}: line {}, column {}: {e}. A model file looks like \
                 {{\"name\": \"mine\", \"layers\": [{{\"type\": \"conv1d\", \"filters\": 8, \"kernel\": 11, \"activation\": \"relu\"}}, {{\"type\": \"flatten\"}}], \"head\": \"auto\"}}",
                e.line(),
                e.column()
            )
        })
    }
}

impl LayerSpec {
    /// Keras-style layer name stem, for summaries and parameter names.
    pub fn kind(&self) -> &'static str {
        match self {
            LayerSpec::Conv1d { .. } => "conv1d",
            LayerSpec::MaxPool { .. } => "max_pool",
            LayerSpec::BatchNorm { .. } => "batch_norm",
            LayerSpec::Lstm { .. } => "lstm",
            LayerSpec::Dense { .. } => "dense",
            LayerSpec::Dropout { .. } => "dropout",
            LayerSpec::Flatten => "flatten",
            LayerSpec::GlobalAvgPool => "global_avg_pool",
            LayerSpec::Activation { .. } => "activation",
        }
    }
}
