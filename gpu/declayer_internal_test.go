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
