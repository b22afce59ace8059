//! What runs a golden case: the ops in the golden files' terms (host f64 tensors in and
//! out), implemented twice: by the generic CPU functions in f64, and through any
//! `Backend` in f32. The golden naming conventions live in the caller, once.

use crate::backend::{
    Activation, ActivationBackward, ActivationForward, AdamConfig, AdamStep, Backend, BatchNormBackward,
    BatchNormConfig, BatchNormEval, BatchNormTrain, ChannelShape, Conv1dBackward, Conv1dForward, Conv1dShape,
    DenseBackward, DenseForward, DenseShape, LastStepBackward, LastStepForward, LstmBackward, LstmForward,
    LstmShape, LstmTensors, MaxPoolBackward, MaxPoolForward, Op, PoolShape, SigmoidBce, SoftmaxCe, Storage,
    TensorId,
};
use anyhow::Result;

use crate::cpu::{activation, adam, batchnorm, conv1d, dense, heads, lstm, pool};

pub struct BatchNormTrainOut {
    pub y: Vec<f64>,
    pub dx: Vec<f64>,
    pub dgamma: Vec<f64>,
    pub dbeta: Vec<f64>,
    pub mean: Vec<f64>,
    pub inv_std: Vec<f64>,
    pub running_mean: Vec<f64>,
    pub running_var: Vec<f64>,
}

pub struct Lstm {
    /// (batch, time, hidden)
    pub h: Vec<f64>,
    /// (batch, hidden): h at the last step, from `LastStepForward`.
    pub h_last: Vec<f64>,
    /// (batch, time, hidden)
    pub c: Vec<f64>,
    pub dx: Vec<f64>,
    pub dw_ih: Vec<f64>,
    pub dw_hh: Vec<f64>,
    pub db: Vec<f64>,
}

/// A batch-norm golden case's inputs.
pub struct BatchNormCase<'a> {
    pub s: ChannelShape,
    pub x: &'a [f64],
    pub gamma: &'a [f64],
    pub beta: &'a [f64],
    pub running_mean: &'a [f64],
    pub running_var: &'a [f64],
    pub dy: &'a [f64],
}

/// An LSTM golden case's inputs: `dy` is (batch, time, H), or (batch, H) on the last step
/// when `last_only`.
pub struct LstmCase<'a> {
    pub s: LstmShape,
    pub x: &'a [f64],
    pub w_ih: &'a [f64],
    pub w_hh: &'a [f64],
    pub b: &'a [f64],
    pub dy: &'a [f64],
    pub last_only: bool,
}

/// A dense golden case's inputs, with a ReLU after the layer when `relu`.
pub struct DenseCase<'a> {
    pub s: DenseShape,
    pub relu: bool,
    pub x: &'a [f64],
    pub w: &'a [f64],
    pub b: &'a [f64],
    pub dy: &'a [f64],
}

/// A head's outputs: probs, the 1-element loss, dlogits.
pub type Head = [Vec<f64>; 3];

/// Each method runs one op family forward and backward on fresh tensors; an engine on a
/// device fails when the device does (lost).
pub trait Engine {
    /// Largest normwise relative error accepted for `op` (a golden op name).
    fn tolerance(&self, op: &str) -> f64;
    /// Returns [y, dx, dweight, dbias].
    fn conv1d(
        &mut self,
        s: &Conv1dShape,
        x: &[f64],
        w: &[f64],
        b: &[f64],
        dy: &[f64],
    ) -> Result<[Vec<f64>; 4]>;
    /// Returns [y, dx].
    fn maxpool(&mut self, s: &PoolShape, x: &[f64], dy: &[f64]) -> Result<[Vec<f64>; 2]>;
    /// The window maxima's positions, from x rounded to the engine's precision.
    fn argmax_indices(&self, s: &PoolShape, x: &[f64]) -> Vec<usize>;
    /// Training-mode forward, then the backward with batch statistics.
    fn batchnorm_train(&mut self, p: &batchnorm::Params<f64>, c: &BatchNormCase)
        -> Result<BatchNormTrainOut>;
    /// Eval-mode forward, then the backward with constant statistics (`inv_std` from
    /// the running variance). Returns [y, dx, dgamma, dbeta].
    fn batchnorm_eval(&mut self, eps: f64, inv_std: &[f64], c: &BatchNormCase) -> Result<[Vec<f64>; 4]>;
    fn lstm(&mut self, c: &LstmCase) -> Result<Lstm>;
    /// z = x W^T + b, y = relu(z) (or z); returns [z, y, dx, dweight, dbias].
    fn dense(&mut self, c: &DenseCase) -> Result<[Vec<f64>; 5]>;
    fn sigmoid_bce(&mut self, logits: &[f64], targets: &[f64], weights: &[f64]) -> Result<Head>;
    fn softmax_ce(&mut self, classes: usize, logits: &[f64], labels: &[f64], weights: &[f64])
        -> Result<Head>;
    /// Returns [param, m, v] after the step.
    fn adam(&mut self, p: &adam::Params<f64>, t: u32, tensors: [&[f64]; 4]) -> Result<[Vec<f64>; 3]>;
}

