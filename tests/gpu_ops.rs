//! Every GPU kernel against the CPU reference backend, through the `Backend` trait, on
//! fresh random inputs and shapes that do not divide the workgroup sizes (64, and the
//! 4 x 4 tiles of conv and GEMM). GPU outputs are poisoned with NaN before each op, so an
//! element a kernel forgets to write fails the comparison.
//!
//! These tests run on lavapipe (software Vulkan) on machines without a GPU; a machine
//! with no adapter at all FAILS them with the message that says what to install.
//!
//! Tolerances: `close(cpu, gpu, tol)` accepts |gpu - cpu| <= tol * (|cpu| + rms(cpu)).
//! The rms term is the scale of the terms a reduction adds up: a different summation
//! order changes a sum by about eps * sqrt(terms) relative to that scale, not to the
//! (possibly cancelled) sum itself. We allow 1e-5 * sqrt(reduction length) for sums
//! (eps is 1.2e-7: ~100x headroom), 1e-5 for one transcendental function (WGSL exp and
//! division are a few ulp, not correctly rounded), and exact equality where no
//! arithmetic differs (copy, relu, max-pool forward, last-step selection).
//!
//! The op tests run at both storage precisions (modules `f32` and `f16` at the end). In
//! f16 both backends get the same inputs, rounded to f16 on the host (what the GPU holds),
//! so the CPU reference differs only by what the GPU rounds on the way: every value a
//! kernel stores rounds once to f16, a relative error of at most U = 2^-11 = 4.9e-4,
//! while its arithmetic and every accumulation stay f32. Each check adds to its f32
//! tolerance U times the roundings on the value's path (`Bench::tol`), counted at the check.
//! Values kept in f32 at every precision (batch-norm statistics, the loss, Adam's moments
//! and master weights) keep their f32 tolerance.

mod shapes;
use shapes::conv_shape;

use starskope::backend::{
    ActivationBackward, ActivationForward, AdamStep, BatchNormBackward, BatchNormEval, BatchNormTrain,
    Conv1dBackward, Conv1dForward, DenseBackward, DenseForward, DropoutBackward, DropoutForward,
    GlobalAvgPoolBackward, GlobalAvgPoolForward, LastStepBackward, LastStepForward, LstmBackward,
    LstmForward, MaxPoolBackward, MaxPoolForward, SigmoidBce, Softmax, SoftmaxCe,
};
use std::sync::OnceLock;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use starskope::backend::{
    Activation, AdamConfig, Backend, BatchNormConfig, ChannelShape, DenseShape, LstmShape, LstmTensors,
    PoolShape, Storage, TensorId,
};
use starskope::cpu::CpuBackend;
use starskope::gpu::{GpuBackend, GpuContext, Precision};

/// f16's unit roundoff: the largest relative error of rounding to nearest, 2^-11.
const U: f32 = 1.0 / 2048.0;

/// One device for the whole test binary: each lavapipe device starts its own threads.
fn context() -> GpuContext {
    static CONTEXT: OnceLock<Result<GpuContext, String>> = OnceLock::new();
    match CONTEXT.get_or_init(|| GpuContext::new().map_err(|e| format!("{e:#}"))) {
        Ok(ctx) => ctx.clone(),
        Err(e) => panic!("the GPU tests need a GPU adapter: {e}"),
    }
}

/// A tensor that exists on both backends.
#[derive(Clone, Copy)]
struct Pair {
    cpu: TensorId,
    gpu: TensorId,
}

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Cpu,
    Gpu,
}

impl Pair {
    fn on(self, side: Side) -> TensorId {
        match side {
            Side::Cpu => self.cpu,
            Side::Gpu => self.gpu,
        }
    }
}

/// The two backends side by side with a seeded random source.
struct Bench {
    cpu: CpuBackend,
    gpu: GpuBackend,
    rng: ChaCha8Rng,
    precision: Precision,
}

impl Bench {
    fn new(seed: u64) -> Self {
        Bench::at(seed, Precision::F32)
    }

    /// The GPU storing data at `precision`.
    fn at(seed: u64, precision: Precision) -> Self {
        let gpu = GpuBackend::with_context_precision(context(), precision)
            .unwrap_or_else(|e| panic!("the f16 tests need SHADER_F16 (lavapipe has it): {e:#}"));
        Bench { cpu: CpuBackend::new(), gpu, rng: ChaCha8Rng::seed_from_u64(seed), precision }
    }

    /// The tolerance at this precision of a check whose f32 tolerance is `f32_tol`, when
    /// the value's path stores `roundings` values in f16 (see the file's doc).
    fn tol(&self, f32_tol: f32, roundings: f32) -> f32 {
        match self.precision {
            Precision::F32 => f32_tol,
            Precision::F16 => f32_tol + roundings * U,
        }
    }

