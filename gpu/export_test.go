package gpu

// SetMatvecShape makes matrix-vector products use shape instead of their
// own choice, nil restoring it; for benchmarks.
func SetMatvecShape(shape func(loads int) (wg, tpr int)) { matvecShapeOverride = shape }
