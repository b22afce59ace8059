//! One LSTM layer, batch-first, gate order i, f, g, o, h0 = c0 = 0, one bias b:
//!   a_t = x_t W_ih^T + h_{t-1} W_hh^T + b              (batch, 4H)
//!   i, f, o = sigmoid(a_i, a_f, a_o);  g = tanh(a_g)
//!   c_t = f c_{t-1} + i g;  h_t = o tanh(c_t)
//! written as the definition, one sample and one step at a time (the reference; the fast
//! CPU backend's `fastcpu::lstm` batches the products and shares the cell math below).
//! The backward pass runs through time keeping dh and dc of the step after.

use super::check;
use super::real::Real;
use crate::backend::LstmShape;

/// The gate nonlinearities the cell math is written over: the reference's are the
/// library functions (`Exact`); the fast CPU backend supplies approximations without a
/// library call, so that its loops vectorize.
pub(crate) trait GateFunctions<T> {
    fn sigmoid(v: T) -> T;
    fn tanh(v: T) -> T;
}

pub(crate) struct Exact;

impl<T: Real> GateFunctions<T> for Exact {
    fn sigmoid(v: T) -> T {
        T::one() / (T::one() + (-v).exp())
    }

    fn tanh(v: T) -> T {
        v.tanh()
    }
}

pub(crate) fn check_weights<T>(s: &LstmShape, x: &[T], w_ih: &[T], w_hh: &[T]) {
    check::len("lstm x", x.len(), s.batch * s.time * s.input);
    check::len("lstm w_ih", w_ih.len(), 4 * s.hidden * s.input);
    check::len("lstm w_hh", w_hh.len(), 4 * s.hidden * s.hidden);
}

pub(crate) fn check_saved<T>(s: &LstmShape, h: &[T], c: &[T], gates: &[T]) {
    check::len("lstm h", h.len(), s.batch * s.time * s.hidden);
    check::len("lstm c", c.len(), s.batch * s.time * s.hidden);
    check::len("lstm gates", gates.len(), s.batch * s.time * 4 * s.hidden);
}

/// One sample's cell at one step: `a` (4H) holds the pre-activations and is overwritten
/// by the gate activations; `c_prev` is c_{t-1}, zeros at t = 0.
pub(crate) fn cell_forward<T: Real, G: GateFunctions<T>>(
    a: &mut [T],
    c_prev: &[T],
    c: &mut [T],
    h: &mut [T],
) {
    let hid = c.len();
    let (a_i, rest) = a.split_at_mut(hid);
    let (a_f, rest) = rest.split_at_mut(hid);
    let (a_g, a_o) = rest.split_at_mut(hid);
    let (a_o, c_prev, h) = (&mut a_o[..hid], &c_prev[..hid], &mut h[..hid]);
    for j in 0..hid {
        let (i, f) = (G::sigmoid(a_i[j]), G::sigmoid(a_f[j]));
        let (g, o) = (G::tanh(a_g[j]), G::sigmoid(a_o[j]));
        (a_i[j], a_f[j], a_g[j], a_o[j]) = (i, f, g, o);
        c[j] = f * c_prev[j] + i * g;
        h[j] = o * G::tanh(c[j]);
    }
}

