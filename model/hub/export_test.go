package hub

import "time"

// SetTimings sets the pause before a retry and the time after which a
// silent server is abandoned, returning a function that restores them.
func SetTimings(retry, stall time.Duration) (restore func()) {
	r, s := retryDelay, stallTimeout
	retryDelay, stallTimeout = retry, stall
	return func() { retryDelay, stallTimeout = r, s }
}

// BreakSymlinks makes snapshot symlinks fail, as on Windows without
// developer mode, returning a function that mends them.
func BreakSymlinks() (restore func()) {
	symlink = func(string, string) error { return errSymlinksOff }
	return func() { symlink = osSymlink }
}

var (
	osSymlink      = symlink
	errSymlinksOff = errorString("symlinks are off")
)

type errorString string

func (e errorString) Error() string { return string(e) }
