//! One LSTM layer, batch-first, gate order i, f, g, o, h0 = c0 = 0, one bias b:
//!   a_t = x_t W_ih^T + h_{t-1} W_hh^T + b              (batch, 4H)
//!   i, f, o = sigmoid(a_i, a_f, a_o);  g = tanh(a_g)
//!   c_t = f c_{t-1} + i g;  h_t = o tanh(c_t)
//! The input projection of every step is one matrix product up front; the recurrence is
//! one (batch, H) x (H, 4H) product per step, then the cell updates in parallel over
//! the batch. The backward pass runs through time keeping dh and dc of the step after,
//! then forms the weight gradients as single products over all (sample, step) rows.

use super::check;
use super::real::{MatMut, MatRef, Real};
use crate::backend::LstmShape;
use rayon::prelude::*;

fn sigmoid<T: Real>(v: T) -> T {
    T::one() / (T::one() + (-v).exp())
}

fn check_weights<T>(s: &LstmShape, x: &[T], w_ih: &[T], w_hh: &[T]) {
    check::len("lstm x", x.len(), s.batch * s.time * s.input);
    check::len("lstm w_ih", w_ih.len(), 4 * s.hidden * s.input);
    check::len("lstm w_hh", w_hh.len(), 4 * s.hidden * s.hidden);
}

fn check_saved<T>(s: &LstmShape, h: &[T], c: &[T], gates: &[T]) {
    check::len("lstm h", h.len(), s.batch * s.time * s.hidden);
    check::len("lstm c", c.len(), s.batch * s.time * s.hidden);
    check::len("lstm gates", gates.len(), s.batch * s.time * 4 * s.hidden);
}

/// Writes h and c (batch, time, H) and the gate activations (batch, time, 4H).
pub fn forward<T: Real>(s: &LstmShape, x: &[T], [w_ih, w_hh, b]: [&[T]; 3], [h, c, gates]: [&mut [T]; 3]) {
    check_weights(s, x, w_ih, w_hh);
    check_saved(s, h, c, gates);
    let hid = s.hidden;
    let g4 = 4 * hid;
    check::len("lstm b", b.len(), g4);
    let rows = s.batch * s.time;
    for row in gates.chunks_mut(g4.max(1)) {
        row.copy_from_slice(b);
    }
    T::gemm(
        T::one(),
        MatRef::row_major(x, rows, s.input),
        MatRef::row_major(w_ih, g4, s.input).t(),
        T::one(),
        MatMut::row_major(gates, rows, g4),
    );
    for t in 0..s.time {
        if t > 0 {
            T::gemm(
                T::one(),
                MatRef::strided(&h[(t - 1) * hid..], s.batch, hid, s.time * hid),
                MatRef::row_major(w_hh, g4, hid).t(),
                T::one(),
                MatMut::strided(&mut gates[t * g4..], s.batch, g4, s.time * g4),
            );
        }
        // each sample's sequence is one chunk: the cell updates of step t run in parallel
        let seq = (s.time * hid).max(1);
        gates.par_chunks_mut(4 * seq).zip(c.par_chunks_mut(seq).zip(h.par_chunks_mut(seq))).for_each(
            |(gates_n, (c_n, h_n))| {
                let at = t * hid;
                let a = &mut gates_n[4 * at..4 * at + g4];
                for j in 0..hid {
                    let i = sigmoid(a[j]);
                    let f = sigmoid(a[hid + j]);
                    let g = a[2 * hid + j].tanh();
                    let o = sigmoid(a[3 * hid + j]);
                    (a[j], a[hid + j], a[2 * hid + j], a[3 * hid + j]) = (i, f, g, o);
                    let c_prev = if t > 0 { c_n[at - hid + j] } else { T::zero() };
                    c_n[at + j] = f * c_prev + i * g;
                    h_n[at + j] = o * c_n[at + j].tanh();
                }
            },
        );
    }
}