/// One sample's cell backward at one step: from the gates, c_t, c_{t-1} (zeros at t = 0)
/// and dh_t = `dh_up` + `dh_next`, writes d (4H, the gradient of the pre-activations) and
/// turns `dc` from dc_{t+1}'s carry into dc_t's carry to step t-1.
pub(crate) fn cell_backward<T: Real, G: GateFunctions<T>>(
    gate: &[T],
    c: &[T],
    c_prev: &[T],
    [dh_up, dh_next]: [&[T]; 2],
    dc: &mut [T],
    d: &mut [T],
) {
    let (hid, one) = (c.len(), T::one());
    let (gate_i, rest) = gate.split_at(hid);
    let (gate_f, rest) = rest.split_at(hid);
    let (gate_g, gate_o) = rest.split_at(hid);
    let (d_i, rest) = d.split_at_mut(hid);
    let (d_f, rest) = rest.split_at_mut(hid);
    let (d_g, d_o) = rest.split_at_mut(hid);
    let (gate_o, d_o, c_prev, dh_up, dh_next, dc) =
        (&gate_o[..hid], &mut d_o[..hid], &c_prev[..hid], &dh_up[..hid], &dh_next[..hid], &mut dc[..hid]);
    for j in 0..hid {
        let (i, f, g, o) = (gate_i[j], gate_f[j], gate_g[j], gate_o[j]);
        let tanh_c = G::tanh(c[j]);
        let dh_t = dh_up[j] + dh_next[j];
        let dc_t = dc[j] + dh_t * o * (one - tanh_c * tanh_c);
        d_i[j] = dc_t * g * i * (one - i);
        d_f[j] = dc_t * c_prev[j] * f * (one - f);
        d_g[j] = dc_t * i * (one - g * g);
        d_o[j] = dh_t * tanh_c * o * (one - o);
        dc[j] = dc_t * f;
    }
}

/// Writes h and c (batch, time, H) and the gate activations (batch, time, 4H).
pub fn forward<T: Real>(s: &LstmShape, x: &[T], [w_ih, w_hh, b]: [&[T]; 3], [h, c, gates]: [&mut [T]; 3]) {
    check_weights(s, x, w_ih, w_hh);
    check_saved(s, h, c, gates);
    let (hid, g4, inp) = (s.hidden, 4 * s.hidden, s.input);
    check::len("lstm b", b.len(), g4);
    let zeros = vec![T::zero(); hid];
    for n in 0..s.batch {
        for t in 0..s.time {
            let (row, at) = (n * s.time + t, (n * s.time + t) * hid);
            let a = &mut gates[row * g4..(row + 1) * g4];
            for (g, a_g) in a.iter_mut().enumerate() {
                let mut acc = b[g];
                for i in 0..inp {
                    acc += x[row * inp + i] * w_ih[g * inp + i];
                }
                if t > 0 {
                    for j in 0..hid {
                        acc += h[at - hid + j] * w_hh[g * hid + j];
                    }
                }
                *a_g = acc;
            }
            let (c_done, c_now) = c.split_at_mut(at);
            let c_prev = if t > 0 { &c_done[at - hid..] } else { &zeros[..] };
            cell_forward::<T, Exact>(a, c_prev, &mut c_now[..hid], &mut h[at..at + hid]);
        }
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
    let (hid, g4, inp) = (s.hidden, 4 * s.hidden, s.input);
    check::len("lstm db", db.len(), g4);
    let mut dx = dx;
    if let Some(dx) = dx.as_deref_mut() {
        check::len("lstm dx", dx.len(), x.len());
        dx.fill(T::zero());
    }
    dw_ih.fill(T::zero());
    dw_hh.fill(T::zero());
    db.fill(T::zero());
    let (mut d, zeros) = (vec![T::zero(); g4], vec![T::zero(); hid]);
    for n in 0..s.batch {
        let (mut dh_next, mut dc) = (vec![T::zero(); hid], vec![T::zero(); hid]);
        for t in (0..s.time).rev() {
            let (row, at) = (n * s.time + t, (n * s.time + t) * hid);
            let c_prev = if t > 0 { &c[at - hid..at] } else { &zeros[..] };
            let dh_up = &dh[at..at + hid];
            cell_backward::<T, Exact>(
                &gates[row * g4..(row + 1) * g4],
                &c[at..at + hid],
                c_prev,
                [dh_up, &dh_next],
                &mut dc,
                &mut d,
            );
            dh_next.fill(T::zero());
            for (g, &d_g) in d.iter().enumerate() {
                db[g] += d_g;
                for i in 0..inp {
                    dw_ih[g * inp + i] += d_g * x[row * inp + i];
                    if let Some(dx) = dx.as_deref_mut() {
                        dx[row * inp + i] += d_g * w_ih[g * inp + i];
                    }
                }
                if t > 0 {
                    for j in 0..hid {
                        dw_hh[g * hid + j] += d_g * h[at - hid + j];
                        dh_next[j] += d_g * w_hh[g * hid + j];
                    }
                }
            }
        }
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
