package ops

// Trilu keeps the upper or lower triangle of matrices.

import (
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// shapeTriluOps is the operator table of shape_trilu.go (see registry.go).
var shapeTriluOps = []Entry{
	{OpType: "Trilu", Since: []int64{14}, Build: newTrilu},
}

// triluOp is Trilu: each matrix of the last two axes with the elements
// off its upper (upper=1, the default) or lower triangle set to zero.
// The triangle is bounded by diagonal k (input 1, default 0): the upper
// one keeps elements [i, j] with j-i >= k, the lower one those with
// j-i <= k.
//
// Shapes: x [..., N, M], k scalar -> y like x.
type triluOp struct {
	upper bool
}

func newTrilu(n *graph.Node, _ int64) (Op, error) {
	u, err := n.Declared().Int("upper")
	if err != nil {
		return nil, err
	}
	return triluOp{upper: u != 0}, nil
}

func (op triluOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, 2); err != nil {
		return nil, err
	}
	x := in[0]
	if x.Rank() < 2 {
		return nil, fmt.Errorf("input %v has rank below 2", x)
	}
	k := int64(0)
	if kt := optionalInput(in, 1); kt != nil {
		var err error
		if k, err = intScalar(kt, "k input"); err != nil {
			return nil, err
		}
	}
	rows, cols := x.Shape[x.Rank()-2], x.Shape[x.Rank()-1]
	out := newOutput(ctx, x.DType, x.Shape)
	dst := mvElems(out)
	dst.copyFrom(0, mvElems(x), 0, x.Len())
	for m := 0; m < x.Len(); m += rows * cols {
		for i := range rows {
			// Row i keeps columns j with j >= i+k (upper) or j <= i+k (lower).
			edge := int64(i) + k
			from, to := 0, cols
			if op.upper {
				to = int(min(max(edge, 0), int64(cols)))
			} else {
				from = int(min(max(edge+1, 0), int64(cols)))
			}
			row := m + i*cols
			dst.zero(row+from, row+to)
		}
	}
	return []*tensor.Tensor{out}, nil
}
