// Adam (Kingma & Ba, Algorithm 1), one parameter per invocation. The bias corrections
// 1 - beta^t are computed on the host: they change every step, so they travel in the
// params arena with the step, not in a buffer of their own.

// Params, bound as `p`, is prepended from `Adam` in src/gpu/kernel_params.rs.

@group(0) @binding(1) var<storage, read_write> param: array<store>;
@group(0) @binding(2) var<storage, read> grad: array<store>;
// The moments are f32 at every storage precision: v ~ g^2 underflows f16 (smallest
// subnormal 6e-8) for any |g| below 2.4e-4, and m's small updates would round away.
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
// adam_step_master: the f32 master copy of an f16 parameter (mixed precision): updates
// smaller than half an f16 ulp of the weight accumulate there instead of rounding away.
@group(0) @binding(5) var<storage, read_write> master: array<f32>;

// Updates the moments of element i and returns its new value from the old one.
fn adam_update(i: u32, old: f32) -> f32 {
    let g = f32(grad[i]);
    let m1 = p.beta1 * m[i] + (1.0 - p.beta1) * g;
    let v1 = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
    m[i] = m1;
    v[i] = v1;
    return old - p.lr * (m1 / p.correction1) / (sqrt(v1 / p.correction2) + p.eps);
}

@compute @workgroup_size(WG)
fn adam_step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg);
    if (i >= p.n) {
        return;
    }
    param[i] = store(adam_update(i, f32(param[i])));
}

// The kernels read `param`, rounded from the master once per step.
@compute @workgroup_size(WG)
fn adam_step_master(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg);
    if (i >= p.n) {
        return;
    }
    let updated = adam_update(i, master[i]);
    master[i] = updated;
    param[i] = store(updated);
}
