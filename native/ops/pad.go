package ops

// Pad adds (or, with negative counts, removes) elements at both ends of
// axes.

import (
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// padOps is the operator table of pad.go (see registry.go).
var padOps = []Entry{
	{OpType: "Pad", Since: []int64{1, 2, 11, 18, 19}, Build: newPad},
}

// The ways Pad fills the new elements.
const (
	mvPadConstant = "constant" // a constant value
	mvPadReflect  = "reflect"  // the mirror image about the edge element
	mvPadEdge     = "edge"     // copies of the edge element
	mvPadWrap     = "wrap"     // from the other end, as on a torus (opset 19)
)

// padOp is Pad. pads lists the counts added before each padded axis,
// then those added after; negative counts crop. Opset 1 takes them as
// attribute paddings, 2 as attribute pads, with the fill value as
// attribute value; from 11 they are inputs (data, pads, constant_value?,
// and from 18 axes?, the axes the pads apply to).
type padOp struct {
	mode       string
	fromInputs bool
	withAxes   bool
	pads       []int64 // opsets 1-10
	value      float32 // opsets 1-10
}

func newPad(n *graph.Node, opset int64) (Op, error) {
	mode, err := n.Declared().String("mode")
	if err != nil {
		return nil, err
	}
	switch {
	case mode == mvPadConstant || mode == mvPadReflect || mode == mvPadEdge:
	case mode == mvPadWrap && opset >= 19:
	default:
		return nil, attrError(n, "mode", "is %q, not a padding mode of opset %d", mode, opset)
	}
	op := padOp{mode: mode, fromInputs: opset >= 11, withAxes: opset >= 18}
	if op.fromInputs {
		return op, nil
	}
	name := "pads"
	if opset < 2 {
		name = "paddings"
	}
	if op.pads, err = n.Declared().Ints(name); err != nil {
		return nil, err
	}
	if op.pads == nil {
		return nil, attrError(n, name, "is required")
	}
	if op.value, err = n.Declared().Float("value"); err != nil {
		return nil, err
	}
	return op, nil
}

func (op padOp) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	pads := op.pads
	var fill mvElements
	var axes []int64
	if op.fromInputs {
		maxIn := 3
		if op.withAxes {
			maxIn = 4
		}
		if err := checkArity(in, 2, maxIn); err != nil {
			return nil, err
		}
		var err error
		if pads, err = intValues(in[1], "pads input"); err != nil {
			return nil, err
		}
		if v := optionalInput(in, 2); v != nil && op.mode == mvPadConstant {
			if v.DType != in[0].DType || v.Len() != 1 {
				return nil, fmt.Errorf("constant_value input is %v, want one %v", v, in[0].DType)
			}
			fill = mvElems(v)
		}
		if a := optionalInput(in, 3); a != nil {
			if axes, err = intValues(a, "axes input"); err != nil {
				return nil, err
			}
		}
	} else {
		if err := checkArity(in, 1, 1); err != nil {
			return nil, err
		}
		var err error
		if fill, err = mvNumber(in[0].DType, float64(op.value)); err != nil {
			return nil, err
		}
	}
	x := in[0]
	r := x.Rank()
	if axes == nil {
		axes = make([]int64, r)
		for d := range axes {
			axes[d] = int64(d)
		}
	}
	if len(pads) != 2*len(axes) {
		return nil, fmt.Errorf("%d pads for %d axes, want twice as many", len(pads), len(axes))
	}
	before, after := make([]int, r), make([]int, r)
	for i, a := range axes {
		d, err := resolveAxis(a, r, "axis")
		if err != nil {
			return nil, err
		}
		p, err := mvCheckedInts([]int64{pads[i], pads[i+len(axes)]}, "pads")
		if err != nil {
			return nil, err
		}
		before[d], after[d] = p[0], p[1]
	}
	strides := tensor.Strides(x.Shape)
	m := make(mvAxisMaps, r)
	shape := make([]int, r)
	for d, n := range x.Shape {
		shape[d] = n + before[d] + after[d]
		if err := mvCheckShape(shape[:d+1]); err != nil {
			return nil, fmt.Errorf("pads %v: %w", pads, err)
		}
		if d == r-1 {
			if err := mvCheckOutput(ctx, x.DType, shape); err != nil {
				return nil, fmt.Errorf("pads %v: %w", pads, err)
			}
		}
		m[d] = make([]int, shape[d])
		for c := range m[d] {
			src, ok := mvPadSource(c-before[d], n, op.mode)
			if !ok {
				return nil, fmt.Errorf("cannot pad an empty axis %d in %s mode", d, op.mode)
			}
			if src < 0 {
				m[d][c] = -1
			} else {
				m[d][c] = src * strides[d]
			}
		}
	}
	out := newOutput(ctx, x.DType, shape)
	mvElems(out).gatherAxes(mvElems(x), m, fill)
	return []*tensor.Tensor{out}, nil
}

// mvPadSource returns the input coordinate that output coordinate x (the
// input's own numbering, so negative before the start) takes along an
// axis of size n: -1 for the fill value, ok false when the mode has
// nothing to copy from an empty axis.
func mvPadSource(x, n int, mode string) (src int, ok bool) {
	if x >= 0 && x < n {
		return x, true
	}
	if mode == mvPadConstant {
		return -1, true
	}
	if n == 0 {
		return 0, false
	}
	switch mode {
	case mvPadEdge:
		return min(max(x, 0), n-1), true
	case mvPadWrap:
		return ((x % n) + n) % n, true
	}
	// Reflect: the mirror images repeat with period 2(n-1).
	if n == 1 {
		return 0, true
	}
	p := 2 * (n - 1)
	x = ((x % p) + p) % p
	if x >= n {
		x = p - x
	}
	return x, true
}
