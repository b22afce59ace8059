//! The bench's FLOP and byte counts (src/bench/op.rs) against hand computations for one
//! conv1d shape and one dense shape, in f32 and with f16 storage, and the per-op rows a
//! real step produces.

use starskope::backend::{
    AdamConfig, AdamStep, BatchNormBackward, BatchNormConfig, BatchNormTrain, ChannelShape, Conv1dBackward,
    Conv1dForward, Conv1dShape, DenseBackward, DenseForward, DenseShape, Op, SigmoidBce, TensorId,
};
use starskope::bench::op::{Cost, Counted, Pass};

/// The tensors do not matter to the counts: one stands for all.
const T: TensorId = TensorId(0);

fn counted(op: impl Into<Op>, n: usize) -> Counted {
    Counted { op: op.into(), n }
}

fn conv_forward(s: Conv1dShape) -> Counted {
    counted(Conv1dForward { s, x: T, w: T, b: T, y: T, relu: false }, 0)
}

fn conv_backward(s: Conv1dShape, dx: bool) -> Counted {
    counted(Conv1dBackward { s, x: T, w: T, dy: T, dx: dx.then_some(T), dw: T, db: T }, 0)
}

fn dense_forward(s: DenseShape) -> Counted {
    counted(DenseForward { s, x: T, w: T, b: T, y: T }, 0)
}

fn dense_backward(s: DenseShape, dx: bool) -> Counted {
    counted(DenseBackward { s, x: T, w: T, dy: T, dx: dx.then_some(T), dw: T, db: T }, 0)
}

fn batchnorm_train(s: ChannelShape) -> Counted {
    let (cfg, x, gamma, beta, running_mean, running_var, y, mean, inv_std) =
        (BatchNormConfig::KERAS, T, T, T, T, T, T, T, T);
    counted(BatchNormTrain { s, cfg, x, gamma, beta, running_mean, running_var, y, mean, inv_std }, 0)
}

fn batchnorm_backward(s: ChannelShape) -> Counted {
    let (x, gamma, mean, inv_std, dy, dx, dgamma, dbeta) = (T, T, T, T, T, T, T, T);
    counted(BatchNormBackward { s, batch_stats: true, x, gamma, mean, inv_std, dy, dx, dgamma, dbeta }, 0)
}

fn adam(n: usize) -> Counted {
    counted(AdamStep { cfg: AdamConfig::default(), t: 1, param: T, grad: T, m: T, v: T }, n)
}

fn sigmoid_bce(batch: usize) -> Counted {
    let (logits, targets, weights, probs, loss, dlogits) = (T, T, T, T, T, T);
    counted(SigmoidBce { batch, logits, targets, weights, probs, loss, dlogits }, 0)
}

/// seed-cnn's second conv at batch 4: x (4, 8, 100), 16 filters of width 11, valid.
const CONV: Conv1dShape =
    Conv1dShape { batch: 4, c_in: 8, c_out: 16, len_in: 100, kernel: 11, pad_left: 0, len_out: 90 };

#[test]
fn conv1d_forward_counts_match_hand_computation() {
    // multiply-adds: 4 samples x 16 outputs x 90 positions x 8 channels x 11 taps = 506,880
    // FLOPs: 2 x 506,880 + 4 x 16 x 90 bias adds (5,760) = 1,019,520
    // bytes: x 3,200 + w 1,408 + b 16 + y 5,760 = 10,384 floats x 4 = 41,536
    assert_eq!(conv_forward(CONV).cost(4), Cost { flops: 1_019_520.0, bytes: 41_536.0 });
    assert_eq!(conv_forward(CONV).pass(), Pass::Forward);
}

#[test]
fn conv1d_backward_counts_match_hand_computation() {
    // dW 2 x 506,880 + db 5,760 (+ dx 2 x 506,880): 1,019,520 (2,033,280)
    // read x 3,200, w 1,408, dy 5,760; write dw 1,408, db 16 (+ dx 3,200):
    // 11,792 floats = 47,168 bytes (14,992 floats = 59,968 bytes)
    let without_dx = conv_backward(CONV, false);
    let with_dx = conv_backward(CONV, true);
    assert_eq!(without_dx.cost(4), Cost { flops: 1_019_520.0, bytes: 47_168.0 });
    assert_eq!(with_dx.cost(4), Cost { flops: 2_033_280.0, bytes: 59_968.0 });
    assert_eq!(with_dx.pass(), Pass::Backward);
}

