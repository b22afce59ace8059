//! A network instantiated on a backend for one batch size: its parameters, the
//! activations and gradients of every op, and the forward and backward passes, written
//! once over the `Backend` trait.

use anyhow::Result;

use crate::backend::{
    dropout_key, Activation, AdamConfig, AllocError, Backend, BatchNormConfig, ChannelShape, Conv1dShape,
    DenseShape, LstmShape, LstmTensors, PoolShape, Scratch, Storage, TensorId, TensorLimits,
};
use crate::model::checkpoint::Tensors;
use crate::model::plan::{Dims, LayerPlan, ParamPlan};
use crate::model::spec::{LayerSpec, Output, Padding};

/// A parameter tensor with its gradient and Adam moments (none for running statistics).
#[derive(Clone, Debug)]
pub struct Param {
    pub plan: ParamPlan,
    pub value: TensorId,
    pub train: Option<TrainState>,
}

#[derive(Clone, Copy, Debug)]
pub struct TrainState {
    pub grad: TensorId,
    pub m: TensorId,
    pub v: TensorId,
}

/// One backend op of the network; a spec layer may become several (conv, then its activation).
#[derive(Clone, Debug)]
enum Op {
    /// With `relu`, the layer's ReLU too (`Backend::conv1d_relu_forward`): the
    /// pre-activation is never stored.
    Conv {
        s: Conv1dShape,
        w: usize,
        b: usize,
        relu: bool,
    },
    Pool(PoolShape),
    BatchNorm {
        s: ChannelShape,
        cfg: BatchNormConfig,
        gamma: usize,
        beta: usize,
        mean_run: usize,
        var_run: usize,
        mean: TensorId,
        inv_std: TensorId,
    },
    Lstm {
        s: LstmShape,
        w_ih: usize,
        w_hh: usize,
        b: usize,
        saved: LstmTensors,
        last_step: Option<TensorId>,
    },
    Dense {
        s: DenseShape,
        w: usize,
        b: usize,
    },
    Act(Activation),
    /// `key_index` keys the masks: the op's position in the list the network had before
    /// conv and ReLU were fused (each fused conv counting as two ops), so fusing changed
    /// no mask and a seed still gives the run it gave.
    Dropout {
        rate: f32,
        key_index: usize,
    },
    GlobalAvgPool(ChannelShape),
}

#[derive(Clone, Debug)]
struct Node {
    op: Op,
    /// The layer the op belongs to, as messages name it: "layer 3 (dense_0)".
    layer: String,
    /// The op's output, and the gradient of the loss with respect to it.
    out: TensorId,
    d_out: TensorId,
}

pub struct Network {
    pub output: Output,
    pub batch: usize,
    pub input: Dims,
    pub params: Vec<Param>,
    nodes: Vec<Node>,
    /// Gradient w.r.t. the network input: ops whose dx is not optional write here.
    d_input: TensorId,
    pub probs: TensorId,
    pub loss: TensorId,
}

/// A checkpoint's names of Adam's first and second moments of parameter `name`.
fn moment_names(name: &str) -> [String; 2] {
    [format!("adam.m.{name}"), format!("adam.v.{name}")]
}

impl Network {
    /// Allocates everything for `batch` samples. Parameters start at zero: call
    /// `model::init` or load a checkpoint.
    pub fn build(
        be: &mut dyn Backend,
        layers: &[LayerPlan],
        output: Output,
        batch: usize,
    ) -> Result<Network> {
        if layers.is_empty() {
            anyhow::bail!("empty model");
        }
        check_fits(&*be, layers, batch)?;
        // what the device gave this network before any failure
        let mut got = 0u64;
        let mut alloc = |len: usize, storage: Storage| {
            let t = be.try_alloc_as(len, storage)?;
            got += be.tensor_bytes(len, storage);
            Ok(t)
        };
        let built = Self::build_with(&mut alloc, layers, output, batch);
        // The backend's scratch tensors too, now: created lazily by the first step, an
        // out-of-memory there would come from inside an op, which cannot report it.
        let (failure, scratch) = match built {
            Err(e) => (e, None),
            Ok(net) => match net.scratch(&*be).into_iter().try_for_each(|s| {
                got += be.try_reserve_scratch(s).map_err(|e| (e, s))?;
                Ok(())
            }) {
                Ok(()) => return Ok(net),
                Err((e, s)) => (e, Some(s)),
            },
        };
        let AllocError::OutOfMemory { bytes, .. } = failure else { return Err(failure.into()) };
        Err(out_of_memory(&*be, layers, output, batch, (bytes, scratch), got))
    }

