package ops

// Einsum: Einstein summation over any number of operands.
//
// The equation is "term,term,...->out" or, implicitly, "term,term,...":
// each term names its operand's dimensions with letters, a letter
// repeated within a term takes a diagonal, letters left out of the output
// are summed over, and "..." stands for leading dimensions that broadcast
// across operands. Without "->" the output is the broadcast "..." dims
// followed by the letters used exactly once, in alphabetical (ASCII)
// order. Floats accumulate in float64, integers in their own type.
// Opset history: 12.

import (
	"fmt"
	"slices"
	"strings"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// miscEinsumOps is the operator table of misc_einsum.go (see registry.go).
var miscEinsumOps = []Entry{
	{OpType: "Einsum", Since: []int64{12}, Build: newEinsum},
}

// einsumEllipsis marks the place of "..." in a parsed term.
const einsumEllipsis = -1

// einsum is a decoded Einsum node: the letters of each input term and of
// the output, as byte values, with einsumEllipsis where "..." stands.
type einsum struct {
	inputs   [][]int
	output   []int
	explicit bool
}

func newEinsum(n *graph.Node, opset int64) (Op, error) {
	eq, err := n.Declared().String("equation")
	if err != nil {
		return nil, err
	}
	op, err := parseEinsum(eq)
	if err != nil {
		return nil, attrError(n, "equation", "%v", err)
	}
	return op, nil
}

// parseEinsum parses an equation such as "bij, bjk -> bik".
func parseEinsum(eq string) (*einsum, error) {
	eq = strings.ReplaceAll(eq, " ", "")
	lhs, rhs, explicit := strings.Cut(eq, "->")
	op := &einsum{explicit: explicit}
	for _, term := range strings.Split(lhs, ",") {
		labels, err := parseEinsumTerm(term)
		if err != nil {
			return nil, err
		}
		op.inputs = append(op.inputs, labels)
	}
	if explicit {
		out, err := parseEinsumTerm(rhs)
		if err != nil {
			return nil, err
		}
		for i, l := range out {
			if slices.Contains(out[i+1:], l) {
				return nil, fmt.Errorf("output %q repeats a label", rhs)
			}
			if l != einsumEllipsis && !slices.ContainsFunc(op.inputs, func(in []int) bool { return slices.Contains(in, l) }) {
				return nil, fmt.Errorf("output label %q appears in no input", rune(l))
			}
		}
		op.output = out
		return op, nil
	}
	count := map[int]int{}
	hasEllipsis := false
	for _, in := range op.inputs {
		for _, l := range in {
			if l == einsumEllipsis {
				hasEllipsis = true
			} else {
				count[l]++
			}
		}
	}
	if hasEllipsis {
		op.output = append(op.output, einsumEllipsis)
	}
	var once []int
	for l, c := range count {
		if c == 1 {
			once = append(once, l)
		}
	}
	slices.Sort(once)
	op.output = append(op.output, once...)
	return op, nil
}

// parseEinsumTerm parses one term into letters and at most one ellipsis.
func parseEinsumTerm(term string) ([]int, error) {
	var labels []int
	for i := 0; i < len(term); i++ {
		c := term[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			labels = append(labels, int(c))
		case strings.HasPrefix(term[i:], "..."):
			if slices.Contains(labels, einsumEllipsis) {
				return nil, fmt.Errorf("term %q has two ellipses", term)
			}
			labels = append(labels, einsumEllipsis)
			i += 2
		default:
			return nil, fmt.Errorf("term %q: unexpected character %q", term, c)
		}
	}
	return labels, nil
}

// Forward evaluates the summation.
func (op *einsum) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if len(in) != len(op.inputs) {
		return nil, fmt.Errorf("the equation has %d terms but %d inputs are given", len(op.inputs), len(in))
	}
	if err := checkArity(in, len(in), -1); err != nil {
		return nil, err
	}
	dt := in[0].DType
	for _, t := range in {
		if t.DType != dt {
			return nil, fmt.Errorf("inputs are %v and %v; want one type", dt, t.DType)
		}
	}
	if !isRealDType(dt) {
		return nil, fmt.Errorf("inputs are %v, want a numeric type", dt)
	}
	plan, err := op.plan(in)
	if err != nil {
		return nil, err
	}
	data := make([]any, len(in))
	for i, t := range in {
		data[i] = computeData(t)
	}
	var out any
	switch data[0].(type) {
	case []float32:
		out = einsumKernel[float32](plan, data)
	case []float64:
		out = einsumKernel[float64](plan, data)
	case []int8:
		out = einsumKernel[int8](plan, data)
	case []int16:
		out = einsumKernel[int16](plan, data)
	case []int32:
		out = einsumKernel[int32](plan, data)
	case []int64:
		out = einsumKernel[int64](plan, data)
	case []uint8:
		out = einsumKernel[uint8](plan, data)
	case []uint16:
		out = einsumKernel[uint16](plan, data)
	case []uint32:
		out = einsumKernel[uint32](plan, data)
	case []uint64:
		out = einsumKernel[uint64](plan, data)
	}
	return []*tensor.Tensor{storeData(dt, plan.outShape, out)}, nil
}