    fn values(&mut self, len: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..len).map(|_| self.rng.gen_range(lo..hi)).collect()
    }

    fn tensor(&mut self, data: &[f32]) -> Pair {
        self.tensor_as(data, Storage::Data)
    }

    /// `data` on both sides, stored on the GPU as `storage` says; `Data` values are
    /// rounded to the GPU's precision first, so that both sides compute from the same.
    fn tensor_as(&mut self, data: &[f32], storage: Storage) -> Pair {
        let data: Vec<f32> = match (storage, self.precision) {
            (Storage::Data, Precision::F16) => {
                data.iter().map(|&v| half::f16::from_f32(v).to_f32()).collect()
            }
            _ => data.to_vec(),
        };
        let pair = Pair { cpu: self.cpu.alloc(data.len()), gpu: self.gpu.alloc_as(data.len(), storage) };
        self.cpu.upload(pair.cpu, &data);
        self.gpu.upload(pair.gpu, &data);
        pair
    }

    /// Uniform in [-1, 1).
    fn input(&mut self, len: usize) -> Pair {
        let data = self.values(len, -1.0, 1.0);
        self.tensor(&data)
    }

    /// NaN on both sides, so that an unwritten element cannot pass.
    fn output(&mut self, len: usize) -> Pair {
        self.output_as(len, Storage::Data)
    }

    fn output_as(&mut self, len: usize, storage: Storage) -> Pair {
        self.tensor_as(&vec![f32::NAN; len], storage)
    }

    /// Runs the same calls on both backends.
    fn run(&mut self, op: impl Fn(&mut dyn Backend, Side)) {
        op(&mut self.cpu, Side::Cpu);
        op(&mut self.gpu, Side::Gpu);
    }

    fn get(&mut self, t: Pair) -> (Vec<f32>, Vec<f32>) {
        (self.cpu.download(t.cpu), self.gpu.download(t.gpu))
    }

    fn check(&mut self, t: Pair, tol: f32, what: &str) {
        let (cpu, gpu) = self.get(t);
        close(&cpu, &gpu, tol, what);
    }
}

fn rms(v: &[f32]) -> f32 {
    (v.iter().map(|e| e * e).sum::<f32>() / v.len().max(1) as f32).sqrt()
}

fn close(cpu: &[f32], gpu: &[f32], tol: f32, what: &str) {
    close_at_scale(cpu, gpu, tol, rms(cpu), what);
}

/// `scale`: the size of the terms that made each element (see the file's doc).
fn close_at_scale(cpu: &[f32], gpu: &[f32], tol: f32, scale: f32, what: &str) {
    assert_eq!(cpu.len(), gpu.len(), "{what}: lengths differ");
    for (i, (c, g)) in cpu.iter().zip(gpu).enumerate() {
        assert!(c.is_finite(), "{what}[{i}]: the CPU reference gave {c}");
        let ok = (g - c).abs() <= tol * (c.abs() + scale);
        assert!(ok, "{what}[{i}]: gpu {g} vs cpu {c} (tolerance {tol} relative, scale {scale})");
    }
}

/// Tolerance for sums of `terms` products.
fn sum_tol(terms: usize) -> f32 {
    1e-5 * (terms as f32).sqrt().max(1.0)
}

fn conv1d_matches_cpu(p: Precision) {
    let shapes = [
        conv_shape(2, 3, 5, 37, 5, false),
        conv_shape(3, 2, 8, 50, 11, true),
        conv_shape(1, 1, 1, 7, 3, true),
        conv_shape(2, 5, 17, 70, 4, true),
        // dw summed in slices of output positions: 6 per sample (one invocation each per
        // weight tile, then a sum per column), and 87 per sample (a workgroup tree per column)
        conv_shape(2, 2, 8, 400, 11, false),
        conv_shape(3, 1, 4, 5600, 3, true),
    ];
    for (i, s) in shapes.iter().enumerate() {
        let mut b = Bench::at(10 + i as u64, p);
        // partial weight gradients the GPU adds up: one per sample and slice of positions
        let partials = b.gpu.conv1d_scratch(s)[0].len / (s.c_out * s.c_in * s.kernel);
        if s.len_out >= 400 {
            assert!(partials > 2 * s.batch, "{s:?}: dw is not sliced ({partials} partials)");
        }
        let x = b.input(s.batch * s.c_in * s.len_in);
        let w = b.input(s.c_out * s.c_in * s.kernel);
        let bias = b.input(s.c_out);
        let y = b.output(s.batch * s.c_out * s.len_out);
        let dy = b.input(s.batch * s.c_out * s.len_out);
        let dx = b.output(s.batch * s.c_in * s.len_in);
        let dw = b.output(s.c_out * s.c_in * s.kernel);
        let db = b.output(s.c_out);
        // the first layer's variant, without dx, must still write dw and db
        let dw0 = b.output(s.c_out * s.c_in * s.kernel);
        let db0 = b.output(s.c_out);
        b.run(|be, k| {
            let s = *s;
            let [x, w, b, y, dy, dx, dw, db, dw0, db0] =
                [x, w, bias, y, dy, dx, dw, db, dw0, db0].map(|t| t.on(k));
            be.run(&Conv1dForward { s, x, w, b, y, relu: false }.into());
            be.run(&Conv1dBackward { s, x, w, dy, dx: Some(dx), dw, db }.into());
            be.run(&Conv1dBackward { s, x, w, dy, dx: None, dw: dw0, db: db0 }.into());
        });
        // f16: y, dx and db round once when stored; dw also rounds each of its partials
        // before their sum, each at most the size of dw's scale
        let (once, dw_roundings) = (1.0, 1.0 + partials as f32);
        b.check(y, b.tol(sum_tol(s.c_in * s.kernel), once), &format!("conv y {s:?}"));
        b.check(dx, b.tol(sum_tol(s.c_out * s.kernel), once), &format!("conv dx {s:?}"));
        let dw_tol = b.tol(sum_tol(s.batch * s.len_out), dw_roundings);
        b.check(dw, dw_tol, &format!("conv dw {s:?}"));
        b.check(db, b.tol(sum_tol(s.batch * s.len_out), once), &format!("conv db {s:?}"));
        b.check(dw0, dw_tol, &format!("conv dw without dx {s:?}"));
        b.check(db0, b.tol(sum_tol(s.batch * s.len_out), once), &format!("conv db without dx {s:?}"));
    }
}

