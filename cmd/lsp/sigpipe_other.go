//go:build !unix && !js

package main

// ignoreSIGPIPE: there is no SIGPIPE here.
func ignoreSIGPIPE() {}
