package passes

import (
	"slices"

	"github.com/onnxkit/onnxkit/graph"
)

// EliminateDeadCode returns a copy of m without the nodes none of whose
// outputs reaches a graph output, and without the initializers no
// remaining node reads; m is not changed. Initializers that are graph
// inputs, graph outputs or bound by training info are kept, as are graph
// inputs themselves: the model's interface does not change. Value_info
// entries of values that no longer exist are dropped.
func EliminateDeadCode(m *graph.Model) (*graph.Model, error) {
	c, err := cloneModel(m)
	if err != nil {
		return nil, err
	}
	g := c.Graph
	producer := map[string]*graph.Node{}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != "" {
				producer[o] = n
			}
		}
	}
	live := map[string]bool{}
	liveNodes := map[*graph.Node]bool{}
	var work []string
	for _, o := range g.Outputs {
		work = append(work, o.Name)
	}
	for len(work) > 0 {
		name := work[len(work)-1]
		work = work[:len(work)-1]
		if name == "" || live[name] {
			continue
		}
		live[name] = true
		if p := producer[name]; p != nil && !liveNodes[p] {
			liveNodes[p] = true
			work = append(work, reads(p)...)
		}
	}
	g.Nodes = slices.DeleteFunc(g.Nodes, func(n *graph.Node) bool { return !liveNodes[n] })

	keep := map[string]bool{}
	for _, v := range g.Inputs {
		keep[v.Name] = true
	}
	for _, ti := range c.TrainingInfo {
		for _, b := range slices.Concat(ti.InitializationBinding, ti.UpdateBinding) {
			keep[b.Key] = true
		}
	}
	g.Initializers = slices.DeleteFunc(g.Initializers, func(t *graph.Tensor) bool { return !live[t.Name] && !keep[t.Name] })

	defined := map[string]bool{}
	for _, v := range g.Inputs {
		defined[v.Name] = true
	}
	for _, t := range g.Initializers {
		defined[t.Name] = true
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			defined[o] = true
		}
	}
	g.ValueInfo = slices.DeleteFunc(g.ValueInfo, func(v *graph.Value) bool { return !defined[v.Name] })
	g.QuantizationAnnotations = slices.DeleteFunc(g.QuantizationAnnotations,
		func(q graph.QuantizationAnnotation) bool { return !defined[q.TensorName] })
	return c, nil
}
