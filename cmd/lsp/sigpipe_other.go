//go:build !unix

package main

// ignoreSIGPIPE: there is no SIGPIPE here.
func ignoreSIGPIPE() {}
