// One T5 decoder layer of a one-row decode step in one dispatch, where the
// planned step takes seven (norm and q/k/v; self-attention with the KV
// append; output projection and residual; norm, query projection and
// cross-attention; its output projection and residual; norm and the
// feed-forward input; its output and residual). The workgroups stay
// resident and meet at a barrier across all of them between the seven
// phases instead of at the end of a dispatch: on a GPU each dispatch
// boundary costs a launch and a wait for the whole device to drain.
//
// The products spread their output rows over every workgroup (SPAN_X rows
// at a time, TPR_X invocations to a row, as fmatvec.wgsl at one row); the
// attention phases take a head per workgroup. Weights are f16 (packed two
// to a word), q8 (blocks of 32 bytes and their scale, rows whole
// superblocks) or f32, each matrix its own dtype; caches are f32 vectors
// of four.
//
// What one phase writes and another reads within the dispatch goes
// through act with atomic loads and stores: a plain load may be served
// from the SM's own cache, which other SMs' writes do not reach (measured
// on an H200: 99.7% of plain loads after a barrier were stale). act also
// holds the barrier's words: act[0] counts arrivals (phase k is passed
// at k * G, or k * ceil(G / FANIN) with FANIN), act[1] workgroups leaving
// (the last zeroes the barrier's words for the next dispatch), act[2]
// spins that gave up after p.limit polls (the results are then wrong, and
// the host must not use them), and from act[4] on, with FANIN, each
// group's arrivals. h, the residual stream,
// is read in the first phase and written in the last, so plain accesses
// suffice: a dispatch boundary lies between its writes and its reads.
struct Params {
    // cap is the self-attention caches' positions; center the index of
    // relative position 0 in pos_bias; ecap the encoder output's positions
    // per input.
    cap: u32,
    center: u32,
    ecap: u32,
    limit: u32,
    eps: f32,
}

{{define "dl_wt"}}{{if eq . "f32"}}vec4<f32>{{else}}vec4<u32>{{end}}{{end}}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> h: array<f32>;
@group(0) @binding(2) var<storage, read_write> act: array<atomic<u32>>;
@group(0) @binding(3) var<storage, read> w_qkv: array<{{template "dl_wt" .WQKV}}>;
@group(0) @binding(4) var<storage, read> w_o: array<{{template "dl_wt" .WO}}>;
@group(0) @binding(5) var<storage, read> w_cq: array<{{template "dl_wt" .WCQ}}>;
@group(0) @binding(6) var<storage, read> w_co: array<{{template "dl_wt" .WCO}}>;
@group(0) @binding(7) var<storage, read> w_in: array<{{template "dl_wt" .WIN}}>;
@group(0) @binding(8) var<storage, read> w_out: array<{{template "dl_wt" .WOUT}}>;
@group(0) @binding(9) var<storage, read_write> kc: array<vec4<f32>>;
@group(0) @binding(10) var<storage, read_write> vc: array<vec4<f32>>;
@group(0) @binding(11) var<storage, read> ck: array<vec4<f32>>;
@group(0) @binding(12) var<storage, read> cv: array<vec4<f32>>;
// pos_bias is T5's relative position bias of each relative position (its
// bucket's row gathered), so that a key's bias is one load, not two.
@group(0) @binding(13) var<storage, read> pos_bias: array<f32>;
@group(0) @binding(14) var<storage, read> state: array<u32>;
@group(0) @binding(15) var<storage, read> lens: array<u32>;
@group(0) @binding(16) var<storage, read> kv_rows: array<u32>;

