// The decode-step projection with what surrounds it fused in, so that a
// transformer sub-layer is one dispatch:
//
//   out[m, n] = act(s[m] * (x[m] . w[woff + n]))          plain (ACT optional)
//   out[m, n] = act(s[m] * (x[m] . w[woff + n]))
//               * (s[m] * (x[m] . w[woff + N + n]))        GATE
//   out[m, n] += res[m, n]                                 RES
//
// for rows m < p.M of x and outputs n < N. s[m] is 1, or with NORM the RMS
// normalisation of row m, 1/sqrt(mean(x[m]^2) + eps): T5's layer norm with
// its weight folded into w's columns at load time, so normalising x is a
// scale of each dot product. Each workgroup computes the squares of the few
// rows itself; they are small (d_model floats) and in cache.
//
// GATE reads two weight rows per output, gate and up (wi_0 and wi_1 stacked
// into one [2N, K] matrix): the gated feed-forward of T5 v1.1 and FLAN-T5.
// woff lets one matrix hold several projections (q, k and v stacked).
//
// ARGMAX (the lm_head of a greedy step) also leaves, per x row m and
// workgroup g, the workgroup's best (key, index) and the sum of
// exp(value - its best value) over its outputs in part[(m*G + g)*3 ..]:
// the first half of an argmax and a logsumexp over the vocabulary, which
// argmax_combine.wgsl finishes. Keys order like the floats ("order" in
// lib.wgsl); ties go to the lowest index.
//
// TPR invocations share a weight row, RPI weight rows to an invocation
// sharing each load of x; 16-byte loads (VEC) or single elements; partial
// sums meet in workgroup memory. M is the row capacity (1, 2, 4 or 8) of a block of rows of x; the
// grid's third dimension takes the blocks of a prompt's many rows (the
// encoder's and teacher forcing's layers, fused as a step's are), each
// reading the weights (from cache after the first). Rows p.M.. re-read the
// last row and are not written. ARGMAX takes one block.
struct Params {
    M: u32,
    N: u32,
    K: u32,
    woff: u32,
    eps: f32,
}

const WG = {{.WG}}u;
// K, the width of x, is a constant so that the loops over it unroll.
const K = {{.K}}u;
const TPR = {{.TPR}}u;
// RPI output rows per invocation (1 on GPUs; more on a CPU, where they
// share the loads of x), ROWS outputs per workgroup: invocation r's are
// g * ROWS + j * SPAN + r for j < RPI.
const RPI = {{.RPI}}u;
const SPAN = WG / TPR;
const ROWS = SPAN * RPI;
const M = {{.M}}u;
const G = {{if .GATE}}2u{{else}}1u{{end}};
// NR weight rows per invocation: RPI, and as many up rows with GATE.
const NR = RPI * G;
// The sums of squares (NORM) and the dot products' partials (TPR > 1)
// meet here.
const PARTIALS = {{if gt .TPR 1}}WG * M * NR{{else if .NORM}}WG * M{{else}}1u{{end}};

@group(0) @binding(0) var<uniform> p: Params;
{{- if .VEC}}
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<vec4<{{if eq .W "f32"}}f32{{else}}u32{{end}}>>;
{{- else}}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<{{template "w_elem" .}}>;
{{- end}}
@group(0) @binding(3) var<storage, read> res: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
{{- if .ARGMAX}}
@group(0) @binding(5) var<storage, read_write> part: array<u32>;

const VALS = ROWS * M;
var<workgroup> vals: array<f32, VALS>;
{{template "order" .}}

{{- end}}

var<workgroup> partial: array<f32, PARTIALS>;
var<workgroup> scale: array<f32, M>;

{{- if not .VEC}}
{{template "load_w" .}}
{{- else if eq .W "q8"}}
{{template "q8" .}}
{{- end}}
{{template "activations" .}}

fn act(v: f32) -> f32 {
{{- if eq .ACT "relu"}}
    return relu(v);
{{- else if eq .ACT "gelu_new"}}
    return gelu_new(v);
{{- else}}
    return v;
{{- end}}
}

