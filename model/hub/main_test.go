package hub_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nib-editor/nib/model/hub"
)

// TestMain keeps every test away from the real hub, the user's cache and
// the user's token: the environment is cleared, HF_HOME and HOME point at
// an empty folder and HF_ENDPOINT at a port nothing listens on. Retries
// wait a millisecond instead of a second.
func TestMain(m *testing.M) {
	home, err := os.MkdirTemp("", "hub-test-home-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, v := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "XDG_CACHE_HOME", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH"} {
		os.Unsetenv(v)
	}
	os.Setenv("HOME", home)
	os.Setenv("HF_HOME", home)
	os.Setenv("HF_ENDPOINT", "http://127.0.0.1:9")
	restore := hub.SetTimings(time.Millisecond, 5*time.Second)
	code := m.Run()
	restore()
	os.RemoveAll(home)
	os.Exit(code)
}
