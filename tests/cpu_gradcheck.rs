//! Every CPU backward pass against central finite differences of its forward pass, in
//! f64, on several odd-sized shapes with seeded random inputs. For an op y = f(x) the
//! checked scalar is L = sum(y * r) for a random r, so the backward gets dy = r.

mod shapes;
use shapes::conv_shape;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use starskope::backend::{dropout_keep, Activation, ChannelShape, DenseShape, LstmShape, PoolShape};
use starskope::cpu::{activation, adam, batchnorm, conv1d, dense, dropout, heads, lstm, pool};

/// Step of the central differences: truncation error ~h^2, rounding ~1e-16 / h.
const H: f64 = 1e-6;
/// Normwise relative agreement required between the analytic and numeric gradients.
const TOL: f64 = 1e-6;

fn uniform(rng: &mut ChaCha8Rng, len: usize) -> Vec<f64> {
    (0..len).map(|_| rng.gen_range(-1.0..1.0)).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// The numeric gradient of `loss` at `at`.
fn numeric_grad(at: &[f64], loss: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let mut p = at.to_vec();
    (0..at.len())
        .map(|i| {
            p[i] = at[i] + H;
            let up = loss(&p);
            p[i] = at[i] - H;
            let down = loss(&p);
            p[i] = at[i];
            (up - down) / (2.0 * H)
        })
        .collect()
}

/// Asserts that `analytic` is the gradient of `loss` at `at`.
fn check_grad(what: &str, at: &[f64], analytic: &[f64], loss: impl Fn(&[f64]) -> f64) {
    assert_eq!(at.len(), analytic.len(), "{what}: gradient length");
    let numeric = numeric_grad(at, loss);
    let scale = numeric.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(scale > 1e-8, "{what}: the gradient is ~0, the check would prove nothing");
    let err = numeric.iter().zip(analytic).fold(0.0f64, |m, (n, a)| m.max((n - a).abs()));
    assert!(
        err <= TOL * scale,
        "{what}: max |numeric - analytic| = {err:e}, max |numeric| = {scale:e}\nnumeric  {numeric:?}\nanalytic {analytic:?}"
    );
}

#[test]
fn conv1d_valid_and_same() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for s in [
        conv_shape(3, 2, 5, 13, 5, false),
        conv_shape(2, 3, 4, 11, 11, false),
        conv_shape(1, 1, 3, 9, 3, true),
        conv_shape(3, 2, 3, 8, 4, true),
        conv_shape(2, 3, 1, 7, 11, true),
    ] {
        let x = uniform(&mut rng, s.batch * s.c_in * s.len_in);
        let w = uniform(&mut rng, s.c_out * s.c_in * s.kernel);
        let b = uniform(&mut rng, s.c_out);
        let r = uniform(&mut rng, s.batch * s.c_out * s.len_out);
        let loss = |x: &[f64], w: &[f64], b: &[f64]| {
            let mut y = vec![0.0; r.len()];
            conv1d::forward(&s, x, w, b, &mut y);
            dot(&y, &r)
        };
        let (mut dx, mut dw, mut db) = (vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; b.len()]);
        conv1d::backward(&s, &x, &w, &r, Some(&mut dx), &mut dw, &mut db);
        let what = format!("conv1d {s:?}");
        check_grad(&format!("{what} dx"), &x, &dx, |x| loss(x, &w, &b));
        check_grad(&format!("{what} dw"), &w, &dw, |w| loss(&x, w, &b));
        check_grad(&format!("{what} db"), &b, &db, |b| loss(&x, &w, b));
        // the first layer asks for no dx: the other gradients must not change
        let (mut dw2, mut db2) = (vec![0.0; w.len()], vec![0.0; b.len()]);
        conv1d::backward(&s, &x, &w, &r, None, &mut dw2, &mut db2);
        assert_eq!((dw2, db2), (dw, db));
    }
}

/// Distinct values at least 0.01 apart in random order: no ties, and no finite
/// difference step can change which element of a window is the maximum.
fn distinct_values(rng: &mut ChaCha8Rng, len: usize) -> Vec<f64> {
    let mut v: Vec<f64> = (0..len).map(|i| i as f64 * 0.01 - 0.3).collect();
    v.shuffle(rng);
    v
}

