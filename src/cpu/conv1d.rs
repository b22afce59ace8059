//! Conv1d, stride 1, channels-first, written as the definition (the reference; the fast
//! CPU backend's blocked version is `fastcpu::conv1d`):
//!   y[n, o, t]  = b[o] + sum_{c, k} w[o, c, k] x[n, c, t + k - pad_left]
//!   dw[o, c, k] = sum_{n, t} dy[n, o, t] x[n, c, t + k - pad_left]
//!   db[o]       = sum_{n, t} dy[n, o, t]
//!   dx[n, c, p] = sum_{o, k} w[o, c, k] dy[n, o, p - k + pad_left]
//! Input positions outside 0..len_in are zero (they contribute nothing).

use super::check;
use super::real::Real;
use crate::backend::Conv1dShape;

pub(crate) fn check_shapes<T>(s: &Conv1dShape, x: &[T], w: &[T], y_or_dy: &[T]) {
    check::len("conv1d x", x.len(), s.batch * s.c_in * s.len_in);
    check::len("conv1d weight", w.len(), s.c_out * s.c_in * s.kernel);
    check::len("conv1d y/dy", y_or_dy.len(), s.batch * s.c_out * s.len_out);
}

/// The input position that output t reads through tap k, when it lies inside the input.
fn input_position(s: &Conv1dShape, t: usize, k: usize) -> Option<usize> {
    (t + k).checked_sub(s.pad_left).filter(|&p| p < s.len_in)
}

pub fn forward<T: Real>(s: &Conv1dShape, x: &[T], w: &[T], b: &[T], y: &mut [T]) {
    check_shapes(s, x, w, y);
    check::len("conv1d bias", b.len(), s.c_out);
    for n in 0..s.batch {
        for o in 0..s.c_out {
            for t in 0..s.len_out {
                let mut acc = b[o];
                for c in 0..s.c_in {
                    for k in 0..s.kernel {
                        if let Some(p) = input_position(s, t, k) {
                            acc += w[(o * s.c_in + c) * s.kernel + k] * x[(n * s.c_in + c) * s.len_in + p];
                        }
                    }
                }
                y[(n * s.c_out + o) * s.len_out + t] = acc;
            }
        }
    }
}

/// dw and db are overwritten; dx (when given) too.
pub fn backward<T: Real>(
    s: &Conv1dShape,
    x: &[T],
    w: &[T],
    dy: &[T],
    dx: Option<&mut [T]>,
    dw: &mut [T],
    db: &mut [T],
) {
    check_shapes(s, x, w, dy);
    check::len("conv1d dweight", dw.len(), w.len());
    check::len("conv1d dbias", db.len(), s.c_out);
    dw.fill(T::zero());
    db.fill(T::zero());
    let mut dx = dx;
    if let Some(dx) = dx.as_deref_mut() {
        check::len("conv1d dx", dx.len(), x.len());
        dx.fill(T::zero());
    }
    for n in 0..s.batch {
        for o in 0..s.c_out {
            for t in 0..s.len_out {
                let g = dy[(n * s.c_out + o) * s.len_out + t];
                db[o] += g;
                for c in 0..s.c_in {
                    for k in 0..s.kernel {
                        if let Some(p) = input_position(s, t, k) {
                            let (wi, xi) = ((o * s.c_in + c) * s.kernel + k, (n * s.c_in + c) * s.len_in + p);
                            dw[wi] += g * x[xi];
                            if let Some(dx) = dx.as_deref_mut() {
                                dx[xi] += g * w[wi];
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "same" padding on a case small enough to write out: one channel, kernel 3, pad 1.
    #[test]
    fn same_padding_matches_hand_values() {
        let s = Conv1dShape { batch: 1, c_in: 1, c_out: 1, len_in: 4, kernel: 3, pad_left: 1, len_out: 4 };
        let mut y = [0.0f64; 4];
        forward(&s, &[1.0, 2.0, 3.0, 4.0], &[1.0, 10.0, 100.0], &[0.5], &mut y);
        assert_eq!(y, [210.5, 321.5, 432.5, 43.5]);
    }
}
