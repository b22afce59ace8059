//! One preset at the batch, channels and length the bench runs it with, instantiated on
//! a backend with initialized weights and a random batch, ready to step.

use anyhow::Result;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::backend::{AdamConfig, Backend};
use crate::model::network::Batch;
use crate::model::plan::LayerPlan;
use crate::model::{self, init, plan, Network, Output};
use crate::train::defaults;

/// Series length of a K2 light curve (the seed presets' data).
pub const K2_LENGTH: usize = 3197;
/// The length the issue fixes for the UCR baseline.
pub const FCN_LENGTH: usize = 512;
/// Binary problems, as the exoplanet task.
const CLASSES: usize = 2;
const SEED: u64 = 42;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Workload {
    pub preset: String,
    pub batch: usize,
    pub channels: usize,
    pub length: usize,
    /// The length the preset is specified at; differs from `length` only when the user
    /// asked for another one (`--length`), which the report says.
    pub full_length: usize,
}

impl Workload {
    /// A preset at its training defaults' batch and channels, at its reference length
    /// unless `length` overrides it.
    pub fn new(preset: &str, length: Option<usize>) -> Result<Workload> {
        let full_length = match preset {
            "fcn" => FCN_LENGTH,
            "seed-cnn" | "seed-lstm" => K2_LENGTH,
            other => anyhow::bail!("no bench workload for '{other}': use seed-cnn, seed-lstm or fcn"),
        };
        let d = defaults::for_model(preset);
        let w = Workload {
            preset: preset.to_string(),
            batch: d.batch,
            channels: d.preprocess.channels(),
            length: length.unwrap_or(full_length),
            full_length,
        };
        // a --length the model cannot take is the user's error, not the device's
        w.layers().map_err(|e| anyhow::anyhow!("--length {}: {e:#}", w.length))?;
        Ok(w)
    }

    /// The preset's plan at this workload's input.
    fn layers(&self) -> Result<(Vec<LayerPlan>, Output)> {
        let spec = model::resolve(&self.preset)?;
        let output = spec.output(CLASSES)?;
        let layers = plan::plan(&spec, plan::input_dims(&spec, self.channels, self.length), output)?;
        Ok((layers, output))
    }

    pub fn describe(&self) -> String {
        let note = if self.length == self.full_length {
            String::new()
        } else {
            format!(" (reduced from {}: --length)", self.full_length)
        };
        format!(
            "{} batch {}, {} channel(s), length {}{note}",
            self.preset, self.batch, self.channels, self.length
        )
    }
}

/// A network on a backend with one batch of inputs already uploaded.
pub struct Prepared {
    pub net: Network,
    batch: Batch,
    adam: AdamConfig,
}

impl Prepared {
    /// Shapes come from the model plan, exactly as `train` builds the network.
    pub fn new(be: &mut dyn Backend, w: &Workload) -> Result<Prepared> {
        let (layers, output) = w.layers()?;
        let net = Network::build(be, &layers, output, w.batch)?;
        for (p, v) in net.params.iter().zip(init::initial_values(&layers, SEED)) {
            be.upload(p.value, &v);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(SEED);
        let x_host: Vec<f32> = (0..w.batch * net.input.numel()).map(|_| rng.gen_range(-2.0..2.0)).collect();
        let labels: Vec<f32> = (0..w.batch).map(|i| (i % CLASSES) as f32).collect();
        let (x, targets, weights) = (be.alloc(x_host.len()), be.alloc(w.batch), be.alloc(w.batch));
        be.upload(x, &x_host);
        be.upload(targets, &labels);
        be.upload(weights, &vec![1.0; w.batch]);
        let adam = AdamConfig { lr: defaults::for_model(&w.preset).lr, ..AdamConfig::default() };
        Ok(Prepared { net, batch: Batch { x, targets, weights }, adam })
    }

    /// Forward, loss, backward and Adam as one unit of work, as the trainer runs a step.
    pub fn train_step(&self, be: &mut dyn Backend, t: u64) {
        self.net.train_step(be, &self.batch, &self.adam, SEED, t);
        be.flush();
    }

    /// Class probabilities of the batch, as `eval`/`predict` compute them.
    pub fn infer(&self, be: &mut dyn Backend) {
        self.net.forward(be, self.batch.x, false, SEED, 0);
        self.net.predict_probs(be);
        be.flush();
    }
}
