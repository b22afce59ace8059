// Max-pool and global average pooling over the last axis of (batch, channels, len).

// Params, bound as `p`, is prepended from `Pool` in src/gpu/kernel_params.rs.

@group(0) @binding(1) var<storage, read> x: array<store>;
// forward kernels
@group(0) @binding(2) var<storage, read_write> y: array<store>;
// backward kernels
@group(0) @binding(2) var<storage, read> dy: array<store>;
@group(0) @binding(3) var<storage, read_write> dx: array<store>;

// Position (within the row starting at `row`) of window j's maximum; ties go to the first.
fn window_argmax(row: u32, j: u32) -> u32 {
    let start = j * p.stride;
    var best = start;
    var best_v = f32(x[row + start]);
    for (var k = 1u; k < p.pool; k = k + 1u) {
        let v = f32(x[row + start + k]);
        if (v > best_v) {
            best_v = v;
            best = start + k;
        }
    }
    return best;
}

// One output per invocation.
@compute @workgroup_size(WG)
fn maxpool_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg);
    if (i >= p.batch * p.channels * p.len_out) {
        return;
    }
    let row = (i / p.len_out) * p.len_in;
    y[i] = x[row + window_argmax(row, i % p.len_out)];
}

// One input element per invocation: it gathers dy over the windows that contain it and
// chose it, in window order. No atomics, and windows may overlap (stride < pool).
@compute @workgroup_size(WG)
fn maxpool_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg);
    if (i >= p.batch * p.channels * p.len_in) {
        return;
    }
    let rc = i / p.len_in;
    let s = i % p.len_in;
    // windows j with j*stride <= s < j*stride + pool
    var first = 0u;
    if (s + 1u > p.pool) {
        first = (s + 1u - p.pool + p.stride - 1u) / p.stride;
    }
    let end = min(s / p.stride + 1u, p.len_out);
    var acc = 0.0;
    for (var j = first; j < end; j = j + 1u) {
        if (window_argmax(rc * p.len_in, j) == s) {
            acc = acc + f32(dy[rc * p.len_out + j]);
        }
    }
    dx[i] = store(acc);
}

// y[n, c] = mean over t of x[n, c, t] (len in len_in); one output per invocation.
@compute @workgroup_size(WG)
fn global_avg_pool_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg);
    if (i >= p.batch * p.channels) {
        return;
    }
    var acc = 0.0;
    for (var t = 0u; t < p.len_in; t = t + 1u) {
        acc = acc + f32(x[i * p.len_in + t]);
    }
    y[i] = store(acc / f32(p.len_in));
}

// dx[n, c, t] = dy[n, c] / len. dy is bound at binding 1 (x) here: a backward kernel
// with one input.
@compute @workgroup_size(WG)
fn global_avg_pool_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg);
    if (i >= p.batch * p.channels * p.len_in) {
        return;
    }
    y[i] = store(f32(x[i / p.len_in]) / f32(p.len_in));
}
