// Output heads: probabilities, the mean weighted loss and its gradient in one dispatch of
// ONE workgroup. Invocations stride over the batch rows and the loss is summed as a fixed
// tree (workgroup_sum): deterministic, and no second pass.

// Params, bound as `p`, is prepended from `Heads` in src/gpu/kernel_params.rs.

@group(0) @binding(1) var<storage, read> logits: array<store>;
@group(0) @binding(2) var<storage, read> targets: array<store>;
@group(0) @binding(3) var<storage, read> weights: array<store>;
@group(0) @binding(4) var<storage, read_write> probs: array<store>;
// f32 at every storage precision: the trainer sums it over an epoch on the device.
@group(0) @binding(5) var<storage, read_write> loss: array<f32>;
@group(0) @binding(6) var<storage, read_write> dlogits: array<store>;
// softmax_forward: probabilities only
@group(0) @binding(2) var<storage, read_write> probs_only: array<store>;

@compute @workgroup_size(WG)
fn sigmoid_bce(@builtin(local_invocation_index) lid: u32) {
    var acc = 0.0;
    for (var n = lid; n < p.batch; n = n + WG) {
        let z = f32(logits[n]);
        let t = f32(targets[n]);
        let w = f32(weights[n]);
        let prob = sigmoid(z);
        probs[n] = store(prob);
        dlogits[n] = store(w * (prob - t) / f32(p.batch));
        // -t log(s(z)) - (1-t) log(1-s(z)), stable for any z
        acc = acc + w * (max(z, 0.0) - z * t + log(1.0 + exp(-abs(z))));
    }
    let total = workgroup_sum(lid, acc);
    if (lid == 0u) {
        loss[0] = total / f32(p.batch);
    }
}

// Max and sum of exp(logit - max) of row n.
fn row_softmax_stats(n: u32) -> vec2<f32> {
    let row = n * p.classes;
    var mx = f32(logits[row]);
    for (var k = 1u; k < p.classes; k = k + 1u) {
        mx = max(mx, f32(logits[row + k]));
    }
    var sum = 0.0;
    for (var k = 0u; k < p.classes; k = k + 1u) {
        sum = sum + exp(f32(logits[row + k]) - mx);
    }
    return vec2<f32>(mx, sum);
}

// targets holds the class indices as f32.
@compute @workgroup_size(WG)
fn softmax_ce(@builtin(local_invocation_index) lid: u32) {
    var acc = 0.0;
    for (var n = lid; n < p.batch; n = n + WG) {
        let stats = row_softmax_stats(n);
        let row = n * p.classes;
        let label = u32(f32(targets[n]));
        let w = f32(weights[n]);
        for (var k = 0u; k < p.classes; k = k + 1u) {
            let prob = exp(f32(logits[row + k]) - stats.x) / stats.y;
            probs[row + k] = store(prob);
            let onehot = select(0.0, 1.0, k == label);
            dlogits[row + k] = store(w * (prob - onehot) / f32(p.batch));
        }
        // -log softmax[label], from the logits
        acc = acc + w * (log(stats.y) - (f32(logits[row + label]) - stats.x));
    }
    let total = workgroup_sum(lid, acc);
    if (lid == 0u) {
        loss[0] = total / f32(p.batch);
    }
}

// One row per invocation.
@compute @workgroup_size(WG)
fn softmax_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let n = flat_id(gid, nwg);
    if (n >= p.batch) {
        return;
    }
    let stats = row_softmax_stats(n);
    let row = n * p.classes;
    for (var k = 0u; k < p.classes; k = k + 1u) {
        probs_only[row + k] = store(exp(f32(logits[row + k]) - stats.x) / stats.y);
    }
}