#[test]
fn maxpool() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for (batch, channels, len_in, pool, stride) in
        [(2, 3, 19, 2, 4), (3, 1, 17, 2, 2), (1, 5, 11, 3, 1), (2, 2, 9, 3, 5)]
    {
        let s = PoolShape { batch, channels, len_in, pool, stride, len_out: (len_in - pool) / stride + 1 };
        let x = distinct_values(&mut rng, batch * channels * len_in);
        let r = uniform(&mut rng, batch * channels * s.len_out);
        let mut dx = vec![0.0; x.len()];
        pool::maxpool_backward(&s, &x, &r, &mut dx);
        check_grad(&format!("maxpool {s:?} dx"), &x, &dx, |x| {
            let mut y = vec![0.0; r.len()];
            pool::maxpool_forward(&s, x, &mut y);
            dot(&y, &r)
        });
    }
}

fn channel_shapes() -> [ChannelShape; 3] {
    [
        ChannelShape { batch: 3, channels: 2, len: 7 },
        ChannelShape { batch: 1, channels: 3, len: 9 },
        ChannelShape { batch: 5, channels: 1, len: 3 },
    ]
}

#[test]
fn batchnorm_train() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let p = batchnorm::Params { eps: 1e-3, momentum: 0.1, unbiased_running_var: true };
    for s in channel_shapes() {
        let x: Vec<f64> =
            uniform(&mut rng, s.batch * s.channels * s.len).iter().map(|v| 2.0 * v + 0.5).collect();
        let gamma = uniform(&mut rng, s.channels);
        let beta = uniform(&mut rng, s.channels);
        let r = uniform(&mut rng, x.len());
        let forward = |x: &[f64], gamma: &[f64], beta: &[f64]| {
            let (mut rm, mut rv) = (vec![0.0; s.channels], vec![1.0; s.channels]);
            let (mut mean, mut inv_std) = (vec![0.0; s.channels], vec![0.0; s.channels]);
            let mut y = vec![0.0; x.len()];
            batchnorm::forward_train(
                &s,
                &p,
                x,
                [gamma, beta],
                [&mut rm, &mut rv],
                &mut y,
                [&mut mean, &mut inv_std],
            );
            (y, mean, inv_std)
        };
        let loss = |x: &[f64], gamma: &[f64], beta: &[f64]| dot(&forward(x, gamma, beta).0, &r);
        let (_, mean, inv_std) = forward(&x, &gamma, &beta);
        let mut dx = vec![0.0; x.len()];
        let (mut dgamma, mut dbeta) = (vec![0.0; s.channels], vec![0.0; s.channels]);
        batchnorm::backward(&s, true, &x, &gamma, [&mean, &inv_std], &r, [&mut dx, &mut dgamma, &mut dbeta]);
        let what = format!("batchnorm train {s:?}");
        check_grad(&format!("{what} dx"), &x, &dx, |x| loss(x, &gamma, &beta));
        check_grad(&format!("{what} dgamma"), &gamma, &dgamma, |g| loss(&x, g, &beta));
        check_grad(&format!("{what} dbeta"), &beta, &dbeta, |b| loss(&x, &gamma, b));
    }
}

#[test]
fn batchnorm_eval() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let eps = 1e-3;
    for s in channel_shapes() {
        let x = uniform(&mut rng, s.batch * s.channels * s.len);
        let gamma = uniform(&mut rng, s.channels);
        let beta = uniform(&mut rng, s.channels);
        let running_mean = uniform(&mut rng, s.channels);
        let running_var: Vec<f64> = uniform(&mut rng, s.channels).iter().map(|v| v + 1.5).collect();
        let r = uniform(&mut rng, x.len());
        let loss = |x: &[f64], gamma: &[f64], beta: &[f64]| {
            let mut y = vec![0.0; x.len()];
            batchnorm::forward_eval(&s, eps, x, [gamma, beta], [&running_mean, &running_var], &mut y);
            dot(&y, &r)
        };
        let inv_std: Vec<f64> = running_var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
        let mut dx = vec![0.0; x.len()];
        let (mut dgamma, mut dbeta) = (vec![0.0; s.channels], vec![0.0; s.channels]);
        let grads = [&mut dx[..], &mut dgamma, &mut dbeta];
        batchnorm::backward(&s, false, &x, &gamma, [&running_mean, &inv_std], &r, grads);
        let what = format!("batchnorm eval {s:?}");
        check_grad(&format!("{what} dx"), &x, &dx, |x| loss(x, &gamma, &beta));
        check_grad(&format!("{what} dgamma"), &gamma, &dgamma, |g| loss(&x, g, &beta));
        check_grad(&format!("{what} dbeta"), &beta, &dbeta, |b| loss(&x, &gamma, b));
    }
}