/// The fused conv + bias + ReLU (one GPU kernel, no pre-activation stored) against the
/// CPU reference, which runs the conv, then ReLU in place. ReLU's
/// backward from that output, as the network runs it, must match too.
fn conv1d_relu_matches_cpu(p: Precision) {
    let shapes = [
        conv_shape(2, 3, 5, 37, 5, false),
        conv_shape(3, 2, 9, 50, 11, true),
        conv_shape(1, 1, 1, 7, 3, true),
    ];
    for (i, s) in shapes.iter().enumerate() {
        let mut b = Bench::at(90 + i as u64, p);
        let x = b.input(s.batch * s.c_in * s.len_in);
        let w = b.input(s.c_out * s.c_in * s.kernel);
        let bias = b.input(s.c_out);
        let n = s.batch * s.c_out * s.len_out;
        let (y, dy, dz) = (b.output(n), b.input(n), b.output(n));
        b.run(|be, k| {
            be.run(
                &Conv1dForward { s: *s, x: x.on(k), w: w.on(k), b: bias.on(k), y: y.on(k), relu: true }
                    .into(),
            );
            be.run(
                &ActivationBackward { f: Activation::Relu, y: y.on(k), dy: dy.on(k), dx: dz.on(k) }.into(),
            );
        });
        let (cpu, _) = b.get(y);
        let zeros = cpu.iter().filter(|v| **v == 0.0).count();
        assert!(zeros > 0 && zeros < n, "{s:?}: the ReLU must cut some outputs and pass others");
        // as conv y (f16: the output rounds once, after the ReLU selects); dz selects dy
        // by the sign of y, the same on both sides unless a sum within rounding of 0
        // flips it, which these seeded inputs do not do
        b.check(y, b.tol(sum_tol(s.c_in * s.kernel), 1.0), &format!("conv+relu y {s:?}"));
        b.check(dz, 0.0, &format!("conv+relu dz {s:?}"));
    }
}

/// A NaN input reaches, through the fused conv + ReLU, exactly the outputs whose window
/// covers it, on both backends (ReLU passes NaN through rather than clipping it to 0).
#[test]
fn conv1d_relu_propagates_nan() {
    let s = conv_shape(2, 2, 3, 20, 5, true);
    let mut b = Bench::new(95);
    let mut data = b.values(s.batch * s.c_in * s.len_in, -1.0, 1.0);
    data[s.c_in * s.len_in + 7] = f32::NAN; // sample 1, channel 0, position 7
    let x = b.tensor(&data);
    let w = b.input(s.c_out * s.c_in * s.kernel);
    let bias = b.input(s.c_out);
    let y = b.output(s.batch * s.c_out * s.len_out);
    b.run(|be, k| {
        be.run(&Conv1dForward { s, x: x.on(k), w: w.on(k), b: bias.on(k), y: y.on(k), relu: true }.into())
    });
    let (cpu, gpu) = b.get(y);
    // sample 1, every filter, positions 5..=9 (those whose 5-tap window, centred, has 7)
    let expected: Vec<usize> =
        (0..s.c_out).flat_map(|o| (5..=9).map(move |t| (s.c_out + o) * s.len_out + t)).collect();
    for (side, out) in [("cpu", &cpu), ("gpu", &gpu)] {
        let nans: Vec<usize> = (0..out.len()).filter(|i| out[*i].is_nan()).collect();
        assert_eq!(nans, expected, "NaN outputs on {side}");
    }
}

fn pool_shape(batch: usize, channels: usize, len_in: usize, pool: usize, stride: usize) -> PoolShape {
    PoolShape { batch, channels, len_in, pool, stride, len_out: (len_in - pool) / stride + 1 }
}

fn maxpool_matches_cpu(p: Precision) {
    // the seed CNN's pool 2 stride 4 (gaps), overlapping windows, and pool == stride
    let shapes = [
        pool_shape(2, 3, 23, 2, 4),
        pool_shape(2, 3, 30, 3, 2),
        pool_shape(1, 2, 17, 4, 4),
        pool_shape(3, 5, 65, 5, 1),
    ];
    for (i, s) in shapes.iter().enumerate() {
        let mut b = Bench::at(20 + i as u64, p);
        // a coarse grid of values makes ties, which must go to the first position
        let data: Vec<f32> =
            b.values(s.batch * s.channels * s.len_in, -4.0, 4.0).iter().map(|v| v.round()).collect();
        let x = b.tensor(&data);
        let y = b.output(s.batch * s.channels * s.len_out);
        let dy = b.input(s.batch * s.channels * s.len_out);
        let dx = b.output(s.batch * s.channels * s.len_in);
        b.run(|be, k| {
            be.run(&MaxPoolForward { s: *s, x: x.on(k), y: y.on(k) }.into());
            be.run(&MaxPoolBackward { s: *s, x: x.on(k), dy: dy.on(k), dx: dx.on(k) }.into());
        });
        // a selection: exact at any precision
        b.check(y, 0.0, &format!("maxpool y {s:?}"));
        // overlapping windows add up to pool / stride gradients per element, stored once
        b.check(dx, b.tol(sum_tol(s.pool), 1.0), &format!("maxpool dx {s:?}"));
    }
}

