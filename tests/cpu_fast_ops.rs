//! The fast CPU backend (`FastCpuBackend`, `--device cpu`) against the CPU reference
//! backend (`CpuBackend`), op by op through the `Backend` trait, as `tests/gpu_ops.rs`
//! checks the GPU: fresh random inputs, odd sizes (1, primes, sizes that do not divide
//! the GEMM kernels' tiles (up to 64 x 6 on AVX-512) or the batch chunks of the
//! deterministic sums, and sizes that take the `gemm` crate's special paths: a depth of 1
//! or 2, one output column, at most 16 x 16 outputs, depths over its 512-deep blocks), and
//! every output poisoned with NaN before the op, so an element the fast path forgets to
//! write fails the comparison.
//!
//! Tolerances: `close(reference, fast, tol)` accepts |fast - ref| <= tol * (|ref| +
//! rms(ref)). Both sides compute in f32 and differ only in summation order (blocked GEMM
//! and batch chunks against the definition's loops), which moves a sum of `terms`
//! products by about eps * sqrt(terms) relative to the size of those products, the rms
//! term (eps is 1.2e-7). We allow 1e-5 * sqrt(terms): ~100x headroom. The LSTM carries
//! errors through the recurrence; its tolerance is 4x that (as in tests/gpu_ops.rs).
//! Ops the fast backend passes to the reference must be bit-identical.

mod shapes;
use shapes::conv_shape;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use starskope::backend::{
    AdamConfig, AdamStep, Backend, Conv1dBackward, Conv1dForward, DenseBackward, DenseForward, DenseShape,
    LstmBackward, LstmForward, LstmShape, LstmTensors, MaxPoolBackward, MaxPoolForward, PoolShape,
};
use starskope::cpu::CpuBackend;
use starskope::fastcpu::FastCpuBackend;

fn random(rng: &mut ChaCha8Rng, len: usize) -> Vec<f32> {
    (0..len).map(|_| rng.gen_range(-1.0..1.0)).collect()
}

/// Uploads `inputs`, allocates `outputs` NaN-poisoned tensors of the given lengths, runs
/// `ops` on them (inputs first, then outputs, by position) and downloads the outputs.
fn run_on(
    be: &mut dyn Backend,
    inputs: &[&[f32]],
    outputs: &[usize],
    ops: &dyn Fn(&mut dyn Backend, &[starskope::backend::TensorId]),
) -> Vec<Vec<f32>> {
    let mut ids = Vec::new();
    for data in inputs {
        let t = be.alloc(data.len());
        be.upload(t, data);
        ids.push(t);
    }
    for &len in outputs {
        let t = be.alloc(len);
        be.upload(t, &vec![f32::NAN; len]);
        ids.push(t);
    }
    ops(be, &ids);
    ids[inputs.len()..].iter().map(|&t| be.download(t)).collect()
}

/// The same calls on the reference and on the fast backend: (reference, fast) outputs.
fn both(
    inputs: &[&[f32]],
    outputs: &[usize],
    ops: &dyn Fn(&mut dyn Backend, &[starskope::backend::TensorId]),
) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    (
        run_on(&mut CpuBackend::new(), inputs, outputs, ops),
        run_on(&mut FastCpuBackend::new(), inputs, outputs, ops),
    )
}

fn rms(v: &[f32]) -> f32 {
    (v.iter().map(|e| e * e).sum::<f32>() / v.len().max(1) as f32).sqrt()
}

fn close(reference: &[f32], fast: &[f32], tol: f32, what: &str) {
    assert_eq!(reference.len(), fast.len(), "{what}: lengths differ");
    let scale = rms(reference);
    for (i, (r, f)) in reference.iter().zip(fast).enumerate() {
        assert!(r.is_finite(), "{what}[{i}]: the reference gave {r}");
        let ok = (f - r).abs() <= tol * (r.abs() + scale);
        assert!(ok, "{what}[{i}]: fast {f} vs reference {r} (tolerance {tol} relative, scale {scale})");
    }
}

