//! Shape inference: what each layer of a spec outputs and which parameters it owns, for
//! a given input. The summary table and the network builder both read this one plan.

use anyhow::{bail, Result};

use crate::model::spec::{LayerSpec, ModelSpec, Output, Padding};

/// The shape of one sample's activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dims {
    /// (channels, len): convolutional layout.
    Seq {
        channels: usize,
        len: usize,
    },
    /// (time, features): recurrent layout.
    TimeMajor {
        time: usize,
        features: usize,
    },
    Flat(usize),
}

impl Dims {
    pub fn numel(self) -> usize {
        match self {
            Dims::Seq { channels, len } => channels * len,
            Dims::TimeMajor { time, features } => time * features,
            Dims::Flat(n) => n,
        }
    }

    /// Keras-style "(None, 3187, 8)"-like text, here in our (channels, len) order.
    pub fn describe(self) -> String {
        match self {
            Dims::Seq { channels, len } => format!("({channels}, {len})"),
            Dims::TimeMajor { time, features } => format!("({time}, {features})"),
            Dims::Flat(n) => format!("({n})"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ParamPlan {
    /// e.g. "conv1d_0.weight"
    pub name: String,
    pub shape: Vec<usize>,
    /// Batch-norm running statistics are state, not trained.
    pub trainable: bool,
}

impl ParamPlan {
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// One user-visible layer (a spec entry, or the head) after shape inference.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerPlan {
    pub name: String,
    pub spec: LayerSpec,
    pub input: Dims,
    pub output: Dims,
    pub params: Vec<ParamPlan>,
}

/// The input a model expects for series of `channels` x `len`.
pub fn input_dims(spec: &ModelSpec, channels: usize, len: usize) -> Dims {
    if spec.time_major_input() {
        Dims::TimeMajor { time: len, features: channels }
    } else {
        Dims::Seq { channels, len }
    }
}

/// Infers every layer's output, with the head (a dense layer to the classes) appended.
pub fn plan(spec: &ModelSpec, input: Dims, output: Output) -> Result<Vec<LayerPlan>> {
    let head = LayerSpec::Dense { units: output.units(), activation: None };
    let mut dims = input;
    let mut plans = Vec::new();
    let mut counts = std::collections::HashMap::new();
    for (i, layer) in spec.layers.iter().chain(std::iter::once(&head)).enumerate() {
        let n = counts.entry(layer.kind()).or_insert(0usize);
        let name = format!("{}_{}", layer.kind(), n);
        *n += 1;
        let (out, params) = infer(layer, dims, &name)
            .map_err(|e| anyhow::anyhow!("model '{}', layer {} ({}): {e}", spec.name, i + 1, layer.kind()))?;
        plans.push(LayerPlan { name, spec: layer.clone(), input: dims, output: out, params });
        dims = out;
    }
    Ok(plans)
}

/// The shortest series the model accepts, for messages ("needs at least N samples").
pub fn min_length(spec: &ModelSpec, channels: usize, output: Output) -> Option<usize> {
    (1..=1 << 20).find(|&len| plan(spec, input_dims(spec, channels, len), output).is_ok())
}

fn param(name: &str, part: &str, shape: &[usize], trainable: bool) -> ParamPlan {
    ParamPlan { name: format!("{name}.{part}"), shape: shape.to_vec(), trainable }
}

fn infer(layer: &LayerSpec, dims: Dims, name: &str) -> Result<(Dims, Vec<ParamPlan>)> {
    let positive = |what: &str, v: usize| -> Result<()> {
        if v == 0 {
            bail!("{what} must be at least 1")
        }
        Ok(())
    };
    Ok(match (layer, dims) {
        (&LayerSpec::Conv1d { filters, kernel, padding, .. }, Dims::Seq { channels, len }) => {
            positive("filters", filters)?;
            positive("kernel", kernel)?;
            let len_out = match padding {
                Padding::Same => len,
                Padding::Valid if len >= kernel => len - kernel + 1,
                Padding::Valid => bail!("input of length {len} is shorter than the kernel ({kernel})"),
            };
            let params = vec![
                param(name, "weight", &[filters, channels, kernel], true),
                param(name, "bias", &[filters], true),
            ];
            (Dims::Seq { channels: filters, len: len_out }, params)
        }
        (&LayerSpec::MaxPool { pool, stride }, Dims::Seq { channels, len }) => {
            positive("pool", pool)?;
            let stride = stride.unwrap_or(pool);
            positive("stride", stride)?;
            if len < pool {
                bail!("input of length {len} is shorter than the pool ({pool})");
            }
            (Dims::Seq { channels, len: (len - pool) / stride + 1 }, vec![])
        }
        (LayerSpec::BatchNorm { eps, momentum, .. }, Dims::Seq { channels: c, .. } | Dims::Flat(c)) => {
            if !eps.is_finite() || *eps <= 0.0 || !(0.0..=1.0).contains(momentum) {
                bail!("batch norm needs eps > 0 and momentum in [0, 1], got eps {eps}, momentum {momentum}");
            }
            let params = vec![
                param(name, "gamma", &[c], true),
                param(name, "beta", &[c], true),
                param(name, "running_mean", &[c], false),
                param(name, "running_var", &[c], false),
            ];
            (dims, params)
        }
        (&LayerSpec::Lstm { units, return_sequences }, Dims::TimeMajor { time, features }) => {
            positive("units", units)?;
            let params = vec![
                param(name, "w_ih", &[4 * units, features], true),
                param(name, "w_hh", &[4 * units, units], true),
                param(name, "bias", &[4 * units], true),
            ];
            let out = if return_sequences {
                Dims::TimeMajor { time, features: units }
            } else {
                Dims::Flat(units)
            };
            (out, params)
        }
        (&LayerSpec::Dense { units, .. }, Dims::Flat(n)) => {
            positive("units", units)?;
            let params = vec![
                param(name, "weight", &[units, n], true),
                param(name, "bias", &[units], true),
            ];
            (Dims::Flat(units), params)
        }
        (LayerSpec::Dropout { rate }, _) => {
            if !(0.0..1.0).contains(rate) {
                bail!("dropout rate must be in [0, 1), got {rate}");
            }
            (dims, vec![])
        }
        (LayerSpec::Activation { .. }, _) => (dims, vec![]),
        (LayerSpec::Flatten, _) => (Dims::Flat(dims.numel()), vec![]),
        (LayerSpec::GlobalAvgPool, Dims::Seq { channels, .. }) => (Dims::Flat(channels), vec![]),
        (LayerSpec::Dense { .. }, _) => {
            bail!("dense needs a flat input, got {}: put a flatten or global_avg_pool layer before it", dims.describe())
        }
        (LayerSpec::Lstm { .. }, _) => bail!(
            "an lstm layer reads (time, features): it must come first or after another lstm with return_sequences"
        ),
        (_, _) => bail!("needs a (channels, length) input, got {}", dims.describe()),
    })
}
