module github.com/nib-editor/nib

go 1.26.8

require (
	github.com/cogentcore/webgpu v0.23.0
	github.com/sourcegraph/jsonrpc2 v0.2.3
	github.com/x448/float16 v0.8.4
	go.uber.org/zap v1.28.0
)

require go.uber.org/multierr v1.10.0 // indirect
