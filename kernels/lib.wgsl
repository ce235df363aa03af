{{/*
Shared template definitions, included into every kernel's template set.

"w_elem" is the element type of a weight array bound as `w` (or any name):
f32 weights are stored as f32, f16 weights packed two per u32 word, q8
weights in superblocks of 36 u32 words (see gpu.Q8).
"load_w" defines fn load_w(i) -> f32 reading element i of a weight array `w`.
"q8" defines i8x4, q8 weights' four signed bytes of a word as floats, and
q8_block, for kernels that read q8 16 bytes at a time (a `w` of
array<vec4<u32>>).
"order" defines key, unkey and beats: the float order as u32 keys, ties to
the lowest index, for the argmax and top-k kernels.
"online_softmax" holds what the attention kernels share (VT, vdot,
chunk_probs, finish); it needs WG, V and an array<VT> named out.
"softmax_chunks" is all of it but finish, for a kernel that writes its
output another way.
*/}}
{{define "w_elem"}}{{if or (eq .W "f16") (eq .W "q8")}}u32{{else}}f32{{end}}{{end}}
{{define "load_w"}}
{{- if eq .W "q8"}}
// q8: superblocks of 128 weights in 36 words, 32 of signed bytes and then
// the f32 scales of their four blocks of 32 (gpu.Q8).
fn load_w(i: u32) -> f32 {
    let sb = (i >> 7u) * 36u;
    let r = i & 127u;
    let word = w[sb + (r >> 2u)];
    let q = i32(word << (24u - 8u * (i & 3u))) >> 24u;
    return f32(q) * bitcast<f32>(w[sb + 32u + (r >> 5u)]);
}
{{- else if eq .W "f16"}}
fn load_w(i: u32) -> f32 {
    let pair = unpack2x16float(w[i >> 1u]);
    return select(pair.x, pair.y, (i & 1u) == 1u);
}
{{- else}}
fn load_w(i: u32) -> f32 {
    return w[i];
}
{{- end}}
{{end}}
{{define "i8x4"}}
// i8x4 returns the four signed bytes of word, low byte first.
fn i8x4(word: u32) -> vec4<f32> {
    return vec4<f32>(f32(i32(word << 24u) >> 24u), f32(i32(word << 16u) >> 24u),
                     f32(i32(word << 8u) >> 24u), f32(i32(word) >> 24u));
}
{{end}}
{{define "q8"}}
{{- template "i8x4" .}}

// q8_block returns block i (32 weights) of a row of q8 weights that starts
// at superblock row_sb, its bytes as eight vectors and its scale: two
// 16-byte loads and the scale's.
fn q8_block(row_sb: u32, i: u32, q: ptr<function, array<vec4<f32>, 8>>) -> f32 {
    let sb = (row_sb + (i >> 2u)) * 9u;
    let sub = i & 3u;
    let lo = w[sb + 2u * sub];
    let hi = w[sb + 2u * sub + 1u];
    (*q)[0] = i8x4(lo.x);
    (*q)[1] = i8x4(lo.y);
    (*q)[2] = i8x4(lo.z);
    (*q)[3] = i8x4(lo.w);
    (*q)[4] = i8x4(hi.x);
    (*q)[5] = i8x4(hi.y);
    (*q)[6] = i8x4(hi.z);
    (*q)[7] = i8x4(hi.w);
    return bitcast<f32>(w[sb + 8u][sub]);
}
{{end}}
{{define "activations"}}
fn relu(x: f32) -> f32 {
    return max(x, 0.0);
}

// gelu_new, the tanh approximation: 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))).
// The tanh argument is clamped because some drivers compute tanh through
// exp and overflow to NaN for large inputs; tanh(15) is 1 in f32.
fn gelu_new(x: f32) -> f32 {
    let u = clamp(0.7978845608028654 * (x + 0.044715 * x * x * x), -15.0, 15.0);
    return 0.5 * x * (1.0 + tanh(u));
}
{{end}}
{{define "order"}}
// key maps f32 bits to a u32 that orders as the floats do, with -0 equal to
// +0 and every NaN equal to the largest key. No finite or infinite value maps
// to 0, which therefore marks an empty slot. Integer compares, not float
// ones: WGSL lets a compiler assume NaNs never occur, so a NaN test like
// x != x may be folded away.
fn key(f: f32) -> u32 {
    var b = bitcast<u32>(f);
    if ((b & 0x7fffffffu) > 0x7f800000u) {
        return 0xffffffffu;
    }
    if (b == 0x80000000u) {
        b = 0u;
    }
    if ((b & 0x80000000u) != 0u) {
        return ~b;
    }
    return b | 0x80000000u;
}

// unkey inverts key for non-NaN keys.
fn unkey(k: u32) -> f32 {
    if ((k & 0x80000000u) != 0u) {
        return bitcast<f32>(k & 0x7fffffffu);
    }
    return bitcast<f32>(~k);
}

// beats says whether (k2, i2) ranks before (k1, i1): a larger key, or an
// equal one at a lower index.
fn beats(k1: u32, i1: u32, k2: u32, i2: u32) -> bool {
    return k2 > k1 || (k2 == k1 && i2 < i1);
}
{{end}}
{{define "online_softmax"}}
{{- template "softmax_chunks" .}}
{{template "finish" .}}
{{- end}}
{{define "head_vectors"}}
// Head vectors VT of V floats, as the attention kernels read them.
alias VT = {{if eq .V 4}}vec4<f32>{{else}}f32{{end}};
// NEG stands for -inf: finite, so that exp(NEG - m) is 0 and never NaN.
const NEG = -3.0e38;