/// The LSTM checked through `upstream(h) -> L` with `dh` its gradient w.r.t. h.
fn check_lstm(s: LstmShape, rng: &mut ChaCha8Rng, last_only: bool) {
    let hid = s.hidden;
    let x = uniform(rng, s.batch * s.time * s.input);
    let w_ih = uniform(rng, 4 * hid * s.input);
    let w_hh = uniform(rng, 4 * hid * hid);
    let b = uniform(rng, 4 * hid);
    let hs = s.batch * s.time * hid;
    let forward = |x: &[f64], w_ih: &[f64], w_hh: &[f64], b: &[f64]| {
        let (mut h, mut c, mut gates) = (vec![0.0; hs], vec![0.0; hs], vec![0.0; 4 * hs]);
        lstm::forward(&s, x, [w_ih, w_hh, b], [&mut h, &mut c, &mut gates]);
        (h, c, gates)
    };
    let (r, dh) = if last_only {
        let r = uniform(rng, s.batch * hid);
        let mut dh = vec![0.0; hs];
        lstm::last_step_backward(&s, &r, &mut dh);
        (r, dh)
    } else {
        let r = uniform(rng, hs);
        (r.clone(), r)
    };
    let loss = |x: &[f64], w_ih: &[f64], w_hh: &[f64], b: &[f64]| {
        let h = forward(x, w_ih, w_hh, b).0;
        if last_only {
            let mut y = vec![0.0; r.len()];
            lstm::last_step_forward(&s, &h, &mut y);
            dot(&y, &r)
        } else {
            dot(&h, &r)
        }
    };
    let (h, c, gates) = forward(&x, &w_ih, &w_hh, &b);
    let mut dx = vec![0.0; x.len()];
    let (mut dw_ih, mut dw_hh, mut db) = (vec![0.0; w_ih.len()], vec![0.0; w_hh.len()], vec![0.0; b.len()]);
    let grads = [&mut dw_ih[..], &mut dw_hh, &mut db];
    lstm::backward(&s, &x, [&w_ih, &w_hh], [&h, &c, &gates], &dh, Some(&mut dx), grads);
    let what = format!("lstm {s:?} last_only={last_only}");
    check_grad(&format!("{what} dx"), &x, &dx, |x| loss(x, &w_ih, &w_hh, &b));
    check_grad(&format!("{what} dw_ih"), &w_ih, &dw_ih, |w| loss(&x, w, &w_hh, &b));
    check_grad(&format!("{what} dw_hh"), &w_hh, &dw_hh, |w| loss(&x, &w_ih, w, &b));
    check_grad(&format!("{what} db"), &b, &db, |b| loss(&x, &w_ih, &w_hh, b));
}

fn lstm_shapes() -> [LstmShape; 3] {
    [
        LstmShape { batch: 3, time: 5, input: 3, hidden: 3 },
        LstmShape { batch: 1, time: 7, input: 1, hidden: 5 },
        LstmShape { batch: 2, time: 3, input: 5, hidden: 1 },
    ]
}

#[test]
fn lstm_dy_on_every_step() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for s in lstm_shapes() {
        check_lstm(s, &mut rng, false);
    }
}

#[test]
fn lstm_dy_on_last_step() {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    for s in lstm_shapes() {
        check_lstm(s, &mut rng, true);
    }
}

#[test]
fn dense() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for (batch, input, output) in [(3, 5, 7), (1, 9, 1), (5, 1, 3)] {
        let s = DenseShape { batch, input, output };
        let x = uniform(&mut rng, batch * input);
        let w = uniform(&mut rng, output * input);
        let b = uniform(&mut rng, output);
        let r = uniform(&mut rng, batch * output);
        let loss = |x: &[f64], w: &[f64], b: &[f64]| {
            let mut y = vec![0.0; r.len()];
            dense::forward(&s, x, w, b, &mut y);
            dot(&y, &r)
        };
        let (mut dx, mut dw, mut db) = (vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; b.len()]);
        dense::backward(&s, &x, &w, &r, Some(&mut dx), &mut dw, &mut db);
        let what = format!("dense {s:?}");
        check_grad(&format!("{what} dx"), &x, &dx, |x| loss(x, &w, &b));
        check_grad(&format!("{what} dw"), &w, &dw, |w| loss(&x, w, &b));
        check_grad(&format!("{what} db"), &b, &db, |b| loss(&x, &w, b));
    }
}

