package benchcmp

import (
	"context"
	"fmt"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"
)

// Extism is the Extism variant: a go-pdk guest (testdata/extismguest) called through
// github.com/extism/go-sdk, with the same wazero settings as the other variants
// (compiler, close-on-context-done).
type Extism struct {
	compiled *extism.CompiledPlugin
	plugin   *extism.Plugin
}

// NewExtism compiles the guest (and Extism's own kernel module) with Extism. cache may be
// nil. Call Start before Call.
func NewExtism(ctx context.Context, wasm []byte, cache wazero.CompilationCache) (*Extism, error) {
	cfg := wazero.NewRuntimeConfigCompiler().WithCloseOnContextDone(true)
	if cache != nil {
		cfg = cfg.WithCompilationCache(cache)
	}
	cp, err := extism.NewCompiledPlugin(ctx, extism.Manifest{Wasm: []extism.Wasm{extism.WasmData{Data: wasm}}},
		extism.PluginConfig{EnableWasi: true, RuntimeConfig: cfg}, nil)
	if err != nil {
		return nil, fmt.Errorf("extism: compile: %w", err)
	}
	return &Extism{compiled: cp}, nil
}

// Start makes the instance Call uses.
func (x *Extism) Start(ctx context.Context) error {
	p, err := x.Instance(ctx)
	if err != nil {
		return err
	}
	x.plugin = p
	return nil
}

// Instance makes a new instance of the compiled plugin.
func (x *Extism) Instance(ctx context.Context) (*extism.Plugin, error) {
	p, err := x.compiled.Instance(ctx, extism.PluginInstanceConfig{})
	if err != nil {
		return nil, fmt.Errorf("extism: instantiate: %w", err)
	}
	return p, nil
}

// Call calls the guest's handle export with req as input and returns its output.
func (x *Extism) Call(ctx context.Context, req []byte) ([]byte, error) {
	rc, out, err := x.plugin.CallWithContext(ctx, "handle", req)
	if err != nil {
		return nil, err
	}
	if rc != 0 {
		return nil, fmt.Errorf("extism guest returned %d: %s", rc, x.plugin.GetError())
	}
	return out, nil
}

// Close releases the plugin and its runtime.
func (x *Extism) Close(ctx context.Context) error {
	if x.plugin != nil {
		x.plugin.Close(ctx)
	}
	return x.compiled.Close(ctx)
}
