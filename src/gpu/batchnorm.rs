//! Batch norm: shaders/batchnorm.wgsl.

use super::pipelines::{
    Access::Read as R, Access::ReadF32 as R32, Access::ReadWrite as RW, Access::ReadWriteF32 as RW32, Kernel,
    Shader,
};
use super::recorder::{groups_1d, u, Recorder};
use crate::backend::{BatchNormBackward, BatchNormConfig, BatchNormEval, BatchNormTrain, ChannelShape};

use super::kernel_params::BatchNorm as Params;

fn params(s: &ChannelShape, cfg: &BatchNormConfig, batch_stats: bool) -> Params {
    Params {
        batch: u(s.batch),
        channels: u(s.channels),
        len: u(s.len),
        eps: cfg.eps,
        momentum: cfg.momentum,
        unbiased: cfg.unbiased_running_var.into(),
        batch_stats: batch_stats.into(),
    }
}

const fn kernel(entry: &'static str, bindings: &'static [super::pipelines::Access]) -> Kernel {
    Kernel { shader: Shader::BatchNorm, entry, bindings }
}

// The per-channel statistics are f32 at every precision (shaders/batchnorm.wgsl).
static STATS: Kernel = kernel("batchnorm_stats", &[R, RW32, RW32, RW32, RW32]);
static NORMALIZE: Kernel = kernel("batchnorm_normalize", &[R, R, R, R32, R32, RW]);
static EVAL: Kernel = kernel("batchnorm_eval", &[R, R, R, R32, R32, RW]);
static BACKWARD_SUMS: Kernel = kernel("batchnorm_backward_sums", &[R, R, R, R32, R32, RW, RW]);
static BACKWARD_DX: Kernel = kernel("batchnorm_backward_dx", &[R, R, R, R32, R32, RW, RW, RW]);

fn elements(s: &ChannelShape) -> [u32; 3] {
    groups_1d(s.batch * s.channels * s.len, 64)
}

/// The statistics (one workgroup per channel), then the normalization.
pub fn forward_train(r: &mut Recorder, op: &BatchNormTrain) {
    let BatchNormTrain { ref s, ref cfg, x, gamma, beta, running_mean, running_var, y, mean, inv_std } = *op;
    let p = params(s, cfg, true);
    let stats = [x, running_mean, running_var, mean, inv_std];
    r.dispatch(&STATS, &p, &stats, [u(s.channels), 1, 1]);
    r.dispatch(&NORMALIZE, &p, &[x, gamma, beta, mean, inv_std, y], elements(s));
}

pub fn forward_eval(r: &mut Recorder, op: &BatchNormEval) {
    let BatchNormEval { ref s, ref cfg, x, gamma, beta, running_mean, running_var, y } = *op;
    let p = params(s, cfg, false);
    let tensors = [x, gamma, beta, running_mean, running_var, y];
    r.dispatch(&EVAL, &p, &tensors, elements(s));
}

/// dgamma, dbeta (one workgroup per channel), then dx from them.
pub fn backward(r: &mut Recorder, op: &BatchNormBackward) {
    let BatchNormBackward { ref s, batch_stats, x, gamma, mean, inv_std, dy, dx, dgamma, dbeta } = *op;
    // eps and momentum play no part in the backward pass
    let p = params(s, &BatchNormConfig::KERAS, batch_stats);
    let sums = [x, gamma, dy, mean, inv_std, dgamma, dbeta];
    r.dispatch(&BACKWARD_SUMS, &p, &sums, [u(s.channels), 1, 1]);
    let all = [x, gamma, dy, mean, inv_std, dgamma, dbeta, dx];
    r.dispatch(&BACKWARD_DX, &p, &all, elements(s));
}