    /// The scratch tensors the backend's ops of this network use (`Backend::conv1d_scratch`
    /// and `lstm_scratch`), each once.
    pub fn scratch(&self, be: &dyn Backend) -> Vec<Scratch> {
        let mut out: Vec<Scratch> = Vec::new();
        for node in &self.nodes {
            let needs = match &node.op {
                Op::Conv { s, .. } => be.conv1d_scratch(s),
                Op::Lstm { s, .. } => be.lstm_scratch(s),
                _ => Vec::new(),
            };
            for s in needs {
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
        out
    }

    /// `build` over an allocator: the backend's, or a count of bytes (`out_of_memory`).
    fn build_with(
        alloc: &mut Alloc,
        layers: &[LayerPlan],
        output: Output,
        batch: usize,
    ) -> Result<Network, AllocError> {
        let input = layers[0].input;
        let mut params = Vec::new();
        let mut nodes = Vec::new();
        let mut unfused_ops = 0;
        for (index, layer) in layers.iter().enumerate() {
            let first = params.len();
            for p in &layer.params {
                // untrained parameters are batch-norm running statistics: f32 (see Storage)
                let value = alloc(p.numel(), if p.trainable { Storage::Param } else { Storage::F32 })?;
                let train = match p.trainable {
                    true => Some(TrainState {
                        grad: alloc(p.numel(), Storage::Data)?,
                        m: alloc(p.numel(), Storage::F32)?,
                        v: alloc(p.numel(), Storage::F32)?,
                    }),
                    false => None,
                };
                params.push(Param { plan: p.clone(), value, train });
            }
            // every op of a layer (a conv and its activation) has the layer's output shape
            for mut op in ops_of(alloc, layer, batch, first)? {
                if let Op::Dropout { key_index, .. } = &mut op {
                    *key_index = unfused_ops;
                }
                unfused_ops += if matches!(op, Op::Conv { relu: true, .. }) { 2 } else { 1 };
                let out_len = batch * layer.output.numel();
                let name = format!("layer {} ({})", index + 1, layer.name);
                let (out, d_out) = (alloc(out_len, Storage::Data)?, alloc(out_len, Storage::Data)?);
                nodes.push(Node { op, layer: name, out, d_out });
            }
        }
        let classes = output.units();
        Ok(Network {
            output,
            batch,
            input,
            params,
            nodes,
            d_input: alloc(batch * input.numel(), Storage::Data)?,
            probs: alloc(batch * classes, Storage::Data)?,
            loss: alloc(1, Storage::F32)?,
        })
    }

    pub fn logits(&self) -> TensorId {
        self.nodes.last().expect("a network ends in its head").out
    }

    /// `x` holds `batch` samples in the input layout. `step` keys the dropout masks;
    /// `seed` is the run's seed.
    pub fn forward(&self, be: &mut dyn Backend, x: TensorId, training: bool, seed: u64, step: u64) {
        let mut input = x;
        for node in &self.nodes {
            let p = |k: usize| self.params[k].value;
            match &node.op {
                Op::Conv { s, w, b, relu: false } => be.conv1d_forward(s, input, p(*w), p(*b), node.out),
                Op::Conv { s, w, b, relu: true } => be.conv1d_relu_forward(s, input, p(*w), p(*b), node.out),
                Op::Pool(s) => be.maxpool_forward(s, input, node.out),
                Op::BatchNorm { s, cfg, gamma, beta, mean_run, var_run, mean, inv_std } => {
                    if training {
                        be.batchnorm_forward_train(
                            s,
                            cfg,
                            input,
                            p(*gamma),
                            p(*beta),
                            p(*mean_run),
                            p(*var_run),
                            node.out,
                            *mean,
                            *inv_std,
                        );
                    } else {
                        be.batchnorm_forward_eval(
                            s,
                            cfg,
                            input,
                            p(*gamma),
                            p(*beta),
                            p(*mean_run),
                            p(*var_run),
                            node.out,
                        );
                    }
                }
                Op::Lstm { s, w_ih, w_hh, b, saved, last_step } => {
                    be.lstm_forward(s, input, p(*w_ih), p(*w_hh), p(*b), saved);
                    match last_step {
                        Some(_) => be.last_step_forward(s, saved.h, node.out),
                        None => be.copy(saved.h, node.out),
                    }
                }
                Op::Dense { s, w, b } => be.dense_forward(s, input, p(*w), p(*b), node.out),
                Op::Act(f) => be.activation_forward(*f, input, node.out),
                Op::Dropout { rate, key_index } => {
                    if training {
                        be.dropout_forward(*rate, dropout_key(seed, step, *key_index), input, node.out);
                    } else {
                        be.copy(input, node.out);
                    }
                }
                Op::GlobalAvgPool(s) => be.global_avg_pool_forward(s, input, node.out),
            }
            input = node.out;
        }
    }

    /// The loss of the last forward pass against `targets` (class indices as f32) with
    /// per-sample `weights`; writes `self.loss`, `self.probs` and the logits' gradient.
    pub fn loss(&self, be: &mut dyn Backend, targets: TensorId, weights: TensorId) {
        let head = self.nodes.last().expect("a network ends in its head");
        match self.output {
            Output::Sigmoid => {
                be.sigmoid_bce(self.batch, head.out, targets, weights, self.probs, self.loss, head.d_out)
            }
            Output::Softmax { classes } => be.softmax_ce(
                self.batch, classes, head.out, targets, weights, self.probs, self.loss, head.d_out,
            ),
        }
    }

    /// Class probabilities of the last forward pass, without labels: (batch, units).
    pub fn predict_probs(&self, be: &mut dyn Backend) {
        match self.output {
            Output::Sigmoid => be.activation_forward(Activation::Sigmoid, self.logits(), self.probs),
            Output::Softmax { classes } => be.softmax_forward(self.batch, classes, self.logits(), self.probs),
        }
    }

    /// Gradients of every trainable parameter, from the gradient `loss` left on the logits.
    pub fn backward(&self, be: &mut dyn Backend, x: TensorId, seed: u64, step: u64) {
        for i in (0..self.nodes.len()).rev() {
            let node = &self.nodes[i];
            let (input, d_input) = match i {
                0 => (x, None),
                _ => (self.nodes[i - 1].out, Some(self.nodes[i - 1].d_out)),
            };
            let dx = d_input.unwrap_or(self.d_input);
            let value = |k: usize| self.params[k].value;
            let grad = |k: usize| self.params[k].train.expect("trainable").grad;
            match &node.op {
                Op::Conv { s, w, b, relu } => {
                    if *relu {
                        // the gradient at the pre-activation, in place of the one at the output
                        be.activation_backward(Activation::Relu, node.out, node.d_out, node.d_out);
                    }
                    be.conv1d_backward(s, input, value(*w), node.d_out, d_input, grad(*w), grad(*b))
                }
                Op::Dense { s, w, b } => {
                    be.dense_backward(s, input, value(*w), node.d_out, d_input, grad(*w), grad(*b))
                }
                Op::Lstm { s, w_ih, w_hh, saved, last_step, b } => {
                    let dh = match last_step {
                        Some(dh_full) => {
                            be.last_step_backward(s, node.d_out, *dh_full);
                            *dh_full
                        }
                        None => node.d_out,
                    };
                    be.lstm_backward(
                        s,
                        input,
                        value(*w_ih),
                        value(*w_hh),
                        saved,
                        dh,
                        d_input,
                        grad(*w_ih),
                        grad(*w_hh),
                        grad(*b),
                    );
                }
                // The rest have no parameters: nothing to do when no gradient flows further.
                _ if d_input.is_none() && !matches!(node.op, Op::BatchNorm { .. }) => {}
                Op::Pool(s) => be.maxpool_backward(s, input, node.d_out, dx),
                Op::BatchNorm { s, gamma, beta, mean, inv_std, .. } => be.batchnorm_backward(
                    s,
                    true,
                    input,
                    value(*gamma),
                    *mean,
                    *inv_std,
                    node.d_out,
                    dx,
                    grad(*gamma),
                    grad(*beta),
                ),
                Op::Act(f) => be.activation_backward(*f, node.out, node.d_out, dx),
                Op::Dropout { rate, key_index } => {
                    be.dropout_backward(*rate, dropout_key(seed, step, *key_index), node.d_out, dx)
                }
                Op::GlobalAvgPool(s) => be.global_avg_pool_backward(s, node.d_out, dx),
            }
        }
    }

    /// One Adam update of every trainable parameter; `t` is the 1-based step.
    pub fn adam_step(&self, be: &mut dyn Backend, cfg: &AdamConfig, t: u32) {
        for p in &self.params {
            if let Some(st) = p.train {
                be.adam_step(cfg, t, p.value, st.grad, st.m, st.v);
            }
        }
    }

    /// A whole training step on the batch in `x`: forward (training mode), loss,
    /// backward, Adam. Recorded only: the caller flushes, so it stays one submission.
    #[allow(clippy::too_many_arguments)]
    pub fn train_step(
        &self,
        be: &mut dyn Backend,
        x: TensorId,
        targets: TensorId,
        weights: TensorId,
        adam: &AdamConfig,
        seed: u64,
        t: u64,
    ) {
        self.forward(be, x, true, seed, t);
        self.loss(be, targets, weights);
        self.backward(be, x, seed, t);
        self.adam_step(be, adam, t as u32);
    }

    /// Every parameter by name (and, with `with_optimizer`, Adam's moments as
    /// `adam.m.<name>`/`adam.v.<name>`), downloaded for a checkpoint.
    pub fn download_params(&self, be: &mut dyn Backend, with_optimizer: bool) -> Result<Tensors> {
        let mut out = Vec::new();
        for p in &self.params {
            out.push((p.plan.name.clone(), p.plan.shape.clone(), be.try_download(p.value)?));
            if let (true, Some(st)) = (with_optimizer, p.train) {
                let [m, v] = moment_names(&p.plan.name);
                out.push((m, p.plan.shape.clone(), be.try_download(st.m)?));
                out.push((v, p.plan.shape.clone(), be.try_download(st.v)?));
            }
        }
        Ok(out)
    }

    /// Uploads what [`Self::download_params`] names, each tensor's values from `get`.
    pub fn upload_params<'t>(
        &self,
        be: &mut dyn Backend,
        with_optimizer: bool,
        get: impl Fn(&str) -> Result<&'t [f32]>,
    ) -> Result<()> {
        for p in &self.params {
            be.upload(p.value, get(&p.plan.name)?);
            if let (true, Some(st)) = (with_optimizer, p.train) {
                let [m, v] = moment_names(&p.plan.name);
                be.upload(st.m, get(&m)?);
                be.upload(st.v, get(&v)?);
            }
        }
        Ok(())
    }

    /// Where the last step first produced NaN or inf, in the order it computed: each
    /// op's output, then the gradients from the head back, then the parameter gradients,
    /// values and Adam moments (already updated by that step). Downloads every tensor
    /// once: for the numerical guard's failure path only, never per step. A device that
    /// fails meanwhile (lost) is an error.
    pub fn first_non_finite(&self, be: &mut dyn Backend) -> Result<Option<String>> {
        let mut suspects: Vec<(Vec<TensorId>, String)> = Vec::new();
        suspects.extend(self.nodes.iter().map(|n| (vec![n.out], format!("the output of {}", n.layer))));
        suspects.extend(
            self.nodes
                .iter()
                .rev()
                .map(|n| (vec![n.d_out], format!("the gradient at the output of {}", n.layer))),
        );
        let trained = || self.params.iter().filter_map(|p| p.train.map(|st| (p, st)));
        suspects.extend(trained().map(|(p, st)| (vec![st.grad], format!("the gradient of {}", p.plan.name))));
        suspects
            .extend(self.params.iter().map(|p| (vec![p.value], format!("the parameter {}", p.plan.name))));
        suspects.extend(
            trained().map(|(p, st)| (vec![st.m, st.v], format!("the Adam moments of {}", p.plan.name))),
        );
        for (tensors, what) in suspects {
            for t in tensors {
                if be.try_download(t)?.iter().any(|v| !v.is_finite()) {
                    return Ok(Some(what));
                }
            }
        }
        Ok(None)
    }

    pub fn trainable_count(&self) -> usize {
        self.params.iter().filter(|p| p.plan.trainable).map(|p| p.plan.numel()).sum()
    }
}

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

/// Whether every op of the layer splits tensors larger than one binding (`TensorLimits`).
/// Flatten has no op: its consumers decide.
fn splits(spec: &LayerSpec) -> bool {
    matches!(
        spec,
        LayerSpec::Lstm { .. }
            | LayerSpec::Dense { .. }
            | LayerSpec::Dropout { .. }
            | LayerSpec::Activation { .. }
            | LayerSpec::Flatten
    )
}

/// Every tensor whose size grows with the batch: its elements per sample, how it is
/// bound, and what messages call it. A layer's output (and its gradient) splits only if
/// the layer and the next layer that reads it both split; the loss head reads the last
/// layer's output whole.
fn per_sample_tensors(layers: &[LayerPlan]) -> Vec<(usize, Binding, String)> {
    let binding = |split: bool| if split { Binding::Split } else { Binding::Whole };
    let reader_splits = |from: usize| {
        layers[from.min(layers.len())..]
            .iter()
            .find(|l| !matches!(l.spec, LayerSpec::Flatten))
            .is_some_and(|l| splits(&l.spec))
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
        let split = splits(&l.spec) && reader_splits(i + 1);
        out.push((l.output.numel(), binding(split), format!("the output of {name}")));
        match (&l.spec, l.input, l.output) {
            (LayerSpec::Lstm { units, .. }, Dims::TimeMajor { time, .. }, _) => {
                out.push((4 * time * units, Binding::Split, format!("the gates of {name}")))
            }
            // the GPU's per-sample weight gradients before their sum
            (
                LayerSpec::Conv1d { kernel, .. },
                Dims::Seq { channels, .. },
                Dims::Seq { channels: c_out, .. },
            ) => {
                let what = format!("the per-sample weight gradients of {name}");
                out.push((c_out * channels * kernel, Binding::Whole, what))
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
    per_sample_tensors(layers)
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
fn check_fits(be: &dyn Backend, layers: &[LayerPlan], batch: usize) -> Result<()> {
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

/// The allocator `Network::build_with` builds with.
type Alloc<'a> = dyn FnMut(usize, Storage) -> Result<TensorId, AllocError> + 'a;

/// The error for a device that ran out of memory building a network of `batch`, with the
/// largest batch that fits: the device gave the network `allocated` bytes before it
/// refused `bytes` more (for the backend's `scratch` tensor, if that was the one), so we
/// take `allocated` as what it can hold (a lower bound: the refused request may have
/// partly fitted) and count, for each smaller batch, the bytes `build` would allocate (a
/// dry run of `build_with`, plus the network's scratch tensors).
fn out_of_memory(
    be: &dyn Backend,
    layers: &[LayerPlan],
    output: Output,
    batch: usize,
    (bytes, scratch): (u64, Option<Scratch>),
    allocated: u64,
) -> anyhow::Error {
    let needs = |b: usize| {
        let mut total = 0u64;
        let mut count = |len: usize, storage: Storage| {
            total += be.tensor_bytes(len, storage);
            Ok(TensorId(0))
        };
        let Ok(net) = Network::build_with(&mut count, layers, output, b) else { return u64::MAX };
        let scratch = net.scratch(be).iter().map(|s| be.tensor_bytes(s.len, Storage::Data)).sum::<u64>();
        total + scratch
    };
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

/// The backend ops one planned layer runs; `first` is the index of its first parameter.
fn ops_of(alloc: &mut Alloc, layer: &LayerPlan, batch: usize, first: usize) -> Result<Vec<Op>, AllocError> {
    let mut ops = Vec::new();
    match (&layer.spec, layer.input, layer.output) {
        (
            LayerSpec::Conv1d { kernel, padding, activation, .. },
            Dims::Seq { channels, len },
            Dims::Seq { channels: c_out, len: len_out },
        ) => {
            let pad_left = match padding {
                Padding::Valid => 0,
                Padding::Same => (kernel - 1) / 2,
            };
            let s =
                Conv1dShape { batch, c_in: channels, c_out, len_in: len, kernel: *kernel, pad_left, len_out };
            let relu = *activation == Some(Activation::Relu);
            ops.push(Op::Conv { s, w: first, b: first + 1, relu });
            ops.extend(activation.filter(|_| !relu).map(Op::Act));
        }
        (
            LayerSpec::MaxPool { pool, stride },
            Dims::Seq { channels, len },
            Dims::Seq { len: len_out, .. },
        ) => {
            let stride = stride.unwrap_or(*pool);
            ops.push(Op::Pool(PoolShape { batch, channels, len_in: len, pool: *pool, stride, len_out }));
        }
        (&LayerSpec::BatchNorm { eps, momentum, unbiased_running_var }, dims, _) => {
            let (channels, len) = match dims {
                Dims::Seq { channels, len } => (channels, len),
                other => (other.numel(), 1),
            };
            ops.push(Op::BatchNorm {
                s: ChannelShape { batch, channels, len },
                cfg: BatchNormConfig { eps, momentum, unbiased_running_var },
                gamma: first,
                beta: first + 1,
                mean_run: first + 2,
                var_run: first + 3,
                mean: alloc(channels, Storage::F32)?,
                inv_std: alloc(channels, Storage::F32)?,
            });
        }
        (&LayerSpec::Lstm { units, return_sequences }, Dims::TimeMajor { time, features }, _) => {
            let s = LstmShape { batch, time, input: features, hidden: units };
            let seq = batch * time * units;
            let saved = LstmTensors {
                h: alloc(seq, Storage::Data)?,
                c: alloc(seq, Storage::Data)?,
                gates: alloc(4 * seq, Storage::Data)?,
            };
            let last_step = match return_sequences {
                false => Some(alloc(seq, Storage::Data)?),
                true => None,
            };
            ops.push(Op::Lstm { s, w_ih: first, w_hh: first + 1, b: first + 2, saved, last_step });
        }
        (LayerSpec::Dense { units, activation }, Dims::Flat(n), _) => {
            ops.push(Op::Dense { s: DenseShape { batch, input: n, output: *units }, w: first, b: first + 1 });
            ops.extend(activation.map(Op::Act));
        }
        // the key index is set by the caller, which sees the whole op list
        (LayerSpec::Dropout { rate }, _, _) => ops.push(Op::Dropout { rate: *rate, key_index: 0 }),
        (LayerSpec::Activation { activation }, _, _) => ops.push(Op::Act(*activation)),
        (LayerSpec::GlobalAvgPool, Dims::Seq { channels, len }, _) => {
            ops.push(Op::GlobalAvgPool(ChannelShape { batch, channels, len }))
        }
        // Flatten is a reshape of contiguous memory: no op.
        (LayerSpec::Flatten, _, _) => {}
        (spec, input, _) => unreachable!("plan() accepted {spec:?} on {input:?}"),
    }
    Ok(ops)
}
