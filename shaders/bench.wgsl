// The device's ceilings, measured by the bench (src/bench/ceilings.rs): a vec4 copy for
// memory bandwidth, and a register-resident FMA loop for arithmetic throughput.

// Params, bound as `p`, is prepended from `Bench` in src/gpu/kernel_params.rs.

@group(0) @binding(1) var<storage, read_write> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;

// One 16-byte load and store per invocation: the widest access every device coalesces.
@compute @workgroup_size(WG)
fn copy_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg);
    if (i < p.n) {
        y[i] = x[i];
    }
}

// Eight independent vec4 accumulators per invocation (32 lanes of FMA per trip) hide the
// FMA latency; no memory traffic inside the loop. The result is stored so the compiler
// cannot drop the loop. Values converge to c / (1 - m): no overflow for any trip count.
@compute @workgroup_size(WG)
fn fma_peak(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat_id(gid, nwg);
    if (i >= p.n) {
        return;
    }
    let s = f32(i & 1023u) * 1e-4;
    let m = vec4<f32>(0.9990, 0.9991, 0.9992, 0.9993);
    let c = vec4<f32>(1e-3);
    var a0 = vec4<f32>(s, s + 0.1, s + 0.2, s + 0.3);
    var a1 = a0 + 1.0;
    var a2 = a0 + 2.0;
    var a3 = a0 + 3.0;
    var a4 = a0 + 4.0;
    var a5 = a0 + 5.0;
    var a6 = a0 + 6.0;
    var a7 = a0 + 7.0;
    for (var t = 0u; t < p.iters; t = t + 1u) {
        a0 = fma(a0, m, c);
        a1 = fma(a1, m, c);
        a2 = fma(a2, m, c);
        a3 = fma(a3, m, c);
        a4 = fma(a4, m, c);
        a5 = fma(a5, m, c);
        a6 = fma(a6, m, c);
        a7 = fma(a7, m, c);
    }
    x[i] = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
}
