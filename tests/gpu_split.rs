//! Tensors larger than one storage binding: the ops that split them (LSTM, dense and its
//! GEMMs, column sums, elementwise) against the CPU reference and against the same ops
//! unsplit, with the binding limit lowered (`GpuBackend::with_binding_limit`) so that
//! small tensors take the path that 100+ MiB ones take on a real device: several chunks,
//! a shorter last chunk, windows at offsets that are not multiples of the binding
//! alignment. Outputs are poisoned with NaN first, so an element no chunk writes fails.
//!
//! Tolerances: as tests/gpu_ops.rs, |split - cpu| <= tol * (|cpu| + rms(cpu)) with 1e-5 *
//! sqrt(terms) for sums. Against the unsplit GPU run the results must be bit-identical
//! wherever the split does not change an order of summation: every chunk of a GEMM along
//! k continues the sums from what C holds, so its sums are the unsplit ones; only the
//! column sums (bias gradients) add chunk totals, a different tree, and get the CPU
//! tolerance.
//!
//! These tests run on lavapipe on machines without a GPU; a machine with no adapter at
//! all FAILS them with the message that says what to install.

use starskope::backend::{
    ActivationBackward, ActivationForward, DenseBackward, DenseForward, DropoutForward, LastStepBackward,
    LastStepForward, LstmBackward, LstmForward,
};
use std::sync::OnceLock;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use starskope::backend::{Activation, AdamConfig, Backend, DenseShape, LstmShape, LstmTensors, TensorId};
use starskope::cpu::CpuBackend;
use starskope::gpu::{GpuBackend, GpuContext};
use starskope::model::init::initial_values;
use starskope::model::memory_fit::max_batch;
use starskope::model::network::Batch;
use starskope::model::plan::{input_dims, plan};
use starskope::model::{resolve, Network};

/// One device for the whole test binary: each lavapipe device starts its own threads.
fn context() -> GpuContext {
    static CONTEXT: OnceLock<Result<GpuContext, String>> = OnceLock::new();
    match CONTEXT.get_or_init(|| GpuContext::new().map_err(|e| format!("{e:#}"))) {
        Ok(ctx) => ctx.clone(),
        Err(e) => panic!("the GPU tests need a GPU adapter: {e}"),
    }
}

/// The binding limit of the op tests: 4 KiB, a few rows of the shapes below.
const LIMIT: u64 = 4096;

/// The CPU reference, the GPU unsplit and the GPU with bindings of at most `LIMIT` bytes.
struct Trio {
    cpu: CpuBackend,
    whole: GpuBackend,
    split: GpuBackend,
    rng: ChaCha8Rng,
}

/// A tensor on all three backends: cpu, whole, split.
type T3 = [TensorId; 3];

