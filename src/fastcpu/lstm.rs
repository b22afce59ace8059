//! The fast CPU LSTM layer (the reference is `cpu::lstm`, whose cell math it shares with
//! the gate functions of `gate_math`). Samples are independent through the recurrence, so
//! the batch is split once into groups of `SAMPLES_PER_TASK`, and each group runs its
//! whole sequence on its own: per step the gates start from the bias, get the products
//! x_t W_ih^T and h_{t-1} W_hh^T added, and go through the cell update while in cache; no
//! synchronisation and no allocation per step. The products are `step_product`'s
//! micro-kernel over W_ih^T and W_hh^T packed once per call (a general GEMM would pack
//! W_hh at every step). Backward, each group runs back through time the same way
//! (dh_{t-1} = da_t W_hh, W_hh packed once); the weight gradients and dx are then single
//! products over all (sample, step) rows, split over threads by blocks of output rows
//! (`par_gemm`). Every element is computed by one task in a fixed split: the same bits on
//! any thread count.

use super::gate_math::Approx;
use super::gemm::{par_gemm, MatMut, MatRef};
use super::step_product::PackedB;
use crate::backend::LstmShape;
use crate::cpu::check;
use crate::cpu::lstm::{cell_backward, cell_forward, check_saved, check_weights};
use rayon::prelude::*;

/// Samples per task: fixed, not the batch over the threads, so that the work of a task
/// never follows the thread count (the step products give a row the same bits whatever
/// rows share its call). 16 rows fill two row tiles of the AVX-512 micro-kernel.
const SAMPLES_PER_TASK: usize = 16;

/// Writes h and c (batch, time, H) and the gate activations (batch, time, 4H).
pub fn forward(s: &LstmShape, x: &[f32], [w_ih, w_hh, b]: [&[f32]; 3], [h, c, gates]: [&mut [f32]; 3]) {
    check_weights(s, x, w_ih, w_hh);
    check_saved(s, h, c, gates);
    let (hid, g4, time) = (s.hidden, 4 * s.hidden, s.time);
    check::len("lstm b", b.len(), g4);
    if s.batch == 0 || time == 0 || hid == 0 {
        return;
    }
    let per = SAMPLES_PER_TASK;
    let (seq, inp, zeros) = (time * hid, s.input, vec![0.0; hid]);
    let w_ih_t = PackedB::new(inp, g4, |i, g| w_ih[g * inp + i]);
    let w_hh_t = PackedB::new(hid, g4, |j, g| w_hh[g * hid + j]);
    gates
        .par_chunks_mut(per * 4 * seq)
        .zip(c.par_chunks_mut(per * seq).zip(h.par_chunks_mut(per * seq)))
        .enumerate()
        .for_each(|(task, (gates, (c, h)))| {
            let n = gates.len() / (4 * seq);
            let x = &x[task * per * time * inp..][..n * time * inp];
            for t in 0..time {
                // the step's gates are written and used while in cache
                for k in 0..n {
                    gates[4 * (k * seq + t * hid)..][..g4].copy_from_slice(b);
                }
                w_ih_t.add_product(&x[t * inp..], time * inp, n, &mut gates[t * g4..], 4 * seq);
                if t > 0 {
                    w_hh_t.add_product(&h[(t - 1) * hid..], seq, n, &mut gates[t * g4..], 4 * seq);
                }
                for k in 0..n {
                    let at = k * seq + t * hid;
                    let (c_done, c_now) = c.split_at_mut(at);
                    let c_prev = if t > 0 { &c_done[at - hid..] } else { &zeros[..] };
                    let a = &mut gates[4 * at..4 * at + g4];
                    cell_forward::<f32, Approx>(a, c_prev, &mut c_now[..hid], &mut h[at..at + hid]);
                }
            }
        });
}

