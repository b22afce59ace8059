// Prepended to every shader file (see src/gpu/pipelines.rs).

// Invocations per workgroup of every 1D kernel and every workgroup reduction.
const WG: u32 = 64u;

// Item index of a 1D dispatch that groups_1d (src/gpu/recorder.rs) may have spread over
// x and y when it needed more than 65535 workgroups.
fn flat_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.y * nwg.x * WG + gid.x;
}

fn sigmoid(x: f32) -> f32 {
    return 1.0 / (1.0 + exp(-x));
}

var<workgroup> partial_sums: array<f32, WG>;

// Sum of `v` over a WG-wide workgroup as a fixed tree: the same inputs give the same bits
// on every run (no atomics). Every invocation of the workgroup must call it.
fn workgroup_sum(lid: u32, v: f32) -> f32 {
    partial_sums[lid] = v;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
        if (lid < stride) {
            partial_sums[lid] = partial_sums[lid] + partial_sums[lid + stride];
        }
        workgroupBarrier();
    }
    let total = partial_sums[0];
    // Everyone has read the total before a next call overwrites the scratch.
    workgroupBarrier();
    return total;
}

// Not max(v, 0.0): that may drop a NaN and hide a diverged run from the numerical
// guard. NaN is tested on the bits: WGSL lets compilers assume floats are never NaN, so
// v != v may fold to false.
fn relu(v: f32) -> f32 {
    return select(0.0, v, v > 0.0 || is_nan(v));
}

fn is_nan(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

// tanh from one exp of a non-positive argument: never inf/inf, unlike sinh/cosh.
fn tanh_stable(x: f32) -> f32 {
    let e = exp(-2.0 * abs(x));
    return sign(x) * (1.0 - e) / (1.0 + e);
}
