//! Checkpoints: safetensors files that carry, beside the parameters, everything needed to
//! reproduce predictions (the model spec, the preprocessing, the class labels, the input
//! shape) and optionally the optimizer state and training progress for `--resume`.
//!
//! Writes are atomic: a temporary file in the same directory, synced, then renamed over
//! the old one, so a crash mid-write leaves the previous good checkpoint in place.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};
use safetensors::tensor::{Dtype, TensorView};
use serde::{Deserialize, Serialize};

use crate::data::{Label, Preprocess};
use crate::model::plan::{self, LayerPlan};
use crate::model::spec::{ModelSpec, Output};

const FORMAT: &str = "starskope-checkpoint-1";

/// What a checkpoint says about the model it holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    pub spec: ModelSpec,
    /// Read in its current layout or in the one of checkpoints written before it was an enum.
    #[serde(deserialize_with = "crate::data::preprocess::deserialize_stored")]
    pub preprocess: Preprocess,
    /// Class labels, ascending; class k of the model is classes[k]. Integers are JSON
    /// numbers, as in checkpoints written before labels could be names.
    pub classes: Vec<Label>,
    pub channels: usize,
    pub length: usize,
    /// Networks of this model trained side by side from different initial values, whose
    /// class probabilities are averaged (see [`member_name`]). Checkpoints written before
    /// ensembles existed hold one.
    #[serde(default = "one")]
    pub members: usize,
}

fn one() -> usize {
    1
}

/// The name of member `member`'s tensor `name`: member 0 keeps the plain names (so a
/// one-member checkpoint is what it always was), the others are prefixed `member{k}.`.
pub fn member_name(member: usize, name: &str) -> String {
    match member {
        0 => name.to_string(),
        k => format!("member{k}.{name}"),
    }
}

impl ModelCard {
    pub fn output(&self) -> Result<Output> {
        self.spec.output(self.classes.len())
    }

    pub fn plan(&self) -> Result<Vec<LayerPlan>> {
        let input = plan::input_dims(&self.spec, self.channels, self.length);
        plan::plan(&self.spec, input, self.output()?)
    }
}

/// Parameters (and optimizer moments) by name, as host vectors.
pub type Tensors = Vec<(String, Vec<usize>, Vec<f32>)>;

/// Tensors by name: (shape, values).
pub type TensorMap = HashMap<String, (Vec<usize>, Vec<f32>)>;

pub struct Checkpoint {
    pub card: ModelCard,
    pub tensors: TensorMap,
    /// Free-form training progress (JSON) for `--resume`, if the file holds it.
    pub train_state: Option<String>,
}

pub fn save(path: &Path, card: &ModelCard, tensors: &Tensors, train_state: Option<&str>) -> Result<()> {
    write_atomically(path, &to_bytes(card, tensors, train_state)?)
}

/// The bytes [`save`] writes (a checkpoint held in memory, e.g. by a pickled Python model).
pub fn to_bytes(card: &ModelCard, tensors: &Tensors, train_state: Option<&str>) -> Result<Vec<u8>> {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(name, shape, data)| (name.clone(), shape.clone(), bytemuck::cast_slice(data).to_vec()))
        .collect();
    let views = bytes
        .iter()
        .map(|(name, shape, data)| Ok((name.clone(), TensorView::new(Dtype::F32, shape.clone(), data)?)))
        .collect::<Result<Vec<_>>>()?;
    let mut meta = HashMap::new();
    meta.insert("format".to_string(), FORMAT.to_string());
    meta.insert("card".to_string(), serde_json::to_string(card)?);
    if let Some(state) = train_state {
        meta.insert("train_state".to_string(), state.to_string());
    }
    Ok(safetensors::serialize(views, Some(meta))?)
}

/// Writes `data` to a temporary file beside `path`, then renames it over `path`: a crash
/// mid-write leaves the previous file whole.
pub fn write_atomically(path: &Path, data: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().context("a checkpoint path needs a file name")?.to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp"));
    let write = || -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        // make the rename itself durable
        fs::File::open(dir)?.sync_all()
    };
    write().with_context(|| {
        format!("cannot write {}: check that the directory exists and is writable", path.display())
    })
}

pub fn load(path: &Path) -> Result<Checkpoint> {
    let bytes = fs::read(path).with_context(|| format!("cannot read checkpoint {}", path.display()))?;
    from_bytes(&bytes, &path.display().to_string())
}

/// A checkpoint from the bytes of a file [`save`] wrote; `name` says where they came from.
pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Checkpoint> {
    let bad = |what: String| {
        anyhow::anyhow!(
            "{name} is not a usable Starskøpe checkpoint: {what}. Use the model.safetensors or checkpoint.safetensors \
             that `starskope train` wrote (a copy cut short or edited cannot be read)"
        )
    };
    let (_, header) = safetensors::SafeTensors::read_metadata(bytes).map_err(|e| bad(format!("{e}")))?;
    let meta = header.metadata().clone().unwrap_or_default();
    if meta.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(bad("it has no Starskøpe metadata (was it written by another tool?)".into()));
    }
    let card: ModelCard = serde_json::from_str(meta.get("card").map(String::as_str).unwrap_or_default())
        .map_err(|e| bad(format!("its model description is damaged ({e})")))?;
    let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| bad(format!("{e}")))?;
    let mut tensors = HashMap::new();
    for (name, view) in st.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(bad(format!("tensor {name} is {:?}, expected F32", view.dtype())));
        }
        let data: Vec<f32> =
            view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        // Adam's moments too: a resumed run would turn them into NaN weights at once.
        if data.iter().any(|v| !v.is_finite()) {
            return Err(bad(format!("tensor {name} holds NaN or infinite values")));
        }
        tensors.insert(name, (view.shape().to_vec(), data));
    }
    let ckpt = Checkpoint { card, tensors, train_state: meta.get("train_state").cloned() };
    ckpt.check_params().map_err(|e| bad(e.to_string()))?;
    Ok(ckpt)
}

impl Checkpoint {
    /// The card agrees with itself, and every parameter its model needs is present with
    /// the right shape.
    fn check_params(&self) -> Result<()> {
        let (takes, makes) = (self.card.channels, self.card.preprocess.channels());
        if takes != makes {
            bail!("its model takes {takes} input channels, but its preprocessing makes {makes}");
        }
        if self.card.members == 0 {
            bail!("its model has no networks (members 0)");
        }
        let layers = self.card.plan()?;
        for member in 0..self.card.members {
            for p in layers.iter().flat_map(|l| &l.params) {
                let name = member_name(member, &p.name);
                match self.tensors.get(&name) {
                    None => bail!("parameter {name} is missing"),
                    Some((shape, _)) if *shape != p.shape => {
                        bail!("parameter {name} has shape {shape:?}, the model needs {:?}", p.shape)
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}
