// Adam (Kingma & Ba, Algorithm 1), one parameter per invocation. The bias corrections
// 1 - beta^t are computed on the host: they change every step, so they travel in the
// params arena with the step, not in a buffer of their own.

struct Params {
    n: u32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    // 1 - beta1^t, 1 - beta2^t
    correction1: f32,
    correction2: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;

@compute @workgroup_size(WG)
fn adam_step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg);
    if (i >= p.n) {
        return;
    }
    let g = grad[i];
    let m1 = p.beta1 * m[i] + (1.0 - p.beta1) * g;
    let v1 = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
    m[i] = m1;
    v[i] = v1;
    param[i] = param[i] - p.lr * (m1 / p.correction1) / (sqrt(v1 / p.correction2) + p.eps);
}
