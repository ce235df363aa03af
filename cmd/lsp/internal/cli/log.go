// Package cli holds what nib's terminal commands share.
package cli

import (
	"flag"
	"io"
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// LogLevelEnv names the environment variable that sets the default of
// --log-level.
const LogLevelEnv = "NIB_LOG_LEVEL"

// LogLevel registers --log-level on fs. A terminal command shows warnings
// and errors only, unless $NIB_LOG_LEVEL or the flag asks for more: its
// stderr is for the person at the terminal, not for the device's
// bookkeeping.
func LogLevel(fs *flag.FlagSet) *zapcore.Level {
	level := zapcore.WarnLevel
	if env := os.Getenv(LogLevelEnv); env != "" {
		// zapcore reads "" as info, so only a value actually set counts.
		if l, err := zapcore.ParseLevel(env); err == nil {
			level = l
		}
	}
	fs.Var(&level, "log-level", "lowest level of log lines on stderr: debug, info, warn or error ($"+LogLevelEnv+" sets the default)")
	return &level
}

// Logger writes log lines at level and above to w (stderr), never stdout,
// which is the protocol's or a command's output.
func Logger(w io.Writer, level zapcore.Level) *zap.Logger {
	enc := zap.NewDevelopmentEncoderConfig()
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(w), level)
	return zap.New(core)
}

// IsTerminal reports whether w is a terminal, where progress lines may
// redraw themselves; a pipe or a file gets plain lines instead.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