fn batchnorm_matches_cpu(p: Precision) {
    let shapes = [
        ChannelShape { batch: 4, channels: 3, len: 17 },
        ChannelShape { batch: 2, channels: 5, len: 1 },
        ChannelShape { batch: 3, channels: 2, len: 70 },
    ];
    for (i, s) in shapes.iter().enumerate() {
        for cfg in [BatchNormConfig::KERAS, BatchNormConfig::PYTORCH] {
            let mut b = Bench::at(30 + i as u64, p);
            let n = s.batch * s.channels * s.len;
            // an offset and scale per run so that the statistics are not trivially 0 and 1
            let data: Vec<f32> = b.values(n, -1.0, 1.0).iter().map(|v| 3.0 * v + 0.5).collect();
            let x = b.tensor(&data);
            let gamma = b.input(s.channels);
            let beta = b.input(s.channels);
            // the statistics are f32 at every precision
            let mean_data = b.values(s.channels, -1.0, 1.0);
            let running_mean = b.tensor_as(&mean_data, Storage::F32);
            let var: Vec<f32> = b.values(s.channels, 0.5, 2.0);
            let running_var = b.tensor_as(&var, Storage::F32);
            let y = b.output(n);
            let y_eval = b.output(n);
            let mean = b.output_as(s.channels, Storage::F32);
            let inv_std = b.output_as(s.channels, Storage::F32);
            let dy = b.input(n);
            let dx = b.output(n);
            let dgamma = b.output(s.channels);
            let dbeta = b.output(s.channels);
            let dx_const = b.output(n);
            let dgamma_const = b.output(s.channels);
            let dbeta_const = b.output(s.channels);
            b.run(|be, k| {
                let s = *s;
                let [x, gamma, beta, running_mean, running_var, y, y_eval, mean, inv_std] =
                    [x, gamma, beta, running_mean, running_var, y, y_eval, mean, inv_std].map(|t| t.on(k));
                let [dy, dx, dgamma, dbeta, dx_const, dgamma_const, dbeta_const] =
                    [dy, dx, dgamma, dbeta, dx_const, dgamma_const, dbeta_const].map(|t| t.on(k));
                let train =
                    BatchNormTrain { s, cfg, x, gamma, beta, running_mean, running_var, y, mean, inv_std };
                be.run(&train.into());
                be.run(
                    &BatchNormEval { s, cfg, x, gamma, beta, running_mean, running_var, y: y_eval }.into(),
                );
                let backward = BatchNormBackward {
                    s,
                    batch_stats: true,
                    x,
                    gamma,
                    mean,
                    inv_std,
                    dy,
                    dx,
                    dgamma,
                    dbeta,
                };
                be.run(&backward.into());
                let constant = BatchNormBackward {
                    batch_stats: false,
                    dx: dx_const,
                    dgamma: dgamma_const,
                    dbeta: dbeta_const,
                    ..backward
                };
                be.run(&constant.into());
            });
            let m = s.batch * s.len;
            let what = |t: &str| format!("batchnorm {t} {s:?} eps {}", cfg.eps);
            // f16: the statistics are computed in f32 from the same inputs, so they keep
            // the f32 tolerance; y, dgamma, dbeta and dx round once when stored, and dx
            // with batch statistics also reads dgamma and dbeta rounded
            let once = b.tol(sum_tol(m), 1.0);
            b.check(mean, sum_tol(m), &what("mean"));
            b.check(inv_std, sum_tol(m), &what("inv_std"));
            b.check(running_mean, sum_tol(m), &what("running_mean"));
            b.check(running_var, sum_tol(m), &what("running_var"));
            b.check(y, once, &what("y"));
            b.check(y_eval, once, &what("y eval"));
            b.check(dgamma, once, &what("dgamma"));
            b.check(dbeta, once, &what("dbeta"));
            // dx with batch statistics is a difference of terms of size dy gamma inv_std
            // (= dx without them) that cancel exactly when batch * len is 2
            let (dx_const_cpu, dx_const_gpu) = b.get(dx_const);
            close(&dx_const_cpu, &dx_const_gpu, once, &what("dx without batch statistics"));
            let (dx_cpu, dx_gpu) = b.get(dx);
            let dx_tol = b.tol(sum_tol(m), 3.0);
            close_at_scale(&dx_cpu, &dx_gpu, dx_tol, rms(&dx_const_cpu), &what("dx"));
            b.check(dgamma_const, once, &what("dgamma without batch statistics"));
            b.check(dbeta_const, once, &what("dbeta without batch statistics"));
        }
    }
}

