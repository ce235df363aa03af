package safetensors

// Offsets returns where the named tensor's data lies in the file: the data
// section's offset and the tensor's range within it, for tests that check
// Data against the file's bytes.
func (f *File) Offsets(name string) (section, begin, end int, ok bool) {
	i, ok := f.byName[name]
	if !ok {
		return 0, 0, 0, false
	}
	return f.section, f.entries[i].begin, f.entries[i].end, true
}