const WG = {{.WG}}u;
{{- if .FANIN}}
const FANIN = {{.FANIN}}u;
{{- end}}
const D = {{.D}}u;
const INNER = {{.INNER}}u;
const FF = {{.FF}}u;
const HEADS = {{.HEADS}}u;
// DV is the head dim in vectors of four, WIDTH a cache row's.
const DV = {{.DV}}u;
const DKV = DV * 4u;
const WIDTH = INNER / 4u;
const QKV_ROWS = 3u * INNER;
// The products: TPR_X invocations to an output row of product X, so
// SPAN_X = WG / TPR_X rows at a time, chosen by the host so that every
// workgroup takes at most one span where it can: a second span would be
// a second wait for memory.
const TPR_QKV = {{.TPR_QKV}}u;
const TPR_O = {{.TPR_O}}u;
const TPR_IN = {{.TPR_IN}}u;
const TPR_OUT = {{.TPR_OUT}}u;
const SPAN_QKV = WG / TPR_QKV;
const SPAN_O = WG / TPR_O;
const SPAN_IN = WG / TPR_IN;
const SPAN_OUT = WG / TPR_OUT;
// The cross-attention's query projection: TP invocations to an output
// in the head's workgroup (by default WG / DKV, so that the head's rows
// take one round of loads), or with CQP a phase of its own over every
// workgroup, TPR_CQ invocations to a row (SPAN_CQ rows at a time), and a
// barrier more.
const TP = {{.TPQ}}u;
const TPR_CQ = {{.TPR_CQ}}u;
const SPAN_CQ = WG / TPR_CQ;
const CQ = {{if .CQP}}1u{{else}}0u{{end}};
// Value sums: SLICES slices of DV invocations, each over at most
// PER_SLICE of a chunk's keys.
const SLICES = WG / DV;
const PER_SLICE = (WG + SLICES - 1u) / SLICES;
// act's regions, in words.
const A_QKV = {{.A_QKV}}u;
const A_O = {{.A_O}}u;
const A_H2 = {{.A_H2}}u;
const A_CO = {{.A_CO}}u;
const A_H3 = {{.A_H3}}u;
const A_FF = {{.A_FF}}u;
const A_CQ = {{.A_CQ}}u;

// xs holds the phase's input vector, read once from memory.
var<workgroup> xs: array<vec4<f32>, {{.XS4}}>;
const PARTIALS = {{if .GATE}}2u * WG{{else}}WG{{end}};
var<workgroup> partial: array<f32, PARTIALS>;
var<workgroup> qs: array<vec4<f32>, DV>;
var<workgroup> ks: array<vec4<f32>, DV>;
var<workgroup> vs: array<vec4<f32>, DV>;
var<workgroup> proj: array<f32, DKV>;
{{template "softmax_chunks" .}}
{{template "activations" .}}
{{template "i8x4" .}}

// Q8Unit is a q8 block: 32 weights as bytes and their scale.
struct Q8Unit {
    lo: vec4<u32>,
    hi: vec4<u32>,
    s: f32,
}

fn ld(i: u32) -> f32 {
    return bitcast<f32>(atomicLoad(&act[i]));
}

fn st(i: u32, v: f32) {
    atomicStore(&act[i], bitcast<u32>(v));
}

fn ld4(i: u32) -> vec4<f32> {
    return vec4<f32>(ld(i), ld(i + 1u), ld(i + 2u), ld(i + 3u));
}

// arrive counts workgroup wid in at the barrier that ends phase k, once
// every invocation's writes are made visible. Work that does not depend
// on the barrier (the next phase's first weights) goes between arrive
// and wait: issued before the storage barrier, its loads would delay the
// arrival. With FANIN, the workgroups arrive in groups of FANIN, each at
// its own counter, and the last of a group carries it to act[0]: fewer
// atomics on one word.
fn arrive(t: u32, wid: u32, g: u32, k: u32) {
    storageBarrier();
    if (t == 0u) {
{{- if .FANIN}}
        let c = wid / FANIN;
        let size = min(FANIN, g - c * FANIN);
        if (atomicAdd(&act[4u + c], 1u) + 1u == k * size) {
            atomicAdd(&act[0], 1u);
        }
{{- else}}
        atomicAdd(&act[0], 1u);
{{- end}}
    }
}

// arrivals is act[0]'s count once every workgroup has arrived k times.
fn arrivals(g: u32, k: u32) -> u32 {
{{- if .FANIN}}
    return k * ((g + FANIN - 1u) / FANIN);
{{- else}}
    return k * g;
{{- end}}
}

// wait returns once every workgroup has arrived at the barrier ending
// phase k.
fn wait(t: u32, g: u32, k: u32) {
    if (t == 0u) {
        let goal = arrivals(g, k);
        var spins = 0u;
        loop {
            if (atomicLoad(&act[0]) >= goal) {
                break;
            }
            spins++;
            if (spins > p.limit) {
                atomicAdd(&act[2], 1u);
                break;
            }
        }
    }
{{- if .ACQUIRE}}
    // The acquiring side of the barrier: without it, lavapipe running two
    // workgroups at once served loads after the barrier stale (measured);
    // NVIDIA's measured right without it.
    storageBarrier();
{{- end}}
    workgroupBarrier();
}

