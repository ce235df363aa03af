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
// The layout of the work is matvec.wgsl's: TPR invocations share a weight
// row, 16-byte loads (VEC) or single elements, partial sums in workgroup
// memory. M is the row capacity (1, 2, 4 or 8); rows p.M.. re-read the last
// row and are not written.
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
const ROWS = WG / TPR;
const M = {{.M}}u;
const G = {{if .GATE}}2u{{else}}1u{{end}};
// The sums of squares (NORM) and the dot products' partials (TPR > 1)
// meet here.
const PARTIALS = {{if gt .TPR 1}}WG * M * G{{else if .NORM}}WG * M{{else}}1u{{end}};

@group(0) @binding(0) var<uniform> p: Params;
{{- if .VEC}}
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
{{- if eq .W "q8"}}
@group(0) @binding(2) var<storage, read> w: array<u32>;
{{- else}}
@group(0) @binding(2) var<storage, read> w: array<vec4<{{if eq .W "f16"}}u32{{else}}f32{{end}}>>;
{{- end}}
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

// dot_row adds x[m] . w[row] for every m into acc, over this invocation's
// share of K.
fn dot_row(row: u32, lane: u32, acc: ptr<function, array<f32, M>>) {
{{- if and .VEC (eq .W "q8")}}
    // One q8 block (32 weights: eight words of bytes and the scale) per
    // iteration; rows start at a block (K a multiple of 32).
    let kb = K / 32u;
    let xrow = K / 4u;
    for (var i = lane; i < kb; i += TPR) {
        let base = (row * kb + i) * 9u;
        let scale = bitcast<f32>(w[base + 8u]);
        var q: array<vec4<f32>, 8>;
        for (var j = 0u; j < 8u; j++) {
            let word = w[base + j];
            q[j] = vec4<f32>(f32(i32(word << 24u) >> 24u), f32(i32(word << 16u) >> 24u),
                             f32(i32(word << 8u) >> 24u), f32(i32(word) >> 24u));
        }
        for (var m = 0u; m < M; m++) {
            let xb = min(m, p.M - 1u) * xrow + 8u * i;
            var d = 0.0;
            for (var j = 0u; j < 8u; j++) {
                d += dot(q[j], x[xb + j]);
            }
            (*acc)[m] += scale * d;
        }
    }
{{- else if and .VEC (eq .W "f16")}}
    let k8 = K / 8u;
    let xrow = K / 4u;
    for (var i = lane; i < k8; i += TPR) {
        let packed = w[row * k8 + i];
        let lo = vec4<f32>(unpack2x16float(packed.x), unpack2x16float(packed.y));
        let hi = vec4<f32>(unpack2x16float(packed.z), unpack2x16float(packed.w));
        for (var m = 0u; m < M; m++) {
            let mm = min(m, p.M - 1u);
            (*acc)[m] += dot(lo, x[mm * xrow + 2u * i]) + dot(hi, x[mm * xrow + 2u * i + 1u]);
        }
    }
{{- else if .VEC}}
    let k4 = K / 4u;
    for (var i = lane; i < k4; i += TPR) {
        let wv = w[row * k4 + i];
        for (var m = 0u; m < M; m++) {
            (*acc)[m] += dot(wv, x[min(m, p.M - 1u) * k4 + i]);
        }
    }
{{- else}}
    for (var k = lane; k < K; k += TPR) {
        let wv = load_w(row * K + k);
        for (var m = 0u; m < M; m++) {
            (*acc)[m] += wv * x[min(m, p.M - 1u) * K + k];
        }
    }
{{- end}}
}

@compute @workgroup_size({{.WG}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
    let r = t / TPR;
    let lane = t % TPR;
    let n = (wid.x + wid.y * nwg.x) * ROWS + r;

{{- if .NORM}}
    // Sum of squares of each row of x, by all invocations.
    var sq: array<f32, M>;
{{- if .VEC}}
    let k4 = K / 4u;
    for (var i = t; i < k4; i += WG) {
        for (var m = 0u; m < M; m++) {
            let v = x[min(m, p.M - 1u) * k4 + i];
            sq[m] += dot(v, v);
        }
    }
{{- else}}
    for (var k = t; k < K; k += WG) {
        for (var m = 0u; m < M; m++) {
            let v = x[min(m, p.M - 1u) * K + k];
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
    workgroupBarrier();
{{- else}}
    if (t < M) {
        scale[t] = 1.0;
    }
    workgroupBarrier();
{{- end}}

    var acc: array<f32, M>;
{{- if .GATE}}
    var up: array<f32, M>;
{{- end}}
    if (n < p.N) {
        dot_row(p.woff + n, lane, &acc);
{{- if .GATE}}
        dot_row(p.woff + p.N + n, lane, &up);
{{- end}}
    }
{{- if gt .TPR 1}}
    for (var m = 0u; m < M; m++) {
        partial[m * WG + t] = acc[m];
{{- if .GATE}}
        partial[(M + m) * WG + t] = up[m];
{{- end}}
    }
    workgroupBarrier();
{{- end}}
    // Invocation lane of each weight row finishes x rows lane, lane + TPR,
    // ... (one pass when TPR >= M, as on GPUs; a CPU's one invocation per
    // row finishes them all).
    for (var mr = lane; mr < p.M && n < p.N; mr += TPR) {
{{- if gt .TPR 1}}
        let base = mr * WG + r * TPR;
        var s = 0.0;
        for (var j = 0u; j < TPR; j++) {
            s += partial[base + j];
        }
{{- else}}
        // One invocation per row: its sums need no meeting.
        let s = acc[mr];
{{- end}}
        var v = act(scale[mr] * s);
{{- if .GATE}}
{{- if gt .TPR 1}}
        var u = 0.0;
        for (var j = 0u; j < TPR; j++) {
            u += partial[M * WG + base + j];
        }
{{- else}}
        let u = up[mr];
{{- end}}
        v *= scale[mr] * u;
{{- end}}
        let o = mr * p.N + n;
{{- if .RES}}
        v += res[o];
{{- end}}
        out[o] = v;
{{- if .ARGMAX}}
        vals[mr * ROWS + r] = v;
{{- end}}
    }
{{- if .ARGMAX}}
    workgroupBarrier();
    let g = wid.x + wid.y * nwg.x;
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
