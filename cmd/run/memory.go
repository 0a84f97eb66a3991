package main

import (
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
)

// memoryEstimate is the memory a run needs, estimated from the model's
// declared and inferred types.
type memoryEstimate struct {
	Batch           int    `json:"batch"`
	ParameterBytes  int64  `json:"parameter_bytes"`
	ActivationBytes int64  `json:"activation_bytes"`
	TotalBytes      int64  `json:"total_bytes"`
	Method          string `json:"method"`
	// Unknown counts the values whose size inference could not give; they
	// are left out of ActivationBytes.
	Unknown int `json:"unknown_values"`
}

// estimateMemory adds the bytes of all initializers and Constant nodes to the largest set
// of activations alive at once when the nodes run in order, each value
// alive from the node that makes it (or the start, for graph inputs) to
// its last reader (or the end, for graph outputs), with both the inputs
// and the outputs of the running node counted. Symbolic dimensions take
// batch; values of unknown shape count zero and are reported in Unknown.
func estimateMemory(m *graph.Model, order []*graph.Node, types map[string]*graph.Type, batch int) memoryEstimate {
	g := m.Graph
	est := memoryEstimate{Batch: batch}
	for _, t := range g.Initializers {
		est.ParameterBytes += t.NumElements() * elemBytes(t.DType)
	}
	isInit := map[string]bool{}
	for _, t := range g.Initializers {
		isInit[t.Name] = true
	}
	// A Constant node's value is held for the whole run, like an
	// initializer.
	for _, n := range order {
		if n.OpType == "Constant" && (n.Domain == "" || n.Domain == "ai.onnx") && len(n.Outputs) == 1 {
			if b, ok := valueBytes(types[n.Outputs[0]], batch); ok {
				est.ParameterBytes += b
				isInit[n.Outputs[0]] = true
			}
		}
	}
	// lastUse is the index in order of a value's last reader; len(order)
	// for graph outputs.
	lastUse := map[string]int{}
	for i, n := range order {
		for _, in := range n.Inputs {
			lastUse[in] = i
		}
	}
	for _, out := range g.Outputs {
		lastUse[out.Name] = len(order)
	}
	size := func(name string) int64 {
		b, ok := valueBytes(types[name], batch)
		if !ok {
			est.Unknown++
		}
		return b
	}
	var live int64
	liveBytes := map[string]int64{}
	for _, v := range graphInputs(g) {
		liveBytes[v.Name] = size(v.Name)
		live += liveBytes[v.Name]
	}
	peak := live
	for i, n := range order {
		for _, out := range n.Outputs {
			if out == "" || isInit[out] {
				continue
			}
			liveBytes[out] = size(out)
			live += liveBytes[out]
		}
		peak = max(peak, live)
		for _, name := range append(append([]string(nil), n.Inputs...), n.Outputs...) {
			if b, ok := liveBytes[name]; ok && lastUse[name] <= i {
				live -= b
				delete(liveBytes, name)
			}
		}
	}
	est.ActivationBytes = peak
	est.TotalBytes = est.ParameterBytes + peak
	est.Method = fmt.Sprintf("all initializers and constants, plus the largest set of activations alive at once when the nodes "+
		"run in topological order and each buffer is freed after its last reader, symbolic dimensions = %d", batch)
	if est.Unknown > 0 {
		est.Method += fmt.Sprintf("; %d value(s) of unknown shape not counted", est.Unknown)
	}
	return est
}

// valueBytesCap is where valueBytes saturates, 64 PiB: far beyond any
// machine, and low enough that sums of thousands of such values do not
// overflow an int64.
const valueBytesCap = 1 << 56

// valueBytes is the size of a tensor of type t with symbolic dimensions
// set to batch (a product 12*N to 12*batch), and false when t is not a tensor of known rank.
func valueBytes(t *graph.Type, batch int) (int64, bool) {
	if t == nil || t.Kind != graph.TensorKind || t.Shape == nil {
		return 0, false
	}
	n := elemBytes(t.DType)
	for _, d := range t.Shape {
		s := d.SizeAt(int64(batch))
		if s > 0 && n > valueBytesCap/s { // saturate: a hostile shape must not wrap around
			return valueBytesCap, true
		}
		n *= s
	}
	return n, true
}

// elemBytes is the memory one element takes in the native engine: its
// wire size, with 4- and 2-bit types unpacked to a byte and strings
// counted as their 16-byte Go header.
func elemBytes(d graph.DType) int64 {
	switch d {
	case graph.Int4, graph.Uint4, graph.Float4E2M1, graph.Int2, graph.Uint2:
		return 1
	case graph.String:
		return 16
	}
	return int64(d.WireSize())
}
