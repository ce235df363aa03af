// Attention with T5's relative position bias and no 1/sqrt(d) scaling, one
// workgroup per (batch item b, head h, query i):
//   s_j   = q_i . k_j + bias[buckets[j - pos + tk - 1] * heads + h]   (j < n)
//   out_i = sum_j softmax(s)_j v_j
// where pos = tk - tq + i is the query's absolute position and n is the
// number of keys the mask lets it see. Every mask T5 needs keeps a prefix of
// the keys (padding sits at the end, causality cuts at pos), so keys j >= n
// are never read; with n == 0 the output is zeros.
//
// Keys are taken in chunks of WG with an online softmax (running maximum m
// and running sum l, rescaling the partial output whenever m grows), so the
// number of keys is unbounded and workgroup memory stays fixed.
//
// Threads cooperate twice per chunk. Scores: thread t dots key j0 + t with
// q, which sits in workgroup memory. Weighted sum of v: the workgroup splits
// into WG / dv slices of dv threads; thread (slice s, element e) accumulates
// output element e, and its share of l, over keys s, s + slices, ... of the
// chunk, reading v rows contiguously across e. Slices are added at the end.
//
// q, k, v and out are read as vectors of V floats (4 when the head dim
// allows, else 1); dv is the head dim in vectors. Rows of q, k, v and out
// are heads * dv vectors wide; k and v hold tcap rows per batch item, of
// which the first tk are in use. Bias, buckets, key_lens and kv_rows are
// read only when their flag is set (package gpu binds a stand-in
// otherwise). With kv_rows, query batch item b reads the keys, values and
// key length of batch item kv_rows[b]: beams of one input share its
// encoder output in cross-attention.
{{template "attention_io" .}}

const WG = {{.WG}}u;
// MAXDV vectors hold the largest head dim, 256 floats.
const MAXDV = {{if eq .V 4}}64u{{else}}256u{{end}};

var<workgroup> q_sh: array<VT, MAXDV>;
{{template "online_softmax" .}}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = wid.x + wid.y * nwg.x;
    if (row >= p.rows) {
        return;
    }
    let i = row % p.tq;
    let h = (row / p.tq) % p.heads;
    let b = row / (p.tq * p.heads);
    let width = p.heads * p.dv;
    let q_base = (b * p.tq + i) * width + h * p.dv;
    var kb = b;
    if (p.has_rows != 0u) {
        kb = kv_rows[b];
    }
    let kv_base = kb * p.tcap * width + h * p.dv;
    let n = visible(kb, i);
    // Bucket of key j is buckets[j + shift]: shift = tk - 1 - pos = tq - 1 - i.
    // Key j of query i (position tk-tq+i) has relative position
    // j - (tk-tq+i), at table index j + shift; center >= tk-1 keeps it >= 0.
    let shift = p.center - (p.tk - p.tq + i);

    for (var e = t; e < p.dv; e += WG) {
        q_sh[e] = q[q_base + e];
    }
    workgroupBarrier();

    let slices = WG / p.dv;
    let s = t / p.dv;
    let e = t % p.dv;
    var acc = VT(0.0);
    var m = NEG;
    var l = 0.0;
    for (var j0 = 0u; j0 < n; j0 += WG) {
        let cnt = min(WG, n - j0);
        var score = NEG;
        if (t < cnt) {
            let j = j0 + t;
            let kb = kv_base + j * width;
            var d = 0.0;
            for (var c = 0u; c < p.dv; c++) {
                d += vdot(q_sh[c], k[kb + c]);
            }
            if (p.has_bias != 0u) {
                d += bias[buckets[j + shift] * p.heads + h];
            }
            score = d;
        }
        let scale = chunk_probs(t, cnt, score, &m);
        if (s < slices) {
            acc *= scale;
            l *= scale;
            for (var jj = s; jj < cnt; jj += slices) {
                let pj = probs[jj];
                l += pj;
                acc += pj * v[kv_base + (j0 + jj) * width + e];
            }
        }
    }

    finish(t, p.dv, acc, l, q_base);
}
