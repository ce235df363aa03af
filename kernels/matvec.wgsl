// out[m, n] = sum_k x[m, k] * w[n, k] for a few rows m < p.M: the
// decode-step form of matmul.wgsl, bound by reading the weights once. M,
// specialised to 1, 2, 4 or 8, is the capacity: rows p.M..M-1 re-read the
// last row of x (cached, and in bounds) and are not written, so four
// pipelines serve every row count.
//
// TPR invocations share a row n of w; a workgroup covers WG/TPR rows. Each
// invocation reads 16 bytes of the row per load (VEC: 8 packed f16 weights as
// a vec4<u32>, or 4 f32 weights), consecutive invocations reading consecutive
// 16-byte pieces so that loads coalesce, and applies every loaded weight to
// all M rows of x. Partial sums meet in workgroup memory.
//
// VEC requires K to be a multiple of 8 (f16), 4 (f32) or 128 (q8: rows
// start at a superblock, read a block of 32 at a time); without it weights
// are loaded one by one.
struct Params {
    M: u32,
    N: u32,
    K: u32,
    // woff is the first row of w used (see matmul.wgsl).
    woff: u32,
}

const WG = {{.WG}}u;
const TPR = {{.TPR}}u;
// RPI output rows per invocation (1 on GPUs; more on a CPU, where they
// share each load of x): invocation r's are g * ROWS + j * SPAN + r.
const RPI = {{.RPI}}u;
const SPAN = WG / TPR;
const ROWS = SPAN * RPI;
const M = {{.M}}u;
const PARTIALS = {{if gt .TPR 1}}WG * M * RPI{{else}}1u{{end}};

@group(0) @binding(0) var<uniform> p: Params;
{{- if .VEC}}
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<vec4<{{if eq .W "f32"}}f32{{else}}u32{{end}}>>;
{{- else}}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<{{template "w_elem" .}}>;
{{- end}}
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

var<workgroup> partial: array<f32, PARTIALS>;

{{- if not .VEC}}
{{template "load_w" .}}
{{- else if eq .W "q8"}}
{{template "q8" .}}
{{- end}}

@compute @workgroup_size({{.WG}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
    let r = t / TPR;
    let lane = t % TPR;
    let g = wid.x + wid.y * nwg.x;
    // The third grid dimension takes blocks of M rows of x: a prompt of
    // tens of rows runs as many blocks side by side, each reading the
    // weights (from cache after the first), with enough workgroups to fill
    // a large GPU, which a tiled product of so few rows does not.
    let m0 = wid.z * M;
    let rows = min(M, p.M - m0);
    // Weight rows past N read row N - 1 (in bounds) and are not written.
    var wn: array<u32, RPI>;
    for (var j = 0u; j < RPI; j++) {
        wn[j] = p.woff + min(g * ROWS + j * SPAN + r, p.N - 1u);
    }
    var acc: array<array<f32, M>, RPI>;
{{- if and .VEC (eq .W "q8")}}
    // One q8 block (32 weights) per iteration; rows start at a superblock
    // (K a multiple of 128).
    let kb = p.K / 32u;
    let xrow = p.K / 4u;
    for (var i = lane; i < kb; i += TPR) {
        var xs: array<array<vec4<f32>, 8>, M>;
        for (var m = 0u; m < M; m++) {
            let xb = (m0 + min(m, rows - 1u)) * xrow + 8u * i;
            for (var e = 0u; e < 8u; e++) {
                xs[m][e] = x[xb + e];
            }
        }
        for (var j = 0u; j < RPI; j++) {
            var q: array<vec4<f32>, 8>;
            let scale = q8_block(wn[j] * (p.K / 128u), i, &q);
            for (var m = 0u; m < M; m++) {
                var d = 0.0;
                for (var e = 0u; e < 8u; e++) {
                    d += dot(q[e], xs[m][e]);
                }
                acc[j][m] += scale * d;
            }
        }
    }
{{- else if and .VEC (eq .W "f16")}}
    // 8 weights per vec4<u32>; x is read as two vec4<f32> per load.
    let k8 = p.K / 8u;
    let xrow = p.K / 4u;
    for (var i = lane; i < k8; i += TPR) {
        var xl: array<vec4<f32>, M>;
        var xh: array<vec4<f32>, M>;
        for (var m = 0u; m < M; m++) {
            let mm = m0 + min(m, rows - 1u);
            xl[m] = x[mm * xrow + 2u * i];
            xh[m] = x[mm * xrow + 2u * i + 1u];
        }
        for (var j = 0u; j < RPI; j++) {
            let packed = w[wn[j] * k8 + i];
            let lo = vec4<f32>(unpack2x16float(packed.x), unpack2x16float(packed.y));
            let hi = vec4<f32>(unpack2x16float(packed.z), unpack2x16float(packed.w));
            for (var m = 0u; m < M; m++) {
                acc[j][m] += dot(lo, xl[m]) + dot(hi, xh[m]);
            }
        }
    }
{{- else if .VEC}}
    let k4 = p.K / 4u;
    for (var i = lane; i < k4; i += TPR) {
        var xv: array<vec4<f32>, M>;
        for (var m = 0u; m < M; m++) {
            xv[m] = x[(m0 + min(m, rows - 1u)) * k4 + i];
        }
        for (var j = 0u; j < RPI; j++) {
            let wv = w[wn[j] * k4 + i];
            for (var m = 0u; m < M; m++) {
                acc[j][m] += dot(wv, xv[m]);
            }
        }
    }
{{- else}}
    for (var k = lane; k < p.K; k += TPR) {
        var xv: array<f32, M>;
        for (var m = 0u; m < M; m++) {
            xv[m] = x[(m0 + min(m, rows - 1u)) * p.K + k];
        }
        for (var j = 0u; j < RPI; j++) {
            let wv = load_w(wn[j] * p.K + k);
            for (var m = 0u; m < M; m++) {
                acc[j][m] += wv * xv[m];
            }
        }
    }
{{- end}}
{{- if gt .TPR 1}}
    for (var j = 0u; j < RPI; j++) {
        for (var m = 0u; m < M; m++) {
            partial[(j * M + m) * WG + t] = acc[j][m];
        }
    }
    workgroupBarrier();
{{- end}}
    for (var j = 0u; j < RPI; j++) {
        let n = g * ROWS + j * SPAN + r;
        // Invocation lane of each row sums that row's TPR partials for x
        // rows lane, lane + TPR, ... (one pass when TPR >= M).
        for (var mr = lane; mr < rows && n < p.N; mr += TPR) {
{{- if gt .TPR 1}}
            var s = 0.0;
            let base = (j * M + mr) * WG + r * TPR;
            for (var i = 0u; i < TPR; i++) {
                s += partial[base + i];
            }
{{- else}}
            let s = acc[j][mr];
{{- end}}
            out[(m0 + mr) * p.N + n] = s;
        }
    }
}
