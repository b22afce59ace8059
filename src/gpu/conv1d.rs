//! Conv1d forward and backward: shaders/conv1d.wgsl (4 x 4 register tiles).

use super::pipelines::{Access::Read as R, Access::ReadWrite as RW, Kernel, Shader};
use super::recorder::{u, Recorder};
use super::reduce::{channel_sum, row_sum};
use crate::backend::{ChannelShape, Conv1dBackward, Conv1dForward, Conv1dShape, Scratch};

use super::kernel_params::Conv1d as Params;

impl From<&Conv1dShape> for Params {
    fn from(s: &Conv1dShape) -> Self {
        Params {
            batch: u(s.batch),
            c_in: u(s.c_in),
            c_out: u(s.c_out),
            len_in: u(s.len_in),
            kernel: u(s.kernel),
            pad_left: u(s.pad_left),
            len_out: u(s.len_out),
            relu: 0,
            t_slice: u(s.len_out),
            slices: 1,
        }
    }
}

static FORWARD: Kernel = Kernel { shader: Shader::Conv1d, entry: "conv1d_forward", bindings: &[R, R, R, RW] };
static BACKWARD_INPUT: Kernel =
    Kernel { shader: Shader::Conv1d, entry: "conv1d_backward_input", bindings: &[R, R, RW] };
static BACKWARD_WEIGHT: Kernel =
    Kernel { shader: Shader::Conv1d, entry: "conv1d_backward_weight", bindings: &[R, R, RW] };

/// Workgroups of 16 x 4 invocations, each a 4 x 4 tile: 64 positions (or (c, k) pairs)
/// x 16 channels.
fn tiles(positions: usize, channels: usize, z: usize) -> [u32; 3] {
    [u(positions.div_ceil(64)), u(channels.div_ceil(16)), u(z)]
}

/// y = conv(x) + b, then ReLU in the same kernel when `relu`: the pre-activation is
/// never stored.
pub fn forward(r: &mut Recorder, op: &Conv1dForward) {
    let Conv1dForward { s, x, w, b, y, relu } = *op;
    let groups = tiles(s.len_out, s.c_out, s.batch);
    let p = Params { relu: relu.into(), ..Params::from(&s) };
    r.dispatch(&FORWARD, &p, &[x, w, b, y], groups);
}

/// Invocations the weight gradient should keep busy: a large GPU's worth.
const BUSY_INVOCATIONS: usize = 1 << 16;

/// How many slices of output positions each sample's weight gradient is cut into: enough
/// invocations to fill a large GPU, each slice at least 64 positions.
fn position_slices(s: &Conv1dShape) -> usize {
    let per_sample = (s.c_in * s.kernel).div_ceil(4) * s.c_out.div_ceil(4);
    (BUSY_INVOCATIONS / (s.batch * per_sample).max(1)).min(s.len_out / 64).max(1)
}

/// The scratch tensor `backward` uses: the weight gradient of each sample and slice of
/// positions, before their sum.
pub fn scratch(s: &Conv1dShape) -> Scratch {
    let len = s.batch * position_slices(s) * s.c_out * s.c_in * s.kernel;
    Scratch { purpose: "conv dw per sample and slice", len }
}

pub fn backward(r: &mut Recorder, op: &Conv1dBackward) {
    let Conv1dBackward { ref s, x, w, dy, dx, dw, db } = *op;
    let p = Params::from(s);
    if let Some(dx) = dx {
        r.dispatch(&BACKWARD_INPUT, &p, &[dy, w, dx], tiles(s.len_in, s.c_in, s.batch));
    }
    // partial gradients per sample and slice for parallelism, then their sum in order
    let weights = s.c_out * s.c_in * s.kernel;
    let partial_scratch = scratch(s);
    let partial = r.scratch(partial_scratch.purpose, partial_scratch.len);
    let slices = partial_scratch.len / (s.batch * weights);
    let p = Params { t_slice: u(s.len_out.div_ceil(slices)), slices: u(slices), ..p };
    let groups = tiles(s.c_in * s.kernel, s.c_out, s.batch * slices);
    r.dispatch(&BACKWARD_WEIGHT, &p, &[x, dy, partial], groups);
    row_sum(r, s.batch * slices, weights, partial, dw);
    let out = ChannelShape { batch: s.batch, channels: s.c_out, len: s.len_out };
    channel_sum(r, &out, dy, db);
}
