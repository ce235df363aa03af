package model

import "github.com/nib-editor/nib/gpu"

// ErrOutOfMemory is wrapped by the error of a model operation the GPU had
// no memory for (an allocation or a submission); the device goes on
// working, so the caller may free memory and retry. It is gpu's sentinel
// itself, so that the layers above model test for it without importing gpu.
var ErrOutOfMemory = gpu.ErrOutOfMemory
