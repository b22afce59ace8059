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

use std::sync::OnceLock;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use starskope::backend::{
    Activation, AdamConfig, Backend, BatchNormConfig, ChannelShape, Conv1dShape, DenseShape, LstmShape,
    LstmTensors, PoolShape, TensorId,
};
use starskope::cpu::CpuBackend;
use starskope::gpu::{GpuBackend, GpuContext};

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
}

impl Bench {
    fn new(seed: u64) -> Self {
        Bench {
            cpu: CpuBackend::new(),
            gpu: GpuBackend::with_context(context()),
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    fn values(&mut self, len: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..len).map(|_| self.rng.gen_range(lo..hi)).collect()
    }

    fn tensor(&mut self, data: &[f32]) -> Pair {
        let pair = Pair { cpu: self.cpu.alloc(data.len()), gpu: self.gpu.alloc(data.len()) };
        self.cpu.upload(pair.cpu, data);
        self.gpu.upload(pair.gpu, data);
        pair
    }

    /// Uniform in [-1, 1).
    fn input(&mut self, len: usize) -> Pair {
        let data = self.values(len, -1.0, 1.0);
        self.tensor(&data)
    }

    /// NaN on both sides, so that an unwritten element cannot pass.
    fn output(&mut self, len: usize) -> Pair {
        self.tensor(&vec![f32::NAN; len])
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

fn conv_shape(
    batch: usize,
    c_in: usize,
    c_out: usize,
    len_in: usize,
    kernel: usize,
    same: bool,
) -> Conv1dShape {
    let (pad_left, len_out) = if same { ((kernel - 1) / 2, len_in) } else { (0, len_in - kernel + 1) };
    Conv1dShape { batch, c_in, c_out, len_in, kernel, pad_left, len_out }
}

#[test]
fn conv1d_matches_cpu() {
    let shapes = [
        conv_shape(2, 3, 5, 37, 5, false),
        conv_shape(3, 2, 8, 50, 11, true),
        conv_shape(1, 1, 1, 7, 3, true),
        conv_shape(2, 5, 17, 70, 4, true),
    ];
    for (i, s) in shapes.iter().enumerate() {
        let mut b = Bench::new(10 + i as u64);
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
            be.conv1d_forward(s, x.on(k), w.on(k), bias.on(k), y.on(k));
            be.conv1d_backward(s, x.on(k), w.on(k), dy.on(k), Some(dx.on(k)), dw.on(k), db.on(k));
            be.conv1d_backward(s, x.on(k), w.on(k), dy.on(k), None, dw0.on(k), db0.on(k));
        });
        b.check(y, sum_tol(s.c_in * s.kernel), &format!("conv y {s:?}"));
        b.check(dx, sum_tol(s.c_out * s.kernel), &format!("conv dx {s:?}"));
        b.check(dw, sum_tol(s.batch * s.len_out), &format!("conv dw {s:?}"));
        b.check(db, sum_tol(s.batch * s.len_out), &format!("conv db {s:?}"));
        b.check(dw0, sum_tol(s.batch * s.len_out), &format!("conv dw without dx {s:?}"));
        b.check(db0, sum_tol(s.batch * s.len_out), &format!("conv db without dx {s:?}"));
    }
}

fn pool_shape(batch: usize, channels: usize, len_in: usize, pool: usize, stride: usize) -> PoolShape {
    PoolShape { batch, channels, len_in, pool, stride, len_out: (len_in - pool) / stride + 1 }
}

#[test]
fn maxpool_matches_cpu() {
    // the seed CNN's pool 2 stride 4 (gaps), overlapping windows, and pool == stride
    let shapes = [
        pool_shape(2, 3, 23, 2, 4),
        pool_shape(2, 3, 30, 3, 2),
        pool_shape(1, 2, 17, 4, 4),
        pool_shape(3, 5, 65, 5, 1),
    ];
    for (i, s) in shapes.iter().enumerate() {
        let mut b = Bench::new(20 + i as u64);
        // a coarse grid of values makes ties, which must go to the first position
        let data: Vec<f32> =
            b.values(s.batch * s.channels * s.len_in, -4.0, 4.0).iter().map(|v| v.round()).collect();
        let x = b.tensor(&data);
        let y = b.output(s.batch * s.channels * s.len_out);
        let dy = b.input(s.batch * s.channels * s.len_out);
        let dx = b.output(s.batch * s.channels * s.len_in);
        b.run(|be, k| {
            be.maxpool_forward(s, x.on(k), y.on(k));
            be.maxpool_backward(s, x.on(k), dy.on(k), dx.on(k));
        });
        b.check(y, 0.0, &format!("maxpool y {s:?}"));
        // overlapping windows add up to pool / stride gradients per element
        b.check(dx, sum_tol(s.pool), &format!("maxpool dx {s:?}"));
    }
}

#[test]
fn batchnorm_matches_cpu() {
    let shapes = [
        ChannelShape { batch: 4, channels: 3, len: 17 },
        ChannelShape { batch: 2, channels: 5, len: 1 },
        ChannelShape { batch: 3, channels: 2, len: 70 },
    ];
    for (i, s) in shapes.iter().enumerate() {
        for cfg in [BatchNormConfig::KERAS, BatchNormConfig::PYTORCH] {
            let mut b = Bench::new(30 + i as u64);
            let n = s.batch * s.channels * s.len;
            // an offset and scale per run so that the statistics are not trivially 0 and 1
            let data: Vec<f32> = b.values(n, -1.0, 1.0).iter().map(|v| 3.0 * v + 0.5).collect();
            let x = b.tensor(&data);
            let gamma = b.input(s.channels);
            let beta = b.input(s.channels);
            let running_mean = b.input(s.channels);
            let var: Vec<f32> = b.values(s.channels, 0.5, 2.0);
            let running_var = b.tensor(&var);
            let y = b.output(n);
            let y_eval = b.output(n);
            let mean = b.output(s.channels);
            let inv_std = b.output(s.channels);
            let dy = b.input(n);
            let dx = b.output(n);
            let dgamma = b.output(s.channels);
            let dbeta = b.output(s.channels);
            let dx_const = b.output(n);
            let dgamma_const = b.output(s.channels);
            let dbeta_const = b.output(s.channels);
            b.run(|be, k| {
                let (rm, rv) = (running_mean.on(k), running_var.on(k));
                be.batchnorm_forward_train(
                    s,
                    &cfg,
                    x.on(k),
                    gamma.on(k),
                    beta.on(k),
                    rm,
                    rv,
                    y.on(k),
                    mean.on(k),
                    inv_std.on(k),
                );
                be.batchnorm_forward_eval(s, &cfg, x.on(k), gamma.on(k), beta.on(k), rm, rv, y_eval.on(k));
                let (g, m, is) = (gamma.on(k), mean.on(k), inv_std.on(k));
                be.batchnorm_backward(
                    s,
                    true,
                    x.on(k),
                    g,
                    m,
                    is,
                    dy.on(k),
                    dx.on(k),
                    dgamma.on(k),
                    dbeta.on(k),
                );
                let (dxc, dgc, dbc) = (dx_const.on(k), dgamma_const.on(k), dbeta_const.on(k));
                be.batchnorm_backward(s, false, x.on(k), g, m, is, dy.on(k), dxc, dgc, dbc);
            });
            let m = s.batch * s.len;
            let what = |t: &str| format!("batchnorm {t} {s:?} eps {}", cfg.eps);
            b.check(mean, sum_tol(m), &what("mean"));
            b.check(inv_std, sum_tol(m), &what("inv_std"));
            b.check(running_mean, sum_tol(m), &what("running_mean"));
            b.check(running_var, sum_tol(m), &what("running_var"));
            b.check(y, sum_tol(m), &what("y"));
            b.check(y_eval, sum_tol(m), &what("y eval"));
            b.check(dgamma, sum_tol(m), &what("dgamma"));
            b.check(dbeta, sum_tol(m), &what("dbeta"));
            // dx with batch statistics is a difference of terms of size dy gamma inv_std
            // (= dx without them) that cancel exactly when batch * len is 2
            let (dx_const_cpu, dx_const_gpu) = b.get(dx_const);
            close(&dx_const_cpu, &dx_const_gpu, sum_tol(m), &what("dx without batch statistics"));
            let (dx_cpu, dx_gpu) = b.get(dx);
            close_at_scale(&dx_cpu, &dx_gpu, sum_tol(m), rms(&dx_const_cpu), &what("dx"));
            b.check(dgamma_const, sum_tol(m), &what("dgamma without batch statistics"));
            b.check(dbeta_const, sum_tol(m), &what("dbeta without batch statistics"));
        }
    }
}

#[test]
fn lstm_matches_cpu() {
    let shapes = [
        LstmShape { batch: 2, time: 5, input: 3, hidden: 4 },
        LstmShape { batch: 3, time: 7, input: 2, hidden: 9 },
        // more hidden units than invocations per workgroup (64)
        LstmShape { batch: 2, time: 4, input: 5, hidden: 70 },
    ];
    for (i, s) in shapes.iter().enumerate() {
        let mut b = Bench::new(40 + i as u64);
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
            be.lstm_forward(s, x.on(k), w_ih.on(k), w_hh.on(k), bias.on(k), &saved(k));
            let (wi, wh) = (w_ih.on(k), w_hh.on(k));
            be.lstm_backward(
                s,
                x.on(k),
                wi,
                wh,
                &saved(k),
                dh.on(k),
                Some(dx.on(k)),
                dw_ih.on(k),
                dw_hh.on(k),
                db.on(k),
            );
            be.last_step_forward(s, saved(k).h, last.on(k));
            be.last_step_backward(s, dlast.on(k), dh_last.on(k));
        });
        // errors compound through the recurrence: a sum over the hidden units per step,
        // carried over `time` steps
        let fwd = sum_tol(s.hidden + s.input) * 4.0;
        let bwd = sum_tol(s.batch * s.time * (s.hidden + s.input)) * 4.0;
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

#[test]
fn dense_matches_cpu() {
    let shapes = [
        DenseShape { batch: 5, input: 7, output: 3 },
        DenseShape { batch: 33, input: 17, output: 9 },
        DenseShape { batch: 1, input: 1, output: 1 },
        DenseShape { batch: 4, input: 64, output: 65 },
    ];
    for (i, s) in shapes.iter().enumerate() {
        let mut b = Bench::new(50 + i as u64);
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
            be.dense_forward(s, x.on(k), w.on(k), bias.on(k), y.on(k));
            be.dense_backward(s, x.on(k), w.on(k), dy.on(k), Some(dx.on(k)), dw.on(k), db.on(k));
            be.dense_backward(s, x.on(k), w.on(k), dy.on(k), None, dw0.on(k), db0.on(k));
        });
        b.check(y, sum_tol(s.input), &format!("dense y {s:?}"));
        b.check(dx, sum_tol(s.output), &format!("dense dx {s:?}"));
        b.check(dw, sum_tol(s.batch), &format!("dense dw {s:?}"));
        b.check(db, sum_tol(s.batch), &format!("dense db {s:?}"));
        b.check(dw0, sum_tol(s.batch), &format!("dense dw without dx {s:?}"));
        b.check(db0, sum_tol(s.batch), &format!("dense db without dx {s:?}"));
    }
}

