// Package safetensors reads the safetensors checkpoints that Hugging Face
// publishes, and writes small ones for tests.
//
// A safetensors file is an 8-byte little-endian header length N, N bytes of
// JSON describing each tensor (dtype, shape and the byte range of its data,
// relative to the data section) plus optional string metadata under
// "__metadata__", and then the data section.
//
// Open memory-maps a file read-only, so a checkpoint of a gigabyte costs no
// Go heap: a Tensor's Data is a view into the mapping, valid until the File
// (or Set) is closed. Reading Data after Close faults the whole process, so
// close only once nothing holds a Tensor. For the same reason the file must
// not be truncated while it is open.
//
// Everything a header claims is checked before Open returns: every tensor
// lies inside the data section, its byte length matches its shape and dtype,
// no two tensors overlap, no name appears twice. A file that lies in any way
// is an error naming the file and the tensor, never a panic. Gaps between
// tensors and bytes after the last one are accepted (they break no bounds);
// the reference implementation rejects them, and Write never produces them.
//
// OpenDir opens the weights of a model folder, either a single
// model.safetensors or the shards listed by model.safetensors.index.json.
package safetensors
