//! Output heads: the loss (mean over the batch of per-sample weighted losses) and its
//! gradient together, both computed stably from the logits.

use super::check;
use super::real::Real;

/// The logistic function without overflow for large |z|.
fn sigmoid<T: Real>(z: T) -> T {
    if z >= T::zero() {
        T::one() / (T::one() + (-z).exp())
    } else {
        let e = z.exp();
        e / (T::one() + e)
    }
}

/// logits (batch, 1), targets (batch) in {0, 1}, weights (batch). Writes probs =
/// sigmoid(z) and dlogits = w (p - t) / batch; returns
/// mean_n w_n (max(z, 0) - z t + log1p(exp(-|z|))).
pub fn sigmoid_bce<T: Real>(
    batch: usize,
    logits: &[T],
    targets: &[T],
    weights: &[T],
    probs: &mut [T],
    dlogits: &mut [T],
) -> T {
    for (what, t) in [
        ("sigmoid_bce logits", logits),
        ("sigmoid_bce targets", targets),
        ("sigmoid_bce weights", weights),
        ("sigmoid_bce probs", &*probs),
        ("sigmoid_bce dlogits", &*dlogits),
    ] {
        check::len(what, t.len(), batch);
    }
    let n_inv = T::one() / T::of(batch as f64);
    let mut total = T::zero();
    for n in 0..batch {
        let (z, t, w) = (logits[n], targets[n], weights[n]);
        probs[n] = sigmoid(z);
        dlogits[n] = w * (probs[n] - t) * n_inv;
        total += w * (z.max(T::zero()) - z * t + (-z.abs()).exp().ln_1p());
    }
    total * n_inv
}

/// probs = softmax over each row of `classes` logits, max-subtracted.
pub fn softmax<T: Real>(batch: usize, classes: usize, logits: &[T], probs: &mut [T]) {
    check::len("softmax logits", logits.len(), batch * classes);
    check::len("softmax probs", probs.len(), batch * classes);
    for (p, z) in probs.chunks_mut(classes.max(1)).zip(logits.chunks(classes.max(1))) {
        let max = z.iter().fold(T::neg_infinity(), |m, &v| m.max(v));
        let mut sum = T::zero();
        for (p, &v) in p.iter_mut().zip(z) {
            *p = (v - max).exp();
            sum += *p;
        }
        for p in p.iter_mut() {
            *p /= sum;
        }
    }
}

/// logits (batch, classes), labels (batch) class indices stored as floats, weights
/// (batch). Writes probs and dlogits = w (p - onehot) / batch; returns
/// mean_n w_n (logsumexp(z_n) - z_n[label]).
pub fn softmax_ce<T: Real>(
    batch: usize,
    classes: usize,
    logits: &[T],
    labels: &[T],
    weights: &[T],
    probs: &mut [T],
    dlogits: &mut [T],
) -> T {
    check::len("softmax_ce labels", labels.len(), batch);
    check::len("softmax_ce weights", weights.len(), batch);
    check::len("softmax_ce dlogits", dlogits.len(), batch * classes);
    softmax(batch, classes, logits, probs);
    let n_inv = T::one() / T::of(batch as f64);
    let mut total = T::zero();
    for n in 0..batch {
        let label = labels[n]
            .to_usize()
            .filter(|&l| l < classes && T::of(l as f64) == labels[n])
            .unwrap_or_else(|| {
                panic!("softmax_ce: label {:?} of sample {n} is not a class index below {classes}", labels[n])
            });
        let row = n * classes..(n + 1) * classes;
        let z = &logits[row.clone()];
        let max = z.iter().fold(T::neg_infinity(), |m, &v| m.max(v));
        let log_sum = z.iter().fold(T::zero(), |s, &v| s + (v - max).exp()).ln() + max;
        total += weights[n] * (log_sum - z[label]);
        for (k, (d, &p)) in dlogits[row].iter_mut().zip(&probs[n * classes..]).enumerate() {
            let onehot = if k == label { T::one() } else { T::zero() };
            *d = weights[n] * (p - onehot) * n_inv;
        }
    }
    total * n_inv
}