// wg_sum returns the sum of every invocation's v (lib.wgsl's wg_reduce);
// it also orders the workgroup's earlier writes to workgroup memory before
// what follows.
fn wg_sum(t: u32, v: f32) -> f32 {
    let total = wg_reduce(t, v, false);
    workgroupBarrier();
    return total;
}

// stage_h copies the residual stream into xs and returns this
// invocation's share of its sum of squares.
fn stage_h(t: u32) -> f32 {
    var ss = 0.0;
    for (var k = t; k < D / 4u; k += WG) {
        let v = vec4<f32>(h[4u * k], h[4u * k + 1u], h[4u * k + 2u], h[4u * k + 3u]);
        xs[k] = v;
        ss += dot(v, v);
    }
    return ss;
}

// stage_act copies n4 vectors of act from word off into xs and returns
// this invocation's share of their sum of squares.
fn stage_act(t: u32, off: u32, n4: u32) -> f32 {
    var ss = 0.0;
    for (var k = t; k < n4; k += WG) {
        let v = ld4(off + 4u * k);
        xs[k] = v;
        ss += dot(v, v);
    }
    return ss;
}

// lane_sum adds the tpr partial sums from partial[first].
fn lane_sum(first: u32, tpr: u32) -> f32 {
    var s = 0.0;
    for (var i = 0u; i < tpr; i++) {
        s += partial[first + i];
    }
    return s;
}

{{/* dl_dot defines, for the rows of .Bind (.K wide, of dtype .W) and .T
invocations to a row: unit_.Fn(row, i), the row's unit i of weights (four
f32, eight f16 or a q8 block of 32 with its scale), and dot_unit_.Fn(w,
i), its dot product with xs; load_.Fn(row, lane), this invocation's share
of the row's units, all loads in flight together; use_.Fn(w, lane), their
dot product with xs; and .Fn(row, lane), the two in turn. Apart, a phase
can load its first rows' weights while it waits at the barrier for its
input. */}}
{{define "dl_dot"}}
const {{.Fn}}_N = {{.K}} / {{if eq .W "f32"}}4u{{else if eq .W "f16"}}8u{{else}}32u{{end}};
const {{.Fn}}_L = ({{.Fn}}_N + {{.T}} - 1u) / {{.T}};
alias {{.Fn}}_U = {{if eq .W "f32"}}vec4<f32>{{else if eq .W "f16"}}vec4<u32>{{else}}Q8Unit{{end}};
alias {{.Fn}}_W = array<{{.Fn}}_U, {{.Fn}}_L>;

fn unit_{{.Fn}}(row: u32, i: u32) -> {{.Fn}}_U {
{{- if eq .W "q8"}}
    // Rows start at a superblock of four blocks and their scales.
    let sb = (row * ({{.K}} / 128u) + (i >> 2u)) * 9u;
    let sub = i & 3u;
    return Q8Unit({{.Bind}}[sb + 2u * sub], {{.Bind}}[sb + 2u * sub + 1u], bitcast<f32>({{.Bind}}[sb + 8u][sub]));
{{- else}}
    return {{.Bind}}[row * {{.Fn}}_N + i];
{{- end}}
}

fn dot_unit_{{.Fn}}(w: {{.Fn}}_U, i: u32) -> f32 {
{{- if eq .W "f32"}}
    return dot(w, xs[i]);
{{- else if eq .W "f16"}}
    let lo = vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
    let hi = vec4<f32>(unpack2x16float(w.z), unpack2x16float(w.w));
    return dot(lo, xs[2u * i]) + dot(hi, xs[2u * i + 1u]);
{{- else}}
    let x = 8u * i;
    let d = dot(i8x4(w.lo.x), xs[x]) + dot(i8x4(w.lo.y), xs[x + 1u]) + dot(i8x4(w.lo.z), xs[x + 2u]) +
        dot(i8x4(w.lo.w), xs[x + 3u]) + dot(i8x4(w.hi.x), xs[x + 4u]) + dot(i8x4(w.hi.y), xs[x + 5u]) +
        dot(i8x4(w.hi.z), xs[x + 6u]) + dot(i8x4(w.hi.w), xs[x + 7u]);
    return w.s * d;
{{- end}}
}

fn load_{{.Fn}}(row: u32, lane: u32) -> {{.Fn}}_W {
    var w: {{.Fn}}_W;
    for (var it = 0u; it < {{.Fn}}_L; it++) {
        w[it] = unit_{{.Fn}}(row, min(lane + it * {{.T}}, {{.Fn}}_N - 1u));
    }
    return w;
}

