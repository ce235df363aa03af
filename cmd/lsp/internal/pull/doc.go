// Package pull downloads a model into the Hugging Face cache (`nib pull`).
package pull