/// The CPU reference functions in f64: the golden values to ~1e-12.
pub struct HostF64;

impl Engine for HostF64 {
    fn tolerance(&self, _op: &str) -> f64 {
        1e-9
    }

    fn conv1d(
        &mut self,
        s: &Conv1dShape,
        x: &[f64],
        w: &[f64],
        b: &[f64],
        dy: &[f64],
    ) -> Result<[Vec<f64>; 4]> {
        let mut y = vec![0.0; dy.len()];
        conv1d::forward(s, x, w, b, &mut y);
        let (mut dx, mut dw, mut db) = (vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; b.len()]);
        conv1d::backward(s, x, w, dy, Some(&mut dx), &mut dw, &mut db);
        Ok([y, dx, dw, db])
    }

    fn maxpool(&mut self, s: &PoolShape, x: &[f64], dy: &[f64]) -> Result<[Vec<f64>; 2]> {
        let (mut y, mut dx) = (vec![0.0; dy.len()], vec![0.0; x.len()]);
        pool::maxpool_forward(s, x, &mut y);
        pool::maxpool_backward(s, x, dy, &mut dx);
        Ok([y, dx])
    }

    fn argmax_indices(&self, s: &PoolShape, x: &[f64]) -> Vec<usize> {
        pool::argmax_indices(s, x)
    }

    fn batchnorm_train(
        &mut self,
        p: &batchnorm::Params<f64>,
        case: &BatchNormCase,
    ) -> Result<BatchNormTrainOut> {
        let BatchNormCase { ref s, x, gamma, beta, dy, .. } = *case;
        let c = s.channels;
        let (mut running_mean, mut running_var) = (case.running_mean.to_vec(), case.running_var.to_vec());
        let (mut y, mut mean, mut inv_std) = (vec![0.0; x.len()], vec![0.0; c], vec![0.0; c]);
        let running = [&mut running_mean[..], &mut running_var];
        batchnorm::forward_train(s, p, x, [gamma, beta], running, &mut y, [&mut mean, &mut inv_std]);
        let (mut dx, mut dgamma, mut dbeta) = (vec![0.0; x.len()], vec![0.0; c], vec![0.0; c]);
        let grads = [&mut dx[..], &mut dgamma, &mut dbeta];
        batchnorm::backward(s, true, x, gamma, [&mean, &inv_std], dy, grads);
        Ok(BatchNormTrainOut { y, dx, dgamma, dbeta, mean, inv_std, running_mean, running_var })
    }

    fn batchnorm_eval(&mut self, eps: f64, inv_std: &[f64], case: &BatchNormCase) -> Result<[Vec<f64>; 4]> {
        let BatchNormCase { ref s, x, gamma, beta, running_mean, running_var, dy } = *case;
        let c = s.channels;
        let mut y = vec![0.0; x.len()];
        batchnorm::forward_eval(s, eps, x, [gamma, beta], [running_mean, running_var], &mut y);
        let (mut dx, mut dgamma, mut dbeta) = (vec![0.0; x.len()], vec![0.0; c], vec![0.0; c]);
        let grads = [&mut dx[..], &mut dgamma, &mut dbeta];
        batchnorm::backward(s, false, x, gamma, [running_mean, inv_std], dy, grads);
        Ok([y, dx, dgamma, dbeta])
    }

    fn lstm(&mut self, case: &LstmCase) -> Result<Lstm> {
        let LstmCase { ref s, x, w_ih, w_hh, b, dy, last_only } = *case;
        let hs = s.batch * s.time * s.hidden;
        let (mut h, mut c, mut gates) = (vec![0.0; hs], vec![0.0; hs], vec![0.0; 4 * hs]);
        lstm::forward(s, x, [w_ih, w_hh, b], [&mut h, &mut c, &mut gates]);
        let mut h_last = vec![0.0; s.batch * s.hidden];
        lstm::last_step_forward(s, &h, &mut h_last);
        let dh = if last_only {
            let mut dh = vec![0.0; hs];
            lstm::last_step_backward(s, dy, &mut dh);
            dh
        } else {
            dy.to_vec()
        };
        let mut dx = vec![0.0; x.len()];
        let (mut dw_ih, mut dw_hh, mut db) =
            (vec![0.0; w_ih.len()], vec![0.0; w_hh.len()], vec![0.0; b.len()]);
        let grads = [&mut dw_ih[..], &mut dw_hh, &mut db];
        lstm::backward(s, x, [w_ih, w_hh], [&h, &c, &gates], &dh, Some(&mut dx), grads);
        Ok(Lstm { h, h_last, c, dx, dw_ih, dw_hh, db })
    }

    fn dense(&mut self, case: &DenseCase) -> Result<[Vec<f64>; 5]> {
        let DenseCase { ref s, relu, x, w, b, dy } = *case;
        let mut z = vec![0.0; dy.len()];
        dense::forward(s, x, w, b, &mut z);
        let (mut y, mut dz) = (z.clone(), dy.to_vec());
        if relu {
            activation::forward(Activation::Relu, &z, &mut y);
            activation::backward(Activation::Relu, &y, dy, &mut dz);
        }
        let (mut dx, mut dw, mut db) = (vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; b.len()]);
        dense::backward(s, x, w, &dz, Some(&mut dx), &mut dw, &mut db);
        Ok([z, y, dx, dw, db])
    }

    fn sigmoid_bce(&mut self, logits: &[f64], targets: &[f64], weights: &[f64]) -> Result<Head> {
        let n = logits.len();
        let (mut probs, mut dlogits) = (vec![0.0; n], vec![0.0; n]);
        let l = heads::sigmoid_bce(n, logits, targets, weights, &mut probs, &mut dlogits);
        Ok([probs, vec![l], dlogits])
    }

    fn softmax_ce(
        &mut self,
        classes: usize,
        logits: &[f64],
        labels: &[f64],
        weights: &[f64],
    ) -> Result<Head> {
        let (mut probs, mut dlogits) = (vec![0.0; logits.len()], vec![0.0; logits.len()]);
        let l = heads::softmax_ce(labels.len(), classes, logits, labels, weights, &mut probs, &mut dlogits);
        Ok([probs, vec![l], dlogits])
    }

    fn adam(&mut self, p: &adam::Params<f64>, t: u32, tensors: [&[f64]; 4]) -> Result<[Vec<f64>; 3]> {
        let [param, grad, m, v] = tensors;
        let (mut param, mut m, mut v) = (param.to_vec(), m.to_vec(), v.to_vec());
        adam::step(p, t, &mut param, grad, &mut m, &mut v);
        Ok([param, m, v])
    }
}