fn use_{{.Fn}}(loaded: {{.Fn}}_W, lane: u32) -> f32 {
    // A value parameter may only be indexed by constants.
    var w = loaded;
    var acc = 0.0;
    for (var it = 0u; it < {{.Fn}}_L; it++) {
        let i = lane + it * {{.T}};
        {{template "dl_guard" .}}
        acc += dot_unit_{{.Fn}}(w[it], i);
    }
    return acc;
}

fn {{.Fn}}(row: u32, lane: u32) -> f32 {
    var acc = 0.0;
    for (var it = 0u; it < {{.Fn}}_L; it++) {
        let i = lane + it * {{.T}};
        {{template "dl_guard" .}}
        acc += dot_unit_{{.Fn}}(unit_{{.Fn}}(row, i), i);
    }
    return acc;
}
{{end}}

{{/* dl_guard ends a dl_dot loop at the row's end. Written so that it folds
away where the invocations to a row divide the row's loads (lane is
below .T), it leaves a loop without branches that unrolls into loads all
in flight together, where a guard around each load may keep each load
waiting for the one before. */}}
{{define "dl_guard"}}if ({{.Fn}}_N % {{.T}} != 0u && i >= {{.Fn}}_N) {
            break;
        }
{{- end}}
{{template "dl_dot" (dict "Fn" "dot_qkv" "Bind" "w_qkv" "W" .WQKV "K" "D" "T" "TPR_QKV")}}
{{template "dl_dot" (dict "Fn" "dot_o" "Bind" "w_o" "W" .WO "K" "INNER" "T" "TPR_O")}}
{{template "dl_dot" (dict "Fn" "dot_cq" "Bind" "w_cq" "W" .WCQ "K" "D" "T" "TP")}}
{{template "dl_dot" (dict "Fn" "dot_cqp" "Bind" "w_cq" "W" .WCQ "K" "D" "T" "TPR_CQ")}}
{{template "dl_dot" (dict "Fn" "dot_co" "Bind" "w_co" "W" .WCO "K" "INNER" "T" "TPR_O")}}
{{template "dl_dot" (dict "Fn" "dot_in" "Bind" "w_in" "W" .WIN "K" "D" "T" "TPR_IN")}}
{{template "dl_dot" (dict "Fn" "dot_out" "Bind" "w_out" "W" .WOUT "K" "FF" "T" "TPR_OUT")}}

fn act_fn(v: f32) -> f32 {
{{- if eq .ACT "relu"}}
    return relu(v);
{{- else}}
    return gelu_new(v);
{{- end}}
}

// finish_act writes a head's attention output, the slices' value sums
// added up and divided by their weights, to act from word off.
fn finish_act(t: u32, acc: VT, l: f32, off: u32) {
    let s = t / DV;
    acc_sh[t] = acc;
    if (t % DV == 0u && s < SLICES) {
        red[s] = l;
    }
    workgroupBarrier();
    if (t < DV) {
        var total = VT(0.0);
        var sum = 0.0;
        for (var r = 0u; r < SLICES; r++) {
            total += acc_sh[r * DV + t];
            sum += red[r];
        }
        let v = select(VT(0.0), total / sum, sum > 0.0);
        st(off + 4u * t, v.x);
        st(off + 4u * t + 1u, v.y);
        st(off + 4u * t + 2u, v.z);
        st(off + 4u * t + 3u, v.w);
    }
    // The next head's writes of acc_sh and red come after these reads.
    workgroupBarrier();
}

// preload_kv loads the first chunk's key for invocation t (row t) and
// values for its slice (rows s, s + SLICES, ...) of the cache rows from
// cbase, before the barrier the attention waits at: the caches do not
// depend on the phase before (a row at the new position is loaded stale,
// and replaced).
fn preload_kv(t: u32, kcache: ptr<function, array<VT, DV>>, vcache: ptr<function, array<VT, PER_SLICE>>,
              self_: bool, cbase: u32, rows: u32) {
    let s = t / DV;
    let e = t % DV;
    let kr = cbase + min(t, rows - 1u) * WIDTH;
    for (var c = 0u; c < DV; c++) {
        if (self_) {
            (*kcache)[c] = kc[kr + c];
        } else {
            (*kcache)[c] = ck[kr + c];
        }
    }
    if (s < SLICES) {
        for (var i = 0u; i < PER_SLICE; i++) {
            let vr = cbase + min(s + i * SLICES, rows - 1u) * WIDTH + e;
            if (self_) {
                (*vcache)[i] = vc[vr];
            } else {
                (*vcache)[i] = cv[vr];
            }
        }
    }
}

