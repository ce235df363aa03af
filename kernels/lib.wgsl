{{/*
Shared template definitions, included into every kernel's template set.

"w_elem" is the element type of a weight array bound as `w` (or any name):
f32 weights are stored as f32, f16 weights packed two per u32 word.
"load_w" defines fn load_w(i) -> f32 reading element i of a weight array `w`.
*/}}
{{define "w_elem"}}{{if eq .W "f16"}}u32{{else}}f32{{end}}{{end}}
{{define "load_w"}}
{{- if eq .W "f16"}}
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
