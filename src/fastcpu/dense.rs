//! The fast CPU dense layer (the reference is `cpu::dense`): x (batch, input), weight (output, input), bias (output); y = x W^T + b.
//! Both directions are single matrix products over the whole batch (deterministic:
//! the product runs on one thread).

use super::gemm::{gemm, MatMut, MatRef};
use crate::backend::DenseShape;
use crate::cpu::check;
use crate::cpu::dense::check_shapes;

pub fn forward(s: &DenseShape, x: &[f32], w: &[f32], b: &[f32], y: &mut [f32]) {
    check_shapes(s, x, w, y);
    check::len("dense bias", b.len(), s.output);
    for row in y.chunks_mut(s.output.max(1)) {
        row.copy_from_slice(b);
    }
    gemm(
        1.0,
        MatRef::row_major(x, s.batch, s.input),
        MatRef::row_major(w, s.output, s.input).t(),
        1.0,
        MatMut::row_major(y, s.batch, s.output),
    );
}

/// dx = dy W, dW = dy^T x, db = column sums of dy; all overwritten.
pub fn backward(
    s: &DenseShape,
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    dx: Option<&mut [f32]>,
    dw: &mut [f32],
    db: &mut [f32],
) {
    check_shapes(s, x, w, dy);
    check::len("dense dweight", dw.len(), w.len());
    check::len("dense dbias", db.len(), s.output);
    let dy_m = MatRef::row_major(dy, s.batch, s.output);
    gemm(
        1.0,
        dy_m.t(),
        MatRef::row_major(x, s.batch, s.input),
        0.0,
        MatMut::row_major(dw, s.output, s.input),
    );
    db.fill(0.0);
    for row in dy.chunks(s.output.max(1)) {
        for (acc, &v) in db.iter_mut().zip(row) {
            *acc += v;
        }
    }
    if let Some(dx) = dx {
        check::len("dense dx", dx.len(), x.len());
        gemm(
            1.0,
            dy_m,
            MatRef::row_major(w, s.output, s.input),
            0.0,
            MatMut::row_major(dx, s.batch, s.input),
        );
    }
}
