package native

import (
	"context"
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/ops"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// Evaluator computes single nodes on constant inputs with the engine's
// operators: it is the passes.Evaluator that constant folding uses, so
// that a folded value is what running the node would give.
//
//	opt, err := passes.Inference(m, passes.Options{Evaluator: native.Evaluator{}})
type Evaluator struct{}

// Evaluate builds the operator of n under opset and runs it in inference
// mode on inputs (nil where an optional input is absent), returning its
// outputs named after n's outputs. Operators without subgraphs only; an
// unsupported operator, bad attributes or inputs the operator refuses
// give an error naming the node.
func (Evaluator) Evaluate(n *graph.Node, opset int64, inputs []*graph.Tensor) ([]*graph.Tensor, error) {
	op, err := ops.Build(n, opset)
	if err != nil {
		return nil, err
	}
	in := make([]*tensor.Tensor, len(inputs))
	for i, t := range inputs {
		if t == nil {
			continue
		}
		if in[i], err = tensor.FromGraph(t); err != nil {
			return nil, &graph.NodeError{Node: n.Name, Op: n.OpType, Err: err}
		}
	}
	out, err := op.Forward(&ops.Context{Ctx: context.Background()}, in)
	if err != nil {
		return nil, &graph.NodeError{Node: n.Name, Op: n.OpType, Err: err}
	}
	if len(out) < len(n.Outputs) {
		return nil, &graph.NodeError{Node: n.Name, Op: n.OpType,
			Err: fmt.Errorf("produced %d outputs, the node names %d", len(out), len(n.Outputs))}
	}
	res := make([]*graph.Tensor, len(n.Outputs))
	for i, name := range n.Outputs {
		if out[i] == nil || out[i].Kind != tensor.Dense {
			return nil, &graph.NodeError{Node: n.Name, Op: n.OpType, Err: fmt.Errorf("output %q is not a tensor", name)}
		}
		res[i] = out[i].ToGraph(name)
	}
	return res, nil
}