#[test]
fn same_padding_zeros_are_not_counted_as_work() {
    // len 5, kernel 3, pad 1: tap 0 misses t = 0, tap 2 misses t = 4: 3 x 5 - 2 = 13
    // multiply-adds per (sample, out, in); 1 x 2 x 1 x 13 x 2 + 10 bias adds = 62
    let s = Conv1dShape { batch: 1, c_in: 1, c_out: 2, len_in: 5, kernel: 3, pad_left: 1, len_out: 5 };
    assert_eq!(conv_forward(s).cost(4).flops, 62.0);
}

/// With f16 storage, data tensors (activations, gradients, the kernels' copy of a
/// parameter) are 2 bytes; batch-norm statistics, Adam's moments, a parameter's master and
/// the loss stay 4.
#[test]
fn f16_storage_counts_match_hand_computation() {
    // conv: the same 10,384 elements as in f32, 2 bytes each; FLOPs do not change
    assert_eq!(conv_forward(CONV).cost(2), Cost { flops: 1_019_520.0, bytes: 20_768.0 });
    // batch norm x (2, 3, 10): x 60 + y 60 + gamma, beta 6 = 126 halves = 252 bytes;
    // running mean and var read and written 12 + mean, inv_std 6 = 18 f32 = 72 bytes
    let s = ChannelShape { batch: 2, channels: 3, len: 10 };
    assert_eq!(batchnorm_train(s).cost(2), Cost { flops: 420.0, bytes: 324.0 });
    // backward: x, dy, dx 180 + gamma, dgamma, dbeta 9 = 189 halves = 378 bytes;
    // mean, inv_std 6 f32 = 24 bytes
    let back = batchnorm_backward(s);
    assert_eq!(back.cost(2), Cost { flops: 600.0, bytes: 402.0 });
    // Adam on 10 parameters: gradient read and rounded copy written, 20 halves = 40 bytes;
    // master, m and v read and written, 60 f32 = 240 bytes. In f32 the parameter is its
    // own master: gradient 10 + 60 f32 = 280 bytes, the same total by coincidence.
    assert_eq!(adam(10).cost(2), Cost { flops: 140.0, bytes: 280.0 });
    assert_eq!(adam(10).cost(4), Cost { flops: 140.0, bytes: 280.0 });
    // sigmoid BCE, batch 32: logits, targets, weights, probs, dlogits 160 halves = 320
    // bytes, and the f32 loss 4
    assert_eq!(sigmoid_bce(32).cost(2).bytes, 324.0);
}

/// `Profiled` counts each call at the element sizes the inner backend stores: 2 bytes for
/// data on the GPU in f16, 4 for a tensor allocated as `Storage::F32`.
#[test]
fn profiled_counts_bytes_at_the_inner_backends_precision() {
    use starskope::backend::{Backend, Storage};
    use starskope::bench::profiled::Profiled;
    use starskope::gpu::{GpuBackend, Precision};

    let mut gpu = GpuBackend::with_precision(Precision::F16).expect("a GPU adapter with SHADER_F16");
    let mut prof = Profiled::new(&mut gpu);
    let s = ChannelShape { batch: 2, channels: 3, len: 10 };
    let (x, y) = (prof.alloc(60), prof.alloc(60));
    let (gamma, beta) = (prof.alloc_as(3, Storage::Param), prof.alloc_as(3, Storage::Param));
    let stats: Vec<_> = (0..4).map(|_| prof.alloc_as(3, Storage::F32)).collect();
    let cfg = BatchNormConfig::KERAS;
    prof.run(
        &BatchNormTrain {
            s,
            cfg,
            x,
            gamma,
            beta,
            running_mean: stats[0],
            running_var: stats[1],
            y,
            mean: stats[2],
            inv_std: stats[3],
        }
        .into(),
    );
    prof.fill(x, 1.0);
    prof.fill(stats[0], 1.0);
    let bytes: Vec<f64> = prof.calls.iter().map(|c| c.cost.bytes).collect();
    assert_eq!(bytes, [324.0, 120.0, 12.0]);
}

#[test]
fn dense_counts_match_hand_computation() {
    // seed-cnn's first dense at batch 32: x (32, 576), W (64, 576)
    let s = DenseShape { batch: 32, input: 576, output: 64 };
    // forward: 2 x 32 x 576 x 64 = 2,359,296 + 2,048 bias adds = 2,361,344 FLOPs;
    // x 18,432 + W 36,864 + b 64 + y 2,048 = 57,408 floats = 229,632 bytes
    assert_eq!(dense_forward(s).cost(4), Cost { flops: 2_361_344.0, bytes: 229_632.0 });
    // backward with dx: dW and dx 2 x 2,359,296 + db 2,048 = 4,720,640 FLOPs;
    // read x, W, dy (57,344), write dW, db, dx (55,360): 112,704 floats = 450,816 bytes
    let back = dense_backward(s, true);
    assert_eq!(back.cost(4), Cost { flops: 4_720_640.0, bytes: 450_816.0 });
}

