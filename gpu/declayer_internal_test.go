package gpu

import "testing"

// TestDeclayerAcquire: the fence after each barrier's wait is on for
// every vendor but NVIDIA, and NIB_DECLAYER_ACQUIRE forces it either way.
func TestDeclayerAcquire(t *testing.T) {
	for _, c := range []struct {
		vendor uint32
		env    string
		want   bool
	}{
		{nvidiaVendorID, "", false},
		{0x1002, "", true},  // AMD
		{0x8086, "", true},  // Intel
		{0x10005, "", true}, // Mesa's lavapipe
		{0, "", true},       // the browser
		{nvidiaVendorID, "1", true},
		{0x1002, "0", false},
	} {
		t.Setenv("NIB_DECLAYER_ACQUIRE", c.env)
		d := &Device{info: AdapterInfo{VendorID: c.vendor}}
		if got := d.declayerAcquire(); got != c.want {
			t.Errorf("vendor %#x, NIB_DECLAYER_ACQUIRE=%q: fence %v, want %v", c.vendor, c.env, got, c.want)
		}
	}
}

// TestDeclayerKVEarly: the attention phases load their first keys and
// values early for flan-t5-small's and base's shapes and not for large's,
// whose cross-attention would then hold more than declayerEarlyWords, and
// NIB_DECLAYER_KVEARLY forces both either way, or the self-attention's
// alone.
func TestDeclayerKVEarly(t *testing.T) {
	for _, c := range []struct {
		name             string
		w                DType
		dm               int
		env              string
		wantSelf, wantXA bool
	}{
		{"small f16", F16, 512, "", true, true},
		{"base f16", F16, 768, "", true, true},
		{"large f16", F16, 1024, "", false, false},
		{"large f32", F32, 1024, "", false, false},
		{"base q8", Q8, 768, "", true, true},
		{"large f16 forced", F16, 1024, "1", true, true},
		{"base f16 off", F16, 768, "0", false, false},
		{"large f16 self", F16, 1024, "self", true, false},
	} {
		t.Setenv("NIB_DECLAYER_KVEARLY", c.env)
		self, cross := declayerKVEarly(c.w, c.dm, declayerTPQ(256, 64), 256, 64)
		if self != c.wantSelf || cross != c.wantXA {
			t.Errorf("%s (NIB_DECLAYER_KVEARLY=%q): early self %v, cross %v; want %v, %v", c.name, c.env, self, cross, c.wantSelf, c.wantXA)
		}
	}
}
