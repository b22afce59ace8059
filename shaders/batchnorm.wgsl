// Batch norm over (batch, channels, len), statistics per channel over (batch, len).
// The per-channel statistics (batch mean and inv_std, running mean and variance) are f32
// at every storage precision: a running average with momentum 0.01 moves by less than
// half an f16 ulp once the batch statistic is within 5% of it, and would stall.
// Per-channel sums use one workgroup per channel and a fixed-order tree (workgroup_sum);
// the elementwise passes use one element per invocation.

// Params, bound as `p`, is prepended from `BatchNorm` in src/gpu/kernel_params.rs.

@group(0) @binding(1) var<storage, read> x: array<store>;

// batchnorm_stats
@group(0) @binding(2) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> running_var: array<f32>;
@group(0) @binding(4) var<storage, read_write> mean_out: array<f32>;
@group(0) @binding(5) var<storage, read_write> inv_std_out: array<f32>;

// batchnorm_normalize (mean, inv_std) and batchnorm_eval (running mean, running var)
@group(0) @binding(2) var<storage, read> gamma: array<store>;
@group(0) @binding(3) var<storage, read> beta: array<store>;
@group(0) @binding(4) var<storage, read> center: array<f32>;
@group(0) @binding(5) var<storage, read> spread: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<store>;

// batchnorm_backward_sums and batchnorm_backward_dx: x, gamma (2), dy, mean (4), inv_std (5)
@group(0) @binding(3) var<storage, read> dy: array<store>;
@group(0) @binding(6) var<storage, read_write> dgamma: array<store>;
@group(0) @binding(7) var<storage, read_write> dbeta: array<store>;
@group(0) @binding(8) var<storage, read_write> dx: array<store>;

fn count() -> f32 {
    return f32(p.batch * p.len);
}

fn element(c: u32, j: u32) -> u32 {
    return ((j / p.len) * p.channels + c) * p.len + j % p.len;
}

fn channel_of(i: u32) -> u32 {
    return (i / p.len) % p.channels;
}

// One workgroup per channel: mean, then the biased variance around it (two passes are
// more accurate than E[x^2] - mean^2), then the running statistics.
@compute @workgroup_size(WG)
fn batchnorm_stats(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let c = wid.x;
    let m = p.batch * p.len;
    var acc = 0.0;
    for (var j = lid; j < m; j = j + WG) {
        acc = acc + f32(x[element(c, j)]);
    }
    let mean = workgroup_sum(lid, acc) / count();
    acc = 0.0;
    for (var j = lid; j < m; j = j + WG) {
        let d = f32(x[element(c, j)]) - mean;
        acc = acc + d * d;
    }
    let variance = workgroup_sum(lid, acc) / count();
    if (lid == 0u) {
        mean_out[c] = mean;
        inv_std_out[c] = 1.0 / sqrt(variance + p.eps);
        var running = variance;
        if (p.unbiased == 1u && m > 1u) {
            running = variance * count() / (count() - 1.0);
        }
        running_mean[c] = (1.0 - p.momentum) * running_mean[c] + p.momentum * mean;
        running_var[c] = (1.0 - p.momentum) * running_var[c] + p.momentum * running;
    }
}

// y = gamma (x - mean) inv_std + beta with the statistics batchnorm_stats wrote.
@compute @workgroup_size(WG)
fn batchnorm_normalize(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg);
    if (i >= p.batch * p.channels * p.len) {
        return;
    }
    let c = channel_of(i);
    y[i] = store(f32(gamma[c]) * (f32(x[i]) - center[c]) * spread[c] + f32(beta[c]));
}

// Inference: the same with the running statistics (spread = running variance).
@compute @workgroup_size(WG)
fn batchnorm_eval(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg);
    if (i >= p.batch * p.channels * p.len) {
        return;
    }
    let c = channel_of(i);
    y[i] = store(f32(gamma[c]) * (f32(x[i]) - center[c]) / sqrt(spread[c] + p.eps) + f32(beta[c]));
}

// One workgroup per channel: dbeta = sum dy, dgamma = sum dy * xhat.
@compute @workgroup_size(WG)
fn batchnorm_backward_sums(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let c = wid.x;
    var sum_dy = 0.0;
    var sum_dy_xhat = 0.0;
    for (var j = lid; j < p.batch * p.len; j = j + WG) {
        let e = element(c, j);
        let g = f32(dy[e]);
        sum_dy = sum_dy + g;
        sum_dy_xhat = sum_dy_xhat + g * (f32(x[e]) - center[c]) * spread[c];
    }
    let total_dy = workgroup_sum(lid, sum_dy);
    let total_dy_xhat = workgroup_sum(lid, sum_dy_xhat);
    if (lid == 0u) {
        dbeta[c] = store(total_dy);
        dgamma[c] = store(total_dy_xhat);
    }
}

// dx from the sums: with g = dy gamma, mean(g) = gamma dbeta / M and
// mean(g xhat) = gamma dgamma / M.
@compute @workgroup_size(WG)
fn batchnorm_backward_dx(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg);
    if (i >= p.batch * p.channels * p.len) {
        return;
    }
    let c = channel_of(i);
    let scale = f32(gamma[c]) * spread[c];
    if (p.batch_stats == 1u) {
        let xhat = (f32(x[i]) - center[c]) * spread[c];
        dx[i] = store(scale * (f32(dy[i]) - f32(dbeta[c]) / count() - xhat * f32(dgamma[c]) / count()));
    } else {
        dx[i] = store(scale * f32(dy[i]));
    }
}
