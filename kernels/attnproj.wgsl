// One decode step of T5 cross-attention for B rows, with the layer norm
// and the query projection fused in front of the attention, so that a
// step's cross-attention is one dispatch instead of two:
//
//   q = norm(x[b]) . W[q rows of head h]   (W: [inner, K])
//   attention over the encoder's keys and values of input kv_rows[b], the
//   first lens[kv_rows[b]] of them; no bias.
//
// The norm is T5's RMSNorm with its weight folded into W (see
// model/assemble.go), so it is a scale of each dot product. No 1/sqrt(d)
// scaling of scores (T5 folds it into its weights).
//
// One workgroup per (row b, head h). It computes its head's query (TP
// invocations per output, partial sums in workgroup memory) and the row's
// RMS, which scales the query after, then attends to the keys in chunks of
// WG with an online softmax as attention.wgsl does. With PRELOAD the first
// chunk's keys and values are loaded at the start, so that the step waits
// for memory once for them and the weights, not once for each in turn. The
// heads of a row run in parallel workgroups.
//
// (A self-attention variant, with the q/k/v projections and the KV-cache
// append fused in, measured slower on the H100 than FMatVec followed by
// attnstep.wgsl, as a head's workgroup then reads all of its 3*D weight
// rows alone; BENCHMARKS.md.)
struct Params {
    heads: u32,
    // D is the head dim in floats; width is heads * D in vectors of V.
    D: u32,
    width: u32,
    // cap is the positions per input of the encoder output.
    cap: u32,
    rows: u32,
    eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
{{- if .VEC}}
@group(0) @binding(2) var<storage, read> w: array<vec4<{{if eq .W "f32"}}f32{{else}}u32{{end}}>>;
{{- else}}
@group(0) @binding(2) var<storage, read> w: array<{{template "w_elem" .}}>;
{{- end}}
@group(0) @binding(3) var<storage, read> kc: array<VT>;
@group(0) @binding(4) var<storage, read> vc: array<VT>;
@group(0) @binding(5) var<storage, read> lens: array<u32>;
@group(0) @binding(6) var<storage, read> kv_rows: array<u32>;
@group(0) @binding(7) var<storage, read_write> out: array<VT>;

const WG = {{.WG}}u;
// The head dim in vectors and the width of x are constants so that the
// dot products unroll (see attnstep.wgsl).
const DV = {{.DV}}u;
const K = {{.K}}u;
// TP invocations share one projection output.
const TP = 8u;
const MAXD = 256u;
// Value sums: SLICES slices of DV invocations, each over at most PER_SLICE
// of a chunk's keys.
const SLICES = WG / DV;
const PER_SLICE = (WG + SLICES - 1u) / SLICES;
// The head's D query outputs, OUTS per invocation: WG / TP at a time.
const D = DV * {{.V}}u;
const OUTS = (D + WG / TP - 1u) / (WG / TP);

var<workgroup> proj: array<f32, MAXD>;
{{template "online_softmax" .}}
{{- if .STAGE}}
// The row of x, read once from memory into workgroup memory: the
// projection reads each element of it once per output.
const K4 = K / 4u;
var<workgroup> xs: array<vec4<f32>, K4>;
{{- end}}

{{- if not .VEC}}
{{template "load_w" .}}
{{- else if eq .W "q8"}}
{{template "q8" .}}
{{- end}}

// pv returns vector c of the head's query.
fn pv(c: u32) -> VT {
    let o = c * {{.V}}u;
{{- if eq .V 4}}
    return vec4<f32>(proj[o], proj[o + 1u], proj[o + 2u], proj[o + 3u]);
{{- else}}
    return proj[o];
{{- end}}
}

// partial_dot returns this invocation's share of x[b] . w[row]. Its loops
// count to a constant, so that they unroll and the invocation's weight
// loads are in flight together (see fmatvec.wgsl's dot_rows).
fn partial_dot(b: u32, row: u32, lane: u32) -> f32 {
    var acc = 0.0;
{{- if and .VEC (eq .W "q8")}}
    // A q8 block (32 weights) per iteration; rows start at a superblock.
    let kb = K / 32u;
    for (var it = 0u; it < (kb + TP - 1u) / TP; it++) {
        let i = lane + it * TP;
        if (kb % TP == 0u || i < kb) {
            var q: array<vec4<f32>, 8>;
            let scale = q8_block(row * (K / 128u), i, &q);
            var d = 0.0;
            for (var j = 0u; j < 8u; j++) {
    {{- if .STAGE}}
                d += dot(q[j], xs[8u * i + j]);
    {{- else}}
                let xb = b * K + 32u * i + 4u * j;
                d += dot(q[j], vec4<f32>(x[xb], x[xb + 1u], x[xb + 2u], x[xb + 3u]));
    {{- end}}
            }
            acc += scale * d;
        }
    }
{{- else if and .VEC (eq .W "f16")}}
    let k8 = K / 8u;
    for (var it = 0u; it < (k8 + TP - 1u) / TP; it++) {
        let i = lane + it * TP;
        if (k8 % TP == 0u || i < k8) {
            let packed = w[row * k8 + i];
            let lo = vec4<f32>(unpack2x16float(packed.x), unpack2x16float(packed.y));
            let hi = vec4<f32>(unpack2x16float(packed.z), unpack2x16float(packed.w));
    {{- if .STAGE}}
            acc += dot(lo, xs[2u * i]) + dot(hi, xs[2u * i + 1u]);
    {{- else}}
            let xb = b * K + 8u * i;
            acc += dot(lo, vec4<f32>(x[xb], x[xb + 1u], x[xb + 2u], x[xb + 3u]))
                 + dot(hi, vec4<f32>(x[xb + 4u], x[xb + 5u], x[xb + 6u], x[xb + 7u]));
    {{- end}}
        }
    }
{{- else if .VEC}}
    let k4 = K / 4u;
    for (var it = 0u; it < (k4 + TP - 1u) / TP; it++) {
        let i = lane + it * TP;
        if (k4 % TP == 0u || i < k4) {
    {{- if .STAGE}}
            acc += dot(w[row * k4 + i], xs[i]);
    {{- else}}
            let xb = b * K + 4u * i;
            acc += dot(w[row * k4 + i], vec4<f32>(x[xb], x[xb + 1u], x[xb + 2u], x[xb + 3u]));
    {{- end}}
        }
    }
{{- else}}
    for (var it = 0u; it < (K + TP - 1u) / TP; it++) {
        let k = lane + it * TP;
        if (K % TP == 0u || k < K) {
            acc += load_w(row * K + k) * x[b * K + k];
        }
    }
{{- end}}
    return acc;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = wid.x + wid.y * nwg.x;
    if (row >= p.rows) {
        return;
    }
    let h = row % p.heads;
    let b = row / p.heads;
    let s = t / DV;
    let e = t % DV;
    // The keys' place and number first: nothing before them depends on
    // them, and everything after does.
    let kb = kv_rows[b];
    let n = min(p.cap, lens[kb]);
    let cbase = kb * p.cap * p.width + h * DV;
{{- if .PRELOAD}}
    // The first chunk's key for this invocation and values for its slice,
    // loaded now so that their wait is the projection's wait, not one after
    // it (as attnstep.wgsl).
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

    // The row's sum of squares (and, staged, the row itself).
    var ss = 0.0;
{{- if .STAGE}}
    for (var k = t; k < K4; k += WG) {
        let v = vec4<f32>(x[b * K + 4u * k], x[b * K + 4u * k + 1u], x[b * K + 4u * k + 2u], x[b * K + 4u * k + 3u]);
        xs[k] = v;
        ss += dot(v, v);
    }
    workgroupBarrier();
{{- else}}
    for (var k = t; k < K; k += WG) {
        let v = x[b * K + k];
        ss += v * v;
    }
{{- end}}

    // The head's query, unscaled: OUTS outputs per invocation group of
    // TP, all of their weight loads in flight together. The norm is a
    // scale of each output, so its reduction waits for nothing here.
    let lane = t % TP;
    var parts: array<f32, OUTS>;
    for (var i = 0u; i < OUTS; i++) {
        let o = i * (WG / TP) + t / TP;
        if (o < D) {
            parts[i] = partial_dot(b, h * D + o, lane);
        }
    }

    red[t] = ss;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
        if (t < stride) {
            red[t] += red[t + stride];
        }
        workgroupBarrier();
    }
    let inv = inverseSqrt(red[0] / f32(K) + p.eps);
    // Every invocation has read red[0] before it is reused.
    workgroupBarrier();
    for (var i = 0u; i < OUTS; i++) {
        let o = i * (WG / TP) + t / TP;
        red[t] = parts[i];
        workgroupBarrier();
        if (lane == 0u && o < D) {
            var sum = 0.0;
            for (var j = 0u; j < TP; j++) {
                sum += red[t + j];
            }
            proj[o] = sum * inv;
        }
        workgroupBarrier();
    }

