//! Networks: what users write (spec, presets, JSON files), shape inference, parameters,
//! the forward/backward pass over the backend, checkpoints.

pub mod checkpoint;
pub mod ensemble;
pub mod init;
pub mod memory_fit;
pub mod network;
pub mod plan;
pub mod presets;
pub mod spec;
pub mod summary;

pub use ensemble::Ensemble;
pub use network::Network;
pub use spec::{ModelSpec, Output};

use anyhow::{Context, Result};

/// A preset name, or the path of a JSON model file.
pub fn resolve(model: &str) -> Result<ModelSpec> {
    if let Some(spec) = presets::preset(model) {
        return Ok(spec);
    }
    let path = std::path::Path::new(model);
    if !path.exists() {
        anyhow::bail!(
            "unknown model '{model}': use a preset ({}) or the path of a JSON model file",
            [&presets::PRESETS[..], &presets::FEATURE_PRESETS[..]].concat().join(", ")
        );
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read model file {model}"))?;
    ModelSpec::from_json(&text, model)
}