fn lstm_matches_cpu(p: Precision) {
    let shapes = [
        LstmShape { batch: 2, time: 5, input: 3, hidden: 4 },
        LstmShape { batch: 3, time: 7, input: 2, hidden: 9 },
        // more hidden units than invocations per workgroup (64)
        LstmShape { batch: 2, time: 4, input: 5, hidden: 70 },
        // 1,200 rows of k in the weight gradients: summed in slices (src/gpu/dense.rs)
        LstmShape { batch: 3, time: 400, input: 3, hidden: 4 },
        // the persistent kernels' W_hh on chip: whole (hidden 1), in part with the rest
        // read from storage (lavapipe's 32 KiB hold 23 of 64 rows at f32, 14 of 100, 11
        // of 128; twice as many at f16)
        LstmShape { batch: 3, time: 5, input: 2, hidden: 1 },
        LstmShape { batch: 5, time: 3, input: 3, hidden: 64 },
        LstmShape { batch: 3, time: 3, input: 5, hidden: 100 },
        LstmShape { batch: 1, time: 5, input: 3, hidden: 128 },
        // more rows than workgroups wanted (128): 2 rows a workgroup, the last one half
        LstmShape { batch: 131, time: 3, input: 2, hidden: 64 },
        LstmShape { batch: 129, time: 3, input: 1, hidden: 128 },
    ];
    for (i, s) in shapes.iter().enumerate() {
        let mut b = Bench::at(40 + i as u64, p);
        let sliced = b.gpu.lstm_scratch(s).iter().any(|t| t.purpose.contains("slice of k"));
        assert_eq!(sliced, s.time == 400, "{s:?}: weight gradients sliced: {sliced}");
        let (n, t, h4) = (s.batch, s.time, 4 * s.hidden);
        let x = b.input(n * t * s.input);
        let w_ih = b.input(h4 * s.input);
        let w_hh = b.input(h4 * s.hidden);
        let bias = b.input(h4);
        let saved_pair = [b.output(n * t * s.hidden), b.output(n * t * s.hidden), b.output(n * t * h4)];
        let saved = |k: Side| LstmTensors {
            h: saved_pair[0].on(k),
            c: saved_pair[1].on(k),
            gates: saved_pair[2].on(k),
        };
        let dh = b.input(n * t * s.hidden);
        let dx = b.output(n * t * s.input);
        let dw_ih = b.output(h4 * s.input);
        let dw_hh = b.output(h4 * s.hidden);
        let db = b.output(h4);
        let last = b.output(n * s.hidden);
        let dlast = b.input(n * s.hidden);
        let dh_last = b.output(n * t * s.hidden);
        b.run(|be, k| {
            be.run(
                &LstmForward {
                    s: *s,
                    x: x.on(k),
                    w_ih: w_ih.on(k),
                    w_hh: w_hh.on(k),
                    b: bias.on(k),
                    saved: saved(k),
                }
                .into(),
            );
            let (wi, wh) = (w_ih.on(k), w_hh.on(k));
            be.run(
                &LstmBackward {
                    s: *s,
                    x: x.on(k),
                    w_ih: wi,
                    w_hh: wh,
                    saved: saved(k),
                    dh: dh.on(k),
                    dx: Some(dx.on(k)),
                    dw_ih: dw_ih.on(k),
                    dw_hh: dw_hh.on(k),
                    db: db.on(k),
                }
                .into(),
            );
            be.run(&LastStepForward { s: *s, h: saved(k).h, y: last.on(k) }.into());
            be.run(&LastStepBackward { s: *s, dy: dlast.on(k), dh: dh_last.on(k) }.into());
        });
        // errors compound through the recurrence: a sum over the hidden units per step,
        // carried over `time` steps
        // f16: every step's input projection rounds once when stored and its error is
        // carried on through the cell state (f <= 1 does not amplify it), and h, c and the
        // gates round once more: 2 + time roundings forward. The backward pass reads the
        // rounded gates and c, whose errors the gate derivatives amplify by up to 2, and
        // the dW GEMMs read the rounded dgates and h_{t-1}: 2 * forward + 2. Measured worst
        // over these shapes: 1.6 U forward (gates), 7.3 U backward (dw_hh, time 4: tol 14 U).
        let fwd_roundings = 2.0 + s.time as f32;
        let fwd = b.tol(sum_tol(s.hidden + s.input) * 4.0, fwd_roundings);
        let bwd = b.tol(sum_tol(s.batch * s.time * (s.hidden + s.input)) * 4.0, 2.0 * fwd_roundings + 2.0);
        let what = |t: &str| format!("lstm {t} {s:?}");
        b.check(saved_pair[0], fwd, &what("h"));
        b.check(saved_pair[1], fwd, &what("c"));
        b.check(saved_pair[2], fwd, &what("gates"));
        b.check(dx, bwd, &what("dx"));
        b.check(dw_ih, bwd, &what("dw_ih"));
        b.check(dw_hh, bwd, &what("dw_hh"));
        b.check(db, bwd, &what("db"));
        b.check(last, fwd, &what("last step"));
        b.check(dh_last, 0.0, &what("last step backward"));
    }
}

fn dense_matches_cpu(p: Precision) {
    let shapes = [
        DenseShape { batch: 5, input: 7, output: 3 },
        DenseShape { batch: 33, input: 17, output: 9 },
        DenseShape { batch: 1, input: 1, output: 1 },
        DenseShape { batch: 4, input: 64, output: 65 },
    ];
    for (i, s) in shapes.iter().enumerate() {
        let mut b = Bench::at(50 + i as u64, p);
        let x = b.input(s.batch * s.input);
        let w = b.input(s.output * s.input);
        let bias = b.input(s.output);
        let y = b.output(s.batch * s.output);
        let dy = b.input(s.batch * s.output);
        let dx = b.output(s.batch * s.input);
        let dw = b.output(s.output * s.input);
        let db = b.output(s.output);
        let dw0 = b.output(s.output * s.input);
        let db0 = b.output(s.output);
        b.run(|be, k| {
            let s = *s;
            let [x, w, b, y, dy, dx, dw, db, dw0, db0] =
                [x, w, bias, y, dy, dx, dw, db, dw0, db0].map(|t| t.on(k));
            be.run(&DenseForward { s, x, w, b, y }.into());
            be.run(&DenseBackward { s, x, w, dy, dx: Some(dx), dw, db }.into());
            be.run(&DenseBackward { s, x, w, dy, dx: None, dw: dw0, db: db0 }.into());
        });
        // f16: every output is one f32 sum, rounded once when stored
        let once = |b: &Bench, terms: usize| b.tol(sum_tol(terms), 1.0);
        b.check(y, once(&b, s.input), &format!("dense y {s:?}"));
        b.check(dx, once(&b, s.output), &format!("dense dx {s:?}"));
        b.check(dw, once(&b, s.batch), &format!("dense dw {s:?}"));
        b.check(db, once(&b, s.batch), &format!("dense db {s:?}"));
        b.check(dw0, once(&b, s.batch), &format!("dense dw without dx {s:?}"));
        b.check(db0, once(&b, s.batch), &format!("dense db without dx {s:?}"));
    }
}

