// Package oneshot holds the terminal commands `nib complete` and `nib rewrite`.
package oneshot
