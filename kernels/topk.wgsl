// For each row of a [rows, v] f32 array: the k largest values, best first,
// as (index, log-probability) pairs, where the log-probability is the value
// minus the row's logsumexp (log-softmax). Beam search and sampling read
// back these 2k numbers per row instead of the whole row of logits.
//
// One workgroup per row. A first sweep finds the row's maximum m, a second
// sums exp(x - m). Then k selection rounds: round r finds the best element
// that ranks strictly after round r-1's pick in the order (value
// descending, index ascending), so ties come out lowest index first and no
// element is picked twice. Each round is a strided scan plus a tree
// reduction, like argmax; k is small (beams, or a sampling top-k), so the
// k scans cost less than a sort.
//
// Values are compared through the same order-preserving u32 key as argmax:
// NaN ranks above everything.
struct Params {
    rows: u32,
    v: u32,
    k: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> logprobs: array<f32>;

var<workgroup> keys: array<u32, {{.WG}}>;
var<workgroup> idxs: array<u32, {{.WG}}>;
var<workgroup> sums: array<f32, {{.WG}}>;

{{template "order" .}}

// reduce leaves the best (key, index) of the workgroup in slot 0.
fn reduce(tid: u32) {
    for (var s = {{.WG}}u / 2u; s > 0u; s >>= 1u) {
        if (tid < s) {
            let k2 = keys[tid + s];
            let i2 = idxs[tid + s];
            if (beats(keys[tid], idxs[tid], k2, i2)) {
                keys[tid] = k2;
                idxs[tid] = i2;
            }
        }
        workgroupBarrier();
    }
}

@compute @workgroup_size({{.WG}})
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = wid.x + wid.y * nwg.x;
    if (row >= p.rows) {
        return;
    }
    let base = row * p.v;

    // Round 0 doubles as the maximum.
    var bk = 0u;
    var bi = 0xffffffffu;
    for (var j = tid; j < p.v; j += {{.WG}}u) {
        let k = key(x[base + j]);
        if (k > bk) {
            bk = k;
            bi = j;
        }
    }
    keys[tid] = bk;
    idxs[tid] = bi;
    workgroupBarrier();
    reduce(tid);
    var prev_k = keys[0];
    var prev_i = idxs[0];
    let m = x[base + prev_i];

    var s = 0.0;
    for (var j = tid; j < p.v; j += {{.WG}}u) {
        s += exp(x[base + j] - m);
    }
    sums[tid] = s;
    workgroupBarrier();
    for (var st = {{.WG}}u / 2u; st > 0u; st >>= 1u) {
        if (tid < st) {
            sums[tid] += sums[tid + st];
        }
        workgroupBarrier();
    }
    let lse = m + log(sums[0]);
    if (tid == 0u) {
        ids[row * p.k] = prev_i;
        logprobs[row * p.k] = m - lse;
    }

    for (var r = 1u; r < p.k; r++) {
        // Every invocation has read slot 0 before it is overwritten.
        workgroupBarrier();
        bk = 0u;
        bi = 0xffffffffu;
        for (var j = tid; j < p.v; j += {{.WG}}u) {
            let k = key(x[base + j]);
            // Ranks after the previous pick, and before the best so far.
            let after = k < prev_k || (k == prev_k && j > prev_i);
            if (after && k > bk) {
                bk = k;
                bi = j;
            }
        }
        keys[tid] = bk;
        idxs[tid] = bi;
        workgroupBarrier();
        reduce(tid);
        prev_k = keys[0];
        prev_i = idxs[0];
        if (tid == 0u) {
            ids[row * p.k + r] = prev_i;
            logprobs[row * p.k + r] = unkey(prev_k) - lse;
        }
    }
}