/// Tolerance for sums of `terms` products.
fn sum_tol(terms: usize) -> f32 {
    1e-5 * (terms as f32).sqrt().max(1.0)
}

#[test]
fn conv1d_matches_reference() {
    let shapes = [
        conv_shape(1, 1, 1, 7, 3, true),
        conv_shape(2, 3, 5, 37, 5, false),
        conv_shape(3, 2, 8, 50, 11, true),
        conv_shape(5, 2, 16, 97, 5, true),
        conv_shape(3, 17, 9, 41, 8, true),
        conv_shape(1, 1, 1, 3, 3, false),
        // the presets' first layers: one or two channels in, long series
        conv_shape(3, 2, 8, 301, 5, true),
        conv_shape(2, 1, 128, 64, 8, true),
        // the GEMM's paths: depth 2 (forward), one output position (n = 1), edge tiles
        // of 64-row tiles with depths over 512 (dw^T: 9 x 600 by 600 x 50), 70 rows (64 + 6)
        conv_shape(2, 1, 3, 9, 2, false),
        conv_shape(3, 4, 5, 3, 3, false),
        conv_shape(2, 3, 50, 600, 3, true),
        conv_shape(3, 20, 70, 40, 3, true),
    ];
    for (i, s) in shapes.iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(100 + i as u64);
        let x = random(&mut rng, s.batch * s.c_in * s.len_in);
        let w = random(&mut rng, s.c_out * s.c_in * s.kernel);
        let b = random(&mut rng, s.c_out);
        let dy = random(&mut rng, s.batch * s.c_out * s.len_out);
        let (y_len, dx_len, dw_len) = (dy.len(), x.len(), w.len());
        let outputs = [y_len, y_len, dx_len, dw_len, s.c_out, dw_len, s.c_out];
        let s = *s;
        let (r, f) = both(&[&x, &w, &b, &dy], &outputs, &|be, t| {
            let (x, w, b, dy) = (t[0], t[1], t[2], t[3]);
            let [y, y_relu, dx, dw, db, dw0, db0] = [t[4], t[5], t[6], t[7], t[8], t[9], t[10]];
            be.run(&Conv1dForward { s, x, w, b, y, relu: false }.into());
            be.run(&Conv1dForward { s, x, w, b, y: y_relu, relu: true }.into());
            be.run(&Conv1dBackward { s, x, w, dy, dx: Some(dx), dw, db }.into());
            be.run(&Conv1dBackward { s, x, w, dy, dx: None, dw: dw0, db: db0 }.into());
        });
        let names = ["y", "y with relu", "dx", "dw", "db", "dw without dx", "db without dx"];
        let terms = [
            s.c_in * s.kernel,
            s.c_in * s.kernel,
            s.c_out * s.kernel,
            s.batch * s.len_out,
            s.batch * s.len_out,
        ];
        for (k, name) in names.iter().enumerate() {
            let tol = sum_tol(terms[if k >= 5 { k - 2 } else { k }]);
            close(&r[k], &f[k], tol, &format!("conv {name} {s:?}"));
        }
    }
}

