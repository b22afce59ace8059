//! A network instantiated on a backend for one batch size: its parameters, the
//! activations and gradients of every op, and the forward and backward passes, written
//! once over the `Backend` trait.

use anyhow::Result;

use crate::backend::{
    dropout_key, Activation, ActivationBackward, ActivationForward, AdamConfig, AdamStep, AllocError,
    Backend, BatchNormBackward, BatchNormConfig, BatchNormEval, BatchNormTrain, ChannelShape, Conv1dBackward,
    Conv1dForward, Conv1dShape, DenseBackward, DenseForward, DenseShape, DropoutBackward, DropoutForward,
    GlobalAvgPoolBackward, GlobalAvgPoolForward, LastStepBackward, LastStepForward, LstmBackward,
    LstmForward, LstmShape, LstmTensors, MaxPoolBackward, MaxPoolForward, PoolShape, Scratch, SigmoidBce,
    Softmax, SoftmaxCe, Storage, TensorId,
};
use crate::model::checkpoint::Tensors;
use crate::model::memory_fit;
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

/// What one node of the network computes; `forward` and `backward` turn it into the
/// contract's ops. Parameters are named by their index in `Network::params`. A spec layer
/// may become several nodes (conv, then its activation).
#[derive(Clone, Copy, Debug)]
enum NodeOp {
    /// With `relu`, the layer's ReLU too (`Conv1dForward::relu`): the pre-activation is
    /// never stored.
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
    op: NodeOp,
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

/// One batch on the backend: the inputs in the network's input layout, the targets
/// (class indices as f32) and the per-sample loss weights.
#[derive(Clone, Copy, Debug)]
pub struct Batch {
    pub x: TensorId,
    pub targets: TensorId,
    pub weights: TensorId,
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
        memory_fit::check_fits(&*be, layers, batch)?;
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
        let needs = |b: usize| bytes_needed(&*be, layers, output, b);
        Err(memory_fit::out_of_memory(&*be, batch, (bytes, scratch), got, &needs))
    }

