// One element per invocation. x and y (dy and dx) are both read_write so that an op may
// run in place: one buffer bound twice is legal only as two read-write bindings.

struct Params {
    n: u32,
    // activation: 0 relu, 1 sigmoid, 2 tanh
    kind: u32,
    // fill value
    value: f32,
    // dropout: key, keep threshold (dropout_threshold in src/backend.rs), rate
    key: u32,
    threshold: u32,
    rate: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
// activation_backward: dy at binding 2, dx at binding 3
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn fill(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg);
    if (i < p.n) {
        x[i] = p.value;
    }
}

@compute @workgroup_size(WG)
fn copy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg);
    if (i < p.n) {
        y[i] = x[i];
    }
}

// y += x
@compute @workgroup_size(WG)
fn add_assign(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg);
    if (i < p.n) {
        y[i] = y[i] + x[i];
    }
}

@compute @workgroup_size(WG)
fn activation_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg);
    if (i >= p.n) {
        return;
    }
    let v = x[i];
    switch p.kind {
        case 0u: { y[i] = max(v, 0.0); }
        case 1u: { y[i] = sigmoid(v); }
        default: { y[i] = tanh_stable(v); }
    }
}

// The derivative from the forward output: relu' = (y > 0), sigmoid' = y(1-y), tanh' = 1-y^2.
// Here x holds the forward output y, y holds dy.
@compute @workgroup_size(WG)
fn activation_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg);
    if (i >= p.n) {
        return;
    }
    let out = x[i];
    var slope: f32;
    switch p.kind {
        case 0u: { slope = select(0.0, 1.0, out > 0.0); }
        case 1u: { slope = out * (1.0 - out); }
        default: { slope = 1.0 - out * out; }
    }
    dx[i] = y[i] * slope;
}

// The twin of pcg_hash in src/backend.rs (u32 arithmetic wraps in WGSL as in wrapping_*).
fn pcg_hash(v: u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

// Inverted dropout; the backward pass is the same map applied to dy.
@compute @workgroup_size(WG)
fn dropout(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg);
    if (i >= p.n) {
        return;
    }
    let keep = pcg_hash(pcg_hash(i) ^ p.key) >= p.threshold;
    y[i] = select(0.0, x[i] / (1.0 - p.rate), keep);
}
