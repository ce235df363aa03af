// Package hub finds FLAN-T5 checkpoints where people already keep them and
// downloads them into the same place: the Hugging Face hub cache that
// Python's huggingface_hub (and so transformers) reads and writes.
//
// Resolve turns a model reference (a folder, "google/flan-t5-base" or
// "google/flan-t5-base@revision") into a local folder without touching the
// network. Pull downloads the files nib needs from a hub and returns the
// snapshot folder it filled.
//
// The cache layout, under CacheDir(), is huggingface_hub's:
//
//	models--google--flan-t5-base/
//	  refs/main                      the commit "main" pointed to when pulled
//	  blobs/<etag>                   file contents, named by hash
//	  blobs/<etag>.incomplete        a download in progress, resumed later
//	  snapshots/<commit>/<filename>  relative symlink to ../../blobs/<etag>
//
// with .locks/models--google--flan-t5-base/<etag>.lock beside the repository
// folders, so a pull here and a download in Python do not write one blob at
// once. The etag is the SHA-256 of Git LFS files and the Git blob id of the
// others, and Pull checks every download against it before it enters the
// cache: a blob there is always complete and verified.
package hub
