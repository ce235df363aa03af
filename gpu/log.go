package gpu

import (
	"fmt"
	"os"

	"github.com/cogentcore/webgpu/wgpu"
	"go.uber.org/zap"

	"github.com/nib-editor/nib/gpu/internal/native"
)

// By default wgpu-native's errors go to stderr and its warnings (such as
// "No windowing system present" on headless machines) are dropped; the
// binding's own default would print every warning.
func init() {
	native.SetLogSink(wgpu.LogLevelError, func(_ wgpu.LogLevel, msg string) {
		fmt.Fprintln(os.Stderr, "wgpu:", msg)
	})
}

// SetLogger routes wgpu-native's log lines to log: errors at error level,
// warnings at debug level. wgpu's log is process-wide, so the last call wins.
func SetLogger(log *zap.Logger) {
	native.SetLogSink(wgpu.LogLevelWarn, func(level wgpu.LogLevel, msg string) {
		if level <= wgpu.LogLevelError {
			log.Error("wgpu", zap.String("message", msg))
		} else {
			log.Debug("wgpu", zap.String("level", level.String()), zap.String("message", msg))
		}
	})
}