// self_attn is attnstep.wgsl for head hd of the one row: the new key and
// value go into the caches at the position in state[0], and the query
// attends to every position up to it, with T5's relative position bias.
// k0 and v0 are the first chunk's key and values (preload_kv) where pre.
fn self_attn(t: u32, hd: u32, pre: bool, k0: array<VT, DV>, v0: array<VT, PER_SLICE>) {
    var kp = k0;
    var vp = v0;
    let pos = state[0];
    let n = pos + 1u;
    let cbase = hd * DV;
{{- if .KVEARLY}}
    // The first chunk's keys, values and biases do not depend on the
    // phase before: their loads go out with the query's, one wait for all.
    preload_kv(t, &kp, &vp, true, cbase, n);
    let b0 = pos_bias[(p.center + min(t, pos) - pos) * HEADS + hd];
    let early = true;
{{- else}}
    let early = pre;
{{- end}}
    if (t < DV) {
        let b = A_QKV + hd * DKV + 4u * t;
        let kv = ld4(b + INNER);
        let vv = ld4(b + 2u * INNER);
        qs[t] = ld4(b);
        ks[t] = kv;
        vs[t] = vv;
        kc[cbase + pos * WIDTH + t] = kv;
        vc[cbase + pos * WIDTH + t] = vv;
    }
    workgroupBarrier();
    let s = t / DV;
    let e = t % DV;
    var acc = VT(0.0);
    var m = NEG;
    var l = 0.0;
    for (var j0 = 0u; j0 < n; j0 += WG) {
        let cnt = min(WG, n - j0);
        let first = early && j0 == 0u;
        var score = NEG;
        if (t < cnt) {
            let j = j0 + t;
{{- if .KVEARLY}}
            var bj = b0;
            if (j0 != 0u) {
                bj = pos_bias[(p.center + j - pos) * HEADS + hd];
            }
{{- else}}
            let bj = pos_bias[(p.center + j - pos) * HEADS + hd];
{{- end}}
            // The new key is ks; its row in kc is read too, and not used,
            // so that the loop has no branch.
            let now = j == pos;
            let kb = cbase + j * WIDTH;
            var d = 0.0;
            for (var c = 0u; c < DV; c++) {
                var kj = kp[c];
                if (!first) {
                    kj = kc[kb + c];
                }
                d += dot(qs[c], select(kj, ks[c], now));
            }
            score = d + bj;
        }
        let scale = chunk_probs(t, cnt, score, &m);
        if (s < SLICES) {
            acc *= scale;
            l *= scale;
            // A constant trip count and no branch, so that the value
            // loads are all in flight together: keys past the chunk's
            // end read its last row, with weight 0.
            for (var i = 0u; i < PER_SLICE; i++) {
                let jj = s + i * SLICES;
                let pj = select(0.0, probs[min(jj, WG - 1u)], jj < cnt);
                l += pj;
                let j = j0 + min(jj, cnt - 1u);
                var vj = vp[i];
                if (!first) {
                    vj = vc[cbase + j * WIDTH + e];
                }
                acc += pj * select(vj, vs[e], j == pos);
            }
        }
    }
    finish_act(t, acc, l, A_O + hd * DKV);
}

