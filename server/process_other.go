//go:build !unix

package server

// maxRSS is not known here.
func maxRSS() int64 { return 0 }