fn vdot(a: VT, b: VT) -> f32 {
{{- if eq .V 4}}
    return dot(a, b);
{{- else}}
    return a * b;
{{- end}}
}
{{end}}
{{define "attention_io"}}
// attention.wgsl's and attention_rows.wgsl's parameters and bindings (see
// attention.wgsl).
struct Params {
    heads: u32,
    tq: u32,
    tk: u32,
    tcap: u32,
    dv: u32,
    rows: u32,
    has_bias: u32,
    has_lens: u32,
    causal: u32,
    // center is the index of relative position 0 in the bucket table.
    center: u32,
    has_rows: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<VT>;
@group(0) @binding(2) var<storage, read> k: array<VT>;
@group(0) @binding(3) var<storage, read> v: array<VT>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read> buckets: array<u32>;
@group(0) @binding(6) var<storage, read> key_lens: array<u32>;
@group(0) @binding(7) var<storage, read_write> out: array<VT>;
@group(0) @binding(8) var<storage, read> kv_rows: array<u32>;

// visible returns how many leading keys query i may see in key batch
// item kb.
fn visible(kb: u32, i: u32) -> u32 {
    var n = p.tk;
    if (p.has_lens != 0u) {
        n = min(n, key_lens[kb]);
    }
    if (p.causal != 0u) {
        let last = i32(p.tk) - i32(p.tq) + i32(i);
        n = min(n, u32(max(last + 1, 0)));
    }
    return n;
}
{{end}}
{{define "softmax_chunks"}}
// The attention kernels' online softmax over the keys in chunks of WG, one
// key per invocation.
{{- template "head_vectors" .}}
var<workgroup> red: array<f32, WG>;
var<workgroup> probs: array<f32, WG>;
var<workgroup> acc_sh: array<VT, WG>;
{{- if .RED2}}

// RADIX is the first level's fan-in in wg_reduce: WG / RADIX partials.
const RADIX = 16u;
const PARTS = WG / RADIX;
var<workgroup> red2: array<f32, PARTS>;
{{- end}}

// wg_reduce returns the sum of every invocation's v, or with is_max the
// largest: in a tree of log2(WG) barriers, or with RED2 in two levels
// (PARTS invocations each fold RADIX values, then every invocation folds
// the PARTS partials), two barriers, each a wait for the whole workgroup
// (faster in the one-dispatch decoder layer on the H100; slower in the
// planned path's kernels on lavapipe, BENCHMARKS.md). Every invocation
// calls it; the caller puts a barrier between it and its next write of
// red (or red2).
fn wg_reduce(t: u32, v: f32, is_max: bool) -> f32 {
    red[t] = v;
    workgroupBarrier();
{{- if .RED2}}
    if (t < PARTS) {
        // Strided, so that the PARTS invocations read apart banks.
        var a = red[t];
        for (var i = 1u; i < RADIX; i++) {
            let x = red[t + i * PARTS];
            a = select(a + x, max(a, x), is_max);
        }
        red2[t] = a;
    }
    workgroupBarrier();
    var total = red2[0];
    for (var i = 1u; i < PARTS; i++) {
        total = select(total + red2[i], max(total, red2[i]), is_max);
    }
    return total;
{{- else}}
    for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
        if (t < stride) {
            red[t] = select(red[t] + red[t + stride], max(red[t], red[t + stride]), is_max);
        }
        workgroupBarrier();
    }
    return red[0];
{{- end}}
}

// chunk_probs takes invocation t's score for key j0 + t of a chunk of cnt
// keys (NEG for t >= cnt), raises the running maximum *m to the chunk's,
// leaves probs[t] = exp(score - *m) (0 for t >= cnt) and returns
// exp(old *m - new *m), the factor that rescales the sums made against
// the old maximum. Every invocation calls it; its first barrier also
// orders the previous chunk's reads of red and probs before this chunk's
// writes.
fn chunk_probs(t: u32, cnt: u32, score: f32, m: ptr<function, f32>) -> f32 {
    let m_new = max(*m, wg_reduce(t, score, true));
    let scale = exp(*m - m_new);
    *m = m_new;
    probs[t] = select(0.0, exp(score - m_new), t < cnt);
    // Also orders every read of red (and red2) before the next chunk's
    // writes.
    workgroupBarrier();
    return scale;
}
{{end}}
{{define "finish"}}
// finish writes out[obase .. obase + dv): the WG / dv slices' weighted
// sums of values acc, added up and divided by their added weights l (zeros
// for a query that saw no key). Invocation t is element t % dv of slice
// t / dv. Every invocation calls it.
fn finish(t: u32, dv: u32, acc: VT, l: f32, obase: u32) {
    let slices = WG / dv;
    let s = t / dv;
    acc_sh[t] = acc;
    if (t % dv == 0u && s < slices) {
        red[s] = l;
    }
    workgroupBarrier();
    for (var o = t; o < dv; o += WG) {
        var total = VT(0.0);
        var sum = 0.0;
        for (var r = 0u; r < slices; r++) {
            total += acc_sh[r * dv + o];
            sum += red[r];
        }
        out[obase + o] = select(VT(0.0), total / sum, sum > 0.0);
    }
}
{{end}}