#[test]
fn activations_match_cpu_also_in_place() {
    for (i, f) in [Activation::Relu, Activation::Sigmoid, Activation::Tanh].into_iter().enumerate() {
        let mut b = Bench::new(60 + i as u64);
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
            be.activation_forward(f, x.on(k), y.on(k));
            be.activation_backward(f, y.on(k), dy.on(k), dx.on(k));
            be.activation_forward(f, inplace.on(k), inplace.on(k));
            be.activation_backward(f, inplace.on(k), dy_inplace.on(k), dy_inplace.on(k));
        });
        let tol = if f == Activation::Relu { 0.0 } else { 1e-5 };
        b.check(y, tol, &format!("{f:?} forward"));
        b.check(dx, tol, &format!("{f:?} backward"));
        b.check(inplace, tol, &format!("{f:?} forward in place"));
        b.check(dy_inplace, tol, &format!("{f:?} backward in place"));
    }
}

#[test]
fn dropout_masks_are_bit_identical_to_cpu() {
    for (i, rate) in [0.25f32, 0.5, 0.9].into_iter().enumerate() {
        let mut b = Bench::new(70 + i as u64);
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
            be.dropout_forward(rate, key, x.on(k), y.on(k));
            be.dropout_backward(rate, key, dy.on(k), dx.on(k));
            be.dropout_forward(rate, key, inplace.on(k), inplace.on(k));
        });
        for (t, what) in [(y, "forward"), (dx, "backward"), (inplace, "in place")] {
            let (cpu, gpu) = b.get(t);
            let mask = |v: &[f32]| v.iter().map(|&e| e != 0.0).collect::<Vec<_>>();
            assert_eq!(mask(&cpu), mask(&gpu), "dropout {what} rate {rate}: masks differ");
            // x / (1 - rate): Vulkan's division is within 2.5 ulp, not correctly rounded
            close(&cpu, &gpu, 1e-6, &format!("dropout {what} rate {rate}"));
        }
    }
}

