package kernels

// Binary elementwise ops with numpy broadcasting: Add, Sub, Mul, Div.
//
// Shapes (row-major):
//
//	a [bc.A...], b [bc.B...], y and dy [bc.Out...], da like a, db like b
//
// Shapes are aligned at their last axis; an axis of size 1 (or a missing
// leading axis) is repeated to the other's size. y[i] = a[ia] op b[ib],
// where ia and ib follow from the multi-index of i through StrideA and
// StrideB, which are 0 on repeated axes.

import (
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// BroadcastShape returns the numpy broadcast of two shapes
// (tensor.BroadcastShape), or a *ParamError naming the first pair of axes
// that do not match.
func BroadcastShape(a, b []int) ([]int, error) {
	out, err := tensor.BroadcastShape(a, b)
	if err != nil {
		return nil, paramErr("Broadcast", "shape", "%v", err)
	}
	return out, nil
}

// Broadcast describes a binary elementwise op on two broadcast shapes.
// Build it with NewBroadcast; its fields are not to be changed.
type Broadcast struct {
	A, B, Out        []int // input shapes and their broadcast
	StrideA, StrideB []int // BroadcastStrides of A and B along Out
}

// NewBroadcast computes the output shape and strides of a binary op on
// shapes a and b.
func NewBroadcast(a, b []int) (*Broadcast, error) {
	out, err := BroadcastShape(a, b)
	if err != nil {
		return nil, err
	}
	return &Broadcast{
		A: append([]int(nil), a...), B: append([]int(nil), b...), Out: out,
		StrideA: tensor.BroadcastStrides(a, out), StrideB: tensor.BroadcastStrides(b, out),
	}, nil
}

// rows splits Out into rows along its last axis and returns the row count
// and length; a scalar output is one row of one.
func (bc *Broadcast) rows() (count, length int) {
	if len(bc.Out) == 0 {
		return 1, 1
	}
	length = bc.Out[len(bc.Out)-1]
	if length == 0 {
		return 0, 0
	}
	return tensor.NumElements(bc.Out) / length, length
}

// rowStart returns the offsets into a and b of the first element of row r
// and the strides along the row.
func (bc *Broadcast) rowStart(r int) (offA, offB, sa, sb int) {
	last := len(bc.Out) - 1
	if last < 0 {
		return 0, 0, 0, 0
	}
	for axis := last - 1; axis >= 0; axis-- {
		i := r % bc.Out[axis]
		r /= bc.Out[axis]
		offA += i * bc.StrideA[axis]
		offB += i * bc.StrideB[axis]
	}
	return offA, offB, bc.StrideA[last], bc.StrideB[last]
}

// binaryOp names the four broadcasting ops.
type binaryOp int

const (
	opAdd binaryOp = iota
	opSub
	opMul
	opDiv
)

func (op binaryOp) String() string { return [...]string{"Add", "Sub", "Mul", "Div"}[op] }

// AddForward sets y = a + b.
func AddForward(bc *Broadcast, a, b, y []float32) { binaryForward(opAdd, bc, a, b, y) }

// SubForward sets y = a - b.
func SubForward(bc *Broadcast, a, b, y []float32) { binaryForward(opSub, bc, a, b, y) }

// MulForward sets y = a * b.
func MulForward(bc *Broadcast, a, b, y []float32) { binaryForward(opMul, bc, a, b, y) }

// DivForward sets y = a / b.
func DivForward(bc *Broadcast, a, b, y []float32) { binaryForward(opDiv, bc, a, b, y) }

// binaryForward runs op over the rows of the output, spread over the
// workers.
func binaryForward(op binaryOp, bc *Broadcast, a, b, y []float32) {
	need(op.String(), "a", a, tensor.NumElements(bc.A))
	need(op.String(), "b", b, tensor.NumElements(bc.B))
	need(op.String(), "y", y, tensor.NumElements(bc.Out))
	count, length := bc.rows()
	parallel.For(count, grainFor(length), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			ia, ib, sa, sb := bc.rowStart(r)
			row := y[r*length : (r+1)*length]
			switch op {
			case opAdd:
				for j := range row {
					row[j] = a[ia+j*sa] + b[ib+j*sb]
				}
			case opSub:
				for j := range row {
					row[j] = a[ia+j*sa] - b[ib+j*sb]
				}
			case opMul:
				for j := range row {
					row[j] = a[ia+j*sa] * b[ib+j*sb]
				}
			case opDiv:
				for j := range row {
					row[j] = a[ia+j*sa] / b[ib+j*sb]
				}
			}
		}
	})
}

