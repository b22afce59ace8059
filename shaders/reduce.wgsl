// channel_sum: out[c] = sum over (n, t) of x[n, c, t]: conv bias gradients, dense/LSTM bias gradients
// (len 1: column sums). One workgroup per channel; each invocation strides over (n, t)
// and the workgroup adds the partial sums as a fixed tree, so the result is deterministic.
// An x too large for one binding is summed in chunks of samples (src/gpu/reduce.rs): x
// starts at element off1 of its binding, and with `accumulate` set each chunk adds its
// total to out, in chunk order.

// Params, bound as `p`, is prepended from `Reduce` in src/gpu/kernel_params.rs.

@group(0) @binding(1) var<storage, read> x: array<store>;
@group(0) @binding(2) var<storage, read_write> out: array<store>;

@compute @workgroup_size(WG)
fn channel_sum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let c = wid.x;
    var acc = 0.0;
    for (var j = lid; j < p.batch * p.len; j = j + WG) {
        let n = j / p.len;
        let t = j % p.len;
        acc = acc + f32(x[p.off1 + (n * p.channels + c) * p.len + t]);
    }
    let total = workgroup_sum(lid, acc);
    if (lid == 0u) {
        out[c] = store(select(total, f32(out[c]) + total, p.accumulate != 0u));
    }
}

// column_sum: out[j] = sum over rows r of x[r * channels + j] (batch = rows,
// channels = columns), one column per invocation, rows in order: for few rows and many
// columns (per-sample weight gradients).
@compute @workgroup_size(WG)
fn column_sum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = flat_id(gid, nwg);
    if (j >= p.channels) {
        return;
    }
    var acc = 0.0;
    for (var r = 0u; r < p.batch; r = r + 1u) {
        acc = acc + f32(x[r * p.channels + j]);
    }
    out[j] = store(acc);
}
