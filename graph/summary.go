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
// biases, and BatchNormalization's scale, bias, mean and variance) and of
// the floating-point tensors of rank 1 or more that Constant nodes hold
// (weights an exporter wrote as constants; scalars such as Clip's bounds
// are hyperparameters, not parameters). Integer tensors such as Reshape's
// shape are not parameters. A tensor read by several nodes counts once, at
// the first in run order.
//
// MACs are counted for one sample: every symbolic or unknown dimension of
// a shape is taken as 1, and a product of symbols such as 12*N as its
// known factor, 12. They are
//
//	Conv:          output elements * C/group * kernel elements
//	ConvTranspose: input elements * M/group * kernel elements
//	Gemm, MatMul:  output elements * K  (M*N*K for a matrix product,
//	               times the batch dimensions for a batched one)
//	RNN, GRU, LSTM: seq * batch * (elements of W + elements of R), the
//	               input and recurrent products of every gate and direction
//	Attention:     batch * heads * S * L * (head size + value head size),
//	               the products Q*K' and softmax(Q*K')*V
//	BatchNormalization, InstanceNormalization, LayerNormalization,
//	GroupNormalization: output elements (one scale and shift each)
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
	weights := make(map[string]*Tensor)
	for _, t := range m.Graph.Initializers {
		weights[t.Name] = t
	}
	for _, n := range m.Graph.Nodes {
		if n.OpType == "Constant" && isDefaultDomain(n.Domain) && len(n.Outputs) == 1 {
			if t, err := ConstantValue(n); err == nil && t != nil && len(t.Dims) > 0 {
				weights[n.Outputs[0]] = t
			}
		}
	}
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
			t := weights[in]
			if t == nil || counted[in] || !t.DType.IsFloat() {
				continue
			}
			counted[in] = true
			ns.Params += t.NumElements()
		}
		ns.MACs = macs(m, n, types)
		s.Nodes = append(s.Nodes, ns)
		s.Params += ns.Params
		s.MACs += ns.MACs
		s.OpCounts[n.OpType]++
	}
	return s, nil
}

// macs is the multiply-accumulate count of n, one of m's nodes, at
// batch size 1.
func macs(m *Model, n *Node, types map[string]*Type) int64 {
	if !isDefaultDomain(n.Domain) {
		return 0
	}
	shape := func(name string) Shape {
		if t := types[name]; t != nil {
			return t.Shape
		}
		return nil
	}
	var out Shape
	if len(n.Outputs) > 0 {
		out = shape(n.Outputs[0])
	}
	w := shape(n.Input(1))
	switch n.OpType {
	case "Conv":
		if len(w) < 2 {
			return 0
		}
		// W [M, C/group, k...]: each output element takes C/group*k MACs.
		return elems(out) * elems(w[1:])
	case "ConvTranspose":
		if len(w) < 2 {
			return 0
		}
		// W [C, M/group, k...]: each input element feeds M/group*k outputs.
		return elems(shape(n.Input(0))) * elems(w[1:])
	case "Gemm", "MatMul":
		a := shape(n.Input(0))
		if out == nil || len(a) == 0 {
			return 0
		}
		k := a[len(a)-1]
		if n.OpType == "Gemm" && len(a) == 2 {
			if trans, _ := m.NodeAttrs(n).Int("transA"); trans != 0 {
				k = a[0]
			}
		}
		return elems(out) * elems(Shape{k})
	case "RNN", "GRU", "LSTM":
		// X [seq, batch, I] (either order): per step and sample, W
		// [dirs, gates*H, I] times x and R [dirs, gates*H, H] times h.
		x := shape(n.Input(0))
		if len(x) != 3 {
			return 0
		}
		return elems(x[:2]) * (elems(w) + elems(shape(n.Input(2))))
	case "Attention":
		q, k := shape(n.Input(0)), shape(n.Input(1))
		if len(q) != len(out) || len(k) != len(q) {
			return 0
		}
		if len(q) == 4 {
			// Q [B, H, S, E], K [B, Hk, L, E], Y [B, H, S, Ev].
			return elems(out[:3]) * elems(k[2:3]) * (elems(q[3:]) + elems(out[3:]))
		}
		if len(q) == 3 {
			// Q [B, S, H*E], K [B, L, Hk*E], Y [B, S, H*Ev].
			return elems(out[:2]) * elems(k[1:2]) * (elems(q[2:]) + elems(out[2:]))
		}
	case "BatchNormalization", "InstanceNormalization", "LayerNormalization", "GroupNormalization":
		return elems(out)
	}
	return 0
}

// elems counts the elements of a shape with every symbol and unknown
// dimension taken as 1 (a product 12*N as 12).
func elems(s Shape) int64 { return productOf(s).known }

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