// einsumPlan is the loop nest of a summation: the extent of every label
// (output labels first, then summed ones) and, per operand, the stride
// that each label moves it by.
type einsumPlan struct {
	extents  []int
	strides  [][]int // [operand][label]
	outShape []int
	outCount int // the first outCount labels index the output
}

// plan binds the equation to the input shapes. Broadcast "..." dims
// become labels of their own, numbered after the letters.
func (op *einsum) plan(in []*tensor.Tensor) (*einsumPlan, error) {
	ellRank := 0
	ellDims := make([]int, len(in))
	for i, t := range in {
		letters := len(op.inputs[i])
		if slices.Contains(op.inputs[i], einsumEllipsis) {
			letters--
			ellDims[i] = len(t.Shape) - letters
		}
		if len(t.Shape) < letters || !slices.Contains(op.inputs[i], einsumEllipsis) && len(t.Shape) != letters {
			return nil, fmt.Errorf("input %d has shape %v, which does not fit its term", i, t.Shape)
		}
		ellRank = max(ellRank, ellDims[i])
	}
	// Label ids: letters keep their byte value; ellipsis dim k is 256+k.
	extent := map[int]int{}
	type dimRef struct{ label, stride int }
	refs := make([][]dimRef, len(in))
	for i, t := range in {
		strides := tensor.Strides(t.Shape)
		d := 0
		for _, l := range op.inputs[i] {
			labels := []int{l}
			if l == einsumEllipsis {
				labels = labels[:0]
				for k := range ellDims[i] {
					labels = append(labels, 256+ellRank-ellDims[i]+k)
				}
			}
			for _, label := range labels {
				size := t.Shape[d]
				prev, seen := extent[label]
				isEll := label >= 256
				switch {
				case !seen || isEll && prev == 1:
					extent[label] = size
				case size == prev || isEll && size == 1:
				default:
					return nil, fmt.Errorf("dimension %d of input %d is %d, but its label has length %d elsewhere", d, i, size, prev)
				}
				stride := strides[d]
				if size == 1 {
					stride = 0 // broadcast
				}
				refs[i] = append(refs[i], dimRef{label, stride})
				d++
			}
		}
	}
	var order []int
	for _, l := range op.output {
		if l == einsumEllipsis {
			for k := range ellRank {
				order = append(order, 256+k)
			}
		} else {
			order = append(order, l)
		}
	}
	p := &einsumPlan{outCount: len(order)}
	outSize := 1.0
	for _, l := range order {
		p.outShape = append(p.outShape, extent[l])
		outSize *= float64(extent[l])
	}
	if outSize > resizeMaxElements {
		return nil, fmt.Errorf("the output shape %v has too many elements", p.outShape)
	}
	if p.outShape == nil {
		p.outShape = []int{}
	}
	var summed []int
	for l := range extent {
		if !slices.Contains(order, l) {
			summed = append(summed, l)
		}
	}
	slices.Sort(summed)
	order = append(order, summed...)
	work := 1.0
	for _, l := range order {
		p.extents = append(p.extents, extent[l])
		work *= float64(extent[l])
	}
	if work > 1<<36 {
		return nil, fmt.Errorf("the summation has %g terms, too many", work)
	}
	p.strides = make([][]int, len(in))
	for i := range in {
		p.strides[i] = make([]int, len(order))
		for _, r := range refs[i] {
			p.strides[i][slices.Index(order, r.label)] += r.stride
		}
	}
	return p, nil
}

// einsumKernel runs the loop nest: every output element is the sum, over
// the summed labels, of the product of the operands' elements.
func einsumKernel[T realNumber](p *einsumPlan, data []any) []T {
	ops := make([][]T, len(data))
	for i, d := range data {
		ops[i] = d.([]T)
	}
	out := make([]T, tensor.NumElements(p.outShape))
	inner := tensor.NumElements(p.extents[p.outCount:])
	if len(out) == 0 {
		return out
	}
	isFloat := isFloatElem[T]()
	idx := make([]int, len(p.extents))
	pos := make([]int, len(ops))
	for o := range out {
		var accF float64
		var accT T
		for range inner {
			if isFloat {
				prod := 1.0
				for i, op := range ops {
					prod *= float64(op[pos[i]])
				}
				accF += prod
			} else {
				prod := T(1)
				for i, op := range ops {
					prod *= op[pos[i]]
				}
				accT += prod
			}
			einsumStep(p, idx, pos)
		}
		if isFloat {
			out[o] = T(accF)
		} else {
			out[o] = accT
		}
	}
	return out
}

// einsumStep advances the label odometer idx by one, keeping each
// operand's offset in pos.
func einsumStep(p *einsumPlan, idx, pos []int) {
	for l := len(idx) - 1; l >= 0; l-- {
		idx[l]++
		for i := range pos {
			pos[i] += p.strides[i][l]
		}
		if idx[l] < p.extents[l] {
			return
		}
		for i := range pos {
			pos[i] -= p.strides[i][l] * idx[l]
		}
		idx[l] = 0
	}
}
