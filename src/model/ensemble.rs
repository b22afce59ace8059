//! An ensemble: networks of one model trained side by side on the same batches from
//! different initial values (and dropout masks), whose class probabilities are averaged.
//! One network's verdict on a borderline light curve depends on its initial values as
//! much as on the data (on the built-in set's test file, two networks trained on the same
//! data from different initial values flag 4 and 7 of 565 non-planets); the mean of
//! several is steadier, which is why Astronet averages ten.

use std::collections::HashSet;

use anyhow::{Context, Result};

use crate::backend::Backend;
use crate::model::checkpoint::{member_name, Checkpoint, TensorMap, Tensors};
use crate::model::plan::LayerPlan;
use crate::model::{init, Network, Output};

pub struct Ensemble {
    /// Never empty.
    pub members: Vec<Network>,
}

/// Member `member`'s seed for initial values and dropout: member 0 keeps the run's, so a
/// one-member run is what a run was before ensembles.
pub fn member_seed(seed: u64, member: usize) -> u64 {
    seed ^ (member as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl Ensemble {
    /// `members` networks of `batch` samples; parameters start at zero (see [`Self::init`]).
    pub fn build(
        be: &mut dyn Backend,
        layers: &[LayerPlan],
        output: Output,
        batch: usize,
        members: usize,
    ) -> Result<Ensemble> {
        let members = (0..members.max(1))
            .map(|k| {
                Network::build(be, layers, output, batch).with_context(|| format!("ensemble member {k}"))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Ensemble { members })
    }

    /// The networks of checkpoint `ck` (whose card plans `layers`), `batch` samples at a time.
    pub fn load(
        be: &mut dyn Backend,
        ck: &Checkpoint,
        layers: &[LayerPlan],
        batch: usize,
    ) -> Result<Ensemble> {
        let nets = Ensemble::build(be, layers, ck.card.output()?, batch, ck.card.members)?;
        nets.upload_params(be, &ck.tensors, false)?;
        Ok(nets)
    }

    /// The first member: the shapes (batch, input, output) every member shares.
    pub fn head(&self) -> &Network {
        &self.members[0]
    }

    /// Initial values from `seed` (each member its own, [`member_seed`]), Adam's moments zero.
    pub fn init(&self, be: &mut dyn Backend, layers: &[LayerPlan], seed: u64) {
        for (k, net) in self.members.iter().enumerate() {
            for (p, v) in net.params.iter().zip(init::initial_values(layers, member_seed(seed, k))) {
                be.upload(p.value, &v);
                if let Some(st) = p.train {
                    be.fill(st.m, 0.0);
                    be.fill(st.v, 0.0);
                }
            }
        }
    }

    /// Every member's parameters (and, with `with_optimizer`, Adam's moments) under its
    /// checkpoint names ([`member_name`]).
    pub fn download_params(&self, be: &mut dyn Backend, with_optimizer: bool) -> Result<Tensors> {
        let mut out = Vec::new();
        for (k, net) in self.members.iter().enumerate() {
            let tensors = net.download_params(be, with_optimizer)?;
            out.extend(tensors.into_iter().map(|(name, shape, v)| (member_name(k, &name), shape, v)));
        }
        Ok(out)
    }

    /// `tensors` of [`Self::download_params`] without Adam's moments: what a model file holds.
    pub fn without_optimizer(&self, tensors: &Tensors) -> Tensors {
        let params: HashSet<String> = (self.members.iter().enumerate())
            .flat_map(|(k, net)| net.params.iter().map(move |p| member_name(k, &p.plan.name)))
            .collect();
        tensors.iter().filter(|(name, ..)| params.contains(name)).cloned().collect()
    }

    /// Uploads parameters (and, with `with_optimizer`, Adam's moments) from checkpoint tensors.
    pub fn upload_params(
        &self,
        be: &mut dyn Backend,
        tensors: &TensorMap,
        with_optimizer: bool,
    ) -> Result<()> {
        for (k, net) in self.members.iter().enumerate() {
            net.upload_params(be, with_optimizer, |name| {
                let name = member_name(k, name);
                tensors.get(&name).map(|t| t.1.as_slice()).with_context(|| format!("checkpoint lacks {name}"))
            })?;
        }
        Ok(())
    }

    /// Where the last step first produced NaN or inf (see [`Network::first_non_finite`]),
    /// naming the member when there are several.
    pub fn first_non_finite(&self, be: &mut dyn Backend) -> Result<Option<String>> {
        for (k, net) in self.members.iter().enumerate() {
            if let Some(what) = net.first_non_finite(be)? {
                return Ok(Some(match self.members.len() {
                    1 => what,
                    _ => format!("{what} (ensemble member {k})"),
                }));
            }
        }
        Ok(None)
    }
}