    var acc = VT(0.0);
    var m = NEG;
    var l = 0.0;
    for (var j0 = 0u; j0 < n; j0 += WG) {
        let cnt = min(WG, n - j0);
        var score = NEG;
        if (t < cnt) {
            var d = 0.0;
{{- if .PRELOAD}}
            if (j0 == 0u) {
                for (var c = 0u; c < DV; c++) {
                    d += vdot(pv(c), k0[c]);
                }
            } else {
{{- else}}
            {
{{- end}}
                let kr = cbase + (j0 + t) * p.width;
                for (var c = 0u; c < DV; c++) {
                    d += vdot(pv(c), kc[kr + c]);
                }
            }
            score = d;
        }
        let scale = chunk_probs(t, cnt, score, &m);
        if (s < SLICES) {
            acc *= scale;
            l *= scale;
{{- if .PRELOAD}}
            // A constant trip count, so that the value loads overlap (see
            // attnstep.wgsl).
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
                var vj: VT;
{{- if .PRELOAD}}
                if (j0 == 0u) {
                    vj = v0[i];
                } else {
{{- else}}
                {
{{- end}}
                    vj = vc[cbase + (j0 + jj) * p.width + e];
                }
                acc += pj * vj;
            }
        }
        // Every read of red and probs is done before the next chunk.
        workgroupBarrier();
    }

    let obase = b * p.width + h * DV;
    finish(t, DV, acc, l, obase);
}
