//! Golden-file runner behind `starskope verify --golden DIR --device cpu|gpu` and the
//! golden tests: every `*.json` case in a directory (the format is in
//! `verify/golden_file.rs`) runs forward and backward, and each output is compared with
//! the reference value.
//!
//! Error measure, per output tensor: max|a - b| / max(max|b|, 1e-30), a normwise
//! relative error (b the golden value). A backend, run in f32 through the `Backend`
//! trait, must reach 1e-4, and 1e-3 for the LSTM (whose rounding compounds over
//! timesteps); the CPU reference functions in f64 (`verify_dir_f64`) must reach 1e-9.
//!
//! Golden conventions mapped here:
//! - lstm: two biases become b = b_ih + b_hh, and db is compared with both db_ih and
//!   db_hh; the last-state case goes through `LastStepForward`/`LastStepBackward`.
//! - maxpool `indices` come from `cpu::pool::argmax_indices` (not part of the trait).
//! - batchnorm train runs twice: with unbiased running variance (`running_var`) and
//!   with the biased one (`running_var_biased_update`); batch_var is recovered from
//!   inv_std. batchnorm eval's backward uses constant statistics, inv_std from the
//!   running variance.
//! - losses get per-sample weights 1 and labels/targets as floats.

mod engine;
mod golden_file;

use crate::backend::{Backend, ChannelShape, Conv1dShape, DenseShape, LstmShape, PoolShape};
use crate::cpu::{adam, batchnorm, lstm};
use anyhow::{bail, Context, Result};
use engine::{BatchNormCase, DenseCase, Engine, HostF64, LstmCase, ThroughBackend};
use golden_file::GoldenFile;
use std::fmt;
use std::path::Path;

/// The comparison of one output tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputError {
    /// The golden output's name (e.g. "dx").
    pub name: String,
    pub rel_error: f64,
}

/// The result of one golden file.
#[derive(Clone, Debug, PartialEq)]
pub struct GoldenReport {
    /// The file name within the directory.
    pub file: String,
    pub op: String,
    pub outputs: Vec<OutputError>,
    /// The largest of `outputs`' errors.
    pub max_rel_error: f64,
    pub tolerance: f64,
    pub passed: bool,
}

impl GoldenReport {
    /// The output with the largest error.
    pub fn worst(&self) -> Option<&OutputError> {
        self.outputs.iter().max_by(|a, b| a.rel_error.total_cmp(&b.rel_error))
    }
}

impl fmt::Display for GoldenReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<40} {:<30} max rel error {:.2e} (tolerance {:.0e}, worst {}) {}",
            self.file,
            self.op,
            self.max_rel_error,
            self.tolerance,
            self.worst().map_or("-", |o| o.name.as_str()),
            if self.passed { "ok" } else { "FAILED" }
        )
    }
}

/// Runs every golden file in `dir` through `backend` (f32).
pub fn verify_dir(dir: &Path, backend: &mut dyn Backend) -> Result<Vec<GoldenReport>> {
    run_dir(dir, &mut ThroughBackend { backend })
}

/// Runs every golden file in `dir` through the CPU reference functions in f64.
pub fn verify_dir_f64(dir: &Path) -> Result<Vec<GoldenReport>> {
    run_dir(dir, &mut HostF64)
}

fn run_dir(dir: &Path, engine: &mut dyn Engine) -> Result<Vec<GoldenReport>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading golden directory {}", dir.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("listing golden directory {}", dir.display()))?;
    paths.retain(|p| p.extension().is_some_and(|e| e == "json"));
    paths.sort();
    if paths.is_empty() {
        bail!("no golden *.json files in {} (expected the golden/ directory of test vectors)", dir.display());
    }
    paths.iter().map(|p| run_file(&GoldenFile::read(p)?, engine)).collect()
}

