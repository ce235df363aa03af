// Finishes a greedy step's argmax over the vocabulary from the partials
// fmatvec.wgsl (ARGMAX) leaves: for each row m and each of G workgroups,
// (best key, its index, sum of exp(value - best value)). Writes ids[m], the
// index of the largest value (ties to the lowest index; NaN first), and
// lp[m], its log-softmax: -log(sum over all outputs of exp(value - max)),
// the per-workgroup sums rescaled to the global maximum as an online
// logsumexp does.
//
// One workgroup per row: each invocation merges a strided share of the
// partials, then the workgroup merges pairs in a tree.
//
// HIST also keeps every step's choice: hist[pos*rows + row] and
// hist_lp[...] with pos = state[0], so that several greedy steps can run in
// one submission and be read back together; and it advances state[0] to
// the next step's position once every row's workgroup has read it (the
// last to take a ticket at state[1] does, and zeroes the ticket), where a
// dispatch of its own would cost a launch and a drain per step.
//
// PER = ceil(groups / WG): each invocation's share of a row's partials,
// loaded all at once (a constant count, no branch) before they merge.
struct Params {
    rows: u32,
    groups: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> part: array<u32>;
@group(0) @binding(2) var<storage, read_write> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> lp: array<f32>;
{{- if .HIST}}
@group(0) @binding(4) var<storage, read_write> state: array<atomic<u32>>;
@group(0) @binding(5) var<storage, read_write> hist: array<u32>;
@group(0) @binding(6) var<storage, read_write> hist_lp: array<f32>;
{{- end}}

const WG = {{.WG}}u;
const PER = {{.PER}}u;

var<workgroup> keys: array<u32, WG>;
var<workgroup> idxs: array<u32, WG>;
var<workgroup> maxs: array<f32, WG>;
var<workgroup> sums: array<f32, WG>;

{{template "order" .}}

// merge returns the sum of two (max, sum) pairs rescaled to the larger max.
fn merge(m1: f32, s1: f32, m2: f32, s2: f32) -> vec2<f32> {
    if (s1 == 0.0) {
        return vec2<f32>(m2, s2);
    }
    if (s2 == 0.0) {
        return vec2<f32>(m1, s1);
    }
    if (m2 > m1) {
        return vec2<f32>(m2, s1 * exp(m1 - m2) + s2);
    }
    return vec2<f32>(m1, s1 + s2 * exp(m2 - m1));
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let row = wid.x;
    if (row >= p.rows) {
        return;
    }
{{- if .HIST}}
    // Read before the ticket below is taken (the barrier before it orders
    // them), so before the last workgroup advances it.
    let pos = atomicLoad(&state[0]);
{{- end}}
    var pk: array<u32, PER>;
    var pi: array<u32, PER>;
    var ps: array<f32, PER>;
    for (var j = 0u; j < PER; j++) {
        // Past the last partial, the last is read again and dropped.
        let g = t + j * WG;
        let o = (row * p.groups + min(g, p.groups - 1u)) * 3u;
        pk[j] = select(0u, part[o], g < p.groups);
        pi[j] = part[o + 1u];
        ps[j] = bitcast<f32>(part[o + 2u]);
    }
    var bk = 0u;
    var bi = 0xffffffffu;
    var mx = 0.0;
    var sm = 0.0;
    for (var j = 0u; j < PER; j++) {
        let k = pk[j];
        if (k == 0u) {
            continue;
        }
        if (beats(bk, bi, k, pi[j])) {
            bk = k;
            bi = pi[j];
        }
        let ms = merge(mx, sm, unkey(k), ps[j]);
        mx = ms.x;
        sm = ms.y;
    }
    keys[t] = bk;
    idxs[t] = bi;
    maxs[t] = mx;
    sums[t] = sm;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (t < s) {
            if (beats(keys[t], idxs[t], keys[t + s], idxs[t + s])) {
                keys[t] = keys[t + s];
                idxs[t] = idxs[t + s];
            }
            let ms = merge(maxs[t], sums[t], maxs[t + s], sums[t + s]);
            maxs[t] = ms.x;
            sums[t] = ms.y;
        }
        workgroupBarrier();
    }
{{- if .HIST}}
    storageBarrier();
{{- end}}
    if (t == 0u) {
        ids[row] = idxs[0];
        lp[row] = -log(sums[0]);
{{- if .HIST}}
        let h = pos * p.rows + row;
        hist[h] = idxs[0];
        hist_lp[h] = -log(sums[0]);
        if (atomicAdd(&state[1], 1u) == p.rows - 1u) {
            atomicStore(&state[1], 0u);
            atomicAdd(&state[0], 1u);
        }
{{- end}}
    }
}
