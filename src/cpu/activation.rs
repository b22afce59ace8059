//! Elementwise activations. The backward pass reads the forward output y, which
//! determines the derivative of all three: relu' = [y > 0], sigmoid' = y (1 - y),
//! tanh' = 1 - y^2.

use super::check;
use super::real::Real;
use crate::backend::Activation;
use rayon::prelude::*;

/// Elements per parallel task: large enough that the split costs nothing.
const TASK: usize = 1 << 14;

pub fn value<T: Real>(f: Activation, x: T) -> T {
    match f {
        Activation::Relu => x.max(T::zero()),
        Activation::Sigmoid => T::one() / (T::one() + (-x).exp()),
        Activation::Tanh => x.tanh(),
    }
}

/// f'(x) written in terms of y = f(x).
pub fn derivative_from_output<T: Real>(f: Activation, y: T) -> T {
    match f {
        Activation::Relu => {
            if y > T::zero() {
                T::one()
            } else {
                T::zero()
            }
        }
        Activation::Sigmoid => y * (T::one() - y),
        Activation::Tanh => T::one() - y * y,
    }
}

pub fn forward<T: Real>(f: Activation, x: &[T], y: &mut [T]) {
    check::len("activation y", y.len(), x.len());
    y.par_chunks_mut(TASK).zip(x.par_chunks(TASK)).for_each(|(y, x)| {
        for (out, &v) in y.iter_mut().zip(x) {
            *out = value(f, v);
        }
    });
}

pub fn backward<T: Real>(f: Activation, y: &[T], dy: &[T], dx: &mut [T]) {
    check::len("activation dy", dy.len(), y.len());
    check::len("activation dx", dx.len(), y.len());
    dx.par_chunks_mut(TASK).zip(y.par_chunks(TASK).zip(dy.par_chunks(TASK))).for_each(|(dx, (y, dy))| {
        for ((out, &v), &g) in dx.iter_mut().zip(y).zip(dy) {
            *out = g * derivative_from_output(f, v);
        }
    });
}