fn activations_match_cpu_also_in_place(p: Precision) {
    for (i, f) in [Activation::Relu, Activation::Sigmoid, Activation::Tanh].into_iter().enumerate() {
        let mut b = Bench::at(60 + i as u64, p);
        let n = 1001;
        // wide enough to reach sigmoid's and tanh's saturation
        let data = b.values(n, -30.0, 30.0);
        let x = b.tensor(&data);
        let y = b.output(n);
        let dy = b.input(n);
        let dx = b.output(n);
        let inplace = b.tensor(&data);
        let dy_inplace = b.input(n);
        b.run(|be, k| {
            be.run(&ActivationForward { f, x: x.on(k), y: y.on(k) }.into());
            be.run(&ActivationBackward { f, y: y.on(k), dy: dy.on(k), dx: dx.on(k) }.into());
            be.run(&ActivationForward { f, x: inplace.on(k), y: inplace.on(k) }.into());
            be.run(
                &ActivationBackward { f, y: inplace.on(k), dy: dy_inplace.on(k), dx: dy_inplace.on(k) }
                    .into(),
            );
        });
        // relu selects: exact at any precision (the inputs are already f16 in f16)
        if f == Activation::Relu {
            for (t, what) in
                [(y, "forward"), (dx, "backward"), (inplace, "in place"), (dy_inplace, "dx in place")]
            {
                b.check(t, 0.0, &format!("{f:?} {what}"));
            }
            continue;
        }
        // f16: the forward output rounds once; the backward reads that rounded y, whose
        // error U |y| <= U moves the slope (sigmoid y(1-y), tanh 1-y^2; slope' at most 2)
        // by at most 2U, times |dy| <= 1, and rounds its own output: 3U at the scale of dy
        let backward_scale = |b: &Bench, cpu: &[f32]| match b.precision {
            Precision::F32 => rms(cpu),
            Precision::F16 => rms(cpu).max(1.0),
        };
        b.check(y, b.tol(1e-5, 1.0), &format!("{f:?} forward"));
        b.check(inplace, b.tol(1e-5, 1.0), &format!("{f:?} forward in place"));
        for (t, what) in [(dx, "backward"), (dy_inplace, "backward in place")] {
            let (cpu, gpu) = b.get(t);
            close_at_scale(&cpu, &gpu, b.tol(1e-5, 3.0), backward_scale(&b, &cpu), &format!("{f:?} {what}"));
        }
    }
}

fn dropout_masks_are_bit_identical_to_cpu(p: Precision) {
    for (i, rate) in [0.25f32, 0.5, 0.9].into_iter().enumerate() {
        let mut b = Bench::at(70 + i as u64, p);
        let n = 2049;
        let key = 0x9E37_79B9 ^ i as u32;
        // no zeros in the input: a zero output then means "dropped"
        let data: Vec<f32> = b.values(n, 0.5, 1.5).to_vec();
        let x = b.tensor(&data);
        let y = b.output(n);
        let dy = b.tensor(&data);
        let dx = b.output(n);
        let inplace = b.tensor(&data);
        b.run(|be, k| {
            be.run(&DropoutForward { rate, key, x: x.on(k), y: y.on(k) }.into());
            be.run(&DropoutBackward { rate, key, dy: dy.on(k), dx: dx.on(k) }.into());
            be.run(&DropoutForward { rate, key, x: inplace.on(k), y: inplace.on(k) }.into());
        });
        for (t, what) in [(y, "forward"), (dx, "backward"), (inplace, "in place")] {
            let (cpu, gpu) = b.get(t);
            let mask = |v: &[f32]| v.iter().map(|&e| e != 0.0).collect::<Vec<_>>();
            assert_eq!(mask(&cpu), mask(&gpu), "dropout {what} rate {rate}: masks differ");
            // x / (1 - rate): Vulkan's division is within 2.5 ulp, not correctly rounded
            // f16: x / (1 - rate) rounds once when stored
            close(&cpu, &gpu, b.tol(1e-6, 1.0), &format!("dropout {what} rate {rate}"));
        }
    }
}

fn global_avg_pool_matches_cpu(p: Precision) {
    let shapes =
        [ChannelShape { batch: 3, channels: 5, len: 17 }, ChannelShape { batch: 2, channels: 40, len: 1 }];
    for (i, s) in shapes.iter().enumerate() {
        let mut b = Bench::at(80 + i as u64, p);
        let x = b.input(s.batch * s.channels * s.len);
        let y = b.output(s.batch * s.channels);
        let dy = b.input(s.batch * s.channels);
        let dx = b.output(s.batch * s.channels * s.len);
        b.run(|be, k| {
            be.run(&GlobalAvgPoolForward { s: *s, x: x.on(k), y: y.on(k) }.into());
            be.run(&GlobalAvgPoolBackward { s: *s, dy: dy.on(k), dx: dx.on(k) }.into());
        });
        b.check(y, b.tol(sum_tol(s.len), 1.0), &format!("gap y {s:?}"));
        b.check(dx, b.tol(1e-6, 1.0), &format!("gap dx {s:?}"));
    }
}