fn run_file(g: &GoldenFile, engine: &mut dyn Engine) -> Result<GoldenReport> {
    let computed = match g.op.as_str() {
        "conv1d" => conv1d(g, engine)?,
        "maxpool1d" => maxpool(g, engine)?,
        "batchnorm1d_train" => batchnorm_train(g, engine)?,
        "batchnorm1d_eval" => batchnorm_eval(g, engine)?,
        "lstm" => lstm(g, engine)?,
        "dense" => dense(g, engine, false)?,
        "dense_relu" => dense(g, engine, true)?,
        "sigmoid_binary_cross_entropy" => sigmoid_bce(g, engine)?,
        "softmax_cross_entropy" => softmax_ce(g, engine)?,
        "adam_step" => adam_step(g, engine)?,
        other => bail!(
            "{}: unknown op '{other}' (known: conv1d, maxpool1d, batchnorm1d_train, \
             batchnorm1d_eval, lstm, dense, dense_relu, sigmoid_binary_cross_entropy, \
             softmax_cross_entropy, adam_step)",
            g.path.display()
        ),
    };
    compare(g, computed, engine.tolerance(&g.op))
}

/// Checks the computed outputs against the golden ones. Every golden output must be
/// computed: a case the runner only partly checks is an error, not a pass.
fn compare(g: &GoldenFile, computed: Vec<(&str, Vec<f64>)>, tolerance: f64) -> Result<GoldenReport> {
    for name in g.outputs.keys() {
        if !computed.iter().any(|(n, _)| n == name) {
            bail!("{}: output '{name}' is not checked by the runner", g.path.display());
        }
    }
    let mut outputs = Vec::with_capacity(computed.len());
    for (name, got) in computed {
        let want = g
            .outputs
            .get(name)
            .with_context(|| format!("{}: op '{}' needs output '{name}'", g.path.display(), g.op))?;
        if got.len() != want.data.len() {
            bail!(
                "{}: output '{name}' has {} values, computed {}",
                g.path.display(),
                want.data.len(),
                got.len()
            );
        }
        outputs.push(OutputError { name: name.to_owned(), rel_error: normwise_rel_error(&got, &want.data) });
    }
    let max_rel_error = outputs.iter().fold(0.0f64, |m, o| m.max(o.rel_error));
    Ok(GoldenReport {
        file: g.path.file_name().map_or_else(String::new, |f| f.to_string_lossy().into_owned()),
        op: g.op.clone(),
        outputs,
        max_rel_error,
        tolerance,
        // NaN compares false: a NaN error fails
        passed: max_rel_error <= tolerance,
    })
}

/// max|got - want| / max(max|want|, 1e-30); NaN in `got` gives NaN.
pub fn normwise_rel_error(got: &[f64], want: &[f64]) -> f64 {
    let scale = want.iter().fold(1e-30f64, |m, v| m.max(v.abs()));
    let diff = got.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0.0f64, |m, d| {
        if d.is_nan() || m.is_nan() {
            f64::NAN
        } else {
            m.max(d)
        }
    });
    diff / scale
}

