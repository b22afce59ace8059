//! Dense layers on the strided GEMM of shaders/dense.wgsl; the GEMM also serves the LSTM.

use super::pipelines::{Access::Read as R, Access::ReadWrite as RW, Kernel, Shader};
use super::recorder::{u, Bind, Recorder};
use super::reduce::{channel_sum, row_sum};
use crate::backend::{ChannelShape, DenseBackward, DenseForward, Scratch, TensorId};

use super::kernel_params::Dense as Params;

static GEMM: Kernel = Kernel { shader: Shader::Dense, entry: "gemm", bindings: &[R, R, RW] };
static GEMM_BIAS: Kernel = Kernel { shader: Shader::Dense, entry: "gemm_bias", bindings: &[R, R, RW, R] };

/// A row-major matrix operand, possibly read transposed.
#[derive(Clone, Copy)]
pub struct Operand {
    pub tensor: TensorId,
    pub rows: usize,
    pub cols: usize,
    pub transposed: bool,
}

impl Operand {
    pub fn plain(tensor: TensorId, rows: usize, cols: usize) -> Self {
        Operand { tensor, rows, cols, transposed: false }
    }

    /// The stored (rows x cols) matrix read as its transpose (cols x rows).
    pub fn t(tensor: TensorId, rows: usize, cols: usize) -> Self {
        Operand { tensor, rows, cols, transposed: true }
    }

    /// Bound whole, or by rows when the rows stored are the split axis's.
    fn bind(&self, split_rows_stored: bool) -> Bind {
        match split_rows_stored {
            true => Bind::Rows(self.tensor, self.cols),
            false => Bind::Whole(self.tensor),
        }
    }

    /// (logical rows, logical cols, row stride, col stride)
    fn logical(&self) -> (usize, usize, usize, usize) {
        if self.transposed {
            (self.cols, self.rows, 1, self.cols)
        } else {
            (self.rows, self.cols, self.cols, 1)
        }
    }
}

/// c (m x n, row-major) = a b [+ bias broadcast over rows].
///
/// Operands too large for one binding are split: by rows of a and c (x W^T, dy W), or,
/// when a is read transposed (dy^T x: its stored rows run along k), by k, each chunk
/// adding its partial product to c in order.
pub fn gemm(r: &mut Recorder, a: Operand, b: Operand, bias: Option<TensorId>, c: TensorId) {
    let k = a.logical().1;
    gemm_slices(r, a, b, bias, c, k.max(1));
}

/// Workgroups a GEMM should keep busy: a few per shader core on a large GPU.
const BUSY_WORKGROUPS: usize = 4096;

/// How many slices of k `weight_gradient` cuts an (m x k) (k x n) product into: enough
/// 32 x 32 tiles of C to fill a large GPU, each slice at least 256 rows of k so that the
/// partial products stay a small fraction of the work. The partial products are then at
/// most BUSY_WORKGROUPS x 1024 values (16 MiB), within any storage binding.
fn k_slices(m: usize, n: usize, k: usize) -> usize {
    let tiles = m.div_ceil(32) * n.div_ceil(32);
    (BUSY_WORKGROUPS / tiles).min(k / 256).max(1)
}

/// The partial products `weight_gradient` keeps for an (m x k) (k x n) product, when it
/// cuts k into slices.
pub fn weight_gradient_scratch(m: usize, n: usize, k: usize) -> Option<Scratch> {
    let slices = k_slices(m, n, k);
    (slices > 1).then_some(Scratch { purpose: "weight gradient per slice of k", len: slices * m * n })
}

/// c = a b for a read transposed (dy^T x over batch x time rows): the slices of k each
/// write their partial product to a scratch tensor, then the slices are added up in
/// order, so the result is deterministic and the GPU is busy however few tiles c has.
pub fn weight_gradient(r: &mut Recorder, a: Operand, b: Operand, c: TensorId) {
    assert!(a.transposed, "weight_gradient: a must be read transposed (its stored rows run along k)");
    let (m, k, _, _) = a.logical();
    let n = b.logical().1;
    let Some(s) = weight_gradient_scratch(m, n, k) else {
        return gemm(r, a, b, None, c);
    };
    let partial = r.scratch(s.purpose, s.len);
    let slices = s.len / (m * n);
    gemm_slices(r, a, b, None, partial, k.div_ceil(slices));
    row_sum(r, slices, m * n, partial, c);
}

/// The GEMM with k cut into slices of `k_slice` rows, slice g written to c + g m n.
fn gemm_slices(
    r: &mut Recorder,
    a: Operand,
    b: Operand,
    bias: Option<TensorId>,
    c: TensorId,
    k_slice: usize,
) {
    let (m, k, a_row, a_col) = a.logical();
    let (k2, n, b_row, b_col) = b.logical();
    assert_eq!(k, k2, "gemm: inner dimensions differ");
    let along_k = a.transposed;
    assert!(!along_k || bias.is_none(), "gemm: a bias with a transposed a is not supported");
    let mut binds = if along_k {
        vec![a.bind(true), b.bind(!b.transposed), Bind::Whole(c)]
    } else {
        vec![a.bind(true), Bind::Whole(b.tensor), Bind::Rows(c, n)]
    };
    binds.extend(bias.map(Bind::Whole));
    let kernel = if bias.is_some() { &GEMM_BIAS } else { &GEMM };
    r.dispatch_rows(kernel, if along_k { k } else { m }, &binds, |chunk| {
        let (m, k, k_first) = if along_k { (m, chunk.rows, chunk.first) } else { (chunk.rows, k, 0) };
        let slots = (k_first + k).div_ceil(k_slice) - k_first / k_slice;
        let p = Params {
            m: u(m),
            n: u(n),
            k: u(k),
            a_row: u(a_row),
            a_col: u(a_col),
            b_row: u(b_row),
            b_col: u(b_col),
            k_first: u(k_first),
            k_slice: u(k_slice),
            off: chunk.offsets(),
        };
        // 8 x 8 invocations of 4 x 4 outputs each per workgroup, one layer per slice
        (p, [u(n.div_ceil(32)), u(m.div_ceil(32)), u(slots)])
    });
}

/// db[j] = sum over rows of m (rows x cols).
pub fn column_sums(r: &mut Recorder, m: TensorId, rows: usize, cols: usize, db: TensorId) {
    let s = ChannelShape { batch: rows, channels: cols, len: 1 };
    channel_sum(r, &s, m, db);
}

pub fn forward(r: &mut Recorder, op: &DenseForward) {
    let DenseForward { s, x, w, b, y } = *op;
    let xm = Operand::plain(x, s.batch, s.input);
    let wt = Operand::t(w, s.output, s.input);
    gemm(r, xm, wt, Some(b), y);
}

/// dx = dy W, dw = dy^T x, db = column sums of dy.
pub fn backward(r: &mut Recorder, op: &DenseBackward) {
    let DenseBackward { s, x, w, dy, dx, dw, db } = *op;
    if let Some(dx) = dx {
        let dym = Operand::plain(dy, s.batch, s.output);
        gemm(r, dym, Operand::plain(w, s.output, s.input), None, dx);
    }
    let dyt = Operand::t(dy, s.batch, s.output);
    gemm(r, dyt, Operand::plain(x, s.batch, s.input), None, dw);
    column_sums(r, dy, s.batch, s.output, db);
}
