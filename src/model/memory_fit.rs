//! Whether a network fits the device before it is built, and why not when it does not:
//! the tensors whose size grows with the batch, how the backend binds each (whole, or
//! split into windows of rows: `TensorLimits`), the largest batch that fits, and the
//! message for a device that ran out of memory.

use anyhow::Result;

use crate::backend::{Backend, Family, Scratch, TensorLimits};
use crate::model::plan::{Dims, LayerPlan};
use crate::model::spec::LayerSpec;

/// The largest batch whose every tensor fits the backend's limits (None: any batch).
pub fn max_batch(be: &dyn Backend, layers: &[LayerPlan]) -> Option<usize> {
    be.tensor_limits().map(|limits| tightest(&limits, layers).0)
}

/// How the ops that touch a tensor bind it (see `TensorLimits`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Binding {
    /// Some op binds it whole: it must fit one storage binding.
    Whole,
    /// Every op that touches it can split it into windows of rows (a row is at most one
    /// sample): it must fit one buffer, and one sample of it one binding.
    Split,
}

/// The op families a layer's ops belong to. Flatten has no op: its consumers decide.
fn families(spec: &LayerSpec) -> &'static [Family] {
    match spec {
        // the activation, when not fused into the conv
        LayerSpec::Conv1d { .. } => &[Family::Conv1d, Family::Elementwise],
        LayerSpec::MaxPool { .. } => &[Family::MaxPool],
        LayerSpec::BatchNorm { .. } => &[Family::BatchNorm],
        // the copy of the sequence out
        LayerSpec::Lstm { .. } => &[Family::Lstm, Family::Elementwise],
        LayerSpec::Dense { .. } => &[Family::Dense, Family::Elementwise],
        LayerSpec::Dropout { .. } | LayerSpec::Activation { .. } => &[Family::Elementwise],
        LayerSpec::GlobalAvgPool => &[Family::GlobalAvgPool],
        LayerSpec::Flatten => &[],
    }
}

/// Whether every op of the layer splits tensors larger than one binding, as the backend
/// reports it (`TensorLimits::split`).
fn splits(limits: &TensorLimits, spec: &LayerSpec) -> bool {
    families(spec).iter().all(|f| limits.split.contains(f))
}

/// Every tensor whose size grows with the batch: its elements per sample, how it is
/// bound, and what messages call it. A layer's output (and its gradient) splits only if
/// the layer and the next layer that reads it (the loss head, after the last) both split.
fn per_sample_tensors(limits: &TensorLimits, layers: &[LayerPlan]) -> Vec<(usize, Binding, String)> {
    let binding = |split: bool| if split { Binding::Split } else { Binding::Whole };
    let family_splits = |f: Family| limits.split.contains(&f);
    let reader_splits = |from: usize| match layers[from.min(layers.len())..]
        .iter()
        .find(|l| !matches!(l.spec, LayerSpec::Flatten))
    {
        Some(l) => splits(limits, &l.spec),
        None => family_splits(Family::Heads),
    };
    let mut out = Vec::new();
    if let Some(first) = layers.first() {
        out.push((first.input.numel(), binding(reader_splits(0)), "the input".to_string()));
    }
    for (i, l) in layers.iter().enumerate() {
        if matches!(l.spec, LayerSpec::Flatten) {
            continue;
        }
        let name = format!("layer {} ({})", i + 1, l.name);
        let split = splits(limits, &l.spec) && reader_splits(i + 1);
        out.push((l.output.numel(), binding(split), format!("the output of {name}")));
        match (&l.spec, l.input, l.output) {
            (LayerSpec::Lstm { units, .. }, Dims::TimeMajor { time, .. }, _) => {
                let gates = binding(family_splits(Family::Lstm));
                out.push((4 * time * units, gates, format!("the gates of {name}")))
            }
            // the weight gradients per sample before their sum (`Backend::conv1d_scratch`)
            (
                LayerSpec::Conv1d { kernel, .. },
                Dims::Seq { channels, .. },
                Dims::Seq { channels: c_out, .. },
            ) => {
                let what = format!("the per-sample weight gradients of {name}");
                out.push((c_out * channels * kernel, binding(family_splits(Family::Conv1d)), what))
            }
            _ => {}
        }
    }
    out
}

