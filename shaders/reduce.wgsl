// out[c] = sum over (n, t) of x[n, c, t]: conv bias gradients, dense/LSTM bias gradients
// (len 1: column sums). One workgroup per channel; each invocation strides over (n, t)
// and the workgroup adds the partial sums as a fixed tree, so the result is deterministic.

struct Params {
    batch: u32,
    channels: u32,
    len: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn channel_sum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let c = wid.x;
    var acc = 0.0;
    for (var j = lid; j < p.batch * p.len; j = j + WG) {
        let n = j / p.len;
        let t = j % p.len;
        acc = acc + x[(n * p.channels + c) * p.len + t];
    }
    let total = workgroup_sum(lid, acc);
    if (lid == 0u) {
        out[c] = total;
    }
}
