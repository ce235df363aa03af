// Package forward checks the GPU forward pass against a reference file (`nib forward`).
package forward
