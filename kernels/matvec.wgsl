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
// VEC requires K to be a multiple of 8 (f16) or 4 (f32); without it weights
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
const ROWS = WG / TPR;
const M = {{.M}}u;
const PARTIALS = {{if gt .TPR 1}}WG * M{{else}}1u{{end}};

@group(0) @binding(0) var<uniform> p: Params;
{{- if .VEC}}
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<vec4<{{if eq .W "f16"}}u32{{else}}f32{{end}}>>;
{{- else}}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<{{template "w_elem" .}}>;
{{- end}}
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

var<workgroup> partial: array<f32, PARTIALS>;

{{- if not .VEC}}
{{template "load_w" .}}
{{- end}}

@compute @workgroup_size({{.WG}})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
    let r = t / TPR;
    let lane = t % TPR;
    let n = (wid.x + wid.y * nwg.x) * ROWS + r;
    let wn = p.woff + n;
    // The third grid dimension takes blocks of M rows of x: a prompt of
    // tens of rows runs as many blocks side by side, each reading the
    // weights (from cache after the first), with enough workgroups to fill
    // a large GPU, which a tiled product of so few rows does not.
    let m0 = wid.z * M;
    let rows = min(M, p.M - m0);
    var acc: array<f32, M>;
    if (n < p.N) {
{{- if and .VEC (eq .W "f16")}}
        // 8 weights per vec4<u32>; x is read as two vec4<f32> per load.
        let k8 = p.K / 8u;
        let xrow = p.K / 4u;
        for (var i = lane; i < k8; i += TPR) {
            let packed = w[wn * k8 + i];
            let lo = vec4<f32>(unpack2x16float(packed.x), unpack2x16float(packed.y));
            let hi = vec4<f32>(unpack2x16float(packed.z), unpack2x16float(packed.w));
            for (var m = 0u; m < M; m++) {
                let mm = m0 + min(m, rows - 1u);
                acc[m] += dot(lo, x[mm * xrow + 2u * i]) + dot(hi, x[mm * xrow + 2u * i + 1u]);
            }
        }
{{- else if .VEC}}
        let k4 = p.K / 4u;
        for (var i = lane; i < k4; i += TPR) {
            let wv = w[wn * k4 + i];
            for (var m = 0u; m < M; m++) {
                acc[m] += dot(wv, x[(m0 + min(m, rows - 1u)) * k4 + i]);
            }
        }
{{- else}}
        for (var k = lane; k < p.K; k += TPR) {
            let wv = load_w(wn * p.K + k);
            for (var m = 0u; m < M; m++) {
                acc[m] += wv * x[(m0 + min(m, rows - 1u)) * p.K + k];
            }
        }
{{- end}}
    }
{{- if gt .TPR 1}}
    for (var m = 0u; m < M; m++) {
        partial[m * WG + t] = acc[m];
    }
    workgroupBarrier();
{{- end}}
    // Invocation lane of each row sums that row's TPR partials for x rows
    // lane, lane + TPR, ... (one pass when TPR >= M).
    for (var mr = lane; mr < rows && n < p.N; mr += TPR) {
{{- if gt .TPR 1}}
        var s = 0.0;
        let base = mr * WG + r * TPR;
        for (var j = 0u; j < TPR; j++) {
            s += partial[base + j];
        }
{{- else}}
        let s = acc[mr];
{{- end}}
        out[(m0 + mr) * p.N + n] = s;
    }
}