// AddBackward accumulates da += reduce(dy) and db += reduce(dy), each
// reduced over the axes its input was broadcast along; da or db may be nil.
func AddBackward(bc *Broadcast, dy, da, db []float32) {
	binaryBackward(opAdd, bc, nil, nil, dy, da, db)
}

// SubBackward accumulates da += reduce(dy) and db += reduce(-dy).
func SubBackward(bc *Broadcast, dy, da, db []float32) {
	binaryBackward(opSub, bc, nil, nil, dy, da, db)
}

// MulBackward accumulates da += reduce(dy*b) and db += reduce(dy*a).
func MulBackward(bc *Broadcast, a, b, dy, da, db []float32) {
	binaryBackward(opMul, bc, a, b, dy, da, db)
}

// DivBackward accumulates da += reduce(dy/b) and db += reduce(-dy*a/b²).
func DivBackward(bc *Broadcast, a, b, dy, da, db []float32) {
	binaryBackward(opDiv, bc, a, b, dy, da, db)
}

// binaryBackward accumulates the gradient of each wanted input. An input
// of the output's full shape receives its gradient elementwise over the
// workers; a broadcast input sums its terms in float64 in output order.
func binaryBackward(op binaryOp, bc *Broadcast, a, b, dy, da, db []float32) {
	name := op.String()
	need(name, "dy", dy, tensor.NumElements(bc.Out))
	if op == opMul || op == opDiv {
		need(name, "a", a, tensor.NumElements(bc.A))
		need(name, "b", b, tensor.NumElements(bc.B))
	}
	// term returns the partial derivative of the output element at offsets
	// ia, ib with respect to input a (wrtB false) or b, times g.
	term := func(wrtB bool, g float32, ia, ib int) float32 {
		switch {
		case op == opAdd, op == opSub && !wrtB:
			return g
		case op == opSub:
			return -g
		case op == opMul && !wrtB:
			return g * b[ib]
		case op == opMul:
			return g * a[ia]
		case !wrtB:
			return g / b[ib]
		default:
			return -g * a[ia] / (b[ib] * b[ib])
		}
	}
	count, length := bc.rows()
	for _, target := range []struct {
		wrtB  bool
		shape []int
		grad  []float32
	}{{false, bc.A, da}, {true, bc.B, db}} {
		if target.grad == nil {
			continue
		}
		need(name, "gradient", target.grad, tensor.NumElements(target.shape))
		if tensor.NumElements(target.shape) == tensor.NumElements(bc.Out) {
			// No axis is repeated: output element i maps to input element i.
			parallel.For(count, grainFor(length), func(lo, hi int) {
				for r := lo; r < hi; r++ {
					ia, ib, sa, sb := bc.rowStart(r)
					for j := 0; j < length; j++ {
						target.grad[r*length+j] += term(target.wrtB, dy[r*length+j], ia+j*sa, ib+j*sb)
					}
				}
			})
			continue
		}
		sum := make([]float64, tensor.NumElements(target.shape))
		for r := 0; r < count; r++ {
			ia, ib, sa, sb := bc.rowStart(r)
			for j := 0; j < length; j++ {
				t := term(target.wrtB, dy[r*length+j], ia+j*sa, ib+j*sb)
				if target.wrtB {
					sum[ib+j*sb] += float64(t)
				} else {
					sum[ia+j*sa] += float64(t)
				}
			}
		}
		for i, s := range sum {
			target.grad[i] += float32(s)
		}
	}
}
