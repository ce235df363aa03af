package hub_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nib-editor/nib/model/hub"
)

// TestPullCorruptPartialNeverUsed: a partial download that was damaged on
// disk after an interrupted pull is resumed, found corrupt by its hash at
// the end, and neither kept nor linked; the next pull downloads the file
// whole and succeeds.
func TestPullCorruptPartialNeverUsed(t *testing.T) {
	in := interruptPull(t)
	part := in.blob + ".incomplete"
	b, err := os.ReadFile(part)
	if err != nil {
		t.Fatalf("partial download not kept: %v", err)
	}
	for i := 100; i < 200; i++ {
		b[i] ^= 0xff // damaged on disk
	}
	if err := os.WriteFile(part, b, 0o644); err != nil {
		t.Fatal(err)
	}

	_, err = hub.Pull(context.Background(), tinyID, in.opts)
	if err == nil || !strings.Contains(err.Error(), "model.safetensors") || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("Pull resuming a damaged partial = %v, want an error calling model.safetensors corrupt", err)
	}
	for _, p := range []string{in.blob, part, filepath.Join(in.repo, "refs", "main")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s exists after a corrupt download", p)
		}
	}
	if snaps, _ := filepath.Glob(filepath.Join(in.repo, "snapshots", "*", "model.safetensors")); len(snaps) > 0 {
		t.Errorf("corrupt weights linked into the snapshot: %v", snaps)
	}

	dir, err := hub.Pull(context.Background(), tinyID, in.opts)
	if err != nil {
		t.Fatalf("Pull after the corrupt one: %v", err)
	}
	checkSnapshot(t, dir, in.files, modelFiles)
	reqs := weightDownloads(in.s)
	if last := reqs[len(reqs)-1]; last.Range != "" || last.Status != http.StatusOK {
		t.Errorf("the pull after a corrupt download asked Range %q, answered %d; want the whole file", last.Range, last.Status)
	}
}
