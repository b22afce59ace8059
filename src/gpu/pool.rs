//! Max-pool and global average pooling: shaders/pool.wgsl.

use super::pipelines::{Access::Read as R, Access::ReadWrite as RW, Kernel, Shader};
use super::recorder::{groups_1d, u, Recorder};
use crate::backend::{
    ChannelShape, GlobalAvgPoolBackward, GlobalAvgPoolForward, MaxPoolBackward, MaxPoolForward, PoolShape,
};

use super::kernel_params::Pool as Params;

const fn kernel(entry: &'static str, bindings: &'static [super::pipelines::Access]) -> Kernel {
    Kernel { shader: Shader::Pool, entry, bindings }
}

static MAXPOOL_FORWARD: Kernel = kernel("maxpool_forward", &[R, RW]);
static MAXPOOL_BACKWARD: Kernel = kernel("maxpool_backward", &[R, R, RW]);
static GAP_FORWARD: Kernel = kernel("global_avg_pool_forward", &[R, RW]);
static GAP_BACKWARD: Kernel = kernel("global_avg_pool_backward", &[R, RW]);

impl From<&PoolShape> for Params {
    fn from(s: &PoolShape) -> Self {
        Params {
            batch: u(s.batch),
            channels: u(s.channels),
            len_in: u(s.len_in),
            pool: u(s.pool),
            stride: u(s.stride),
            len_out: u(s.len_out),
        }
    }
}

/// Global average pooling as a pool over the whole row (only len_in is read).
impl From<&ChannelShape> for Params {
    fn from(s: &ChannelShape) -> Self {
        Params {
            batch: u(s.batch),
            channels: u(s.channels),
            len_in: u(s.len),
            pool: u(s.len),
            stride: 1,
            len_out: 1,
        }
    }
}

pub fn maxpool_forward(r: &mut Recorder, op: &MaxPoolForward) {
    let MaxPoolForward { ref s, x, y } = *op;
    let n = s.batch * s.channels * s.len_out;
    r.dispatch(&MAXPOOL_FORWARD, &Params::from(s), &[x, y], groups_1d(n, 64));
}

pub fn maxpool_backward(r: &mut Recorder, op: &MaxPoolBackward) {
    let MaxPoolBackward { ref s, x, dy, dx } = *op;
    let n = s.batch * s.channels * s.len_in;
    r.dispatch(&MAXPOOL_BACKWARD, &Params::from(s), &[x, dy, dx], groups_1d(n, 64));
}

pub fn global_avg_pool_forward(r: &mut Recorder, op: &GlobalAvgPoolForward) {
    let GlobalAvgPoolForward { ref s, x, y } = *op;
    let n = s.batch * s.channels;
    r.dispatch(&GAP_FORWARD, &Params::from(s), &[x, y], groups_1d(n, 64));
}

pub fn global_avg_pool_backward(r: &mut Recorder, op: &GlobalAvgPoolBackward) {
    let GlobalAvgPoolBackward { ref s, dy, dx } = *op;
    let n = s.batch * s.channels * s.len;
    r.dispatch(&GAP_BACKWARD, &Params::from(s), &[dy, dx], groups_1d(n, 64));
}
