package graph

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// Summary describes a model's main graph node by node: output shapes,
// parameters and multiply-accumulate operations.
type Summary struct {
	// Nodes are in run order (TopoSort).
	Nodes []NodeSummary
	// Params is the number of elements of the floating-point initializers
	// the nodes read; MACs the multiply-accumulates of one sample.
	Params, MACs int64
	// OpCounts is how many nodes each op type has.
	OpCounts map[string]int
}

// NodeSummary is one node's line in a Summary.
type NodeSummary struct {
	Name, Op string
	// Outputs are the inferred types of the node's outputs, nil where
	// unknown or absent.
	Outputs []*Type
	// Params counts the elements of the floating-point initializers the
	// node reads that no earlier node read.
	Params int64
	// MACs is the node's multiply-accumulate count at batch size 1.
	MACs int64
}

// Summarize infers m's types and counts each node's parameters and
// multiply-accumulates.
//
// Parameters are the elements of floating-point initializers (weights,
// biases, and BatchNormalization's scale, bias, mean and variance); integer
// initializers such as Reshape's shape are not parameters. An initializer
// read by several nodes counts once, at the first in run order.
//
// MACs are counted for one sample: every symbolic or unknown dimension of
// an output or input shape is taken as 1. They are
//
//	Conv:          output elements * C/group * kernel elements
//	ConvTranspose: input elements * M/group * kernel elements
//	Gemm, MatMul:  output elements * K  (M*N*K for a matrix product)
//
// and 0 for every other op. Summarize fails when inference does.
func Summarize(m *Model) (*Summary, error) {
	types, err := InferTypes(m)
	if err != nil {
		return nil, err
	}
	order, err := TopoSort(m.Graph)
	if err != nil {
		return nil, err
	}
	s := &Summary{OpCounts: make(map[string]int)}
	counted := make(map[string]bool)
	for _, n := range order {
		ns := NodeSummary{Name: n.Name, Op: n.OpType}
		for _, o := range n.Outputs {
			var t *Type
			if o != "" {
				t = types[o]
			}
			ns.Outputs = append(ns.Outputs, t)
		}
		for _, in := range n.Inputs {
			t := m.Graph.Initializer(in)
			if t == nil || counted[in] || !t.DType.IsFloat() {
				continue
			}
			counted[in] = true
			ns.Params += t.NumElements()
		}
		ns.MACs = macs(n, types)
		s.Nodes = append(s.Nodes, ns)
		s.Params += ns.Params
		s.MACs += ns.MACs
		s.OpCounts[n.OpType]++
	}
	return s, nil
}

// macs is n's multiply-accumulate count at batch size 1.
func macs(n *Node, types map[string]*Type) int64 {
	if !isDefaultDomain(n.Domain) {
		return 0
	}
	shape := func(name string) Shape {
		if t := types[name]; t != nil {
			return t.Shape
		}
		return nil
	}
	// elems counts with unknown dimensions as 1.
	elems := func(s Shape) int64 {
		p := int64(1)
		for _, d := range s {
			if d.Known() {
				p *= d.Size
			}
		}
		return p
	}
	w := shape(n.Input(1))
	switch n.OpType {
	case "Conv":
		if len(n.Outputs) == 0 || len(w) < 2 {
			return 0
		}
		// W [M, C/group, k...]: each output element takes C/group*k MACs.
		return elems(shape(n.Outputs[0])) * elems(w[1:])
	case "ConvTranspose":
		if len(w) < 2 {
			return 0
		}
		// W [C, M/group, k...]: each input element feeds M/group*k outputs.
		return elems(shape(n.Input(0))) * elems(w[1:])
	case "Gemm", "MatMul":
		a := shape(n.Input(0))
		if len(n.Outputs) == 0 || len(a) == 0 {
			return 0
		}
		k := a[len(a)-1]
		if n.OpType == "Gemm" && len(a) == 2 {
			if trans, _ := n.AttrInt("transA", 0); trans != 0 {
				k = a[0]
			}
		}
		return elems(shape(n.Outputs[0])) * elems(Shape{k})
	}
	return 0
}

// String writes the summary as a table: one line per node, then the
// totals and the op histogram, most frequent first.
func (s *Summary) String() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "node\top\toutput\tparams\tMACs\t")
	for _, n := range s.Nodes {
		out := "?"
		if len(n.Outputs) > 0 && n.Outputs[0] != nil {
			out = n.Outputs[0].String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t\n", n.Name, n.Op, out, n.Params, n.MACs)
	}
	fmt.Fprintf(tw, "total\t\t\t%d\t%d\t\n", s.Params, s.MACs)
	tw.Flush()
	ops := slices.SortedFunc(maps.Keys(s.OpCounts), func(a, b string) int {
		return cmp.Or(cmp.Compare(s.OpCounts[b], s.OpCounts[a]), cmp.Compare(a, b))
	})
	b.WriteString("ops:")
	for _, op := range ops {
		fmt.Fprintf(&b, " %s %d", op, s.OpCounts[op])
	}
	b.WriteString("\n")
	return b.String()
}
