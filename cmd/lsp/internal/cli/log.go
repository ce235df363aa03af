// Package cli holds what nib's terminal commands share.
package cli

import (
	"io"
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Logger writes warnings and errors to w (stderr), never stdout, which is
// the protocol's or a command's output. $NIB_LOG_LEVEL=debug shows more.
func Logger(w io.Writer) *zap.Logger {
	level := zapcore.WarnLevel
	if l, err := zapcore.ParseLevel(os.Getenv("NIB_LOG_LEVEL")); err == nil {
		level = l
	}
	enc := zap.NewDevelopmentEncoderConfig()
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(w), level)
	return zap.New(core)
}