/// Any backend through the `Backend` trait, tensors uploaded as f32.
pub struct ThroughBackend<'a> {
    pub backend: &'a mut dyn Backend,
}

fn to_f32(data: &[f64]) -> Vec<f32> {
    data.iter().map(|&v| v as f32).collect()
}

impl ThroughBackend<'_> {
    /// New tensors of these lengths; a device that cannot make them (lost) is an error.
    fn allocs<const K: usize>(&mut self, lens: [usize; K]) -> Result<[TensorId; K]> {
        let mut out = [TensorId(0); K];
        for (t, len) in out.iter_mut().zip(lens) {
            *t = self.backend.try_alloc_as(len, Storage::Data)?;
        }
        Ok(out)
    }

    /// New tensors holding `data`.
    fn uploads<const K: usize>(&mut self, data: [&[f64]; K]) -> Result<[TensorId; K]> {
        let ts = self.allocs(data.map(|d| d.len()))?;
        for (t, d) in ts.iter().zip(data) {
            self.backend.upload(*t, &to_f32(d));
        }
        Ok(ts)
    }

    /// Every tensor of `ts` after what is recorded has run; a device that fails (lost)
    /// is an error.
    fn download_all<const K: usize>(&mut self, ts: [TensorId; K]) -> Result<[Vec<f64>; K]> {
        self.backend.flush();
        let mut out = [(); K].map(|()| Vec::new());
        for (o, t) in out.iter_mut().zip(ts) {
            *o = self.backend.try_download(t)?.into_iter().map(f64::from).collect();
        }
        Ok(out)
    }

    fn head(
        &mut self,
        logits: &[f64],
        labels: &[f64],
        weights: &[f64],
        op: impl FnOnce([TensorId; 6]) -> Op,
    ) -> Result<Head> {
        let [z, t, w] = self.uploads([logits, labels, weights])?;
        let [p, l, dz] = self.allocs([logits.len(), 1, logits.len()])?;
        self.backend.run(&op([z, t, w, p, l, dz]));
        self.download_all([p, l, dz])
    }
}