/// What [`backward`] writes, all overwritten: dx when given, dw_ih, dw_hh, db, and `da`, the
/// gradient of the pre-activations (batch, time, 4H), in a buffer the caller keeps from
/// call to call: at seed-lstm's size it is 209 MB, which allocated afresh at every step
/// is faulted in page by page.
pub struct Grads<'a> {
    pub dx: Option<&'a mut [f32]>,
    pub weights: [&'a mut [f32]; 3],
    pub da: &'a mut Vec<f32>,
}

/// Backpropagation through time. `dh` (batch, time, H) is the upstream gradient of every
/// h_t.
pub fn backward(
    s: &LstmShape,
    x: &[f32],
    [w_ih, w_hh]: [&[f32]; 2],
    [h, c, gates]: [&[f32]; 3],
    dh: &[f32],
    Grads { dx, weights: [dw_ih, dw_hh, db], da }: Grads,
) {
    check_weights(s, x, w_ih, w_hh);
    check_saved(s, h, c, gates);
    check::len("lstm dh", dh.len(), h.len());
    check::len("lstm dw_ih", dw_ih.len(), w_ih.len());
    check::len("lstm dw_hh", dw_hh.len(), w_hh.len());
    let (hid, g4, time) = (s.hidden, 4 * s.hidden, s.time);
    check::len("lstm db", db.len(), g4);
    let rows = s.batch * time;
    let seq = time * hid;

    // every element of da is written below before it is read
    da.resize(rows * g4, 0.0);
    if rows > 0 && hid > 0 {
        let per = SAMPLES_PER_TASK;
        let w_hh = PackedB::new(g4, hid, |g, j| w_hh[g * hid + j]);
        da.par_chunks_mut(per * 4 * seq).enumerate().for_each(|(task, da)| {
            let n = da.len() / (4 * seq);
            let first = task * per * seq;
            let (dh_next, dc, zeros) = (&mut vec![0.0; n * hid], &mut vec![0.0; n * hid], vec![0.0; hid]);
            for t in (0..time).rev() {
                for k in 0..n {
                    let (at, local) = (first + k * seq + t * hid, k * seq + t * hid);
                    let c_prev = if t > 0 { &c[at - hid..at] } else { &zeros[..] };
                    let carry = k * hid..(k + 1) * hid;
                    cell_backward::<f32, Approx>(
                        &gates[4 * at..4 * at + g4],
                        &c[at..at + hid],
                        c_prev,
                        [&dh[at..at + hid], &dh_next[carry.clone()]],
                        &mut dc[carry],
                        &mut da[4 * local..4 * local + g4],
                    );
                }
                if t > 0 {
                    dh_next.fill(0.0);
                    w_hh.add_product(&da[t * g4..], 4 * seq, n, dh_next, hid);
                }
            }
        });
    }

    db.fill(0.0);
    for row in da.chunks(g4.max(1)) {
        for (acc, &v) in db.iter_mut().zip(row) {
            *acc += v;
        }
    }
    par_gemm(
        1.0,
        MatRef::row_major(da, rows, g4).t(),
        MatRef::row_major(x, rows, s.input),
        0.0,
        MatMut::row_major(dw_ih, g4, s.input),
    );
    if let Some(dx) = dx {
        check::len("lstm dx", dx.len(), x.len());
        par_gemm(
            1.0,
            MatRef::row_major(da, rows, g4),
            MatRef::row_major(w_ih, g4, s.input),
            0.0,
            MatMut::row_major(dx, rows, s.input),
        );
    }
    // dw_hh sums da_t^T h_{t-1} over (n, t >= 1): row r of da pairs with row r - 1 of h,
    // except at t = 0 (h_{-1} = 0), where row r - 1 is the previous sample's last h. Those
    // rows of da are done with, so they are zeroed rather than h copied shifted by a step.
    for first in da.chunks_mut((4 * seq).max(1)).skip(1) {
        first[..g4].fill(0.0);
    }
    let pairs = rows.saturating_sub(1);
    par_gemm(
        1.0,
        MatRef::row_major(da.get(g4..).unwrap_or_default(), pairs, g4).t(),
        MatRef::row_major(h, pairs, hid),
        0.0,
        MatMut::row_major(dw_hh, g4, hid),
    );
}
