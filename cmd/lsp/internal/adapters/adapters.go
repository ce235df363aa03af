package adapters

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/nib-editor/nib/gpu"
)

const adaptersUsage = `usage: nib adapters [--json] [--adapter A]

Lists the GPU adapters WebGPU offers on Vulkan, Metal or DX12, best first as
nib chooses, with the limits and features nib's kernels use.

flags:
`

// Run prints the adapters WebGPU offers, best first as nib would
// choose, with the limits and features nib's kernels use.
func Run(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("adapters", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	choice := fs.String("adapter", "", "mark the adapter this choice (index or name substring) selects; default $"+gpu.AdapterEnv)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), adaptersUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	list, err := gpu.Adapters()
	if err != nil {
		return err
	}
	if *choice == "" {
		*choice = os.Getenv(gpu.AdapterEnv)
	}
	chosen, err := gpu.Choose(list, *choice)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Default  int               `json:"default"`
			Adapters []gpu.AdapterInfo `json:"adapters"`
		}{chosen, list})
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\tINDEX\tNAME\tBACKEND\tTYPE\tSHADER-F16\tTIMESTAMPS\tMAX-STORAGE-BINDING\tWORKGROUP-STORAGE\tDRIVER")
	for _, a := range list {
		mark := ""
		if a.Index == chosen {
			mark = "*"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%v\t%v\t%d MiB\t%d KiB\t%s\n", mark, a.Index, a.Name, a.Backend, a.Type,
			a.ShaderF16, a.TimestampQuery, a.MaxStorageBufferBindingSize>>20, a.MaxWorkgroupStorageSize>>10, a.Driver)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "\n* the adapter nib uses; set %s or --adapter to an index or a name substring to pick another\n", gpu.AdapterEnv)
	return err
}