#[test]
fn global_avg_pool_matches_cpu() {
    let shapes =
        [ChannelShape { batch: 3, channels: 5, len: 17 }, ChannelShape { batch: 2, channels: 40, len: 1 }];
    for (i, s) in shapes.iter().enumerate() {
        let mut b = Bench::new(80 + i as u64);
        let x = b.input(s.batch * s.channels * s.len);
        let y = b.output(s.batch * s.channels);
        let dy = b.input(s.batch * s.channels);
        let dx = b.output(s.batch * s.channels * s.len);
        b.run(|be, k| {
            be.global_avg_pool_forward(s, x.on(k), y.on(k));
            be.global_avg_pool_backward(s, dy.on(k), dx.on(k));
        });
        b.check(y, sum_tol(s.len), &format!("gap y {s:?}"));
        b.check(dx, 1e-6, &format!("gap dx {s:?}"));
    }
}

#[test]
fn loss_heads_match_cpu() {
    // 70 rows: more than the 64 invocations of the one loss workgroup
    for (i, batch) in [1usize, 7, 70].into_iter().enumerate() {
        let mut b = Bench::new(90 + i as u64);
        let logits_data = b.values(batch, -8.0, 8.0);
        let logits = b.tensor(&logits_data);
        let targets_data: Vec<f32> = (0..batch).map(|_| f32::from(b.rng.gen_bool(0.5))).collect();
        let targets = b.tensor(&targets_data);
        let weights_data = b.values(batch, 0.5, 2.0);
        let weights = b.tensor(&weights_data);
        let (probs, loss, dlogits) = (b.output(batch), b.output(1), b.output(batch));
        b.run(|be, k| {
            be.sigmoid_bce(
                batch,
                logits.on(k),
                targets.on(k),
                weights.on(k),
                probs.on(k),
                loss.on(k),
                dlogits.on(k),
            );
        });
        b.check(probs, 1e-5, &format!("sigmoid_bce probs batch {batch}"));
        b.check(dlogits, 1e-5, &format!("sigmoid_bce dlogits batch {batch}"));
        b.check(loss, sum_tol(batch), &format!("sigmoid_bce loss batch {batch}"));

        let classes = 3 + i;
        let logits_data = b.values(batch * classes, -8.0, 8.0);
        let logits = b.tensor(&logits_data);
        let labels_data: Vec<f32> = (0..batch).map(|_| b.rng.gen_range(0..classes) as f32).collect();
        let labels = b.tensor(&labels_data);
        let (probs, loss, dlogits) = (b.output(batch * classes), b.output(1), b.output(batch * classes));
        let probs_only = b.output(batch * classes);
        b.run(|be, k| {
            let (l, lb, w) = (logits.on(k), labels.on(k), weights.on(k));
            be.softmax_ce(batch, classes, l, lb, w, probs.on(k), loss.on(k), dlogits.on(k));
            be.softmax_forward(batch, classes, l, probs_only.on(k));
        });
        let tol = sum_tol(classes);
        b.check(probs, tol, &format!("softmax_ce probs batch {batch}"));
        b.check(dlogits, tol, &format!("softmax_ce dlogits batch {batch}"));
        b.check(loss, sum_tol(batch * classes), &format!("softmax_ce loss batch {batch}"));
        b.check(probs_only, tol, &format!("softmax_forward batch {batch}"));
    }
}

