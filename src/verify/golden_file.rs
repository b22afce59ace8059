//! One golden JSON file: `op` (the op's name), `config` (its settings), and `inputs` and
//! `outputs`, each a map from a tensor's name to `{"shape": [...], "data": [...]}` in f64,
//! row-major. Every accessor's error names the file and the field.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

#[derive(Debug, Deserialize)]
struct Raw {
    op: String,
    #[serde(default)]
    config: serde_json::Map<String, serde_json::Value>,
    inputs: BTreeMap<String, Tensor>,
    outputs: BTreeMap<String, Tensor>,
}

#[derive(Debug)]
pub struct GoldenFile {
    pub path: PathBuf,
    pub op: String,
    config: serde_json::Map<String, serde_json::Value>,
    inputs: BTreeMap<String, Tensor>,
    pub outputs: BTreeMap<String, Tensor>,
}

impl GoldenFile {
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading golden file {}", path.display()))?;
        let raw: Raw = serde_json::from_str(&text).with_context(|| {
            format!(
                "{}: not a golden file (expected {{op, config, inputs, outputs}}, see golden/README.md)",
                path.display()
            )
        })?;
        let file = GoldenFile {
            path: path.to_owned(),
            op: raw.op,
            config: raw.config,
            inputs: raw.inputs,
            outputs: raw.outputs,
        };
        for (kind, tensors) in [("input", &file.inputs), ("output", &file.outputs)] {
            for (name, t) in tensors {
                let want: usize = t.shape.iter().product();
                if t.data.len() != want {
                    bail!(
                        "{}: {kind} '{name}' has {} values but shape {:?} needs {want}",
                        file.path.display(),
                        t.data.len(),
                        t.shape
                    );
                }
            }
        }
        Ok(file)
    }

    /// An input tensor of any shape.
    pub fn input_any(&self, name: &str) -> Result<&Tensor> {
        self.inputs
            .get(name)
            .with_context(|| format!("{}: op '{}' needs input '{name}'", self.path.display(), self.op))
    }

    /// An input with R dimensions: its data and its shape.
    pub fn input_dims<const R: usize>(&self, name: &str) -> Result<(&[f64], [usize; R])> {
        let t = self.input_any(name)?;
        let dims = t.shape[..].try_into().with_context(|| {
            format!(
                "{}: input '{name}' has shape {:?}, expected {R} dimensions",
                self.path.display(),
                t.shape
            )
        })?;
        Ok((&t.data, dims))
    }

    /// An input whose shape must be exactly `shape`.
    pub fn input_shaped(&self, name: &str, shape: &[usize]) -> Result<&[f64]> {
        let t = self.input_any(name)?;
        if t.shape != shape {
            bail!("{}: input '{name}' has shape {:?}, expected {shape:?}", self.path.display(), t.shape);
        }
        Ok(&t.data)
    }

    fn config_value(&self, key: &str) -> Result<&serde_json::Value> {
        self.config.get(key).with_context(|| format!("{}: config needs '{key}'", self.path.display()))
    }

    pub fn config_f64(&self, key: &str) -> Result<f64> {
        self.config_value(key)?
            .as_f64()
            .with_context(|| format!("{}: config '{key}' must be a number", self.path.display()))
    }

    pub fn config_u32(&self, key: &str) -> Result<u32> {
        self.config_value(key)?.as_u64().and_then(|v| u32::try_from(v).ok()).with_context(|| {
            format!("{}: config '{key}' must be a non-negative integer", self.path.display())
        })
    }

    pub fn config_str(&self, key: &str) -> Result<&str> {
        self.config_value(key)?
            .as_str()
            .with_context(|| format!("{}: config '{key}' must be a string", self.path.display()))
    }

    /// A boolean config entry, `default` when absent.
    pub fn config_bool_or(&self, key: &str, default: bool) -> Result<bool> {
        match self.config.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .with_context(|| format!("{}: config '{key}' must be true or false", self.path.display())),
        }
    }
}