fn loss_heads_match_cpu(p: Precision) {
    // 70 rows: more than the 64 invocations of the one loss workgroup
    for (i, batch) in [1usize, 7, 70].into_iter().enumerate() {
        let mut b = Bench::at(90 + i as u64, p);
        let logits_data = b.values(batch, -8.0, 8.0);
        let logits = b.tensor(&logits_data);
        let targets_data: Vec<f32> = (0..batch).map(|_| f32::from(b.rng.gen_bool(0.5))).collect();
        let targets = b.tensor(&targets_data);
        let weights_data = b.values(batch, 0.5, 2.0);
        let weights = b.tensor(&weights_data);
        // the loss is f32 at every precision
        let (probs, loss, dlogits) = (b.output(batch), b.output_as(1, Storage::F32), b.output(batch));
        b.run(|be, k| {
            be.run(
                &SigmoidBce {
                    batch,
                    logits: logits.on(k),
                    targets: targets.on(k),
                    weights: weights.on(k),
                    probs: probs.on(k),
                    loss: loss.on(k),
                    dlogits: dlogits.on(k),
                }
                .into(),
            );
        });
        // f16: probabilities and gradients round once when stored; the f32 loss is computed
        // from the same inputs
        b.check(probs, b.tol(1e-5, 1.0), &format!("sigmoid_bce probs batch {batch}"));
        b.check(dlogits, b.tol(1e-5, 1.0), &format!("sigmoid_bce dlogits batch {batch}"));
        b.check(loss, sum_tol(batch), &format!("sigmoid_bce loss batch {batch}"));

        let classes = 3 + i;
        let logits_data = b.values(batch * classes, -8.0, 8.0);
        let logits = b.tensor(&logits_data);
        let labels_data: Vec<f32> = (0..batch).map(|_| b.rng.gen_range(0..classes) as f32).collect();
        let labels = b.tensor(&labels_data);
        let loss = b.output_as(1, Storage::F32);
        let (probs, dlogits) = (b.output(batch * classes), b.output(batch * classes));
        let probs_only = b.output(batch * classes);
        b.run(|be, k| {
            let (l, lb, w) = (logits.on(k), labels.on(k), weights.on(k));
            be.run(
                &SoftmaxCe {
                    batch,
                    classes,
                    logits: l,
                    labels: lb,
                    weights: w,
                    probs: probs.on(k),
                    loss: loss.on(k),
                    dlogits: dlogits.on(k),
                }
                .into(),
            );
            be.run(&Softmax { batch, classes, logits: l, probs: probs_only.on(k) }.into());
        });
        let tol = b.tol(sum_tol(classes), 1.0);
        b.check(probs, tol, &format!("softmax_ce probs batch {batch}"));
        b.check(dlogits, tol, &format!("softmax_ce dlogits batch {batch}"));
        b.check(loss, sum_tol(batch * classes), &format!("softmax_ce loss batch {batch}"));
        b.check(probs_only, tol, &format!("softmax_forward batch {batch}"));
    }
}

fn adam_matches_cpu_over_steps(p: Precision) {
    let mut b = Bench::at(100, p);
    let n = 333;
    // f16: the parameter has an f32 master, the moments are f32 and the gradients are
    // rounded on both sides, so everything Adam computes stays f32: the f32 tolerance
    let init = b.values(n, -1.0, 1.0);
    let param = b.tensor_as(&init, Storage::Param);
    let (m, v) = (b.tensor_as(&vec![0.0; n], Storage::F32), b.tensor_as(&vec![0.0; n], Storage::F32));
    let cfg = AdamConfig { lr: 1e-2, ..AdamConfig::default() };
    for t in 1..=7u32 {
        let grad = b.input(n);
        b.run(|be, k| {
            be.run(&AdamStep { cfg, t, param: param.on(k), grad: grad.on(k), m: m.on(k), v: v.on(k) }.into())
        });
    }
    b.check(m, 1e-5, "adam m");
    b.check(v, 1e-5, "adam v");
    b.check(param, 1e-5, "adam param");
}

fn fill_copy_add_assign_match_cpu(p: Precision) {
    let mut b = Bench::at(110, p);
    let n = 130;
    let (src, dst, filled, doubled) = (b.input(n), b.input(n), b.output(n), b.input(n));
    let copied = b.output(n);
    b.run(|be, k| {
        be.fill(filled.on(k), 2.5);
        be.copy(src.on(k), copied.on(k));
        be.add_assign(dst.on(k), src.on(k));
        be.add_assign(doubled.on(k), doubled.on(k));
    });
    b.check(filled, 0.0, "fill");
    b.check(copied, 0.0, "copy");
    // f16: the sums round once when stored (doubling is exact)
    b.check(dst, b.tol(0.0, 1.0), "add_assign");
    b.check(doubled, 0.0, "add_assign onto itself");
}

/// More dispatches in one submission than the params arena first holds: it must grow
/// (and the bind groups that named the old arena must not be reused).
#[test]
fn one_submission_of_many_ops() {
    let mut b = Bench::new(120);
    let n = 70;
    let (acc, step) = (b.input(n), b.input(n));
    b.run(|be, k| {
        for _ in 0..300 {
            be.add_assign(acc.on(k), step.on(k));
        }
        be.flush();
    });
    b.check(acc, 1e-5 * 300.0, "300 add_assign in one submission");
}

/// A step whose per-step values change (Adam's t, the dropout key) reuses every bind group.
#[test]
fn repeated_step_creates_no_bind_group() {
    let mut b = Bench::new(125);
    let s = DenseShape { batch: 6, input: 5, output: 3 };
    let (x, w, bias, y) = (b.input(30), b.input(15), b.input(3), b.output(18));
    let (dw, db, m, v) = (b.output(15), b.output(3), b.output(15), b.output(15));
    let g = &mut b.gpu;
    g.fill(m.gpu, 0.0);
    g.fill(v.gpu, 0.0);
    let mut step = |t: u32| {
        g.run(&DenseForward { s, x: x.gpu, w: w.gpu, b: bias.gpu, y: y.gpu }.into());
        g.run(&DropoutForward { rate: 0.5, key: t * 7919, x: y.gpu, y: y.gpu }.into());
        g.run(&DenseBackward { s, x: x.gpu, w: w.gpu, dy: y.gpu, dx: None, dw: dw.gpu, db: db.gpu }.into());
        g.run(
            &AdamStep { cfg: AdamConfig::default(), t, param: w.gpu, grad: dw.gpu, m: m.gpu, v: v.gpu }
                .into(),
        );
        g.flush();
        g.bind_groups_created()
    };
    let after_first = step(1);
    for t in 2..5 {
        assert_eq!(step(t), after_first, "step {t} created bind groups");
    }
}

