package forward

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nib-editor/nib/model/safetensors"
)

const fixtures = "../../../../../shared/fixtures"

// TestForwardFixtures runs `nib forward` on both fixtures, as the model
// issue asks: every case within 1e-4 and every greedy sequence equal.
func TestForwardFixtures(t *testing.T) {
	for _, name := range []string{"t5-tiny-gated", "t5-tiny-relu-tied"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(fixtures, name)
			var out, errOut bytes.Buffer
			err := Run(context.Background(), []string{"--model", dir, "--reference", filepath.Join(dir, "reference.safetensors")}, &out, &errOut)
			if err != nil {
				t.Fatalf("forward: %v\n%s%s", err, out.String(), errOut.String())
			}
			for _, c := range []string{"case0", "case1", "case2", "batch"} {
				if !strings.Contains(out.String(), "\n"+c+" ") {
					t.Errorf("no line for %s:\n%s", c, out.String())
				}
			}
			if !strings.Contains(out.String(), "greedy match") || !strings.Contains(out.String(), "all 4 cases pass") {
				t.Errorf("output lacks the greedy comparison or the verdict:\n%s", out.String())
			}
		})
	}
}

// TestForwardDetectsMismatch tampers with one reference logit and one
// greedy id: forward must report both cases and fail.
func TestForwardDetectsMismatch(t *testing.T) {
	dir := filepath.Join(fixtures, "t5-tiny-gated")
	ref, err := safetensors.Open(filepath.Join(dir, "reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	var ts []safetensors.Tensor
	for _, n := range ref.Names() {
		tt, _ := ref.Tensor(n)
		tt.Data = append([]byte(nil), tt.Data...)
		switch n {
		case "case1.logits":
			tt.Data[3] ^= 0x40 // flips an exponent bit of the first logit
		case "case2.greedy_ids":
			tt.Data[8] ^= 1 // the first generated id (I64, little-endian)
		}
		ts = append(ts, tt)
	}
	ref.Close()
	path := filepath.Join(t.TempDir(), "reference.safetensors")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := safetensors.Write(f, ts, nil); err != nil {
		t.Fatal(err)
	}
	f.Close()

	var out, errOut bytes.Buffer
	err = Run(context.Background(), []string{"--model", dir, "--reference", path}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "2 of 4 cases failed") {
		t.Fatalf("forward on a tampered reference: err %v, want 2 of 4 cases failed\n%s", err, out.String())
	}
	for _, line := range strings.Split(out.String(), "\n") {
		switch {
		case strings.HasPrefix(line, "case1 "):
			if !strings.Contains(line, "logits") || !strings.Contains(line, "FAIL") {
				t.Errorf("case1 line does not fail its logits: %q", line)
			}
		case strings.HasPrefix(line, "case2 "):
			if !strings.Contains(line, "greedy row 0") || !strings.Contains(line, "FAIL") {
				t.Errorf("case2 line does not fail its greedy ids: %q", line)
			}
		case strings.HasPrefix(line, "case0 "), strings.HasPrefix(line, "batch "):
			if strings.Contains(line, "FAIL") {
				t.Errorf("untouched case fails: %q", line)
			}
		}
	}
}

func TestForwardErrors(t *testing.T) {
	dir := filepath.Join(fixtures, "t5-tiny-gated")
	cases := []struct {
		args []string
		want string
	}{
		{nil, "--model and --reference are required"},
		{[]string{"--model", dir, "--reference", "nope.safetensors"}, "nope.safetensors"},
		{[]string{"--model", dir, "--reference", filepath.Join(dir, "model.safetensors")}, "holds no case"},
		{[]string{"--model", t.TempDir(), "--reference", filepath.Join(dir, "reference.safetensors")}, "config.json"},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		err := Run(context.Background(), c.args, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err %v, want it to mention %q", c.args, err, c.want)
		}
	}
}

// TestForwardNothingToCompare checks that a reference case holding only
// its input ids is refused, naming the case and the tensors it lacks,
// instead of passing with nothing compared.
func TestForwardNothingToCompare(t *testing.T) {
	dir := filepath.Join(fixtures, "t5-tiny-gated")
	ids := safetensors.Tensor{Name: "case0.input_ids", DType: safetensors.I64, Shape: []int{1, 2}, Data: make([]byte, 16)}
	ids.Data[0], ids.Data[8] = 37, 1 // any token, then </s>
	path := filepath.Join(t.TempDir(), "reference.safetensors")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := safetensors.Write(f, []safetensors.Tensor{ids}, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	err = Run(context.Background(), []string{"--model", dir, "--reference", path}, &out, &errOut)
	if err == nil {
		t.Fatalf("forward passed a reference with nothing to compare:\n%s", out.String())
	}
	for _, w := range []string{path, "case case0", "no expected outputs", "case0.encoder_last_hidden_state", "case0.logits", "case0.greedy_ids"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	if strings.Contains(out.String(), "pass") {
		t.Errorf("stdout claims a pass:\n%s", out.String())
	}
}
