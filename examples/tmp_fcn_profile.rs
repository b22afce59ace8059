// TEMPORARY profiling harness (to be deleted): times each fcn-shaped op on the GPU backend.
use starskope::backend::*;
use starskope::gpu::GpuBackend;
use std::time::Instant;

fn time(be: &mut GpuBackend, name: &str, sync: TensorId, reps: usize, mut f: impl FnMut(&mut GpuBackend)) {
    f(be);
    be.download(sync);
    let t = Instant::now();
    for _ in 0..reps {
        f(be);
        be.flush();
    }
    be.download(sync);
    println!("{name:40} {:8.1} ms", t.elapsed().as_secs_f64() * 1e3 / reps as f64);
}

fn main() {
    let mut be = GpuBackend::new().unwrap();
    let n = 16;
    let l = 96;
    let reps = 3;
    let sync = be.alloc(1);
    for (ci, co, k) in [(1usize, 128usize, 8usize), (128, 256, 5), (256, 128, 3)] {
        let s = Conv1dShape {
            batch: n,
            c_in: ci,
            c_out: co,
            len_in: l,
            kernel: k,
            pad_left: (k - 1) / 2,
            len_out: l,
        };
        let x = be.alloc(n * ci * l);
        let w = be.alloc(co * ci * k);
        let b = be.alloc(co);
        let y = be.alloc(n * co * l);
        let dx = be.alloc(n * ci * l);
        let dw = be.alloc(co * ci * k);
        let db = be.alloc(co);
        be.upload(x, &(0..n * ci * l).map(|i| (i % 7) as f32 * 0.1).collect::<Vec<_>>());
        be.upload(w, &(0..co * ci * k).map(|i| (i % 5) as f32 * 0.01).collect::<Vec<_>>());
        time(&mut be, &format!("conv fwd {ci}->{co} k{k}"), sync, reps, |be| {
            be.conv1d_forward(&s, x, w, b, y)
        });
        time(&mut be, &format!("conv bwd {ci}->{co} k{k} (dx)"), sync, reps, |be| {
            be.conv1d_backward(&s, x, w, y, (ci > 1).then_some(dx), dw, db)
        });
        time(&mut be, &format!("conv bwd {ci}->{co} k{k} (no dx)"), sync, reps, |be| {
            be.conv1d_backward(&s, x, w, y, None, dw, db)
        });
        let cs = ChannelShape { batch: n, channels: co, len: l };
        let cfg = BatchNormConfig::PYTORCH;
        let (g, bt, rm, rv, m, is) =
            (be.alloc(co), be.alloc(co), be.alloc(co), be.alloc(co), be.alloc(co), be.alloc(co));
        let yy = be.alloc(n * co * l);
        let dxx = be.alloc(n * co * l);
        let (dg, dbt) = (be.alloc(co), be.alloc(co));
        time(&mut be, &format!("bn fwd {co}"), sync, reps, |be| {
            be.batchnorm_forward_train(&cs, &cfg, y, g, bt, rm, rv, yy, m, is)
        });
        time(&mut be, &format!("bn bwd {co}"), sync, reps, |be| {
            be.batchnorm_backward(&cs, true, y, g, m, is, yy, dxx, dg, dbt)
        });
        time(&mut be, &format!("relu fwd+bwd {co}"), sync, reps, |be| {
            be.activation_forward(Activation::Relu, y, yy);
            be.activation_backward(Activation::Relu, yy, y, yy)
        });
    }
}
