//! The fast CPU LSTM layer (the reference is `cpu::lstm`, whose cell math it shares), batch-first, gate order i, f, g, o, h0 = c0 = 0, one bias b:
//!   a_t = x_t W_ih^T + h_{t-1} W_hh^T + b              (batch, 4H)
//!   i, f, o = sigmoid(a_i, a_f, a_o);  g = tanh(a_g)
//!   c_t = f c_{t-1} + i g;  h_t = o tanh(c_t)
//! The input projection of every step is one matrix product up front; the recurrence is
//! one (batch, H) x (H, 4H) product per step, then the cell updates in parallel over
//! the batch. The backward pass runs through time keeping dh and dc of the step after,
//! then forms the weight gradients as single products over all (sample, step) rows.

use super::gemm::{gemm, MatMut, MatRef};
use crate::backend::LstmShape;
use crate::cpu::check;
use crate::cpu::lstm::{cell_backward, cell_forward, check_saved, check_weights};
use rayon::prelude::*;

/// Writes h and c (batch, time, H) and the gate activations (batch, time, 4H).
pub fn forward(s: &LstmShape, x: &[f32], [w_ih, w_hh, b]: [&[f32]; 3], [h, c, gates]: [&mut [f32]; 3]) {
    check_weights(s, x, w_ih, w_hh);
    check_saved(s, h, c, gates);
    let hid = s.hidden;
    let g4 = 4 * hid;
    check::len("lstm b", b.len(), g4);
    let rows = s.batch * s.time;
    for row in gates.chunks_mut(g4.max(1)) {
        row.copy_from_slice(b);
    }
    gemm(
        1.0,
        MatRef::row_major(x, rows, s.input),
        MatRef::row_major(w_ih, g4, s.input).t(),
        1.0,
        MatMut::row_major(gates, rows, g4),
    );
    for t in 0..s.time {
        if t > 0 {
            gemm(
                1.0,
                MatRef::strided(&h[(t - 1) * hid..], s.batch, hid, s.time * hid),
                MatRef::row_major(w_hh, g4, hid).t(),
                1.0,
                MatMut::strided(&mut gates[t * g4..], s.batch, g4, s.time * g4),
            );
        }
        // each sample's sequence is one chunk: the cell updates of step t run in parallel
        let seq = (s.time * hid).max(1);
        gates.par_chunks_mut(4 * seq).zip(c.par_chunks_mut(seq).zip(h.par_chunks_mut(seq))).for_each(
            |(gates_n, (c_n, h_n))| {
                let at = t * hid;
                let a = &mut gates_n[4 * at..4 * at + g4];
                let (c_done, c_now) = c_n.split_at_mut(at);
                let c_prev = (t > 0).then(|| &c_done[at - hid..]);
                cell_forward(a, c_prev, &mut c_now[..hid], &mut h_n[at..at + hid]);
            },
        );
    }
}

/// Backpropagation through time. `dh` (batch, time, H) is the upstream gradient of every
/// h_t; dw_ih, dw_hh, db (and dx when given) are overwritten.
pub fn backward(
    s: &LstmShape,
    x: &[f32],
    [w_ih, w_hh]: [&[f32]; 2],
    [h, c, gates]: [&[f32]; 3],
    dh: &[f32],
    dx: Option<&mut [f32]>,
    [dw_ih, dw_hh, db]: [&mut [f32]; 3],
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

    // da: gradient of the pre-activations a_t, (batch, time, 4H)
    let mut da = vec![0.0; rows * g4];
    let mut dh_next = vec![0.0; s.batch * hid];
    let mut dc_next = vec![0.0; s.batch * hid];
    for t in (0..s.time).rev() {
        let (seq, carry) = ((s.time * hid).max(1), hid.max(1));
        da.par_chunks_mut(4 * seq)
            .zip(dh_next.par_chunks_mut(carry).zip(dc_next.par_chunks_mut(carry)))
            .enumerate()
            .for_each(|(n, (da_n, (dh_next_n, dc_next_n)))| {
                let at = (n * s.time + t) * hid;
                let gate = &gates[4 * at..4 * at + g4];
                let d = &mut da_n[4 * t * hid..4 * t * hid + g4];
                let c_prev = (t > 0).then(|| &c[at - hid..at]);
                cell_backward(gate, &c[at..at + hid], c_prev, [&dh[at..at + hid], dh_next_n], dc_next_n, d);
            });
        if t > 0 {
            gemm(
                1.0,
                MatRef::strided(&da[t * g4..], s.batch, g4, s.time * g4),
                MatRef::row_major(w_hh, g4, hid),
                0.0,
                MatMut::row_major(&mut dh_next, s.batch, hid),
            );
        }
    }

    db.fill(0.0);
    for row in da.chunks(g4.max(1)) {
        for (acc, &v) in db.iter_mut().zip(row) {
            *acc += v;
        }
    }
    let da_t = MatRef::row_major(&da, rows, g4).t();
    gemm(1.0, da_t, MatRef::row_major(x, rows, s.input), 0.0, MatMut::row_major(dw_ih, g4, s.input));
    // h_{t-1} for every (n, t), zero at t = 0
    let mut h_prev = vec![0.0; rows * hid];
    for n in 0..s.batch {
        let seq = n * s.time * hid;
        let steps = s.time.saturating_sub(1) * hid;
        h_prev[seq + hid..seq + hid + steps].copy_from_slice(&h[seq..seq + steps]);
    }
    gemm(1.0, da_t, MatRef::row_major(&h_prev, rows, hid), 0.0, MatMut::row_major(dw_hh, g4, hid));
    if let Some(dx) = dx {
        check::len("lstm dx", dx.len(), x.len());
        gemm(
            1.0,
            MatRef::row_major(&da, rows, g4),
            MatRef::row_major(w_ih, g4, s.input),
            0.0,
            MatMut::row_major(dx, rows, s.input),
        );
    }
}