impl Trio {
    fn new(seed: u64) -> Self {
        Trio {
            cpu: CpuBackend::new(),
            whole: GpuBackend::with_context(context()),
            split: GpuBackend::with_context(context()).with_binding_limit(LIMIT),
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    fn backends(&mut self) -> [&mut dyn Backend; 3] {
        [&mut self.cpu, &mut self.whole, &mut self.split]
    }

    fn tensor(&mut self, data: &[f32]) -> T3 {
        let mut ids = [TensorId(0); 3];
        for (id, be) in ids.iter_mut().zip(self.backends()) {
            *id = be.alloc(data.len());
            be.upload(*id, data);
        }
        ids
    }

    fn input(&mut self, len: usize) -> T3 {
        let data: Vec<f32> = (0..len).map(|_| self.rng.gen_range(-1.0..1.0)).collect();
        self.tensor(&data)
    }

    fn output(&mut self, len: usize) -> T3 {
        self.tensor(&vec![f32::NAN; len])
    }

    /// The same calls on all three; `k` picks a tensor's id on the backend at hand.
    fn run(&mut self, op: impl Fn(&mut dyn Backend, usize)) {
        for (k, be) in self.backends().into_iter().enumerate() {
            op(be, k);
            be.flush();
        }
        assert!(
            self.split.bind_groups_created() > self.whole.bind_groups_created(),
            "the binding limit did not make any op bind a window: the test would not test splitting"
        );
    }

    /// Split against the CPU within `tol`; against unsplit bit for bit, or within `tol`
    /// when the split changes a summation order (`exact` false).
    fn check(&mut self, t: T3, tol: f32, exact: bool, what: &str) {
        let cpu = self.cpu.download(t[0]);
        let whole = self.whole.download(t[1]);
        let split = self.split.download(t[2]);
        let scale = (cpu.iter().map(|v| v * v).sum::<f32>() / cpu.len().max(1) as f32).sqrt();
        for (i, ((c, w), s)) in cpu.iter().zip(&whole).zip(&split).enumerate() {
            assert!(c.is_finite(), "{what}[{i}]: the CPU reference gave {c}");
            let near = |g: f32| (g - c).abs() <= tol * (c.abs() + scale);
            assert!(near(*s), "{what}[{i}]: split {s} vs cpu {c} (tolerance {tol})");
            if exact {
                assert_eq!(s.to_bits(), w.to_bits(), "{what}[{i}]: split {s} vs unsplit {w}");
            } else {
                assert!(near(*w), "{what}[{i}]: unsplit {w} vs cpu {c}");
            }
        }
    }
}

fn sum_tol(terms: usize) -> f32 {
    1e-5 * (terms as f32).sqrt().max(1.0)
}

#[test]
fn dense_splits_by_rows_and_along_k() {
    // x 8,428 bytes, y 12,040: 3 and 4 chunks of rows; dW sums 301 rows in chunks of k
    for (i, s) in
        [DenseShape { batch: 301, input: 7, output: 10 }, DenseShape { batch: 97, input: 33, output: 5 }]
            .iter()
            .enumerate()
    {
        let mut b = Trio::new(10 + i as u64);
        let x = b.input(s.batch * s.input);
        let w = b.input(s.output * s.input);
        let bias = b.input(s.output);
        let y = b.output(s.batch * s.output);
        let dy = b.input(s.batch * s.output);
        let dx = b.output(s.batch * s.input);
        let dw = b.output(s.output * s.input);
        let db = b.output(s.output);
        b.run(|be, k| {
            be.run(&DenseForward { s: *s, x: x[k], w: w[k], b: bias[k], y: y[k] }.into());
            be.run(
                &DenseBackward { s: *s, x: x[k], w: w[k], dy: dy[k], dx: Some(dx[k]), dw: dw[k], db: db[k] }
                    .into(),
            );
        });
        b.check(y, sum_tol(s.input), true, &format!("dense y {s:?}"));
        b.check(dx, sum_tol(s.output), true, &format!("dense dx {s:?}"));
        b.check(dw, sum_tol(s.batch), true, &format!("dense dw {s:?}"));
        b.check(db, sum_tol(s.batch), false, &format!("dense db {s:?}"));
    }
}

#[test]
fn lstm_splits_by_batch_rows() {
    // gates 960 bytes a sample: 4 samples a chunk (3 if the alignment is 256), 11 samples;
    // h and c (2,640 bytes) fit and are bound whole at offsets; dgates^T x and
    // dgates^T h_{t-1} go along k in chunks of 192-byte rows.
    // Then 550 rows of k, which the weight gradients also cut into 2 slices of 275
    // (dgates rows of 64 bytes, 64 to a chunk): a slice that starts in one chunk and ends
    // in another must continue its sum, so that split and unsplit agree bit for bit.
    let shapes = [
        LstmShape { batch: 11, time: 5, input: 3, hidden: 12 },
        LstmShape { batch: 110, time: 5, input: 3, hidden: 4 },
    ];
    for (i, s) in shapes.into_iter().enumerate() {
        lstm_split_matches(s, 20 + i as u64);
    }
}

fn lstm_split_matches(s: LstmShape, seed: u64) {
    let mut b = Trio::new(seed);
    let sliced = b.split.lstm_scratch(&s).iter().any(|t| t.purpose.contains("slice of k"));
    assert_eq!(sliced, s.batch * s.time >= 512, "{s:?}: weight gradients sliced: {sliced}");
    let (n, t, h4) = (s.batch, s.time, 4 * s.hidden);
    let x = b.input(n * t * s.input);
    let w_ih = b.input(h4 * s.input);
    let w_hh = b.input(h4 * s.hidden);
    let bias = b.input(h4);
    let (h, c, gates) = (b.output(n * t * s.hidden), b.output(n * t * s.hidden), b.output(n * t * h4));
    let dh = b.input(n * t * s.hidden);
    let dx = b.output(n * t * s.input);
    let (dw_ih, dw_hh, db) = (b.output(h4 * s.input), b.output(h4 * s.hidden), b.output(h4));
    let (last, dlast, dh_last) = (b.output(n * s.hidden), b.input(n * s.hidden), b.output(n * t * s.hidden));
    b.run(|be, k| {
        let saved = LstmTensors { h: h[k], c: c[k], gates: gates[k] };
        be.run(&LstmForward { s, x: x[k], w_ih: w_ih[k], w_hh: w_hh[k], b: bias[k], saved }.into());
        be.run(
            &LstmBackward {
                s,
                x: x[k],
                w_ih: w_ih[k],
                w_hh: w_hh[k],
                saved,
                dh: dh[k],
                dx: Some(dx[k]),
                dw_ih: dw_ih[k],
                dw_hh: dw_hh[k],
                db: db[k],
            }
            .into(),
        );
        be.run(&LastStepForward { s, h: h[k], y: last[k] }.into());
        be.run(&LastStepBackward { s, dy: dlast[k], dh: dh_last[k] }.into());
    });
    // as tests/gpu_ops.rs: sums over the hidden units carried over `time` steps
    let fwd = sum_tol(s.hidden + s.input) * 4.0;
    let bwd = sum_tol(n * t * (s.hidden + s.input)) * 4.0;
    b.check(h, fwd, true, "lstm h");
    b.check(c, fwd, true, "lstm c");
    b.check(gates, fwd, true, "lstm gates");
    b.check(dx, bwd, true, "lstm dx");
    b.check(dw_ih, bwd, true, "lstm dw_ih");
    b.check(dw_hh, bwd, true, "lstm dw_hh");
    b.check(db, bwd, false, "lstm db");
    b.check(last, fwd, true, "lstm last step");
    b.check(dh_last, 0.0, true, "lstm last step backward");
}

#[test]
fn elementwise_ops_split_by_elements() {
    // 2,501 elements = 10,004 bytes: 3 chunks, the last one short
    let n = 2501;
    let mut b = Trio::new(30);
    let x = b.input(n);
    let (relu, sig, dx, drop, copy) = (b.output(n), b.output(n), b.output(n), b.output(n), b.output(n));
    let dy = b.input(n);
    let (filled, sum) = (b.output(n), b.input(n));
    let inplace = b.input(n);
    b.run(|be, k| {
        be.run(&ActivationForward { f: Activation::Relu, x: x[k], y: relu[k] }.into());
        be.run(&ActivationForward { f: Activation::Sigmoid, x: x[k], y: sig[k] }.into());
        be.run(&ActivationBackward { f: Activation::Sigmoid, y: sig[k], dy: dy[k], dx: dx[k] }.into());
        // the mask is keyed by the index in the whole tensor, whatever the chunks
        be.run(&DropoutForward { rate: 0.3, key: 0xC0FFEE, x: x[k], y: drop[k] }.into());
        be.copy(x[k], copy[k]);
        be.fill(filled[k], 0.25);
        be.add_assign(sum[k], x[k]);
        be.run(&ActivationForward { f: Activation::Tanh, x: inplace[k], y: inplace[k] }.into());
    });
    b.check(relu, 0.0, true, "relu");
    b.check(sig, 1e-5, true, "sigmoid");
    b.check(dx, 1e-5, true, "sigmoid backward");
    b.check(drop, 1e-6, true, "dropout");
    b.check(copy, 0.0, true, "copy");
    b.check(filled, 0.0, true, "fill");
    b.check(sum, 0.0, true, "add_assign");
    b.check(inplace, 1e-5, true, "tanh in place");
}

/// `max_batch` and `Network::build` agree with what the ops can do: seed-lstm's gates
/// split, so its batch is bounded by the largest buffer, not by one binding; seed-cnn's
/// conv activations do not, and a batch past the binding limit is refused with the
/// largest batch that fits.
#[test]
fn check_fits_knows_which_tensors_split() {
    let build = |model: &str, channels: usize, len: usize, limit: u64, batch: usize| {
        let spec = resolve(model).unwrap();
        let output = spec.output(2).unwrap();
        let layers = plan(&spec, input_dims(&spec, channels, len), output).unwrap();
        let mut be = GpuBackend::with_context(context()).with_binding_limit(limit);
        let most = max_batch(&be, &layers).expect("a GPU has limits");
        (most, Network::build(&mut be, &layers, output, batch).map(|_| ()))
    };
    // seed-lstm, 40 steps: gates 80 KiB a sample, the largest parameter (w_hh) 256 KiB
    let (most, built) = build("seed-lstm", 1, 40, 256 << 10, 5);
    assert!(built.is_ok(), "a batch of 5 (400 KiB of gates) must split: {built:?}");
    assert!(most > 1000, "seed-lstm's batch is bounded by the buffer size, got {most}");
    // seed-cnn at its shortest length: its conv tensors are bound whole (the last conv's
    // per-sample weight gradients, 88 KiB a sample, set the limit)
    let (most, _) = build("seed-cnn", 2, 936, 128 << 10, 1);
    assert!(most >= 1, "one sample fits 128 KiB bindings");
    let (_, refused) = build("seed-cnn", 2, 936, 128 << 10, most + 1);
    let err = format!("{:#}", refused.expect_err("one sample past max_batch"));
    assert!(err.contains(&format!("the largest batch that fits is {most}")), "{err}");
    assert!(err.contains("bind a tensor whole"), "{err}");
    let (_, fits) = build("seed-cnn", 2, 936, 128 << 10, most);
    assert!(fits.is_ok(), "max_batch {most} itself must build: {fits:?}");
}

/// Adam as tests/gpu_train.rs uses it: eps 1e-3 keeps a gradient's rounding error from
/// flipping the sign of an update (see that file's doc).
const ADAM: AdamConfig = AdamConfig { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-3 };

/// Every parameter after 3 training steps of seed-lstm (40 steps of 1 feature, batch 5,
/// seed 5) on `be`, with the same initial values and batches on every backend.
fn seed_lstm_three_steps(be: &mut dyn Backend) -> Vec<(String, Vec<f32>)> {
    let (len, batch, seed) = (40, 5, 5);
    let spec = resolve("seed-lstm").unwrap();
    let output = spec.output(2).unwrap();
    let dims = input_dims(&spec, 1, len);
    let layers = plan(&spec, dims, output).unwrap();
    let net = Network::build(be, &layers, output, batch).unwrap();
    for (p, v) in net.params.iter().zip(initial_values(&layers, seed)) {
        be.upload(p.value, &v);
    }
    let (x, targets, weights) = (be.alloc(batch * len), be.alloc(batch), be.alloc(batch));
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for t in 1..=3 {
        let data: Vec<f32> = (0..batch * len).map(|_| rng.gen_range(-2.0..2.0)).collect();
        be.upload(x, &data);
        be.upload(targets, &(0..batch).map(|i| (i % 2) as f32).collect::<Vec<_>>());
        be.upload(weights, &(0..batch).map(|_| rng.gen_range(0.5..1.5)).collect::<Vec<_>>());
        net.train_step(be, &Batch { x, targets, weights }, &ADAM, seed, t);
        be.flush();
    }
    net.params.iter().map(|p| (p.plan.name.clone(), be.download(p.value))).collect()
}

/// max|a - b| / max|b|.
fn normwise(a: &[f32], b: &[f32]) -> f32 {
    let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let diff = a
        .iter()
        .zip(b)
        .fold(0.0f32, |m, (x, y)| if (x - y).is_nan() { f32::NAN } else { m.max((x - y).abs()) });
    diff / scale
}

/// Three training steps with the first LSTM's gates (400 KiB) and dgates split over
/// 256 KiB bindings (3 + 2 samples; dW along k in 127 + 73 rows) leave the parameters the
/// CPU leaves (normwise 1e-4, as tests/gpu_train.rs) and those of the unsplit GPU run:
/// the only sums the split reorders are the bias gradients' chunk totals, a few ulps.
#[test]
fn seed_lstm_training_with_split_gates_matches_cpu_and_unsplit() {
    let cpu = seed_lstm_three_steps(&mut CpuBackend::new());
    let mut whole_be = GpuBackend::with_context(context());
    let whole = seed_lstm_three_steps(&mut whole_be);
    let mut split_be = GpuBackend::with_context(context()).with_binding_limit(256 << 10);
    let split = seed_lstm_three_steps(&mut split_be);
    assert!(split_be.bind_groups_created() > whole_be.bind_groups_created(), "nothing was split");
    for (((name, c), (_, w)), (_, s)) in cpu.iter().zip(&whole).zip(&split) {
        let (to_cpu, to_whole) = (normwise(s, c), normwise(s, w));
        println!("{name:24} split vs cpu {to_cpu:.2e}, vs unsplit {to_whole:.2e}");
        assert!(to_cpu < 1e-4, "{name}: split vs cpu {to_cpu:.2e}");
        assert!(to_whole < 1e-5, "{name}: split vs unsplit {to_whole:.2e}");
    }
}

/// A device out of memory while building a network is an error naming the tensor and
/// the largest batch that fits, not wgpu's panic. lavapipe allocates from host memory
/// that Linux overcommits, so a real out-of-memory there would be the OOM killer's: the
/// test injects a budget (`with_memory_budget`) that fails allocations the way the
/// device's error scope does. The batch is estimated from the bytes the device gave the
/// network before refusing (a lower bound on what it holds), so it must build.
#[test]
fn out_of_memory_names_the_largest_batch_that_fits() {
    let spec = resolve("seed-cnn").unwrap();
    let output = spec.output(2).unwrap();
    let layers = plan(&spec, input_dims(&spec, 2, 936), output).unwrap();
    let budget = 40 << 20;
    let mut be = GpuBackend::with_context(context()).with_memory_budget(budget);
    let err = format!(
        "{:#}",
        Network::build(&mut be, &layers, output, 512).err().expect("40 MiB is too little for 187 MiB")
    );
    assert!(err.contains("ran out of memory allocating a tensor of"), "{err}");
    let fits = suggested_batch(&err);
    assert!((1..512).contains(&fits), "{err}");
    let mut be = GpuBackend::with_context(context()).with_memory_budget(budget);
    let built = Network::build(&mut be, &layers, output, fits);
    assert!(built.is_ok(), "the batch the error names must build: {:?}", built.err());
    println!("{err}");
}

/// seed-lstm (40 steps of 1 feature) or seed-cnn (2 channels of 936) planned for 2 classes.
fn seed_layers(model: &str) -> (Vec<starskope::model::plan::LayerPlan>, starskope::model::spec::Output) {
    let spec = resolve(model).unwrap();
    let output = spec.output(2).unwrap();
    let (channels, len) = if model == "seed-cnn" { (2, 936) } else { (1, 40) };
    (plan(&spec, input_dims(&spec, channels, len), output).unwrap(), output)
}

/// `Network::build` creates the backend's scratch tensors (LSTM dgates and h_{t-1}, conv
/// per-sample weight gradients), so that running out of memory for them is build's error:
/// a training step after it creates no buffer at all. This also keeps
/// `GpuBackend::conv1d_scratch` in step with what conv::backward asks for.
#[test]
fn a_training_step_after_build_creates_no_buffer() {
    for model in ["seed-lstm", "seed-cnn"] {
        let (layers, output) = seed_layers(model);
        let batch = 3;
        let mut be = GpuBackend::with_context(context());
        let net = Network::build(&mut be, &layers, output, batch).unwrap();
        assert!(!net.scratch(&be).is_empty(), "{model}: the GPU ops of {model} use scratch tensors");
        let numel = layers[0].input.numel();
        let (x, targets, weights) = (be.alloc(batch * numel), be.alloc(batch), be.alloc(batch));
        be.upload(x, &(0..batch * numel).map(|i| (i % 7) as f32 * 0.1).collect::<Vec<_>>());
        be.upload(targets, &[0.0, 1.0, 0.0]);
        be.upload(weights, &[1.0; 3]);
        let before = be.allocated_bytes();
        net.train_step(&mut be, &Batch { x, targets, weights }, &ADAM, 1, 1);
        let loss = be.try_download(net.loss).unwrap();
        assert!(loss[0].is_finite(), "{model}: the step ran: loss {loss:?}");
        assert_eq!(be.allocated_bytes(), before, "{model}: the step created buffers after build");
    }
}

/// Out of memory for a scratch tensor, with the network's own tensors fitting, is build's
/// error naming the scratch tensor and the largest batch that fits (counted with the
/// scratch tensors), not a panic in the first training step.
#[test]
fn out_of_memory_for_scratch_names_it_and_the_largest_batch_that_fits() {
    let (layers, output) = seed_layers("seed-lstm");
    let batch = 64;
    let mut be = GpuBackend::with_context(context());
    let net = Network::build(&mut be, &layers, output, batch).unwrap();
    let scratch = net.scratch(&be);
    let bytes = |s: &starskope::backend::Scratch| be.tensor_bytes(s.len, starskope::backend::Storage::Data);
    let own = be.allocated_bytes() - scratch.iter().map(bytes).sum::<u64>();
    // the network fits, and the scratch tensors before the first LSTM's dgates and half of it
    let first = scratch.iter().position(|s| s.purpose == "lstm dgates").expect("seed-lstm has dgates");
    let budget = own + scratch[..first].iter().map(bytes).sum::<u64>() + bytes(&scratch[first]) / 2;
    let mut be = GpuBackend::with_context(context()).with_memory_budget(budget);
    let err =
        format!("{:#}", Network::build(&mut be, &layers, output, batch).err().expect("scratch past budget"));
    assert!(err.contains("ran out of memory allocating its scratch tensor \"lstm dgates\""), "{err}");
    let fits = suggested_batch(&err);
    assert!((1..batch).contains(&fits), "{err}");
    let mut be = GpuBackend::with_context(context()).with_memory_budget(budget);
    let built = Network::build(&mut be, &layers, output, fits);
    assert!(built.is_ok(), "the batch the error names must build: {:?}", built.err());
    println!("{err}");
}

/// The batch an out-of-memory message suggests ("the largest batch that fits is about N:").
fn suggested_batch(err: &str) -> usize {
    err.split("the largest batch that fits is about ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no batch in: {err}"))
}
