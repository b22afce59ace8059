//! Dense: x (batch, input), weight (output, input), bias (output); y = x W^T + b, written
//! as the definition (the reference; the fast CPU backend's is `fastcpu::dense`).

use super::check;
use super::real::Real;
use crate::backend::DenseShape;

pub(crate) fn check_shapes<T>(s: &DenseShape, x: &[T], w: &[T], y_or_dy: &[T]) {
    check::len("dense x", x.len(), s.batch * s.input);
    check::len("dense weight", w.len(), s.output * s.input);
    check::len("dense y/dy", y_or_dy.len(), s.batch * s.output);
}

pub fn forward<T: Real>(s: &DenseShape, x: &[T], w: &[T], b: &[T], y: &mut [T]) {
    check_shapes(s, x, w, y);
    check::len("dense bias", b.len(), s.output);
    for n in 0..s.batch {
        for o in 0..s.output {
            let mut acc = b[o];
            for i in 0..s.input {
                acc += x[n * s.input + i] * w[o * s.input + i];
            }
            y[n * s.output + o] = acc;
        }
    }
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
    for o in 0..s.output {
        db[o] = (0..s.batch).fold(T::zero(), |acc, n| acc + dy[n * s.output + o]);
        for i in 0..s.input {
            dw[o * s.input + i] =
                (0..s.batch).fold(T::zero(), |acc, n| acc + dy[n * s.output + o] * x[n * s.input + i]);
        }
    }
    if let Some(dx) = dx {
        check::len("dense dx", dx.len(), x.len());
        for n in 0..s.batch {
            for i in 0..s.input {
                dx[n * s.input + i] =
                    (0..s.output).fold(T::zero(), |acc, o| acc + dy[n * s.output + o] * w[o * s.input + i]);
            }
        }
    }
}