impl Engine for ThroughBackend<'_> {
    /// f32 rounding of the inputs alone gives ~1e-7; the LSTM compounds it over timesteps.
    fn tolerance(&self, op: &str) -> f64 {
        if op == "lstm" {
            1e-3
        } else {
            1e-4
        }
    }

    fn conv1d(
        &mut self,
        s: &Conv1dShape,
        x: &[f64],
        w: &[f64],
        b: &[f64],
        dy: &[f64],
    ) -> Result<[Vec<f64>; 4]> {
        let (s, lens) = (*s, [dy.len(), x.len(), w.len(), b.len()]);
        let [x, w, b, dy] = self.uploads([x, w, b, dy])?;
        let [y, dx, dw, db] = self.allocs(lens)?;
        self.backend.run(&Conv1dForward { s, x, w, b, y, relu: false }.into());
        self.backend.run(&Conv1dBackward { s, x, w, dy, dx: Some(dx), dw, db }.into());
        self.download_all([y, dx, dw, db])
    }

    fn maxpool(&mut self, s: &PoolShape, x: &[f64], dy: &[f64]) -> Result<[Vec<f64>; 2]> {
        let (s, lens) = (*s, [dy.len(), x.len()]);
        let [x, dy] = self.uploads([x, dy])?;
        let [y, dx] = self.allocs(lens)?;
        self.backend.run(&MaxPoolForward { s, x, y }.into());
        self.backend.run(&MaxPoolBackward { s, x, dy, dx }.into());
        self.download_all([y, dx])
    }

    fn argmax_indices(&self, s: &PoolShape, x: &[f64]) -> Vec<usize> {
        pool::argmax_indices(s, &to_f32(x))
    }

    fn batchnorm_train(
        &mut self,
        p: &batchnorm::Params<f64>,
        case: &BatchNormCase,
    ) -> Result<BatchNormTrainOut> {
        let cfg = BatchNormConfig {
            eps: p.eps as f32,
            momentum: p.momentum as f32,
            unbiased_running_var: p.unbiased_running_var,
        };
        let (s, n, c) = (case.s, case.x.len(), case.s.channels);
        let inputs = [case.x, case.gamma, case.beta, case.running_mean, case.running_var, case.dy];
        let [x, gamma, beta, running_mean, running_var, dy] = self.uploads(inputs)?;
        let [y, mean, inv_std, dx, dgamma, dbeta] = self.allocs([n, c, c, n, c, c])?;
        let be = &mut *self.backend;
        be.run(
            &BatchNormTrain { s, cfg, x, gamma, beta, running_mean, running_var, y, mean, inv_std }.into(),
        );
        let batch_stats = true;
        be.run(&BatchNormBackward { s, batch_stats, x, gamma, mean, inv_std, dy, dx, dgamma, dbeta }.into());
        let [y, dx, dgamma, dbeta, mean, inv_std, running_mean, running_var] =
            self.download_all([y, dx, dgamma, dbeta, mean, inv_std, running_mean, running_var])?;
        Ok(BatchNormTrainOut { y, dx, dgamma, dbeta, mean, inv_std, running_mean, running_var })
    }

    fn batchnorm_eval(&mut self, eps: f64, inv_std: &[f64], case: &BatchNormCase) -> Result<[Vec<f64>; 4]> {
        let cfg = BatchNormConfig { eps: eps as f32, ..BatchNormConfig::KERAS };
        let (s, n, c) = (case.s, case.x.len(), case.s.channels);
        let inputs = [case.x, case.gamma, case.beta, case.running_mean, case.running_var, inv_std, case.dy];
        let [x, gamma, beta, running_mean, running_var, inv_std, dy] = self.uploads(inputs)?;
        let [y, dx, dgamma, dbeta] = self.allocs([n, n, c, c])?;
        let be = &mut *self.backend;
        be.run(&BatchNormEval { s, cfg, x, gamma, beta, running_mean, running_var, y }.into());
        // the running mean stands for the batch mean: the statistics are constants
        let (batch_stats, mean) = (false, running_mean);
        be.run(&BatchNormBackward { s, batch_stats, x, gamma, mean, inv_std, dy, dx, dgamma, dbeta }.into());
        self.download_all([y, dx, dgamma, dbeta])
    }

    fn lstm(&mut self, case: &LstmCase) -> Result<Lstm> {
        let LstmCase { s, last_only, .. } = *case;
        let [x, w_ih, w_hh, b, dy] = self.uploads([case.x, case.w_ih, case.w_hh, case.b, case.dy])?;
        let hs = s.batch * s.time * s.hidden;
        let [h, c, gates] = self.allocs([hs, hs, 4 * hs])?;
        let dh_full = if last_only { Some(self.allocs([hs])?[0]) } else { None };
        let saved = LstmTensors { h, c, gates };
        let lens = [s.batch * s.hidden, case.x.len(), case.w_ih.len(), case.w_hh.len(), case.b.len()];
        let [h_last, dx, dw_ih, dw_hh, db] = self.allocs(lens)?;
        let be = &mut *self.backend;
        be.run(&LstmForward { s, x, w_ih, w_hh, b, saved }.into());
        be.run(&LastStepForward { s, h: saved.h, y: h_last }.into());
        // the upstream gradient of every step: dy on the last one only, or dy itself
        let dh = match dh_full {
            Some(dh) => {
                be.run(&LastStepBackward { s, dy, dh }.into());
                dh
            }
            None => dy,
        };
        be.run(&LstmBackward { s, x, w_ih, w_hh, saved, dh, dx: Some(dx), dw_ih, dw_hh, db }.into());
        let [h, h_last, c, dx, dw_ih, dw_hh, db] =
            self.download_all([saved.h, h_last, saved.c, dx, dw_ih, dw_hh, db])?;
        Ok(Lstm { h, h_last, c, dx, dw_ih, dw_hh, db })
    }

    fn dense(&mut self, case: &DenseCase) -> Result<[Vec<f64>; 5]> {
        let DenseCase { s, relu, .. } = *case;
        let (n_y, lens) = (case.dy.len(), [case.dy.len(), case.x.len(), case.w.len(), case.b.len()]);
        let [x, w, b, dy] = self.uploads([case.x, case.w, case.b, case.dy])?;
        let [z, dx, dw, db] = self.allocs(lens)?;
        let relu_out = if relu { Some(self.allocs([n_y, n_y])?) } else { None };
        let be = &mut *self.backend;
        be.run(&DenseForward { s, x, w, b, y: z }.into());
        let (y, dz) = match relu_out {
            Some([y, dz]) => {
                be.run(&ActivationForward { f: Activation::Relu, x: z, y }.into());
                be.run(&ActivationBackward { f: Activation::Relu, y, dy, dx: dz }.into());
                (y, dz)
            }
            None => (z, dy),
        };
        be.run(&DenseBackward { s, x, w, dy: dz, dx: Some(dx), dw, db }.into());
        self.download_all([z, y, dx, dw, db])
    }

    fn sigmoid_bce(&mut self, logits: &[f64], targets: &[f64], weights: &[f64]) -> Result<Head> {
        let batch = weights.len();
        self.head(logits, targets, weights, |[logits, targets, weights, probs, loss, dlogits]| {
            SigmoidBce { batch, logits, targets, weights, probs, loss, dlogits }.into()
        })
    }

    fn softmax_ce(
        &mut self,
        classes: usize,
        logits: &[f64],
        labels: &[f64],
        weights: &[f64],
    ) -> Result<Head> {
        let batch = weights.len();
        self.head(logits, labels, weights, |[logits, labels, weights, probs, loss, dlogits]| {
            SoftmaxCe { batch, classes, logits, labels, weights, probs, loss, dlogits }.into()
        })
    }

    fn adam(&mut self, p: &adam::Params<f64>, t: u32, tensors: [&[f64]; 4]) -> Result<[Vec<f64>; 3]> {
        let cfg =
            AdamConfig { lr: p.lr as f32, beta1: p.beta1 as f32, beta2: p.beta2 as f32, eps: p.eps as f32 };
        let [param, grad, m, v] = self.uploads(tensors)?;
        self.backend.run(&AdamStep { cfg, t, param, grad, m, v }.into());
        self.download_all([param, m, v])
    }
}
