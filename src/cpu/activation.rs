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
        // Not `x.max(0)`: that maps NaN to 0 and would hide a diverged run from the
        // numerical guard. NaN <= 0 is false, so NaN passes through.
        Activation::Relu => {
            if x <= T::zero() {
                T::zero()
            } else {
                x
            }
        }
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

/// y = f(x). One loop per function, so each compiles to straight (vectorized) code
/// instead of a `match` on `f` per element.
pub fn forward<T: Real>(f: Activation, x: &[T], y: &mut [T]) {
    check::len("activation y", y.len(), x.len());
    match f {
        Activation::Relu => map(x, y, |v| value(Activation::Relu, v)),
        Activation::Sigmoid => map(x, y, |v| value(Activation::Sigmoid, v)),
        Activation::Tanh => map(x, y, |v| value(Activation::Tanh, v)),
    }
}

/// dx = dy * f'(x), f' read from the forward output y.
pub fn backward<T: Real>(f: Activation, y: &[T], dy: &[T], dx: &mut [T]) {
    check::len("activation dy", dy.len(), y.len());
    check::len("activation dx", dx.len(), y.len());
    let chain = |f: Activation| move |v: T, g: T| g * derivative_from_output(f, v);
    match f {
        Activation::Relu => zip_map(y, dy, dx, chain(Activation::Relu)),
        Activation::Sigmoid => zip_map(y, dy, dx, chain(Activation::Sigmoid)),
        Activation::Tanh => zip_map(y, dy, dx, chain(Activation::Tanh)),
    }
}

/// out[i] = op(a[i]), in parallel over `TASK`-sized slices only when there are several.
fn map<T: Real>(a: &[T], out: &mut [T], op: impl Fn(T) -> T + Sync) {
    let run = |out: &mut [T], a: &[T]| out.iter_mut().zip(a).for_each(|(o, &v)| *o = op(v));
    if out.len() <= TASK {
        run(out, a);
    } else {
        out.par_chunks_mut(TASK).zip(a.par_chunks(TASK)).for_each(|(o, a)| run(o, a));
    }
}

/// out[i] = op(a[i], b[i]), split as `map` splits.
fn zip_map<T: Real>(a: &[T], b: &[T], out: &mut [T], op: impl Fn(T, T) -> T + Sync) {
    let run = |out: &mut [T], a: &[T], b: &[T]| {
        out.iter_mut().zip(a.iter().zip(b)).for_each(|(o, (&u, &v))| *o = op(u, v));
    };
    if out.len() <= TASK {
        run(out, a, b);
    } else {
        out.par_chunks_mut(TASK)
            .zip(a.par_chunks(TASK).zip(b.par_chunks(TASK)))
            .for_each(|(o, (a, b))| run(o, a, b));
    }
}