#[test]
fn activations() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    for f in [Activation::Relu, Activation::Sigmoid, Activation::Tanh] {
        for len in [17, 40_001] {
            // keep relu's inputs away from its kink at 0 (|x| >= 0.05 > H)
            let x: Vec<f64> = uniform(&mut rng, len).iter().map(|&v| 3.0 * v + 0.05f64.copysign(v)).collect();
            let r = uniform(&mut rng, len);
            let mut y = vec![0.0; len];
            activation::forward(f, &x, &mut y);
            let mut dx = vec![0.0; len];
            activation::backward(f, &y, &r, &mut dx);
            // the large length spans several parallel tasks; check a prefix of it
            let n = len.min(100);
            check_grad(&format!("{f:?} len {len}"), &x[..n], &dx[..n], |xp| {
                let mut x = x.clone();
                x[..n].copy_from_slice(xp);
                let mut y = vec![0.0; len];
                activation::forward(f, &x, &mut y);
                dot(&y, &r)
            });
        }
    }
}

#[test]
fn dropout_with_fixed_mask() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let (rate, key) = (0.3, 0xDEAD_BEEF);
    for len in [13, 101] {
        let kept = (0..len as u32).filter(|&i| dropout_keep(key, i, rate)).count();
        assert!(kept > 0 && kept < len, "mask must both keep and drop: {kept} of {len}");
        let x = uniform(&mut rng, len);
        let r = uniform(&mut rng, len);
        let mut dx = vec![0.0; len];
        dropout::apply(rate, key, &r, &mut dx);
        check_grad(&format!("dropout len {len}"), &x, &dx, |x| {
            let mut y = vec![0.0; len];
            dropout::apply(rate, key, x, &mut y);
            dot(&y, &r)
        });
        let mut y = vec![0.0; len];
        dropout::apply(rate, key, &x, &mut y);
        for (i, (&y, &x)) in y.iter().zip(&x).enumerate() {
            let want = if dropout_keep(key, i as u32, rate) { x / 0.7 } else { 0.0 };
            assert!((y - want).abs() < 1e-7, "dropout element {i}: {y} != {want}");
        }
    }
}

#[test]
fn global_avg_pool() {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    for s in channel_shapes() {
        let x = uniform(&mut rng, s.batch * s.channels * s.len);
        let r = uniform(&mut rng, s.batch * s.channels);
        let mut dx = vec![0.0; x.len()];
        pool::global_avg_pool_backward(&s, &r, &mut dx);
        check_grad(&format!("global_avg_pool {s:?}"), &x, &dx, |x| {
            let mut y = vec![0.0; r.len()];
            pool::global_avg_pool_forward(&s, x, &mut y);
            dot(&y, &r)
        });
    }
}

#[test]
fn sigmoid_bce_with_weights() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for batch in [1, 7, 12] {
        let logits: Vec<f64> = uniform(&mut rng, batch).iter().map(|v| 6.0 * v).collect();
        let targets: Vec<f64> = (0..batch).map(|_| f64::from(rng.gen_range(0..2u8))).collect();
        let weights: Vec<f64> = uniform(&mut rng, batch).iter().map(|v| 1.2 + v).collect();
        let run = |z: &[f64]| {
            let (mut p, mut d) = (vec![0.0; batch], vec![0.0; batch]);
            let l = heads::sigmoid_bce(batch, z, &targets, &weights, &mut p, &mut d);
            (l, p, d)
        };
        let (l, probs, dlogits) = run(&logits);
        check_grad(&format!("sigmoid_bce batch {batch}"), &logits, &dlogits, |z| run(z).0);
        // the loss against its naive definition, fine for these moderate logits
        let naive: f64 = (0..batch)
            .map(|n| {
                let p = 1.0 / (1.0 + (-logits[n]).exp());
                assert!((probs[n] - p).abs() < 1e-15);
                -weights[n] * (targets[n] * p.ln() + (1.0 - targets[n]) * (1.0 - p).ln())
            })
            .sum::<f64>()
            / batch as f64;
        assert!((l - naive).abs() < 1e-12, "sigmoid_bce loss {l} != {naive}");
    }
}