// cross_attn is attnproj.wgsl for head hd of the one row: the norm of h2
// and the head's query projection (with CQP, done by the phase before),
// then attention over the encoder's keys and values of the row's input
// (k0 and v0 as self_attn's).
fn cross_attn(t: u32, hd: u32, pre: bool, k0: array<VT, DV>, v0: array<VT, PER_SLICE>) {
    var kp = k0;
    var vp = v0;
    let kb = kv_rows[0];
    let n = min(p.ecap, lens[kb]);
    let cbase = kb * p.ecap * WIDTH + hd * DV;
{{- if .KVEARLYX}}
    // As self_attn's: the encoder's keys and values go out with the
    // norm's loads.
    preload_kv(t, &kp, &vp, false, cbase, n);
    let early = true;
{{- else}}
    let early = pre;
{{- end}}
{{- if .CQP}}
    if (t < DV) {
        qs[t] = ld4(A_CQ + hd * DKV + 4u * t);
    }
{{- else}}
    let lane = t % TP;
    // The first round's weights do not depend on h2: their loads go out
    // with the norm's.
    let w0 = load_dot_cq(hd * DKV + min(t / TP, DKV - 1u), lane);
    let ss = stage_act(t, A_H2, D / 4u);
    let inv = inverseSqrt(wg_sum(t, ss) / f32(D) + p.eps);
    for (var base = 0u; base < DKV; base += WG / TP) {
        let o = base + t / TP;
        if (base == 0u) {
            partial[t] = use_dot_cq(w0, lane);
        } else {
            partial[t] = dot_cq(hd * DKV + min(o, DKV - 1u), lane);
        }
        workgroupBarrier();
        if (lane == 0u && o < DKV) {
            proj[o] = lane_sum(t, TP) * inv;
        }
        workgroupBarrier();
    }
    if (t < DV) {
        qs[t] = vec4<f32>(proj[4u * t], proj[4u * t + 1u], proj[4u * t + 2u], proj[4u * t + 3u]);
    }
{{- end}}
    workgroupBarrier();
    let s = t / DV;
    let e = t % DV;
    var acc = VT(0.0);
    var m = NEG;
    var l = 0.0;
    for (var j0 = 0u; j0 < n; j0 += WG) {
        let cnt = min(WG, n - j0);
        let first = early && j0 == 0u;
        var score = NEG;
        if (t < cnt) {
            let kr = cbase + (j0 + t) * WIDTH;
            var d = 0.0;
            for (var c = 0u; c < DV; c++) {
                var kj = kp[c];
                if (!first) {
                    kj = ck[kr + c];
                }
                d += dot(qs[c], kj);
            }
            score = d;
        }
        let scale = chunk_probs(t, cnt, score, &m);
        if (s < SLICES) {
            acc *= scale;
            l *= scale;
            // As self_attn's.
            for (var i = 0u; i < PER_SLICE; i++) {
                let jj = s + i * SLICES;
                let pj = select(0.0, probs[min(jj, WG - 1u)], jj < cnt);
                l += pj;
                var vj = vp[i];
                if (!first) {
                    vj = cv[cbase + (j0 + min(jj, cnt - 1u)) * WIDTH + e];
                }
                acc += pj * vj;
            }
        }
    }
    finish_act(t, acc, l, A_CO + hd * DKV);
}

{{/* dl_proj is a product phase's loop: .Fn's .Rows rows (.Span at a
time, .TPR invocations to a row: row .R, lane .Lane) times xs, each row's
sum followed by .Then (such as a scale or a residual), into act from .Dst
or, with no .Dst, into h. With .Pre the first rows' weights are .PreVar. */}}
{{define "dl_proj"}}
    for (var grp = wid; grp < ({{.Rows}} + {{.Span}} - 1u) / {{.Span}}; grp += g) {
        let n = grp * {{.Span}} + {{.R}};
{{- if .Pre}}
        var w = {{.PreVar}};
        if (grp != wid) {
            w = load_{{.Fn}}(min(n, {{.Rows}} - 1u), {{.Lane}});
        }
        partial[t] = use_{{.Fn}}(w, {{.Lane}});
{{- else}}
        partial[t] = {{.Fn}}(min(n, {{.Rows}} - 1u), {{.Lane}});
{{- end}}
        workgroupBarrier();
        if ({{.Lane}} == 0u && n < {{.Rows}}) {
            let v = lane_sum(t, {{.TPR}}){{.Then}};
{{- if .Dst}}
            st({{.Dst}} + n, v);
{{- else}}
            h[n] = v;
{{- end}}
        }
        workgroupBarrier();
    }
{{- end}}

{{/* dl_out_proj is an output projection phase (number .K, left out
when .Skip is .K or 8): the input vector, .N4 vectors of act from .In, times
.Fn's d_model rows (as dl_proj's), plus the residual .Res, into .Dst (as
dl_proj's). */}}
{{define "dl_out_proj"}}
{{- if and (ne .Skip .K) (ne .Skip 8)}}
    stage_act(t, {{.In}}, {{.N4}});
    workgroupBarrier();
{{- template "dl_proj" (dict "Fn" .Fn "Rows" "D" "Span" .Span "R" .R "Lane" .Lane "TPR" .TPR "Pre" .Pre "PreVar" .PreVar
    "Then" (printf " + %s" .Res) "Dst" .Dst)}}
{{- end}}
{{- end}}

