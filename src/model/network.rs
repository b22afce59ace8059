//! A network instantiated on a backend for one batch size: its parameters, the
//! activations and gradients of every op, and the forward and backward passes, written
//! once over the `Backend` trait.

use anyhow::Result;

use crate::backend::{
    dropout_key, Activation, AdamConfig, Backend, BatchNormConfig, ChannelShape, Conv1dShape, DenseShape,
    LstmShape, LstmTensors, PoolShape, TensorId,
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
    Conv {
        s: Conv1dShape,
        w: usize,
        b: usize,
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
    Dropout {
        rate: f32,
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

impl Network {
    /// Allocates everything for `batch` samples. Parameters start at zero: call
    /// `model::init` or load a checkpoint.
    pub fn build(
        be: &mut dyn Backend,
        layers: &[LayerPlan],
        output: Output,
        batch: usize,
    ) -> Result<Network> {
        let input = layers.first().map(|l| l.input).ok_or_else(|| anyhow::anyhow!("empty model"))?;
        check_fits(&*be, layers, batch)?;
        let mut params = Vec::new();
        let mut nodes = Vec::new();
        for (index, layer) in layers.iter().enumerate() {
            let first = params.len();
            for p in &layer.params {
                let value = be.alloc(p.numel());
                let train = p.trainable.then(|| TrainState {
                    grad: be.alloc(p.numel()),
                    m: be.alloc(p.numel()),
                    v: be.alloc(p.numel()),
                });
                params.push(Param { plan: p.clone(), value, train });
            }
            // every op of a layer (a conv and its activation) has the layer's output shape
            for op in ops_of(be, layer, batch, first) {
                let out_len = batch * layer.output.numel();
                let name = format!("layer {} ({})", index + 1, layer.name);
                nodes.push(Node { op, layer: name, out: be.alloc(out_len), d_out: be.alloc(out_len) });
            }
        }
        let classes = output.units();
        Ok(Network {
            output,
            batch,
            input,
            params,
            nodes,
            d_input: be.alloc(batch * input.numel()),
            probs: be.alloc(batch * classes),
            loss: be.alloc(1),
        })
    }

    pub fn logits(&self) -> TensorId {
        self.nodes.last().expect("a network ends in its head").out
    }

    /// `x` holds `batch` samples in the input layout. `step` keys the dropout masks;
    /// `seed` is the run's seed.
    pub fn forward(&self, be: &mut dyn Backend, x: TensorId, training: bool, seed: u64, step: u64) {
        let mut input = x;
        for (i, node) in self.nodes.iter().enumerate() {
            let p = |k: usize| self.params[k].value;
            match &node.op {
                Op::Conv { s, w, b } => be.conv1d_forward(s, input, p(*w), p(*b), node.out),
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
                Op::Dropout { rate } => {
                    if training {
                        be.dropout_forward(*rate, dropout_key(seed, step, i), input, node.out);
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
                Op::Conv { s, w, b } => {
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
                Op::Dropout { rate } => {
                    be.dropout_backward(*rate, dropout_key(seed, step, i), node.d_out, dx)
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
    pub fn download_params(&self, be: &mut dyn Backend, with_optimizer: bool) -> Tensors {
        let mut out = Vec::new();
        for p in &self.params {
            out.push((p.plan.name.clone(), p.plan.shape.clone(), be.download(p.value)));
            if let (true, Some(st)) = (with_optimizer, p.train) {
                out.push((format!("adam.m.{}", p.plan.name), p.plan.shape.clone(), be.download(st.m)));
                out.push((format!("adam.v.{}", p.plan.name), p.plan.shape.clone(), be.download(st.v)));
            }
        }
        out
    }

    /// Where the last step first produced NaN or inf, in the order it computed: each
    /// op's output, then the gradients from the head back, then the parameter gradients,
    /// values and Adam moments (already updated by that step). Downloads every tensor once: for the
    /// numerical guard's failure path only, never per step.
    pub fn first_non_finite(&self, be: &mut dyn Backend) -> Option<String> {
        let mut bad = |t: TensorId| be.download(t).iter().any(|v| !v.is_finite());
        if let Some(n) = self.nodes.iter().find(|n| bad(n.out)) {
            return Some(format!("the output of {}", n.layer));
        }
        if let Some(n) = self.nodes.iter().rev().find(|n| bad(n.d_out)) {
            return Some(format!("the gradient at the output of {}", n.layer));
        }
        if let Some(p) = self.params.iter().find(|p| p.train.is_some_and(|st| bad(st.grad))) {
            return Some(format!("the gradient of {}", p.plan.name));
        }
        if let Some(p) = self.params.iter().find(|p| bad(p.value)) {
            return Some(format!("the parameter {}", p.plan.name));
        }
        let moments = |st: TrainState| [st.m, st.v];
        self.params
            .iter()
            .find(|p| p.train.is_some_and(|st| moments(st).into_iter().any(&mut bad)))
            .map(|p| format!("the Adam moments of {}", p.plan.name))
    }

    pub fn trainable_count(&self) -> usize {
        self.params.iter().filter(|p| p.plan.trainable).map(|p| p.plan.numel()).sum()
    }
}

/// The largest batch whose every tensor fits the backend's per-tensor limit (None: any batch).
pub fn max_batch(be: &dyn Backend, layers: &[LayerPlan]) -> Option<usize> {
    let per_sample = largest_per_sample(layers).0;
    be.max_tensor_len().map(|max| max / per_sample.max(1))
}

/// The most elements one sample puts in a single tensor, and where: the input, a layer's
/// output (and its gradient), or an LSTM's four gates over every time step.
fn largest_per_sample(layers: &[LayerPlan]) -> (usize, String) {
    let input = layers.first().map_or(0, |l| l.input.numel());
    let mut largest = (input, "the input".to_string());
    for (i, l) in layers.iter().enumerate() {
        let (n, part) = match (&l.spec, l.input) {
            (LayerSpec::Lstm { units, .. }, Dims::TimeMajor { time, .. }) => (4 * time * units, "gates"),
            _ => (l.output.numel(), "output"),
        };
        if n > largest.0 {
            largest = (n, format!("the {part} of layer {} ({})", i + 1, l.name));
        }
    }
    largest
}

/// Refuses, with the batch that would fit, a batch whose tensors the device cannot bind:
/// the GPU backend's `alloc` can only panic.
fn check_fits(be: &dyn Backend, layers: &[LayerPlan], batch: usize) -> Result<()> {
    let Some(max) = be.max_tensor_len() else { return Ok(()) };
    let mib = |elements: usize| elements as f64 * 4.0 / (1024.0 * 1024.0);
    if let Some(p) = layers.iter().flat_map(|l| &l.params).find(|p| p.numel() > max) {
        anyhow::bail!(
            "the parameter {} ({:.0} MiB) is larger than {} can hold in one buffer ({:.0} MiB): use a smaller \
             model or --device cpu",
            p.name,
            mib(p.numel()),
            be.name(),
            mib(max)
        );
    }
    let (per_sample, what) = largest_per_sample(layers);
    if per_sample.saturating_mul(batch) > max {
        let fits = max / per_sample.max(1);
        let advice = match fits {
            0 => "not even one sample fits: use shorter series, a smaller model, or --device cpu".to_string(),
            n => format!("the largest batch that fits is {n}: use --batch {n} or less, or --device cpu"),
        };
        anyhow::bail!(
            "a batch of {batch} does not fit on {}: {what} needs {:.0} MiB per batch, and the device holds at \
             most {:.0} MiB in one buffer; {advice}",
            be.name(),
            mib(per_sample.saturating_mul(batch)),
            mib(max)
        );
    }
    Ok(())
}

/// The backend ops one planned layer runs; `first` is the index of its first parameter.
fn ops_of(be: &mut dyn Backend, layer: &LayerPlan, batch: usize, first: usize) -> Vec<Op> {
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
            ops.push(Op::Conv { s, w: first, b: first + 1 });
            ops.extend(activation.map(Op::Act));
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
                mean: be.alloc(channels),
                inv_std: be.alloc(channels),
            });
        }
        (&LayerSpec::Lstm { units, return_sequences }, Dims::TimeMajor { time, features }, _) => {
            let s = LstmShape { batch, time, input: features, hidden: units };
            let seq = batch * time * units;
            let saved = LstmTensors { h: be.alloc(seq), c: be.alloc(seq), gates: be.alloc(4 * seq) };
            let last_step = (!return_sequences).then(|| be.alloc(seq));
            ops.push(Op::Lstm { s, w_ih: first, w_hh: first + 1, b: first + 2, saved, last_step });
        }
        (LayerSpec::Dense { units, activation }, Dims::Flat(n), _) => {
            ops.push(Op::Dense { s: DenseShape { batch, input: n, output: *units }, w: first, b: first + 1 });
            ops.extend(activation.map(Op::Act));
        }
        (LayerSpec::Dropout { rate }, _, _) => ops.push(Op::Dropout { rate: *rate }),
        (LayerSpec::Activation { activation }, _, _) => ops.push(Op::Act(*activation)),
        (LayerSpec::GlobalAvgPool, Dims::Seq { channels, len }, _) => {
            ops.push(Op::GlobalAvgPool(ChannelShape { batch, channels, len }))
        }
        // Flatten is a reshape of contiguous memory: no op.
        (LayerSpec::Flatten, _, _) => {}
        (spec, input, _) => unreachable!("plan() accepted {spec:?} on {input:?}"),
    }
    ops
}
