package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native"
	"github.com/onnxkit/onnxkit/native/simd"
)

// summaryReport is what --summary prints, and its JSON form.
type summaryReport struct {
	Model  string      `json:"model"`
	IR     int64       `json:"ir_version"`
	Opsets []opsetLine `json:"opsets"`
	Ops    []opCount   `json:"ops"`
	Nodes  []nodeLine  `json:"nodes"`
	// Parameters and MACs are the totals of graph.Summarize: elements of
	// floating-point initializers, and multiply-accumulates of one sample.
	Parameters  int64          `json:"parameters"`
	MACs        int64          `json:"macs"`
	Memory      memoryEstimate `json:"memory"`
	Unsupported []missingOp    `json:"unsupported_native"`
	// CPULevel is the instruction-set level the native kernels run at
	// (package simd; ONNXKIT_CPU sets it).
	CPULevel string `json:"cpu_level"`
	// Expanded lists the model-local functions that the native engine
	// runs through their bodies, having no kernel for them.
	Expanded []string `json:"expanded_functions"`
}

// opsetLine is an imported opset, with the default domain written
// "ai.onnx".
type opsetLine struct {
	Domain  string `json:"domain"`
	Version int64  `json:"version"`
}

// nodeLine is one node of the summary.
type nodeLine struct {
	Name   string `json:"name"`
	Op     string `json:"op"`
	Output string `json:"output"`
	Params int64  `json:"parameters"`
	MACs   int64  `json:"macs"`
}

// runSummary prints m's summary, including the preflight of the native
// engine, without running anything. When the summary cannot be made
// (type inference fails on a node), the error carries the preflight.
func runSummary(o *options, m *graph.Model, stdout io.Writer) error {
	expandedModel, expanded, err := native.ExpandFunctions(m)
	if err != nil {
		return fmt.Errorf("%s: %w", o.model, err)
	}
	missing := preflight(expandedModel)
	s, err := graph.Summarize(m)
	if err != nil {
		if len(missing) > 0 {
			err = errors.Join(err, &unsupportedOpsError{missing})
		}
		return fmt.Errorf("%s: %w", o.model, err)
	}
	types, _ := graph.InferTypes(m) // Summarize succeeded, so inference did
	order, _ := graph.TopoSort(m.Graph)
	r := summaryReport{
		Model:       o.model,
		IR:          m.IRVersion,
		Ops:         sortedOpCounts(s.OpCounts),
		Parameters:  s.Params,
		MACs:        s.MACs,
		Memory:      estimateMemory(m, order, types, o.batch),
		Unsupported: missing,
		CPULevel:    simd.Current().String(),
		Expanded:    expanded,
	}
	for _, op := range m.Opsets {
		d := op.Domain
		if d == "" {
			d = "ai.onnx"
		}
		r.Opsets = append(r.Opsets, opsetLine{d, op.Version})
	}
	for _, n := range s.Nodes {
		out := "?"
		if len(n.Outputs) > 0 && n.Outputs[0] != nil {
			out = n.Outputs[0].String()
		}
		r.Nodes = append(r.Nodes, nodeLine{n.Name, n.Op, out, n.Params, n.MACs})
	}
	if r.Unsupported == nil {
		r.Unsupported = []missingOp{}
	}
	if r.Expanded == nil {
		r.Expanded = []string{}
	}
	if o.jsonOutput {
		return writeJSON(stdout, r)
	}
	fmt.Fprintf(stdout, "model %s (IR version %d)\nopsets:", r.Model, r.IR)
	for _, op := range r.Opsets {
		fmt.Fprintf(stdout, " %s %d", op.Domain, op.Version)
	}
	fmt.Fprintf(stdout, "\n\n%s\n", s)
	fmt.Fprintf(stdout, "parameters: %s\nMACs per sample: %s\n", thousands(r.Parameters), thousands(r.MACs))
	fmt.Fprintf(stdout, "native engine's CPU level: %s\n", r.CPULevel)
	mem := r.Memory
	fmt.Fprintf(stdout, "memory estimate at batch %d: %s = %s parameters + %s peak activations\n  (%s)\n",
		mem.Batch, bytesString(mem.TotalBytes), bytesString(mem.ParameterBytes), bytesString(mem.ActivationBytes), mem.Method)
	if len(r.Expanded) > 0 {
		fmt.Fprintf(stdout, "native engine: runs %d function(s) through their bodies (no kernel): %s\n",
			len(r.Expanded), strings.Join(r.Expanded, ", "))
	}
	if len(r.Unsupported) == 0 {
		fmt.Fprintln(stdout, "native engine: every operator is supported")
		return nil
	}
	fmt.Fprintf(stdout, "native engine: %d unsupported operator(s):\n", len(r.Unsupported))
	for _, mo := range r.Unsupported {
		fmt.Fprintf(stdout, "  %s\n", mo)
	}
	return nil
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// bytesString writes n bytes in binary units.
func bytesString(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), -1
	for v >= unit && i < 3 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %s", v, [...]string{"KiB", "MiB", "GiB", "TiB"}[i])
}