type Outputs = Vec<(&'static str, Vec<f64>)>;

fn conv1d(g: &GoldenFile, e: &mut dyn Engine) -> Result<Outputs> {
    let (x, [batch, c_in, len_in]) = g.input_dims("x")?;
    let (w, [c_out, _, kernel]) = g.input_dims("weight")?;
    if kernel == 0 || kernel > len_in {
        bail!("{}: kernel {kernel} does not fit length {len_in}", g.path.display());
    }
    let padding = g.config_str("padding").unwrap_or("valid");
    let (pad_left, len_out) = match padding {
        "valid" => (0, len_in - kernel + 1),
        "same" => ((kernel - 1) / 2, len_in),
        other => bail!("{}: padding '{other}' is not 'valid' or 'same'", g.path.display()),
    };
    let s = Conv1dShape { batch, c_in, c_out, len_in, kernel, pad_left, len_out };
    g.input_shaped("weight", &[c_out, c_in, kernel])?;
    let b = g.input_shaped("bias", &[c_out])?;
    let dy = g.input_shaped("dy", &[batch, c_out, len_out])?;
    let [y, dx, dw, db] = e.conv1d(&s, x, w, b, dy)?;
    Ok(vec![("y", y), ("dx", dx), ("dweight", dw), ("dbias", db)])
}

fn maxpool(g: &GoldenFile, e: &mut dyn Engine) -> Result<Outputs> {
    let (x, [batch, channels, len_in]) = g.input_dims("x")?;
    let (pool, stride) = (g.config_u32("kernel_size")? as usize, g.config_u32("stride")? as usize);
    if pool == 0 || stride == 0 || pool > len_in {
        bail!("{}: pool {pool} / stride {stride} do not fit length {len_in}", g.path.display());
    }
    let s = PoolShape { batch, channels, len_in, pool, stride, len_out: (len_in - pool) / stride + 1 };
    let dy = g.input_shaped("dy", &[batch, channels, s.len_out])?;
    let [y, dx] = e.maxpool(&s, x, dy)?;
    let indices = e.argmax_indices(&s, x).into_iter().map(|i| i as f64).collect();
    Ok(vec![("y", y), ("indices", indices), ("dx", dx)])
}

/// The (batch, channels, len) shape of `x` and the per-channel inputs.
fn batchnorm_inputs(g: &GoldenFile) -> Result<BatchNormCase<'_>> {
    let (x, [batch, channels, len]) = g.input_dims("x")?;
    let per_channel = |name| g.input_shaped(name, &[channels]);
    Ok(BatchNormCase {
        s: ChannelShape { batch, channels, len },
        x,
        gamma: per_channel("gamma")?,
        beta: per_channel("beta")?,
        running_mean: per_channel("running_mean")?,
        running_var: per_channel("running_var")?,
        dy: g.input_shaped("dy", &[batch, channels, len])?,
    })
}

fn batchnorm_train(g: &GoldenFile, e: &mut dyn Engine) -> Result<Outputs> {
    let case = batchnorm_inputs(g)?;
    let (eps, momentum) = (g.config_f64("eps")?, g.config_f64("momentum")?);
    let p = |unbiased_running_var| batchnorm::Params { eps, momentum, unbiased_running_var };
    let unbiased = e.batchnorm_train(&p(true), &case)?;
    let biased = e.batchnorm_train(&p(false), &case)?;
    let batch_var = unbiased.inv_std.iter().map(|v| 1.0 / (v * v) - eps).collect();
    Ok(vec![
        ("y", unbiased.y),
        ("dx", unbiased.dx),
        ("dgamma", unbiased.dgamma),
        ("dbeta", unbiased.dbeta),
        ("batch_mean", unbiased.mean),
        ("batch_var", batch_var),
        ("running_mean", unbiased.running_mean),
        ("running_var", unbiased.running_var),
        ("running_var_biased_update", biased.running_var),
    ])
}

fn batchnorm_eval(g: &GoldenFile, e: &mut dyn Engine) -> Result<Outputs> {
    let case = batchnorm_inputs(g)?;
    let eps = g.config_f64("eps")?;
    let inv_std: Vec<f64> = case.running_var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
    let [y, dx, dgamma, dbeta] = e.batchnorm_eval(eps, &inv_std, &case)?;
    Ok(vec![("y", y), ("dx", dx), ("dgamma", dgamma), ("dbeta", dbeta)])
}

