//! Conv1d forward and backward: shaders/conv.wgsl (4 x 4 register tiles).

use super::pipelines::{Access::Read as R, Access::ReadWrite as RW, Kernel, Shader};
use super::recorder::{u, Recorder};
use super::reduce::{channel_sum, column_sum};
use crate::backend::{ChannelShape, Conv1dShape, Scratch, TensorId};

/// Mirrors `Params` in shaders/conv.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    batch: u32,
    c_in: u32,
    c_out: u32,
    len_in: u32,
    kernel: u32,
    pad_left: u32,
    len_out: u32,
    relu: u32,
}

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
        }
    }
}

static FORWARD: Kernel = Kernel { shader: Shader::Conv, entry: "conv1d_forward", bindings: &[R, R, R, RW] };
static BACKWARD_INPUT: Kernel =
    Kernel { shader: Shader::Conv, entry: "conv1d_backward_input", bindings: &[R, R, RW] };
static BACKWARD_WEIGHT: Kernel =
    Kernel { shader: Shader::Conv, entry: "conv1d_backward_weight", bindings: &[R, R, RW] };

/// Workgroups of 16 x 4 invocations, each a 4 x 4 tile: 64 positions (or (c, k) pairs)
/// x 16 channels.
fn tiles(positions: usize, channels: usize, z: usize) -> [u32; 3] {
    [u(positions.div_ceil(64)), u(channels.div_ceil(16)), u(z)]
}

/// y = conv(x) + b, then ReLU in the same kernel when `relu`.
#[allow(clippy::too_many_arguments)]
pub fn forward(
    r: &mut Recorder,
    s: &Conv1dShape,
    x: TensorId,
    w: TensorId,
    b: TensorId,
    y: TensorId,
    relu: bool,
) {
    let groups = tiles(s.len_out, s.c_out, s.batch);
    let p = Params { relu: relu.into(), ..Params::from(s) };
    r.dispatch(&FORWARD, &p, &[x, w, b, y], groups);
}

/// The scratch tensor `backward` uses: the weight gradient of each sample before their sum.
pub fn scratch(s: &Conv1dShape) -> Scratch {
    Scratch { purpose: "conv dw per sample", len: s.batch * s.c_out * s.c_in * s.kernel }
}

#[allow(clippy::too_many_arguments)]
pub fn backward(
    r: &mut Recorder,
    s: &Conv1dShape,
    x: TensorId,
    w: TensorId,
    dy: TensorId,
    dx: Option<TensorId>,
    dw: TensorId,
    db: TensorId,
) {
    let p = Params::from(s);
    if let Some(dx) = dx {
        r.dispatch(&BACKWARD_INPUT, &p, &[dy, w, dx], tiles(s.len_in, s.c_in, s.batch));
    }
    // per-sample partial gradients for parallelism, then their sum in sample order
    let weights = s.c_out * s.c_in * s.kernel;
    let partial_scratch = scratch(s);
    let partial = r.scratch(partial_scratch.purpose, partial_scratch.len);
    let groups = tiles(s.c_in * s.kernel, s.c_out, s.batch);
    r.dispatch(&BACKWARD_WEIGHT, &p, &[x, dy, partial], groups);
    column_sum(r, s.batch, weights, partial, dw);
    let out = ChannelShape { batch: s.batch, channels: s.c_out, len: s.len_out };
    channel_sum(r, &out, dy, db);
}
