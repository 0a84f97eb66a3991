package kernels

// Transpose and Concat. Flatten, Reshape, Squeeze and Unsqueeze only
// reinterpret a row-major buffer, so they have nothing to compute here.
//
// Transpose shapes: x [Shape...], y [Shape[Perm[0]], ..., Shape[Perm[rank-1]]].
// Concat shapes: xs[i] [Shapes[i]...], y the same but with the sizes along
// Axis added up.

import (
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// TransposeParams holds the input shape and the permutation of its axes:
// output axis k is input axis Perm[k].
type TransposeParams struct {
	Shape []int
	Perm  []int
}

// Validate reports a negative dimension or a Perm that is not a
// permutation of the axes as a *ParamError.
func (p *TransposeParams) Validate() error {
	const op = "Transpose"
	if len(p.Perm) != len(p.Shape) {
		return paramErr(op, "Perm", "has %d entries for a rank-%d input", len(p.Perm), len(p.Shape))
	}
	seen := make([]bool, len(p.Perm))
	for k, a := range p.Perm {
		if a < 0 || a >= len(p.Perm) || seen[a] {
			return paramErr(op, "Perm", "%v is not a permutation of 0..%d (entry %d)", p.Perm, len(p.Perm)-1, k)
		}
		seen[a] = true
	}
	for i, d := range p.Shape {
		if d < 0 {
			return paramErr(op, "Shape", "dimension %d is negative: %d", i, d)
		}
	}
	return checkElems(op, "Shape", p.Shape...)
}

// OutShape returns the shape of y.
func (p *TransposeParams) OutShape() []int {
	out := make([]int, len(p.Perm))
	for k, a := range p.Perm {
		out[k] = p.Shape[a]
	}
	return out
}

// transposeRows calls f for every row of the output along its last axis,
// rows spread over the workers, with the row's first output offset, the
// input offset of its first element and the input stride along the row.
func (p *TransposeParams) transposeRows(f func(outOff, inOff, inStride, length int)) {
	rank := len(p.Shape)
	if rank == 0 {
		f(0, 0, 0, 1)
		return
	}
	out := p.OutShape()
	inStrides := make([]int, rank)
	step := 1
	for a := rank - 1; a >= 0; a-- {
		inStrides[a] = step
		step *= p.Shape[a]
	}
	length := out[rank-1]
	if length == 0 {
		return
	}
	rowStride := inStrides[p.Perm[rank-1]]
	parallel.For(tensor.NumElements(out)/length, grainFor(length), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			inOff, rest := 0, r
			for k := rank - 2; k >= 0; k-- {
				inOff += rest % out[k] * inStrides[p.Perm[k]]
				rest /= out[k]
			}
			f(r*length, inOff, rowStride, length)
		}
	})
}

// TransposeForward sets y to x with its axes permuted.
func TransposeForward(p *TransposeParams, x, y []float32) {
	n := tensor.NumElements(p.Shape)
	need("Transpose", "x", x, n)
	need("Transpose", "y", y, n)
	p.transposeRows(func(outOff, inOff, inStride, length int) {
		for j := 0; j < length; j++ {
			y[outOff+j] = x[inOff+j*inStride]
		}
	})
}

// TransposeBackward accumulates dy, transposed back, into dx.
func TransposeBackward(p *TransposeParams, dy, dx []float32) {
	n := tensor.NumElements(p.Shape)
	need("Transpose", "dy", dy, n)
	need("Transpose", "dx", dx, n)
	p.transposeRows(func(outOff, inOff, inStride, length int) {
		for j := 0; j < length; j++ {
			dx[inOff+j*inStride] += dy[outOff+j]
		}
	})
}

// ConcatParams holds the shapes of the inputs and the axis they are joined
// along, already resolved to [0, rank).
type ConcatParams struct {
	Shapes [][]int
	Axis   int
}

// Validate reports no inputs, an Axis out of range, or inputs whose ranks
// or sizes off the axis differ, as a *ParamError.
func (p *ConcatParams) Validate() error {
	const op = "Concat"
	if len(p.Shapes) == 0 {
		return paramErr(op, "Shapes", "no inputs")
	}
	first := p.Shapes[0]
	if p.Axis < 0 || p.Axis >= len(first) {
		return paramErr(op, "Axis", "%d out of range for rank %d", p.Axis, len(first))
	}
	for i, s := range p.Shapes {
		if len(s) != len(first) {
			return paramErr(op, "Shapes", "input %d has rank %d, input 0 has %d", i, len(s), len(first))
		}
		for a, d := range s {
			if d < 0 {
				return paramErr(op, "Shapes", "input %d has negative dimension %d", i, d)
			}
			if a != p.Axis && d != first[a] {
				return paramErr(op, "Shapes", "input %d is %v, input 0 is %v: axis %d differs", i, s, first, a)
			}
		}
		if err := checkElems(op, "Shapes", s...); err != nil {
			return err
		}
	}
	return checkElems(op, "Shapes", p.OutShape()...)
}

// OutShape returns the shape of y.
func (p *ConcatParams) OutShape() []int {
	out := append([]int(nil), p.Shapes[0]...)
	for _, s := range p.Shapes[1:] {
		out[p.Axis] += s[p.Axis]
	}
	return out
}

// split returns the product of the sizes before the axis and, per input,
// the length of one contiguous chunk (its axis size times the product of
// the sizes after the axis).
func (p *ConcatParams) split() (outer int, chunks []int) {
	outer = tensor.NumElements(p.Shapes[0][:p.Axis])
	chunks = make([]int, len(p.Shapes))
	for i, s := range p.Shapes {
		chunks[i] = tensor.NumElements(s[p.Axis:])
	}
	return outer, chunks
}

// concatChunks calls f for every chunk of every input, with the input's
// number, the chunk's offset in that input and in y and its length; the
// outer index is spread over the workers.
func (p *ConcatParams) concatChunks(f func(input, inOff, outOff, length int)) {
	outer, chunks := p.split()
	row := 0
	for _, c := range chunks {
		row += c
	}
	parallel.For(outer, grainFor(row), func(lo, hi int) {
		for o := lo; o < hi; o++ {
			outOff := o * row
			for i, c := range chunks {
				f(i, o*c, outOff, c)
				outOff += c
			}
		}
	})
}

// ConcatForward sets y to the inputs xs joined along the axis.
func ConcatForward(p *ConcatParams, xs [][]float32, y []float32) {
	need("Concat", "xs", xs, len(p.Shapes))
	for i, s := range p.Shapes {
		need("Concat", "xs[i]", xs[i], tensor.NumElements(s))
	}
	need("Concat", "y", y, tensor.NumElements(p.OutShape()))
	p.concatChunks(func(input, inOff, outOff, length int) {
		copy(y[outOff:outOff+length], xs[input][inOff:inOff+length])
	})
}

// ConcatBackward accumulates into each dxs[i] its part of dy; nil entries
// are skipped.
func ConcatBackward(p *ConcatParams, dy []float32, dxs [][]float32) {
	need("Concat", "dy", dy, tensor.NumElements(p.OutShape()))
	need("Concat", "dxs", dxs, len(p.Shapes))
	for i, s := range p.Shapes {
		if dxs[i] != nil {
			need("Concat", "dxs[i]", dxs[i], tensor.NumElements(s))
		}
	}
	p.concatChunks(func(input, inOff, outOff, length int) {
		if dx := dxs[input]; dx != nil {
			for j, g := range dy[outOff : outOff+length] {
				dx[inOff+j] += g
			}
		}
	})
}
