package safetensors_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nib-editor/nib/model/safetensors"
)

func Example() {
	dir, err := os.MkdirTemp("", "nib-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	// A one-tensor checkpoint: two bf16 values, 1 and -2.5.
	var b bytes.Buffer
	err = safetensors.Write(&b, []safetensors.Tensor{
		{Name: "encoder.final_layer_norm.weight", DType: safetensors.BF16, Shape: []int{2}, Data: []byte{0x80, 0x3f, 0x20, 0xc0}},
	}, map[string]string{"format": "pt"})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, safetensors.SingleFile), b.Bytes(), 0o644); err != nil {
		fmt.Println(err)
		return
	}

	weights, err := safetensors.OpenDir(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer weights.Close()
	for _, name := range weights.Names() {
		t, err := weights.Tensor(name)
		if err != nil {
			fmt.Println(err)
			return
		}
		vals, err := t.Float32()
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(name, t.DType, t.Shape, vals)
	}
	_, err = weights.Tensor("lm_head.weight")
	fmt.Println(err != nil)
	// Output:
	// encoder.final_layer_norm.weight BF16 [2] [1 -2.5]
	// true
}