    /// The scratch tensors the backend's ops of this network use (`Backend::conv1d_scratch`
    /// and `lstm_scratch`), each once.
    pub fn scratch(&self, be: &dyn Backend) -> Vec<Scratch> {
        let mut out: Vec<Scratch> = Vec::new();
        for node in &self.nodes {
            let needs = match &node.op {
                NodeOp::Conv { s, .. } => be.conv1d_scratch(s),
                NodeOp::Lstm { s, .. } => be.lstm_scratch(s),
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
                if let NodeOp::Dropout { key_index, .. } = &mut op {
                    *key_index = unfused_ops;
                }
                unfused_ops += if matches!(op, NodeOp::Conv { relu: true, .. }) { 2 } else { 1 };
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
            let (x, y) = (input, node.out);
            match node.op {
                NodeOp::Conv { s, w, b, relu } => {
                    be.run(&Conv1dForward { s, x, w: p(w), b: p(b), y, relu }.into())
                }
                NodeOp::Pool(s) => be.run(&MaxPoolForward { s, x, y }.into()),
                NodeOp::BatchNorm { s, cfg, gamma, beta, mean_run, var_run, mean, inv_std } => {
                    let (gamma, beta, running_mean, running_var) =
                        (p(gamma), p(beta), p(mean_run), p(var_run));
                    if training {
                        let op = BatchNormTrain {
                            s,
                            cfg,
                            x,
                            gamma,
                            beta,
                            running_mean,
                            running_var,
                            y,
                            mean,
                            inv_std,
                        };
                        be.run(&op.into());
                    } else {
                        be.run(
                            &BatchNormEval { s, cfg, x, gamma, beta, running_mean, running_var, y }.into(),
                        );
                    }
                }
                NodeOp::Lstm { s, w_ih, w_hh, b, saved, last_step } => {
                    be.run(&LstmForward { s, x, w_ih: p(w_ih), w_hh: p(w_hh), b: p(b), saved }.into());
                    match last_step {
                        Some(_) => be.run(&LastStepForward { s, h: saved.h, y }.into()),
                        None => be.copy(saved.h, y),
                    }
                }
                NodeOp::Dense { s, w, b } => be.run(&DenseForward { s, x, w: p(w), b: p(b), y }.into()),
                NodeOp::Act(f) => be.run(&ActivationForward { f, x, y }.into()),
                NodeOp::Dropout { rate, key_index } => {
                    if training {
                        let key = dropout_key(seed, step, key_index);
                        be.run(&DropoutForward { rate, key, x, y }.into());
                    } else {
                        be.copy(x, y);
                    }
                }
                NodeOp::GlobalAvgPool(s) => be.run(&GlobalAvgPoolForward { s, x, y }.into()),
            }
            input = node.out;
        }
    }

    /// The loss of the last forward pass against `targets` (class indices as f32) with
    /// per-sample `weights`; writes `self.loss`, `self.probs` and the logits' gradient.
    pub fn loss(&self, be: &mut dyn Backend, targets: TensorId, weights: TensorId) {
        let head = self.nodes.last().expect("a network ends in its head");
        let (batch, logits, probs, loss, dlogits) = (self.batch, head.out, self.probs, self.loss, head.d_out);
        match self.output {
            Output::Sigmoid => {
                be.run(&SigmoidBce { batch, logits, targets, weights, probs, loss, dlogits }.into())
            }
            Output::Softmax { classes } => {
                let labels = targets;
                be.run(&SoftmaxCe { batch, classes, logits, labels, weights, probs, loss, dlogits }.into())
            }
        }
    }

    /// Class probabilities of the last forward pass, without labels: (batch, units).
    pub fn predict_probs(&self, be: &mut dyn Backend) {
        let (logits, probs) = (self.logits(), self.probs);
        match self.output {
            Output::Sigmoid => {
                be.run(&ActivationForward { f: Activation::Sigmoid, x: logits, y: probs }.into())
            }
            Output::Softmax { classes } => {
                be.run(&Softmax { batch: self.batch, classes, logits, probs }.into())
            }
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
            let (x, y, dy) = (input, node.out, node.d_out);
            match node.op {
                NodeOp::Conv { s, w, b, relu } => {
                    if relu {
                        // the gradient at the pre-activation, in place of the one at the output
                        be.run(&ActivationBackward { f: Activation::Relu, y, dy, dx: dy }.into());
                    }
                    let (dw, db) = (grad(w), grad(b));
                    be.run(&Conv1dBackward { s, x, w: value(w), dy, dx: d_input, dw, db }.into())
                }
                NodeOp::Dense { s, w, b } => {
                    let (dw, db) = (grad(w), grad(b));
                    be.run(&DenseBackward { s, x, w: value(w), dy, dx: d_input, dw, db }.into())
                }
                NodeOp::Lstm { s, w_ih, w_hh, saved, last_step, b } => {
                    let dh = match last_step {
                        Some(dh) => {
                            be.run(&LastStepBackward { s, dy, dh }.into());
                            dh
                        }
                        None => dy,
                    };
                    let (dw_ih, dw_hh, db) = (grad(w_ih), grad(w_hh), grad(b));
                    let (w_ih, w_hh) = (value(w_ih), value(w_hh));
                    be.run(
                        &LstmBackward { s, x, w_ih, w_hh, saved, dh, dx: d_input, dw_ih, dw_hh, db }.into(),
                    );
                }
                // The rest have no parameters: nothing to do when no gradient flows further.
                _ if d_input.is_none() && !matches!(node.op, NodeOp::BatchNorm { .. }) => {}
                NodeOp::Pool(s) => be.run(&MaxPoolBackward { s, x, dy, dx }.into()),
                NodeOp::BatchNorm { s, gamma, beta, mean, inv_std, .. } => {
                    let (dgamma, dbeta, gamma) = (grad(gamma), grad(beta), value(gamma));
                    let batch_stats = true;
                    be.run(
                        &BatchNormBackward { s, batch_stats, x, gamma, mean, inv_std, dy, dx, dgamma, dbeta }
                            .into(),
                    )
                }
                NodeOp::Act(f) => be.run(&ActivationBackward { f, y, dy, dx }.into()),
                NodeOp::Dropout { rate, key_index } => {
                    let key = dropout_key(seed, step, key_index);
                    be.run(&DropoutBackward { rate, key, dy, dx }.into())
                }
                NodeOp::GlobalAvgPool(s) => be.run(&GlobalAvgPoolBackward { s, dy, dx }.into()),
            }
        }
    }

    /// One Adam update of every trainable parameter; `t` is the 1-based step.
    pub fn adam_step(&self, be: &mut dyn Backend, cfg: &AdamConfig, t: u32) {
        for p in &self.params {
            if let Some(TrainState { grad, m, v }) = p.train {
                be.run(&AdamStep { cfg: *cfg, t, param: p.value, grad, m, v }.into());
            }
        }
    }

    /// A whole training step on `batch`: forward (training mode), loss, backward, Adam.
    /// Recorded only: the caller flushes, so it stays one submission.
    pub fn train_step(&self, be: &mut dyn Backend, batch: &Batch, adam: &AdamConfig, seed: u64, t: u64) {
        self.forward(be, batch.x, true, seed, t);
        self.loss(be, batch.targets, batch.weights);
        self.backward(be, batch.x, seed, t);
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

/// The allocator `Network::build_with` builds with.
type Alloc<'a> = dyn FnMut(usize, Storage) -> Result<TensorId, AllocError> + 'a;

/// The bytes `Network::build` allocates on `be` for a batch of `batch` (a dry run of
/// `build_with`, plus the network's scratch tensors).
fn bytes_needed(be: &dyn Backend, layers: &[LayerPlan], output: Output, batch: usize) -> u64 {
    let mut total = 0u64;
    let mut count = |len: usize, storage: Storage| {
        total += be.tensor_bytes(len, storage);
        Ok(TensorId(0))
    };
    let Ok(net) = Network::build_with(&mut count, layers, output, batch) else { return u64::MAX };
    let scratch = net.scratch(be).iter().map(|s| be.tensor_bytes(s.len, Storage::Data)).sum::<u64>();
    total + scratch
}

/// The backend ops one planned layer runs; `first` is the index of its first parameter.
fn ops_of(
    alloc: &mut Alloc,
    layer: &LayerPlan,
    batch: usize,
    first: usize,
) -> Result<Vec<NodeOp>, AllocError> {
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
            ops.push(NodeOp::Conv { s, w: first, b: first + 1, relu });
            ops.extend(activation.filter(|_| !relu).map(NodeOp::Act));
        }
        (
            LayerSpec::MaxPool { pool, stride },
            Dims::Seq { channels, len },
            Dims::Seq { len: len_out, .. },
        ) => {
            let stride = stride.unwrap_or(*pool);
            ops.push(NodeOp::Pool(PoolShape { batch, channels, len_in: len, pool: *pool, stride, len_out }));
        }
        (&LayerSpec::BatchNorm { eps, momentum, unbiased_running_var }, dims, _) => {
            let (channels, len) = match dims {
                Dims::Seq { channels, len } => (channels, len),
                other => (other.numel(), 1),
            };
            ops.push(NodeOp::BatchNorm {
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
            ops.push(NodeOp::Lstm { s, w_ih: first, w_hh: first + 1, b: first + 2, saved, last_step });
        }
        (LayerSpec::Dense { units, activation }, Dims::Flat(n), _) => {
            ops.push(NodeOp::Dense {
                s: DenseShape { batch, input: n, output: *units },
                w: first,
                b: first + 1,
            });
            ops.extend(activation.map(NodeOp::Act));
        }
        // the key index is set by the caller, which sees the whole op list
        (LayerSpec::Dropout { rate }, _, _) => ops.push(NodeOp::Dropout { rate: *rate, key_index: 0 }),
        (LayerSpec::Activation { activation }, _, _) => ops.push(NodeOp::Act(*activation)),
        (LayerSpec::GlobalAvgPool, Dims::Seq { channels, len }, _) => {
            ops.push(NodeOp::GlobalAvgPool(ChannelShape { batch, channels, len }))
        }
        // Flatten is a reshape of contiguous memory: no op.
        (LayerSpec::Flatten, _, _) => {}
        (spec, input, _) => unreachable!("plan() accepted {spec:?} on {input:?}"),
    }
    Ok(ops)
}