/// A real fcn step through the profiling backend: one row per op and pass, shapes taken
/// from the model plan, Adam's per-parameter calls summed into one row.
#[test]
fn profiled_step_has_every_op_at_the_plan_shapes() {
    use starskope::bench::ceilings::Ceilings;
    use starskope::bench::{measure, Budget, Workload};
    use starskope::fastcpu::FastCpuBackend;

    let mut be = FastCpuBackend::new();
    let w = Workload::new("fcn", Some(40)).unwrap();
    assert_eq!((w.batch, w.channels, w.full_length), (16, 1, 512));
    let budget = Budget { min_runs: 2, max_runs: 2, seconds: 0.0 };
    let ceilings = Ceilings {
        copy_gb_per_s: 10.0,
        fma_gflop_per_s: 100.0,
        copy_kernel: String::new(),
        fma_kernel: String::new(),
    };
    let rows = measure::profile_ops(&mut be, &w, &budget, &ceilings).unwrap();
    let find = |op: &str, pass: Pass| {
        rows.iter().find(|r| r.op == op && r.pass == pass).unwrap_or_else(|| panic!("no row {op} {pass:?}"))
    };
    // first conv: (16, 1, 40), 128 filters of 8, "same"
    let first =
        Conv1dShape { batch: 16, c_in: 1, c_out: 128, len_in: 40, kernel: 8, pad_left: 3, len_out: 40 };
    let fwd = find("conv1d 16x1x40 k8 -> 128", Pass::Forward);
    assert_eq!(fwd.flops, conv_forward(first).cost(4).flops);
    // the fast CPU backend stores f32: 4 bytes per element
    assert_eq!(fwd.bytes, conv_forward(first).cost(4).bytes);
    let bwd = find("conv1d 16x1x40 k8 -> 128 (no dx)", Pass::Backward);
    assert_eq!(bwd.bytes, conv_backward(first, false).cost(4).bytes);
    find("conv1d 16x128x40 k5 -> 256", Pass::Backward);
    find("global_avg_pool 16x128x40", Pass::Forward);
    find("softmax_ce 16x2", Pass::Forward);
    // 3 convs and 3 batch norms with 2 trained tensors each, and the head's 2
    assert_eq!(find("adam (all parameters)", Pass::Update).calls, 14);
    assert!(rows.iter().all(|r| r.seconds >= 0.0 && r.calls >= 1));
    assert!((fwd.gflop_per_s / 100.0 - fwd.flop_fraction).abs() < 1e-12);

    let t = measure::throughput(&mut be, &w, &budget).unwrap();
    assert!(t.train_samples_per_s > 0.0 && t.infer_samples_per_s > 0.0);
    assert!((t.train_samples_per_s * t.train_step_seconds - 16.0).abs() < 1e-6);
}

#[test]
fn a_length_the_model_cannot_take_is_an_error_naming_it() {
    use starskope::bench::Workload;
    let e = Workload::new("seed-cnn", Some(5)).unwrap_err().to_string();
    assert!(e.contains("--length 5") && e.contains("shorter than the kernel"), "{e}");
    assert!(Workload::new("resnet", None).is_err());
    assert_eq!(Workload::new("seed-lstm", None).unwrap().length, 3197);
}

/// Networks the bench builds through `Profiled` get the inner backend's allocation checks:
/// a device out of memory is an error, not a panic, and the limits are the device's.
#[test]
fn profiled_passes_on_the_inner_backends_limits_and_memory_errors() {
    use starskope::backend::{AllocError, Backend, Storage};
    use starskope::bench::profiled::Profiled;
    use starskope::gpu::GpuBackend;

    let mut gpu = GpuBackend::new().expect("a GPU adapter (lavapipe will do)").with_memory_budget(4096);
    let limits = gpu.tensor_limits();
    let mut prof = Profiled::new(&mut gpu);
    assert_eq!(prof.tensor_limits(), limits);
    assert!(prof.tensor_limits().is_some());
    assert!(prof.try_alloc_as(512, Storage::F32).is_ok());
    let err = prof.try_alloc_as(4096, Storage::F32).unwrap_err();
    assert!(matches!(err, AllocError::OutOfMemory { bytes: 16384, allocated: 2048 }), "{err}");
}