#[test]
fn sigmoid_bce_is_stable_at_large_logits() {
    let (mut p, mut d) = ([0.0; 2], [0.0; 2]);
    let l = heads::sigmoid_bce(2, &[30.0f32, -30.0], &[0.0, 1.0], &[1.0, 1.0], &mut p, &mut d);
    assert!((l - 30.0).abs() < 1e-4, "loss {l}, expected ~30");
}

#[test]
fn softmax_ce_with_weights() {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    for (batch, classes) in [(5, 3), (1, 2), (9, 7)] {
        let mut logits: Vec<f64> = uniform(&mut rng, batch * classes).iter().map(|v| 4.0 * v).collect();
        logits[..classes].iter_mut().for_each(|v| *v += 50.0);
        let labels: Vec<f64> = (0..batch).map(|_| rng.gen_range(0..classes) as f64).collect();
        let weights: Vec<f64> = uniform(&mut rng, batch).iter().map(|v| 1.2 + v).collect();
        let run = |z: &[f64]| {
            let (mut p, mut d) = (vec![0.0; z.len()], vec![0.0; z.len()]);
            let l = heads::softmax_ce(batch, classes, z, &labels, &weights, &mut p, &mut d);
            (l, p, d)
        };
        let (l, probs, dlogits) = run(&logits);
        assert!(l.is_finite());
        check_grad(&format!("softmax_ce {batch}x{classes}"), &logits, &dlogits, |z| run(z).0);
        let mut p2 = vec![0.0; probs.len()];
        heads::softmax(batch, classes, &logits, &mut p2);
        assert_eq!(p2, probs);
        for row in probs.chunks(classes) {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
    }
}

#[test]
fn softmax_is_stable_at_large_logits() {
    // exp(200) overflows f32: only a max-subtracted softmax gets these right
    let (mut p, mut d) = ([0.0f32; 2], [0.0; 2]);
    let l = heads::softmax_ce(1, 2, &[200.0, 190.0], &[1.0], &[1.0], &mut p, &mut d);
    assert!((l - 10.0).abs() < 1e-3, "loss {l}, expected ~10");
    assert!((p[1] - (-10.0f32).exp()).abs() < 1e-7, "probs {p:?}");
}

#[test]
fn adam_first_step_moves_each_parameter_by_lr_times_sign() {
    // at t = 1 the bias corrections give m_hat = g, v_hat = g^2: p' = p - lr g / (|g| + eps)
    let p = adam::Params { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-7 };
    let grad = [0.5f64, -2.0, 1e-3, 0.0];
    let mut param = [1.0, 1.0, 1.0, 1.0];
    let (mut m, mut v) = ([0.0; 4], [0.0; 4]);
    adam::step(&p, 1, &mut param, &grad, &mut m, &mut v);
    for i in 0..4 {
        let want = 1.0 - p.lr * grad[i] / (grad[i].abs() + p.eps);
        assert!((param[i] - want).abs() < 1e-15, "param {i}: {} != {want}", param[i]);
        assert!((m[i] - 0.1 * grad[i]).abs() < 1e-15);
        assert!((v[i] - 0.001 * grad[i] * grad[i]).abs() < 1e-15);
    }
}

#[test]
fn adam_second_step_matches_hand_computation() {
    // p=1, g=0.5, m=0.2, v=0.03, lr=0.01, t=2: m' = 0.18 + 0.05, v' = 0.02997 + 0.00025,
    // p' = 1 - 0.01 * (0.23 / 0.19) / (sqrt(0.03022 / 0.001999) + 1e-8)
    let p = adam::Params { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
    let (mut param, mut m, mut v) = ([1.0f64], [0.2], [0.03]);
    adam::step(&p, 2, &mut param, &[0.5], &mut m, &mut v);
    assert!((m[0] - 0.23).abs() < 1e-15);
    assert!((v[0] - 0.03022).abs() < 1e-15);
    assert!((param[0] - 0.996_886_610_897_185_9).abs() < 1e-14, "{}", param[0]);
}