fn lstm(g: &GoldenFile, e: &mut dyn Engine) -> Result<Outputs> {
    let (x, [batch, time, input]) = g.input_dims("x")?;
    let (w_hh, [rows, hidden]) = g.input_dims("W_hh")?;
    if time == 0 || rows != 4 * hidden {
        bail!(
            "{}: W_hh has shape [{rows}, {hidden}], expected [4H, H]; x needs T > 0 steps",
            g.path.display()
        );
    }
    let s = LstmShape { batch, time, input, hidden };
    let w_ih = g.input_shaped("W_ih", &[4 * hidden, input])?;
    let b_ih = g.input_shaped("b_ih", &[4 * hidden])?;
    let b_hh = g.input_shaped("b_hh", &[4 * hidden])?;
    let b: Vec<f64> = b_ih.iter().zip(b_hh).map(|(a, b)| a + b).collect();
    let last_only = !g.config_bool_or("return_sequences", true)?;
    let dy = if last_only {
        g.input_shaped("dy", &[batch, hidden])?
    } else {
        g.input_shaped("dy", &[batch, time, hidden])?
    };
    let out = e.lstm(&LstmCase { s, x, w_ih, w_hh, b: &b, dy, last_only })?;
    let mut c_n = vec![0.0; batch * hidden];
    lstm::last_step_forward(&s, &out.c, &mut c_n);
    Ok(vec![
        ("y", out.h),
        ("h_n", out.h_last),
        ("c_n", c_n),
        ("dx", out.dx),
        ("dW_ih", out.dw_ih),
        ("dW_hh", out.dw_hh),
        ("db_ih", out.db.clone()),
        ("db_hh", out.db),
    ])
}

fn dense(g: &GoldenFile, e: &mut dyn Engine, relu: bool) -> Result<Outputs> {
    let (x, [batch, input]) = g.input_dims("x")?;
    let (_, [output, _]) = g.input_dims("weight")?;
    let s = DenseShape { batch, input, output };
    let w = g.input_shaped("weight", &[output, input])?;
    let b = g.input_shaped("bias", &[output])?;
    let dy = g.input_shaped("dy", &[batch, output])?;
    let [z, y, dx, dw, db] = e.dense(&DenseCase { s, relu, x, w, b, dy })?;
    let mut out = vec![("y", y), ("dx", dx), ("dweight", dw), ("dbias", db)];
    if relu {
        out.push(("z", z));
    }
    Ok(out)
}

fn head_outputs([probs, loss, dlogits]: engine::Head) -> Outputs {
    vec![("probs", probs), ("loss", loss), ("dlogits", dlogits)]
}

fn sigmoid_bce(g: &GoldenFile, e: &mut dyn Engine) -> Result<Outputs> {
    let (_, [batch, _]) = g.input_dims("logits")?;
    let logits = g.input_shaped("logits", &[batch, 1])?;
    let targets = g.input_shaped("targets", &[batch, 1])?;
    Ok(head_outputs(e.sigmoid_bce(logits, targets, &vec![1.0; batch])?))
}

fn softmax_ce(g: &GoldenFile, e: &mut dyn Engine) -> Result<Outputs> {
    let (logits, [batch, classes]) = g.input_dims("logits")?;
    let labels = g.input_shaped("labels", &[batch])?;
    if let Some(bad) = labels.iter().find(|&&l| !(l >= 0.0 && l < classes as f64 && l.fract() == 0.0)) {
        bail!("{}: label {bad} is not a class index in 0..{classes}", g.path.display());
    }
    Ok(head_outputs(e.softmax_ce(classes, logits, labels, &vec![1.0; batch])?))
}

fn adam_step(g: &GoldenFile, e: &mut dyn Engine) -> Result<Outputs> {
    let param = g.input_any("param")?;
    let shape = param.shape.clone();
    let [grad, m, v] = ["grad", "m", "v"].map(|n| g.input_shaped(n, &shape));
    let p = adam::Params {
        lr: g.config_f64("lr")?,
        beta1: g.config_f64("beta1")?,
        beta2: g.config_f64("beta2")?,
        eps: g.config_f64("eps")?,
    };
    let t = g.config_u32("t")?;
    if t == 0 {
        bail!("{}: config 't' is the 1-based step index, got 0", g.path.display());
    }
    let [param, m, v] = e.adam(&p, t, [&param.data, grad?, m?, v?])?;
    Ok(vec![("param", param), ("m", m), ("v", v)])
}
