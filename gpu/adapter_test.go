package gpu

import (
	"errors"
	"strings"
	"testing"
)

func TestChoose(t *testing.T) {
	infos := []AdapterInfo{
		{Index: 0, Name: "llvmpipe", Backend: "vulkan", Type: "cpu", rank: 20},
		{Index: 1, Name: "Intel Iris", Backend: "vulkan", Type: "integrated-gpu", rank: 10},
		{Index: 2, Name: "NVIDIA H100", Backend: "opengl", Type: "discrete-gpu", rank: 5},
		{Index: 3, Name: "NVIDIA H100", Backend: "vulkan", Type: "discrete-gpu", rank: 0},
	}
	cases := []struct {
		choice string
		want   int
		err    string
	}{
		{"", 3, ""},
		{"0", 0, ""},
		{"nvidia", 3, ""},
		{"OpenGL", 2, ""},
		{"llvm", 0, ""},
		{"4", 0, "out of range"},
		{"-1", 0, "out of range"},
		{"radeon", 0, "no adapter matches"},
	}
	for _, c := range cases {
		got, err := Choose(infos, c.choice)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Choose(%q) error %v, want %q", c.choice, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Choose(%q) = %d, %v; want %d", c.choice, got, err, c.want)
		}
	}
	if _, err := Choose(nil, ""); !errors.Is(err, ErrNoAdapter) || !strings.Contains(err.Error(), "mesa-vulkan-drivers") {
		t.Errorf("no adapters: %v, want ErrNoAdapter with the fix", err)
	}
}
