package adapters

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/nib-editor/nib/gpu"
)

// TestAdaptersJSON lists the adapters (lavapipe at least, here) as JSON:
// the default must be one of them, and --adapter must move it.
func TestAdaptersJSON(t *testing.T) {
	t.Setenv(gpu.AdapterEnv, "")
	var out bytes.Buffer
	if err := Run(context.Background(), []string{"--json"}, &out); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Default  int               `json:"default"`
		Adapters []gpu.AdapterInfo `json:"adapters"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	if len(got.Adapters) == 0 {
		t.Fatalf("no adapters listed: %s", out.String())
	}
	found := false
	for _, a := range got.Adapters {
		found = found || a.Index == got.Default
	}
	if !found {
		t.Errorf("default %d is none of the adapters listed: %s", got.Default, out.String())
	}
	last := got.Adapters[len(got.Adapters)-1]
	out.Reset()
	if err := Run(context.Background(), []string{"--json", "--adapter", strconv.Itoa(last.Index)}, &out); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Default != last.Index {
		t.Errorf("--adapter %d chose %d", last.Index, got.Default)
	}
}

// TestAdaptersTable checks the table marks the adapter nib uses, and that
// a choice matching no adapter is refused by name.
func TestAdaptersTable(t *testing.T) {
	t.Setenv(gpu.AdapterEnv, "")
	var out bytes.Buffer
	if err := Run(context.Background(), nil, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "INDEX") || strings.Count(out.String(), "*") < 2 {
		t.Errorf("table has no header or no marked adapter:\n%s", out.String())
	}
	err := Run(context.Background(), []string{"--adapter", "no-such-adapter-here"}, &out)
	if err == nil || !strings.Contains(err.Error(), "no-such-adapter-here") {
		t.Errorf("err = %v, want it to name the choice", err)
	}
}
