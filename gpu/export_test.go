package gpu

// SetMatvecShape makes matrix-vector products use shape instead of their
// own choice, nil restoring it; for benchmarks.
func SetMatvecShape(shape func(loads int) (wg, tpr, rpi int)) { matvecShapeOverride = shape }

// SetAttentionWG makes the attention kernels use workgroups of n
// invocations, 0 restoring their own choice; for benchmarks.
func SetAttentionWG(n int) { attentionWGOverride = n }

// LimitWorkgroupStorage makes d behave as an adapter with only n bytes of
// workgroup storage, as WebGPU's default grants; the returned function
// restores the limit.
func (d *Device) LimitWorkgroupStorage(n uint32) (restore func()) {
	old := d.limits.MaxComputeWorkgroupStorageSize
	d.limits.MaxComputeWorkgroupStorageSize = n
	return func() { d.limits.MaxComputeWorkgroupStorageSize = old }
}

// ForceLayout makes d's kernels take the CPU layouts (cpu) or the GPU ones
// whatever the adapter; the returned function restores the adapter's own.
func (d *Device) ForceLayout(cpu bool) (restore func()) {
	old := d.forceLayout
	d.forceLayout = layoutGPU
	if cpu {
		d.forceLayout = layoutCPU
	}
	return func() { d.forceLayout = old }
}

// SetDecoderLayerTPR makes DecoderLayer's products take n invocations to
// a row, 0 restoring its own choice; for tests of every layout on any
// adapter.
func SetDecoderLayerTPR(n int) { declayerTPROverride = n }