/// The same ops on the same inputs give the same bits (no atomics, fixed reduction order).
#[test]
fn gpu_results_are_deterministic() {
    let run = || {
        let mut b = Bench::new(130);
        let s = conv_shape(2, 3, 6, 40, 5, true);
        let cs = ChannelShape { batch: 2, channels: 6, len: 40 };
        let x = b.input(s.batch * s.c_in * s.len_in);
        let w = b.input(s.c_out * s.c_in * s.kernel);
        let bias = b.input(s.c_out);
        let y = b.output(cs.batch * cs.channels * cs.len);
        let (gamma, beta, rm, rv) = (b.input(6), b.input(6), b.input(6), b.tensor(&[1.0; 6]));
        let (z, mean, inv_std) = (b.output(y_len(&cs)), b.output(6), b.output(6));
        let (dx, dw, db, dg, dbeta, dz) =
            (b.output(80 * 3), b.output(90), b.output(6), b.output(6), b.output(6), b.output(y_len(&cs)));
        let dy = b.input(y_len(&cs));
        let g = &mut b.gpu;
        let cfg = BatchNormConfig::KERAS;
        g.run(&Conv1dForward { s, x: x.gpu, w: w.gpu, b: bias.gpu, y: y.gpu, relu: false }.into());
        g.run(
            &BatchNormTrain {
                s: cs,
                cfg,
                x: y.gpu,
                gamma: gamma.gpu,
                beta: beta.gpu,
                running_mean: rm.gpu,
                running_var: rv.gpu,
                y: z.gpu,
                mean: mean.gpu,
                inv_std: inv_std.gpu,
            }
            .into(),
        );
        g.run(
            &BatchNormBackward {
                s: cs,
                batch_stats: true,
                x: y.gpu,
                gamma: gamma.gpu,
                mean: mean.gpu,
                inv_std: inv_std.gpu,
                dy: dy.gpu,
                dx: dz.gpu,
                dgamma: dg.gpu,
                dbeta: dbeta.gpu,
            }
            .into(),
        );
        g.run(
            &Conv1dBackward { s, x: x.gpu, w: w.gpu, dy: dz.gpu, dx: Some(dx.gpu), dw: dw.gpu, db: db.gpu }
                .into(),
        );
        [z, dx, dw, db, dg, dbeta, rv].map(|t| b.gpu.download(t.gpu))
    };
    let (first, second) = (run(), run());
    for (a, b) in first.iter().zip(&second) {
        let bits = |v: &[f32]| v.iter().map(|e| e.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(a), bits(b), "two runs differ");
    }
}

fn y_len(s: &ChannelShape) -> usize {
    s.batch * s.channels * s.len
}

#[test]
fn oversized_tensor_is_an_error_at_alloc() {
    let mut g = GpuBackend::with_context(context());
    // larger than one binding is fine (tests/gpu_split.rs); larger than a buffer is not
    let too_many = usize::try_from(context().limits.max_buffer_size / 4 + 1).expect("fits");
    let err = g.try_alloc(too_many).expect_err("a tensor larger than the largest buffer");
    assert!(err.to_string().contains("exceeds this device's largest buffer"), "{err}");
}

/// A NaN reaching an activation stays NaN on both backends, so a diverged run reaches
/// the numerical guard instead of being clipped to a finite value (ReLU as max(x, 0)
/// turned NaN into 0 on lavapipe).
#[test]
fn activations_propagate_nan() {
    let data = [f32::NAN, -1.5, 2.0, -f32::NAN, 0.0, -0.0, 3.0, f32::NAN];
    for f in [Activation::Relu, Activation::Sigmoid, Activation::Tanh] {
        let mut b = Bench::new(80);
        let x = b.tensor(&data);
        let y = b.tensor(&[7.0; 8]);
        b.run(|be, k| be.run(&ActivationForward { f, x: x.on(k), y: y.on(k) }.into()));
        let (cpu, gpu) = b.get(y);
        for (side, out) in [("cpu", &cpu), ("gpu", &gpu)] {
            for (i, (v, o)) in data.iter().zip(out.iter()).enumerate() {
                assert_eq!(v.is_nan(), o.is_nan(), "{f:?} on {side}: f({v}) = {o} at {i}");
            }
        }
    }
}

/// Each op test above at both storage precisions.
macro_rules! at_both_precisions {
    ($($name:ident),* $(,)?) => {
        mod f32 {
            $(#[test]
            fn $name() {
                super::$name(super::Precision::F32);
            })*
        }
        mod f16 {
            $(#[test]
            fn $name() {
                super::$name(super::Precision::F16);
            })*
        }
    };
}

at_both_precisions!(
    conv1d_matches_cpu,
    conv1d_relu_matches_cpu,
    maxpool_matches_cpu,
    batchnorm_matches_cpu,
    lstm_matches_cpu,
    dense_matches_cpu,
    activations_match_cpu_also_in_place,
    dropout_masks_are_bit_identical_to_cpu,
    global_avg_pool_matches_cpu,
    loss_heads_match_cpu,
    adam_matches_cpu_over_steps,
    fill_copy_add_assign_match_cpu,
);
