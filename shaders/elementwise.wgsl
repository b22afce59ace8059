// One element per invocation. x and y (dy and dx) are both read_write so that an op may
// run in place: one buffer bound twice is legal only as two read-write bindings.
// Tensors too large for one storage binding run in chunks of elements (src/gpu/
// elementwise.rs): n is the chunk's, `first` its first element's index in the whole
// tensor, offN where it starts in the tensor at binding N.

// Params, bound as `p`, is prepended from `Elementwise` in src/gpu/kernel_params.rs.

@group(0) @binding(1) var<storage, read_write> x: array<store>;
@group(0) @binding(2) var<storage, read_write> y: array<store>;
// activation_backward: dy at binding 2, dx at binding 3
@group(0) @binding(3) var<storage, read_write> dx: array<store>;

@compute @workgroup_size(WG)
fn fill(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg);
    if (i < p.n) {
        x[p.off1 + i] = store(p.value);
    }
}

@compute @workgroup_size(WG)
fn copy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg);
    if (i < p.n) {
        y[p.off2 + i] = x[p.off1 + i];
    }
}

// y += x
@compute @workgroup_size(WG)
fn add_assign(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg);
    if (i < p.n) {
        y[p.off2 + i] = store(f32(y[p.off2 + i]) + f32(x[p.off1 + i]));
    }
}

@compute @workgroup_size(WG)
fn activation_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg);
    if (i >= p.n) {
        return;
    }
    let v = f32(x[p.off1 + i]);
    var out: f32;
    switch p.kind {
        case 0u: { out = relu(v); }
        case 1u: { out = sigmoid(v); }
        default: { out = tanh_stable(v); }
    }
    y[p.off2 + i] = store(out);
}

// The derivative from the forward output: relu' = (y > 0), sigmoid' = y(1-y), tanh' = 1-y^2.
// Here x holds the forward output y, y holds dy.
@compute @workgroup_size(WG)
fn activation_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg);
    if (i >= p.n) {
        return;
    }
    let out = f32(x[p.off1 + i]);
    var slope: f32;
    switch p.kind {
        case 0u: { slope = select(0.0, 1.0, out > 0.0); }
        case 1u: { slope = out * (1.0 - out); }
        default: { slope = 1.0 - out * out; }
    }
    dx[p.off3 + i] = store(f32(y[p.off2 + i]) * slope);
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
    // the index in the whole tensor: the mask does not depend on the chunking
    let keep = pcg_hash(pcg_hash(p.first + i) ^ p.key) >= p.threshold;
    y[p.off2 + i] = store(select(0.0, f32(x[p.off1 + i]) / (1.0 - p.rate), keep));
}
