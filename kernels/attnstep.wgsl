// One decoder step of T5 self-attention for B rows, with the KV-cache
// append fused in. Each row's q, k and v for the new position come stacked
// in one qkv row ([q | k | v], each heads * dv vectors wide, from one fused
// projection); the new k and v are written into the caches at position pos
// (read from state[0], so that the same recorded dispatch serves every
// step), and the query attends to keys 0..pos: the cached ones before pos,
// the new one at pos. Scores get T5's relative position bias, no
// 1/sqrt(d) scaling.
//
// One workgroup per (row b, head h), keys in chunks of WG with an online
// softmax, as attention.wgsl. The cache rows this workgroup writes are never
// read in the same dispatch (it uses the new k and v from workgroup
// memory), so no barrier over storage is needed.
struct Params {
    heads: u32,
    dv: u32,
    // cap is the cache's positions per row; width its row width in
    // vectors (heads * dv).
    cap: u32,
    width: u32,
    // center is the index of relative position 0 in the bucket table.
    center: u32,
    rows: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<VT>;
@group(0) @binding(2) var<storage, read_write> kc: array<VT>;
@group(0) @binding(3) var<storage, read_write> vc: array<VT>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read> buckets: array<u32>;
@group(0) @binding(6) var<storage, read> state: array<u32>;
@group(0) @binding(7) var<storage, read_write> out: array<VT>;

const WG = {{.WG}}u;
// DV, the head dim in vectors, is a constant so that the per-key dot
// products unroll: their loads then overlap instead of each waiting for
// the last (a step's attention is latency-bound).
const DV = {{.DV}}u;
// SLICES slices of DV invocations share a chunk's value sums, each at most
// PER_SLICE of its keys.
const SLICES = WG / DV;
const PER_SLICE = (WG + SLICES - 1u) / SLICES;
const MAXDV = {{if eq .V 4}}64u{{else}}256u{{end}};

var<workgroup> q_sh: array<VT, MAXDV>;
var<workgroup> k_sh: array<VT, MAXDV>;
var<workgroup> v_sh: array<VT, MAXDV>;
{{template "online_softmax" .}}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = wid.x + wid.y * nwg.x;
    if (row >= p.rows) {
        return;
    }
    let h = row % p.heads;
    let b = row / p.heads;
    let cbase = b * p.cap * p.width + h * DV;
    let s = t / DV;
    let e = t % DV;
{{- if .PRELOAD}}
    // The first chunk's key for this invocation and values for its slice,
    // loaded before anything else: their addresses do not depend on the
    // position, so that their wait is the same wait as for the position
    // and for q, k and v, not one after it. (The new position's rows are
    // loaded stale and replaced by k_sh and v_sh below.)
    var k0: array<VT, DV>;
    var v0: array<VT, PER_SLICE>;
    let kr0 = cbase + min(t, p.cap - 1u) * p.width;
    for (var c = 0u; c < DV; c++) {
        k0[c] = kc[kr0 + c];
    }
    if (s < SLICES) {
        for (var i = 0u; i < PER_SLICE; i++) {
            v0[i] = vc[cbase + min(s + i * SLICES, p.cap - 1u) * p.width + e];
        }
    }
{{- end}}
    let pos = state[0];
    let n = pos + 1u;
    let src = b * 3u * p.width + h * DV;

    for (var c = t; c < DV; c += WG) {
        q_sh[c] = qkv[src + c];
        let kv = qkv[src + p.width + c];
        let vv = qkv[src + 2u * p.width + c];
        k_sh[c] = kv;
        v_sh[c] = vv;
        kc[cbase + pos * p.width + c] = kv;
        vc[cbase + pos * p.width + c] = vv;
    }
    workgroupBarrier();

    var acc = VT(0.0);
    var m = NEG;
    var l = 0.0;
    for (var j0 = 0u; j0 < n; j0 += WG) {
        let cnt = min(WG, n - j0);
        var score = NEG;
        if (t < cnt) {
            let j = j0 + t;
            // Key j sits at relative position j - pos <= 0. The bias's
            // loads go first, so that they overlap the key's.
            let bj = bias[buckets[p.center + j - pos] * p.heads + h];
            // The new key comes from k_sh; its row in kc is read too (and
            // not used), so that the loop has no branch.
            let now = j == pos;
            var d = 0.0;
{{- if .PRELOAD}}
            if (j0 == 0u) {
                for (var c = 0u; c < DV; c++) {
                    d += vdot(q_sh[c], select(k0[c], k_sh[c], now));
                }
            } else {
{{- else}}
            {
{{- end}}
                let kb = cbase + j * p.width;
                for (var c = 0u; c < DV; c++) {
                    d += vdot(q_sh[c], select(kc[kb + c], k_sh[c], now));
                }
            }
            score = d + bj;
        }
        let scale = chunk_probs(t, cnt, score, &m);
        if (s < SLICES) {
            acc *= scale;
            l *= scale;
{{- if .PRELOAD}}
            // A constant trip count, so that the loop unrolls and its
            // loads are all in flight at once: a loop over cnt waits on
            // each value in turn, one row's step's longest chain of
            // latencies. (At 8 rows, unrolled measured slower.)
            for (var i = 0u; i < PER_SLICE; i++) {
                let jj = s + i * SLICES;
                if (jj >= cnt) {
                    break;
                }
{{- else}}
            for (var jj = s; jj < cnt; jj += SLICES) {
{{- end}}
                let pj = probs[jj];
                l += pj;
                let j = j0 + jj;
                var vj: VT;
{{- if .PRELOAD}}
                if (j0 == 0u) {
                    vj = v0[i];
                } else {
{{- else}}
                {
{{- end}}
                    vj = vc[cbase + j * p.width + e];
                }
                acc += pj * select(vj, v_sh[e], j == pos);
            }
        }
    }

    let obase = b * p.width + h * DV;
    finish(t, DV, acc, l, obase);
}
