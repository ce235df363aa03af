//go:build unix && !linux

package safetensors

// mapPopulate is Linux's; elsewhere pages are mapped on demand.
const mapPopulate = 0
