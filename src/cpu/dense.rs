//! Dense: x (batch, input), weight (output, input), bias (output); y = x W^T + b.
//! Both directions are single matrix products over the whole batch (deterministic:
//! the product runs on one thread).

use super::check;
use super::real::{MatMut, MatRef, Real};
use crate::backend::DenseShape;

fn check_shapes<T>(s: &DenseShape, x: &[T], w: &[T], y_or_dy: &[T]) {
    check::len("dense x", x.len(), s.batch * s.input);
    check::len("dense weight", w.len(), s.output * s.input);
    check::len("dense y/dy", y_or_dy.len(), s.batch * s.output);
}

pub fn forward<T: Real>(s: &DenseShape, x: &[T], w: &[T], b: &[T], y: &mut [T]) {
    check_shapes(s, x, w, y);
    check::len("dense bias", b.len(), s.output);
    for row in y.chunks_mut(s.output.max(1)) {
        row.copy_from_slice(b);
    }
    T::gemm(
        T::one(),
        MatRef::row_major(x, s.batch, s.input),
        MatRef::row_major(w, s.output, s.input).t(),
        T::one(),
        MatMut::row_major(y, s.batch, s.output),
    );
}

/// dx = dy W, dW = dy^T x, db = column sums of dy; all overwritten.
pub fn backward<T: Real>(
    s: &DenseShape,
    x: &[T],
    w: &[T],
    dy: &[T],
    dx: Option<&mut [T]>,
    dw: &mut [T],
    db: &mut [T],
) {
    check_shapes(s, x, w, dy);
    check::len("dense dweight", dw.len(), w.len());
    check::len("dense dbias", db.len(), s.output);
    let dy_m = MatRef::row_major(dy, s.batch, s.output);
    T::gemm(
        T::one(),
        dy_m.t(),
        MatRef::row_major(x, s.batch, s.input),
        T::zero(),
        MatMut::row_major(dw, s.output, s.input),
    );
    db.fill(T::zero());
    for row in dy.chunks(s.output.max(1)) {
        for (acc, &v) in db.iter_mut().zip(row) {
            *acc += v;
        }
    }
    if let Some(dx) = dx {
        check::len("dense dx", dx.len(), x.len());
        T::gemm(
            T::one(),
            dy_m,
            MatRef::row_major(w, s.output, s.input),
            T::zero(),
            MatMut::row_major(dx, s.batch, s.input),
        );
    }
}