/// The largest batch that fits `limits`, the tensor that sets it, how it is bound and
/// its bytes per sample.
fn tightest(limits: &TensorLimits, layers: &[LayerPlan]) -> (usize, String, Binding, u64) {
    let fits = |bytes: u64, binding: Binding| match binding {
        Binding::Whole => limits.binding / bytes,
        Binding::Split if bytes + limits.slack > limits.binding => 0,
        Binding::Split => limits.buffer / bytes,
    };
    per_sample_tensors(limits, layers)
        .into_iter()
        .map(|(numel, binding, what)| {
            let bytes = (numel as u64 * limits.elem).max(1);
            (usize::try_from(fits(bytes, binding)).unwrap_or(usize::MAX), what, binding, bytes)
        })
        .min_by_key(|t| t.0)
        .unwrap_or((usize::MAX, String::new(), Binding::Whole, 0))
}

/// Refuses, with the batch that would fit, a batch whose tensors the device cannot hold
/// or bind: the GPU backend's `alloc` and ops can only panic.
pub(crate) fn check_fits(be: &dyn Backend, layers: &[LayerPlan], batch: usize) -> Result<()> {
    let Some(limits) = be.tensor_limits() else { return Ok(()) };
    let mib = |bytes: u64| match bytes {
        0..1048576 => format!("{:.0} KiB", (bytes as f64 / 1024.0).ceil()),
        _ => format!("{:.0} MiB", bytes as f64 / 1048576.0),
    };
    // parameters are bound whole (Adam), and their master and moments are f32
    if let Some(p) = layers.iter().flat_map(|l| &l.params).find(|p| p.numel() as u64 * 4 > limits.binding) {
        anyhow::bail!(
            "the parameter {} ({}) is larger than {} can bind at once ({}): use a smaller \
             model or --device cpu",
            p.name,
            mib(p.numel() as u64 * 4),
            be.name(),
            mib(limits.binding)
        );
    }
    let (fits, what, binding, per_sample) = tightest(&limits, layers);
    if batch <= fits {
        return Ok(());
    }
    let needs = per_sample.saturating_mul(batch as u64);
    let why = match binding {
        Binding::Whole => format!(
            "{what} needs {}, and the ops of that layer bind a tensor whole: the device holds at most {} \
             in one binding",
            mib(needs),
            mib(limits.binding)
        ),
        Binding::Split if fits == 0 => format!(
            "one sample of {what} needs {}, more than one binding of this device ({})",
            mib(per_sample),
            mib(limits.binding)
        ),
        Binding::Split => format!(
            "{what} needs {}, more than the device's largest buffer ({})",
            mib(needs),
            mib(limits.buffer)
        ),
    };
    let advice = match fits {
        0 => "not even one sample fits: use shorter series, a smaller model, or --device cpu".to_string(),
        n => format!("the largest batch that fits is {n}: use --batch {n} or less, or --device cpu"),
    };
    anyhow::bail!("a batch of {batch} does not fit on {}: {why}; {advice}", be.name())
}

/// The error for a device that ran out of memory building a network of `batch`, with the
/// largest batch that fits: the device gave the network `allocated` bytes before it
/// refused `bytes` more (for the backend's `scratch` tensor, if that was the one), so we
/// take `allocated` as what it can hold (a lower bound: the refused request may have
/// partly fitted) and count, for each smaller batch, the bytes `needs` says the network
/// takes.
pub(crate) fn out_of_memory(
    be: &dyn Backend,
    batch: usize,
    (bytes, scratch): (u64, Option<Scratch>),
    allocated: u64,
    needs: &dyn Fn(usize) -> u64,
) -> anyhow::Error {
    let (mut lo, mut hi) = (0, batch);
    // the largest b in lo..hi with needs(b) <= allocated: needs grows with b
    while lo + 1 < hi {
        let mid = (lo + hi) / 2;
        if needs(mid) <= allocated {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let mib = |b: u64| b as f64 / 1048576.0;
    let advice = match lo {
        0 => "not even one sample fits: use shorter series, a smaller model, or --device cpu".to_string(),
        n => format!("the largest batch that fits is about {n}: use --batch {n} or less, or --device cpu"),
    };
    let what = match scratch {
        Some(s) => {
            format!("its scratch tensor \"{}\" ({:.1} MiB, working memory of an op)", s.purpose, mib(bytes))
        }
        None => format!("a tensor of {:.1} MiB", mib(bytes)),
    };
    anyhow::anyhow!(
        "{} ran out of memory allocating {what} for a batch of {batch}, after giving this network \
         {:.1} MiB (it needs {:.1} MiB in all); {advice}",
        be.name(),
        mib(allocated),
        mib(needs(batch))
    )
}