#[test]
fn adam_matches_cpu_over_steps() {
    let mut b = Bench::new(100);
    let n = 333;
    let param = b.input(n);
    let (m, v) = (b.tensor(&vec![0.0; n]), b.tensor(&vec![0.0; n]));
    let cfg = AdamConfig { lr: 1e-2, ..AdamConfig::default() };
    for t in 1..=7u32 {
        let grad = b.input(n);
        b.run(|be, k| be.adam_step(&cfg, t, param.on(k), grad.on(k), m.on(k), v.on(k)));
    }
    b.check(m, 1e-5, "adam m");
    b.check(v, 1e-5, "adam v");
    b.check(param, 1e-5, "adam param");
}

#[test]
fn fill_copy_add_assign_match_cpu() {
    let mut b = Bench::new(110);
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
    b.check(dst, 0.0, "add_assign");
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
        g.dense_forward(&s, x.gpu, w.gpu, bias.gpu, y.gpu);
        g.dropout_forward(0.5, t * 7919, y.gpu, y.gpu);
        g.dense_backward(&s, x.gpu, w.gpu, y.gpu, None, dw.gpu, db.gpu);
        g.adam_step(&AdamConfig::default(), t, w.gpu, dw.gpu, m.gpu, v.gpu);
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
        g.conv1d_forward(&s, x.gpu, w.gpu, bias.gpu, y.gpu);
        g.batchnorm_forward_train(
            &cs,
            &cfg,
            y.gpu,
            gamma.gpu,
            beta.gpu,
            rm.gpu,
            rv.gpu,
            z.gpu,
            mean.gpu,
            inv_std.gpu,
        );
        g.batchnorm_backward(
            &cs,
            true,
            y.gpu,
            gamma.gpu,
            mean.gpu,
            inv_std.gpu,
            dy.gpu,
            dz.gpu,
            dg.gpu,
            dbeta.gpu,
        );
        g.conv1d_backward(&s, x.gpu, w.gpu, dz.gpu, Some(dx.gpu), dw.gpu, db.gpu);
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
    let too_many = usize::try_from(context().limits.max_storage_buffer_binding_size / 4 + 1).expect("fits");
    let err = g.try_alloc(too_many).expect_err("a tensor larger than a storage binding");
    assert!(err.to_string().contains("exceeds this device's largest storage binding"), "{err}");
}