/// Backpropagation through time. `dh` (batch, time, H) is the upstream gradient of every
/// h_t; dw_ih, dw_hh, db (and dx when given) are overwritten.
pub fn backward<T: Real>(
    s: &LstmShape,
    x: &[T],
    [w_ih, w_hh]: [&[T]; 2],
    [h, c, gates]: [&[T]; 3],
    dh: &[T],
    dx: Option<&mut [T]>,
    [dw_ih, dw_hh, db]: [&mut [T]; 3],
) {
    check_weights(s, x, w_ih, w_hh);
    check_saved(s, h, c, gates);
    check::len("lstm dh", dh.len(), h.len());
    check::len("lstm dw_ih", dw_ih.len(), w_ih.len());
    check::len("lstm dw_hh", dw_hh.len(), w_hh.len());
    let hid = s.hidden;
    let g4 = 4 * hid;
    check::len("lstm db", db.len(), g4);
    let rows = s.batch * s.time;
    let one = T::one();

    // da: gradient of the pre-activations a_t, (batch, time, 4H)
    let mut da = vec![T::zero(); rows * g4];
    let mut dh_next = vec![T::zero(); s.batch * hid];
    let mut dc_next = vec![T::zero(); s.batch * hid];
    for t in (0..s.time).rev() {
        let (seq, carry) = ((s.time * hid).max(1), hid.max(1));
        da.par_chunks_mut(4 * seq)
            .zip(dh_next.par_chunks_mut(carry).zip(dc_next.par_chunks_mut(carry)))
            .enumerate()
            .for_each(|(n, (da_n, (dh_next_n, dc_next_n)))| {
                let at = (n * s.time + t) * hid;
                let gate = &gates[4 * at..4 * at + g4];
                let d = &mut da_n[4 * t * hid..4 * t * hid + g4];
                for j in 0..hid {
                    let (i, f, g, o) = (gate[j], gate[hid + j], gate[2 * hid + j], gate[3 * hid + j]);
                    let tanh_c = c[at + j].tanh();
                    let c_prev = if t > 0 { c[at - hid + j] } else { T::zero() };
                    let dh_t = dh[at + j] + dh_next_n[j];
                    let dc_t = dc_next_n[j] + dh_t * o * (one - tanh_c * tanh_c);
                    d[j] = dc_t * g * i * (one - i);
                    d[hid + j] = dc_t * c_prev * f * (one - f);
                    d[2 * hid + j] = dc_t * i * (one - g * g);
                    d[3 * hid + j] = dh_t * tanh_c * o * (one - o);
                    dc_next_n[j] = dc_t * f;
                }
            });
        if t > 0 {
            T::gemm(
                one,
                MatRef::strided(&da[t * g4..], s.batch, g4, s.time * g4),
                MatRef::row_major(w_hh, g4, hid),
                T::zero(),
                MatMut::row_major(&mut dh_next, s.batch, hid),
            );
        }
    }

    db.fill(T::zero());
    for row in da.chunks(g4.max(1)) {
        for (acc, &v) in db.iter_mut().zip(row) {
            *acc += v;
        }
    }
    let da_t = MatRef::row_major(&da, rows, g4).t();
    T::gemm(one, da_t, MatRef::row_major(x, rows, s.input), T::zero(), MatMut::row_major(dw_ih, g4, s.input));
    // h_{t-1} for every (n, t), zero at t = 0
    let mut h_prev = vec![T::zero(); rows * hid];
    for n in 0..s.batch {
        let seq = n * s.time * hid;
        let steps = s.time.saturating_sub(1) * hid;
        h_prev[seq + hid..seq + hid + steps].copy_from_slice(&h[seq..seq + steps]);
    }
    T::gemm(one, da_t, MatRef::row_major(&h_prev, rows, hid), T::zero(), MatMut::row_major(dw_hh, g4, hid));
    if let Some(dx) = dx {
        check::len("lstm dx", dx.len(), x.len());
        T::gemm(
            one,
            MatRef::row_major(&da, rows, g4),
            MatRef::row_major(w_ih, g4, s.input),
            T::zero(),
            MatMut::row_major(dx, rows, s.input),
        );
    }
}

/// y (batch, H) = h (batch, time, H) at the last step.
pub fn last_step_forward<T: Real>(s: &LstmShape, h: &[T], y: &mut [T]) {
    check::len("last_step h", h.len(), s.batch * s.time * s.hidden);
    check::len("last_step y", y.len(), s.batch * s.hidden);
    assert!(s.time > 0, "last_step: a sequence of 0 steps has no last step");
    for (n, y_n) in y.chunks_mut(s.hidden.max(1)).enumerate() {
        let last = (n * s.time + s.time - 1) * s.hidden;
        y_n.copy_from_slice(&h[last..last + s.hidden]);
    }
}

/// dh (batch, time, H) = dy at the last step, 0 elsewhere.
pub fn last_step_backward<T: Real>(s: &LstmShape, dy: &[T], dh: &mut [T]) {
    check::len("last_step dy", dy.len(), s.batch * s.hidden);
    check::len("last_step dh", dh.len(), s.batch * s.time * s.hidden);
    assert!(s.time > 0, "last_step: a sequence of 0 steps has no last step");
    dh.fill(T::zero());
    for (n, dy_n) in dy.chunks(s.hidden.max(1)).enumerate() {
        let last = (n * s.time + s.time - 1) * s.hidden;
        dh[last..last + s.hidden].copy_from_slice(dy_n);
    }
}
