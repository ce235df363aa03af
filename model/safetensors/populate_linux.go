package safetensors

import "syscall"

// mapPopulate asks Linux to map the file's pages at once.
const mapPopulate = syscall.MAP_POPULATE