{{/* dl_pre loads the weights of this workgroup's first rows of product
.Fn (.N rows, .Span at a time; invocation row .R, lane .Lane) into
registers, as .Var: with PRE between the arrival at the barrier the
phase waits at and the wait, so that their wait for memory overlaps it;
without PRE the phase loads them after it. */}}
{{define "dl_pre"}}
    let {{.Var}} = load_{{.Fn}}(min(wid * {{.Span}} + {{.R}}, {{.N}} - 1u), {{.Lane}});
{{- end}}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid3: vec3<u32>,
        @builtin(num_workgroups) nwg3: vec3<u32>) {
    let wid = wid3.x;
    let g = nwg3.x;
    let r1 = t / TPR_QKV;
    let l1 = t % TPR_QKV;
    let ro = t / TPR_O;
    let lo = t % TPR_O;
    let r6 = t / TPR_IN;
    let l6 = t % TPR_IN;
    let r7 = t / TPR_OUT;
    let l7 = t % TPR_OUT;
    var k0: array<VT, DV>;
    var v0: array<VT, PER_SLICE>;

    // 1: the norm and the stacked q/k/v projection. The weights' loads go
    // first, so that they and the residual stream's are one wait.
{{- if .PRE}}
{{- template "dl_pre" (dict "Var" "pre1" "Fn" "dot_qkv" "N" "QKV_ROWS" "Span" "SPAN_QKV" "R" "r1" "Lane" "l1")}}
{{- end}}
    let inv1 = inverseSqrt(wg_sum(t, stage_h(t)) / f32(D) + p.eps);
{{- if and (ne .SKIP 1) (ne .SKIP 8)}}
{{- template "dl_proj" (dict "Fn" "dot_qkv" "Rows" "QKV_ROWS" "Span" "SPAN_QKV" "R" "r1" "Lane" "l1" "TPR" "TPR_QKV" "Pre" .PRE "PreVar" "pre1"
    "Then" " * inv1" "Dst" "A_QKV")}}
{{- end}}
    arrive(t, wid, g, 1u);
{{- if .KVPRE}}
    if (wid < HEADS) {
        preload_kv(t, &k0, &v0, true, wid * DV, state[0] + 1u);
    }
{{- end}}
    wait(t, g, 1u);

    // 2: self-attention, a head per workgroup.
{{- if and (ne .SKIP 2) (ne .SKIP 8)}}
    for (var hd = wid; hd < HEADS; hd += g) {
        self_attn(t, hd, {{if .KVPRE}}hd == wid{{else}}false{{end}}, k0, v0);
    }
{{- end}}
    arrive(t, wid, g, 2u);
{{- if .PRE}}
{{- template "dl_pre" (dict "Var" "pre3" "Fn" "dot_o" "N" "D" "Span" "SPAN_O" "R" "ro" "Lane" "lo")}}
{{- end}}
    wait(t, g, 2u);

    // 3: the output projection and the residual.
{{- template "dl_out_proj" (dict "K" 3 "Skip" .SKIP "Pre" .PRE "In" "A_O" "N4" "INNER / 4u" "Fn" "dot_o" "PreVar" "pre3" "Span" "SPAN_O" "R" "ro" "Lane" "lo" "TPR" "TPR_O" "Res" "h[n]" "Dst" "A_H2")}}
    arrive(t, wid, g, 3u);
{{- if .KVPRE}}
    if (wid < HEADS) {
        let kb = kv_rows[0];
        preload_kv(t, &k0, &v0, false, kb * p.ecap * WIDTH + wid * DV, min(p.ecap, lens[kb]));
    }
{{- end}}
    wait(t, g, 3u);
{{- if .CQP}}

    // The norm of h2 and the cross-attention's query projection, its rows
    // over every workgroup.
    let inv3 = inverseSqrt(wg_sum(t, stage_act(t, A_H2, D / 4u)) / f32(D) + p.eps);
    let rq = t / TPR_CQ;
    let lq = t % TPR_CQ;
{{- template "dl_proj" (dict "Fn" "dot_cqp" "Rows" "INNER" "Span" "SPAN_CQ" "R" "rq" "Lane" "lq" "TPR" "TPR_CQ" "Pre" false "PreVar" ""
    "Then" " * inv3" "Dst" "A_CQ")}}
    arrive(t, wid, g, 4u);
    wait(t, g, 4u);
{{- end}}

    // 4: cross-attention with its norm and query projection.
{{- if and (ne .SKIP 4) (ne .SKIP 8)}}
    for (var hd = wid; hd < HEADS; hd += g) {
        cross_attn(t, hd, {{if .KVPRE}}hd == wid{{else}}false{{end}}, k0, v0);
    }
{{- end}}
    arrive(t, wid, g, 4u + CQ);
{{- if .PRE}}
{{- template "dl_pre" (dict "Var" "pre5" "Fn" "dot_co" "N" "D" "Span" "SPAN_O" "R" "ro" "Lane" "lo")}}
{{- end}}
    wait(t, g, 4u + CQ);

    // 5: its output projection and the residual.
{{- template "dl_out_proj" (dict "K" 5 "Skip" .SKIP "Pre" .PRE "In" "A_CO" "N4" "INNER / 4u" "Fn" "dot_co" "PreVar" "pre5" "Span" "SPAN_O" "R" "ro" "Lane" "lo" "TPR" "TPR_O" "Res" "ld(A_H2 + n)" "Dst" "A_H3")}}
    arrive(t, wid, g, 5u + CQ);
{{- if .PRE}}
{{- template "dl_pre" (dict "Var" "pre6" "Fn" "dot_in" "N" "FF" "Span" "SPAN_IN" "R" "r6" "Lane" "l6")}}
{{- if .GATE}}
    let pre6u = load_dot_in(FF + min(wid * SPAN_IN + r6, FF - 1u), l6);
{{- end}}
{{- end}}
    wait(t, g, 5u + CQ);

    // 6: the norm and the feed-forward input (gate and up rows with GATE).
    let inv6 = inverseSqrt(wg_sum(t, stage_act(t, A_H3, D / 4u)) / f32(D) + p.eps);
{{- if and (ne .SKIP 6) (ne .SKIP 8)}}
    for (var grp = wid; grp < (FF + SPAN_IN - 1u) / SPAN_IN; grp += g) {
        let n = grp * SPAN_IN + r6;
        let nr = min(n, FF - 1u);
{{- if .PRE}}
        var w = pre6;
{{- if .GATE}}
        var u = pre6u;
{{- end}}
        if (grp != wid) {
            w = load_dot_in(nr, l6);
{{- if .GATE}}
            u = load_dot_in(FF + nr, l6);
{{- end}}
        }
        partial[t] = use_dot_in(w, l6);
{{- if .GATE}}
        partial[WG + t] = use_dot_in(u, l6);
{{- end}}
{{- else}}
        partial[t] = dot_in(nr, l6);
{{- if .GATE}}
        partial[WG + t] = dot_in(FF + nr, l6);
{{- end}}
{{- end}}
        workgroupBarrier();
        if (l6 == 0u && n < FF) {
            var v = act_fn(lane_sum(t, TPR_IN) * inv6);
{{- if .GATE}}
            v *= lane_sum(WG + t, TPR_IN) * inv6;
{{- end}}
            st(A_FF + n, v);
        }
        workgroupBarrier();
    }
{{- end}}
    arrive(t, wid, g, 6u + CQ);
{{- if .PRE}}
{{- template "dl_pre" (dict "Var" "pre7" "Fn" "dot_out" "N" "D" "Span" "SPAN_OUT" "R" "r7" "Lane" "l7")}}
{{- end}}
    wait(t, g, 6u + CQ);

    // 7: the feed-forward output and the residual, into h.
{{- template "dl_out_proj" (dict "K" 7 "Skip" .SKIP "Pre" .PRE "In" "A_FF" "N4" "FF / 4u" "Fn" "dot_out" "PreVar" "pre7" "Span" "SPAN_OUT" "R" "r7" "Lane" "l7" "TPR" "TPR_OUT" "Res" "ld(A_H3 + n)" "Dst" "")}}

    // The last workgroup out zeroes the barrier for the next dispatch:
    // every other one has left its last spin.
    if (t == 0u) {
        if (atomicAdd(&act[1], 1u) == g - 1u) {
            atomicStore(&act[0], 0u);
            atomicStore(&act[1], 0u);
{{- if .FANIN}}
            for (var c = 0u; c < (g + FANIN - 1u) / FANIN; c++) {
                atomicStore(&act[4u + c], 0u);
            }
{{- end}}
        }
    }
}
