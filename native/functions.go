package native

import (
	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/ops"
)

// ExpandFunctions returns m with every call of a model-local function
// (m.Functions, IR version 8 and later) that the engine has no kernel for
// at the model's opset replaced by the function's body, and the names of
// the functions so expanded (see graph.InlineFunctions). A function named
// like an operator the engine implements keeps running on the kernel. m
// is not changed.
//
//	m, expanded, err := native.ExpandFunctions(m)
//	if err != nil { ... }
//	prog, err := native.Compile(m) // expanded lists what runs as a body
func ExpandFunctions(m *graph.Model) (*graph.Model, []string, error) {
	return graph.InlineFunctions(m, func(n *graph.Node) bool {
		opset, ok := m.OpsetVersion(n.Domain)
		if !ok {
			return true
		}
		_, has := ops.Lookup(n.Domain, n.OpType, opset)
		return !has
	})
}