{{/*
along_k opens dot_rows' loop over this invocation's loads along K (there
are `loads` of them in a row, the invocation's index i). With UNROLL it
counts to a constant, the guard folding away when TPR divides loads, so
that the loop unrolls and the invocation's loads are all in flight
together: one wait for memory instead of one per trip, which is what a
one-row step's latency is made of. Without it the loop stays a loop: at 8
rows, unrolled loops of 8 rows of x measured slower (BENCHMARKS.md).
*/}}
{{define "along_k"}}
{{- if .UNROLL}}
    for (var it = 0u; it < (loads + TPR - 1u) / TPR; it++) {
        let i = lane + it * TPR;
        if (loads % TPR != 0u && i >= loads) {
            break;
        }
{{- else}}
    for (var i = lane; i < loads; i += TPR) {
{{- end}}
{{- end}}

// dot_rows adds x[m] . w[rows[j]] for every m and j into acc, over this
// invocation's share of K. Each piece of x is loaded once for all NR rows:
// on a CPU, where every load is a loop over the SIMD lanes, the loads of x
// cost as much as the weights' (RPI > 1 shares them).
fn dot_rows(rows_in: array<u32, NR>, lane: u32, m0: u32, acc: ptr<function, array<array<f32, M>, NR>>) {
    // A value parameter may only be indexed by constants.
    var rows = rows_in;
{{- if and .VEC (eq .W "q8")}}
    // One q8 block (32 weights) per iteration; rows start at a superblock
    // (K a multiple of 128).
    let kb = K / 32u;
    let xrow = K / 4u;
    let loads = kb;
{{- template "along_k" .}}
        var xs: array<array<vec4<f32>, 8>, M>;
        for (var m = 0u; m < M; m++) {
            let xb = min(m0 + m, p.M - 1u) * xrow + 8u * i;
            for (var j = 0u; j < 8u; j++) {
                xs[m][j] = x[xb + j];
            }
        }
        for (var rj = 0u; rj < NR; rj++) {
            var q: array<vec4<f32>, 8>;
            let scale = q8_block(rows[rj] * (K / 128u), i, &q);
            for (var m = 0u; m < M; m++) {
                var d = 0.0;
                for (var j = 0u; j < 8u; j++) {
                    d += dot(q[j], xs[m][j]);
                }
                (*acc)[rj][m] += scale * d;
            }
        }
    }
{{- else if and .VEC (eq .W "f16")}}
    let k8 = K / 8u;
    let xrow = K / 4u;
    let loads = k8;
{{- template "along_k" .}}
        var xl: array<vec4<f32>, M>;
        var xh: array<vec4<f32>, M>;
        for (var m = 0u; m < M; m++) {
            let mm = min(m0 + m, p.M - 1u);
            xl[m] = x[mm * xrow + 2u * i];
            xh[m] = x[mm * xrow + 2u * i + 1u];
        }
        for (var rj = 0u; rj < NR; rj++) {
            let packed = w[rows[rj] * k8 + i];
            let lo = vec4<f32>(unpack2x16float(packed.x), unpack2x16float(packed.y));
            let hi = vec4<f32>(unpack2x16float(packed.z), unpack2x16float(packed.w));
            for (var m = 0u; m < M; m++) {
                (*acc)[rj][m] += dot(lo, xl[m]) + dot(hi, xh[m]);
            }
        }
    }
{{- else if .VEC}}
    let k4 = K / 4u;
    let loads = k4;
{{- template "along_k" .}}
        var xv: array<vec4<f32>, M>;
        for (var m = 0u; m < M; m++) {
            xv[m] = x[min(m0 + m, p.M - 1u) * k4 + i];
        }
        for (var rj = 0u; rj < NR; rj++) {
            let wv = w[rows[rj] * k4 + i];
            for (var m = 0u; m < M; m++) {
                (*acc)[rj][m] += dot(wv, xv[m]);
            }
        }
    }
{{- else}}
    let loads = K;
{{- template "along_k" .}}
        var xv: array<f32, M>;
        for (var m = 0u; m < M; m++) {
            xv[m] = x[min(m0 + m, p.M - 1u) * K + i];
        }
        for (var rj = 0u; rj < NR; rj++) {
            let wv = load_w(rows[rj] * K + i);
            for (var m = 0u; m < M; m++) {
                (*acc)[rj][m] += wv * xv[m];
            }
        }
    }
{{- end}}
}

