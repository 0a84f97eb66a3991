package ops

import (
	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// Operators with subgraphs (If, Loop, Scan, SequenceMap) and Gradient,
// which differentiates a part of its own graph, need the executor to
// compile graphs for them. Package ops cannot import the executor
// (package native imports ops), so the executor hands such constructors
// a Scope: the constructor compiles its subgraphs once, into Subgraphs
// that its Forward runs.

// ScopedConstructor builds an Op for node n under opset, compiling the
// node's subgraphs through scope. scope is nil when the node is built
// outside a program (Build, Lookup); the constructor must then fail.
type ScopedConstructor func(n *graph.Node, opset int64, scope Scope) (Op, error)

// Scope compiles graphs for a node's constructor, in the program that the
// node belongs to: under the model's opsets, with the values of the
// enclosing graphs visible by name.
type Scope interface {
	// Compile compiles g, a graph attribute of the node.
	Compile(g *graph.Graph) (Subgraph, error)
	// Slice compiles the part of the node's own graph that computes the
	// values named outputs from the values named inputs (and the graph's
	// initializers). It fails when an output depends on anything else.
	Slice(inputs, outputs []string) (Subgraph, error)
}

// Subgraph is a compiled graph that an op runs. Its inputs and outputs
// are those of the graph, in order.
type Subgraph interface {
	// Captures lists the values of enclosing graphs that the subgraph
	// reads, by name.
	Captures() []string
	// Run runs the subgraph. It reads the captured values from
	// ctx.Outer, and follows ctx.Training; the run's random sources are
	// seeded from ctx.Rand.
	Run(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error)
	// Gradient runs the subgraph forward in inference mode, recording,
	// asks seed for the gradients of the loss with respect to its outputs
	// (nil for an output the loss does not depend on), runs backward, and
	// returns the gradients with respect to in[wrt[i]], nil where there
	// is none.
	Gradient(ctx *Context, in []*tensor.Tensor, seed func(out []*tensor.Tensor) ([]*tensor.Tensor, error), wrt []int) ([]*tensor.Tensor, error)
}

// Capturer is an Op whose subgraphs read values of the enclosing graph.
// The executor treats them as further inputs of the node: it keeps them
// alive until the node has run and passes them in Context.Outer.
type Capturer interface {
	Op
	// Captures lists the names of the values read.
	Captures() []string
}

// ValueOp is an Op that takes sequences or optionals (tensor.Sequence,
// tensor.Optional) among its inputs. The executor gives other ops only
// dense tensors, and fails the run when a model feeds them anything else.
type ValueOp interface {
	Op
	// TakesValues marks the op; it does nothing.
	TakesValues()
}