#[test]
fn dense_matches_reference() {
    let shapes = [
        DenseShape { batch: 1, input: 1, output: 1 },
        DenseShape { batch: 5, input: 7, output: 3 },
        DenseShape { batch: 33, input: 17, output: 9 },
        DenseShape { batch: 4, input: 64, output: 65 },
        DenseShape { batch: 16, input: 256, output: 2 },
        // one output (a matrix-vector product), depths over 512 (dw sums 600 samples)
        DenseShape { batch: 50, input: 600, output: 1 },
        DenseShape { batch: 600, input: 3, output: 49 },
    ];
    for (i, s) in shapes.iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(200 + i as u64);
        let x = random(&mut rng, s.batch * s.input);
        let w = random(&mut rng, s.output * s.input);
        let b = random(&mut rng, s.output);
        let dy = random(&mut rng, s.batch * s.output);
        let outputs = [dy.len(), x.len(), w.len(), s.output, w.len(), s.output];
        let s = *s;
        let (r, f) = both(&[&x, &w, &b, &dy], &outputs, &|be, t| {
            let (x, w, b, dy) = (t[0], t[1], t[2], t[3]);
            let [y, dx, dw, db, dw0, db0] = [t[4], t[5], t[6], t[7], t[8], t[9]];
            be.run(&DenseForward { s, x, w, b, y }.into());
            be.run(&DenseBackward { s, x, w, dy, dx: Some(dx), dw, db }.into());
            be.run(&DenseBackward { s, x, w, dy, dx: None, dw: dw0, db: db0 }.into());
        });
        let checks = [
            ("y", s.input),
            ("dx", s.output),
            ("dw", s.batch),
            ("db", s.batch),
            ("dw without dx", s.batch),
            ("db without dx", s.batch),
        ];
        for (k, (name, terms)) in checks.iter().enumerate() {
            close(&r[k], &f[k], sum_tol(*terms), &format!("dense {name} {s:?}"));
        }
    }
}

/// The hidden sizes the issue names (1, 64, 100, 128) and odd batch, step and input counts,
/// batches of more than one group of `fastcpu::lstm`'s 16 samples and not a multiple of it.
#[test]
fn lstm_matches_reference() {
    let shapes = [
        LstmShape { batch: 3, time: 9, input: 2, hidden: 1 },
        LstmShape { batch: 5, time: 7, input: 1, hidden: 64 },
        LstmShape { batch: 3, time: 6, input: 3, hidden: 100 },
        LstmShape { batch: 2, time: 5, input: 1, hidden: 128 },
        LstmShape { batch: 1, time: 1, input: 1, hidden: 3 },
        LstmShape { batch: 7, time: 40, input: 2, hidden: 9 },
        // two groups of samples (16 and 3), hidden and 4 hidden no multiple of any SIMD width
        LstmShape { batch: 19, time: 13, input: 3, hidden: 37 },
        LstmShape { batch: 17, time: 4, input: 2, hidden: 100 },
    ];
    for (i, s) in shapes.iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(300 + i as u64);
        let (rows, h4) = (s.batch * s.time, 4 * s.hidden);
        let x = random(&mut rng, rows * s.input);
        let w_ih = random(&mut rng, h4 * s.input);
        let w_hh = random(&mut rng, h4 * s.hidden);
        let b = random(&mut rng, h4);
        let dh = random(&mut rng, rows * s.hidden);
        let outputs = [rows * s.hidden, rows * s.hidden, rows * h4, x.len(), w_ih.len(), w_hh.len(), h4];
        let s = *s;
        let (r, f) = both(&[&x, &w_ih, &w_hh, &b, &dh], &outputs, &|be, t| {
            let (x, w_ih, w_hh, b, dh) = (t[0], t[1], t[2], t[3], t[4]);
            let saved = LstmTensors { h: t[5], c: t[6], gates: t[7] };
            let (dx, dw_ih, dw_hh, db) = (t[8], t[9], t[10], t[11]);
            be.run(&LstmForward { s, x, w_ih, w_hh, b, saved }.into());
            // a backward with another upstream gradient first: what the fast backend keeps
            // between calls (its pre-activation gradients) must not leak into the next
            let other = saved.h;
            be.run(
                &LstmBackward { s, x, w_ih, w_hh, saved, dh: other, dx: Some(dx), dw_ih, dw_hh, db }.into(),
            );
            be.run(&LstmBackward { s, x, w_ih, w_hh, saved, dh, dx: Some(dx), dw_ih, dw_hh, db }.into());
        });
        // errors compound through the recurrence: a sum over the hidden units per step,
        // carried over `time` steps
        let fwd = sum_tol(s.hidden + s.input) * 4.0;
        let bwd = sum_tol(s.batch * s.time * (s.hidden + s.input)) * 4.0;
        let names = ["h", "c", "gates", "dx", "dw_ih", "dw_hh", "db"];
        for (k, name) in names.iter().enumerate() {
            close(&r[k], &f[k], if k < 3 { fwd } else { bwd }, &format!("lstm {name} {s:?}"));
        }
    }
}