{{/*
fmatvec_norm leaves each row's scale in scale[m]: its inverse RMS with
NORM, else 1. With UNROLL it comes after the products, so that the wait
for x and the wait for the weights are one wait (x is then in cache), not
two in a row. At 8 rows of x that measured slower (BENCHMARKS.md), so
without UNROLL it stays first.
*/}}
{{define "fmatvec_norm"}}
{{- if .NORM}}
    // Sum of squares of each row of x, by all invocations.
    var sq: array<f32, M>;
{{- if .VEC}}
    let k4 = K / 4u;
    for (var i = t; i < k4; i += WG) {
        for (var m = 0u; m < M; m++) {
            let v = x[min(m0 + m, p.M - 1u) * k4 + i];
            sq[m] += dot(v, v);
        }
    }
{{- else}}
    for (var k = t; k < K; k += WG) {
        for (var m = 0u; m < M; m++) {
            let v = x[min(m0 + m, p.M - 1u) * K + k];
            sq[m] += v * v;
        }
    }
{{- end}}
    for (var m = 0u; m < M; m++) {
        partial[m * WG + t] = sq[m];
    }
    workgroupBarrier();
    // A tree, not one invocation summing WG values: its latency is the
    // step's.
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (t < s) {
            for (var m = 0u; m < M; m++) {
                partial[m * WG + t] += partial[m * WG + t + s];
            }
        }
        workgroupBarrier();
    }
    if (t < M) {
        scale[t] = inverseSqrt(partial[t * WG] / f32(K) + p.eps);
    }
    // Also orders the reads of partial above before any reuse.
    workgroupBarrier();
{{- else}}
    if (t < M) {
        scale[t] = 1.0;
    }
    workgroupBarrier();
{{- end}}
{{end}}

@compute @workgroup_size({{.WG}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
    let r = t / TPR;
    let lane = t % TPR;
    let g = wid.x + wid.y * nwg.x;
    // This workgroup's block of rows of x; without BLOCKS there is one,
    // and the row indices fold to constants as a step's did before blocks.
    let m0 = {{if .BLOCKS}}wid.z * M{{else}}0u{{end}};

{{- if not .UNROLL}}
{{template "fmatvec_norm" .}}
{{- end}}

    // Rows past N read row N - 1 (in bounds) and are not written.
    var rows: array<u32, NR>;
    for (var j = 0u; j < RPI; j++) {
        let n = min(g * ROWS + j * SPAN + r, p.N - 1u);
        rows[j] = p.woff + n;
{{- if .GATE}}
        rows[RPI + j] = p.woff + p.N + n;
{{- end}}
    }
    var acc: array<array<f32, M>, NR>;
    dot_rows(rows, lane, m0, &acc);
{{- if .UNROLL}}
{{template "fmatvec_norm" .}}
{{- end}}
{{- if gt .TPR 1}}
    for (var j = 0u; j < NR; j++) {
        for (var m = 0u; m < M; m++) {
            partial[(j * M + m) * WG + t] = acc[j][m];
        }
    }
    workgroupBarrier();
{{- end}}
    for (var j = 0u; j < RPI; j++) {
        let local = j * SPAN + r;
        let n = g * ROWS + local;
        // Invocation lane of each weight row finishes x rows lane,
        // lane + TPR, ... (one pass when TPR >= M, as on GPUs; a CPU's one
        // invocation per row finishes them all).
        for (var mr = lane; mr < M && m0 + mr < p.M && n < p.N; mr += TPR) {
{{- if gt .TPR 1}}
            var s = 0.0;
            for (var i = 0u; i < TPR; i++) {
                s += partial[(j * M + mr) * WG + r * TPR + i];
            }
{{- else}}
            // One invocation per row: its sums need no meeting.
            let s = acc[j][mr];
{{- end}}
            var v = act(scale[mr] * s);
{{- if .GATE}}
{{- if gt .TPR 1}}
            var u = 0.0;
            for (var i = 0u; i < TPR; i++) {
                u += partial[((RPI + j) * M + mr) * WG + r * TPR + i];
            }
{{- else}}
            let u = acc[RPI + j][mr];
{{- end}}
            v *= scale[mr] * u;
{{- end}}
            let o = (m0 + mr) * p.N + n;
{{- if .RES}}
            v += res[o];
{{- end}}
            out[o] = v;
{{- if .ARGMAX}}
            vals[mr * ROWS + local] = v;
{{- end}}
        }
    }
{{- if .ARGMAX}}
    workgroupBarrier();
    let groups = (p.N + ROWS - 1u) / ROWS;
    if (t < p.M && g < groups) {
        var bk = 0u;
        var bi = 0u;
        var bv = 0.0;
        for (var j = 0u; j < ROWS; j++) {
            let nj = g * ROWS + j;
            if (nj < p.N) {
                let v = vals[t * ROWS + j];
                let k = key(v);
                if (k > bk) {
                    bk = k;
                    bi = nj;
                    bv = v;
                }
            }
        }
        var sum = 0.0;
        for (var j = 0u; j < ROWS; j++) {
            if (g * ROWS + j < p.N) {
                sum += exp(vals[t * ROWS + j] - bv);
            }
        }
        let o = (t * groups + g) * 3u;
        part[o] = bk;
        part[o + 1u] = bi;
        part[o + 2u] = bitcast<u32>(sum);
    }
{{- end}}
}