/// An op the fast backend has no version of runs the reference function on the same
/// tensors: the same bits.
#[test]
fn passed_through_ops_are_bit_identical() {
    let mut rng = ChaCha8Rng::seed_from_u64(400);
    let s = PoolShape { batch: 3, channels: 5, len_in: 23, pool: 3, stride: 2, len_out: 11 };
    let x = random(&mut rng, s.batch * s.channels * s.len_in);
    let dy = random(&mut rng, s.batch * s.channels * s.len_out);
    let (param, grad) = (random(&mut rng, 37), random(&mut rng, 37));
    let cfg = AdamConfig::default();
    let (r, f) = both(&[&x, &dy, &param, &grad], &[dy.len(), x.len(), 37, 37], &|be, t| {
        let (x, dy, param, grad, y, dx, m, v) = (t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]);
        be.run(&MaxPoolForward { s, x, y }.into());
        be.run(&MaxPoolBackward { s, x, dy, dx }.into());
        be.fill(m, 0.0);
        be.fill(v, 0.0);
        be.run(&AdamStep { cfg, t: 1, param, grad, m, v }.into());
    });
    assert_eq!(r, f);
}

/// The fast backend's sums over the batch have a fixed split order: the same bits on one
/// thread as on two.
#[test]
fn fast_backend_is_independent_of_thread_count() {
    // LSTM: 37 samples run as three tasks (fastcpu::lstm splits the batch in groups of 16)
    let s = LstmShape { batch: 37, time: 11, input: 2, hidden: 7 };
    let c = conv_shape(5, 3, 6, 40, 5, true);
    let mut rng = ChaCha8Rng::seed_from_u64(500);
    let (rows, h4) = (s.batch * s.time, 4 * s.hidden);
    let inputs: Vec<Vec<f32>> = [
        rows * s.input,
        h4 * s.input,
        h4 * s.hidden,
        h4,
        rows * s.hidden,
        c.batch * c.c_in * c.len_in,
        c.c_out * c.c_in * c.kernel,
        c.c_out,
        c.batch * c.c_out * c.len_out,
    ]
    .iter()
    .map(|&len| random(&mut rng, len))
    .collect();
    let inputs: Vec<&[f32]> = inputs.iter().map(|v| v.as_slice()).collect();
    let outputs =
        [rows * s.hidden, rows * s.hidden, rows * h4, rows * s.input, h4 * s.input, h4 * s.hidden, h4];
    let conv_outputs = [c.batch * c.c_in * c.len_in, c.c_out * c.c_in * c.kernel, c.c_out];
    let outputs: Vec<usize> = outputs.iter().chain(&conv_outputs).copied().collect();
    let run = |threads| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            run_on(&mut FastCpuBackend::new(), &inputs, &outputs, &|be, t| {
                let saved = LstmTensors { h: t[9], c: t[10], gates: t[11] };
                let (x, w_ih, w_hh, b, dh) = (t[0], t[1], t[2], t[3], t[4]);
                be.run(&LstmForward { s, x, w_ih, w_hh, b, saved }.into());
                let (dx, dw_ih, dw_hh, db) = (t[12], t[13], t[14], t[15]);
                be.run(&LstmBackward { s, x, w_ih, w_hh, saved, dh, dx: Some(dx), dw_ih, dw_hh, db }.into());
                let (x, w, dy, dx, dw, db) = (t[5], t[6], t[8], t[16], t[17], t[18]);
                be.run(&Conv1dBackward { s: c, x, w, dy, dx: Some(dx), dw, db }.into());
            })
        })
    };
    assert_eq!(run(1), run(2));
}
