package ops

// This file holds what the data-movement operators (shape, gather,
// scatter, slice, pad and constant families) share: a generic view of a
// tensor's elements, so that each kernel that moves elements is written
// once for every element type, and the decoding of the integer inputs
// (axes, indices, shapes) these operators take. Helpers shared by these
// files carry the prefix mv (for moving elements), apart from other
// families' helpers.
//
// Negative axes and indices, which count from the end, are official from
// opset 11 on (Flatten, Squeeze, Unsqueeze, Concat, Split, Gather,
// Compress, Scatter and their relatives). They are accepted at every
// opset: exporters emit them for older opsets too (the pytorch-converted
// suite's test_GLU has Split axis -1 at opset 6), and before 11 they had
// no other meaning.

import (
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// mvMaxElements bounds the size of a tensor that a shape computed from
// user input (Expand, Tile, Pad, Range, ConstantOfShape...) may ask for;
// a larger request is a malformed model, refused before allocating.
const mvMaxElements = 1 << 31

// mvElements is a tensor's element slice with the kernels that move
// elements without looking at their values. mvSlice[T] implements it for
// every element type; the kernels take their sources as elements of the
// same type.
type mvElements interface {
	// length is the number of elements.
	length() int
	// gatherAxes fills the receiver from src as the axis maps m say.
	gatherAxes(src mvElements, m mvAxisMaps, fill mvElements)
	// permute fills the receiver with src read through strides: output
	// axis d of size shape[d] advances strides[d] elements in src.
	permute(src mvElements, shape, strides []int)
	// take sets e[i] = src[idx[i]].
	take(src mvElements, idx []int)
	// scatter sets e[idx[i]] = src[i].
	scatter(src mvElements, idx []int)
	// copyFrom copies n elements of src from srcOff to dstOff.
	copyFrom(dstOff int, src mvElements, srcOff, n int)
	// zero sets the elements from..to-1 to the zero value.
	zero(from, to int)
	// fill sets every element to src[i].
	fill(src mvElements, i int)
	// isZero reports whether element i is the zero value.
	isZero(i int) bool
}

// mvSlice is the mvElements of element type T.
type mvSlice[T comparable] []T

func (v mvSlice[T]) length() int { return len(v) }

func (v mvSlice[T]) take(src mvElements, idx []int) {
	s := src.(mvSlice[T])
	for i, j := range idx {
		v[i] = s[j]
	}
}

func (v mvSlice[T]) scatter(src mvElements, idx []int) {
	s := src.(mvSlice[T])
	for i, j := range idx {
		v[j] = s[i]
	}
}

func (v mvSlice[T]) copyFrom(dstOff int, src mvElements, srcOff, n int) {
	copy(v[dstOff:dstOff+n], src.(mvSlice[T])[srcOff:srcOff+n])
}

func (v mvSlice[T]) zero(from, to int) { clear(v[from:to]) }

func (v mvSlice[T]) fill(src mvElements, i int) {
	x := src.(mvSlice[T])[i]
	for j := range v {
		v[j] = x
	}
}

func (v mvSlice[T]) isZero(i int) bool {
	var z T
	return v[i] == z
}

// mvAxisMaps describes an output assembled axis by axis from an input:
// output element (c0, c1, ..., ck) is input element m[0][c0] + m[1][c1] +
// ... + m[k][ck], or the fill value when any of those entries is
// negative. len(m[d]) is the output's size along axis d. Slice, Expand,
// Tile, Pad, Gather and Compress are all such maps.
type mvAxisMaps [][]int

// mvStrided returns the map of an axis of size n that starts at input
// offset start and advances stride elements per step.
func mvStrided(n, start, stride int) []int {
	t := make([]int, n)
	for c := range t {
		t[c] = start + c*stride
	}
	return t
}

func (v mvSlice[T]) gatherAxes(src mvElements, m mvAxisMaps, fill mvElements) {
	s := src.(mvSlice[T])
	var fv T
	if fill != nil {
		fv = fill.(mvSlice[T])[0]
	}
	if len(v) == 0 {
		return
	}
	if len(m) == 0 {
		v[0] = s[0]
		return
	}
	last := m[len(m)-1]
	contiguous := true
	for j, off := range last {
		if off < 0 || off != last[0]+j {
			contiguous = false
			break
		}
	}
	outer := m[:len(m)-1]
	// A contiguous row is rowLen elements from rowStart (plus the outer
	// axes' offsets).
	rowStart, rowLen := 0, len(last)
	if contiguous {
		// Outer axes that step by whole rows join the row, so that a
		// slice of whole rows or planes (a Slice or Split of channels)
		// copies long runs instead of one short row at a time.
		rowStart = last[0]
		for len(outer) > 0 && mvStepsBy(outer[len(outer)-1], rowLen) {
			axis := outer[len(outer)-1]
			rowStart += axis[0]
			rowLen *= len(axis)
			outer = outer[:len(outer)-1]
		}
	}
	rows := len(v) / rowLen
	parallel.For(rows, max(mvCopyGrain/rowLen, 1), func(lo, hi int) {
		coord := mvCoords(lo, outer)
		for row := lo; row < hi; row++ {
			dst := v[row*rowLen : (row+1)*rowLen]
			base, hole := 0, false
			for d, c := range coord {
				off := outer[d][c]
				if off < 0 {
					hole = true
				}
				base += off
			}
			switch {
			case hole:
				for j := range dst {
					dst[j] = fv
				}
			case contiguous:
				copy(dst, s[base+rowStart:])
			default:
				for j, off := range last {
					if off < 0 {
						dst[j] = fv
					} else {
						dst[j] = s[base+off]
					}
				}
			}
			for d := len(coord) - 1; d >= 0; d-- {
				if coord[d]++; coord[d] < len(outer[d]) {
					break
				}
				coord[d] = 0
			}
		}
	})
}

// mvCoords returns the coordinates, along axes of the sizes of the given
// maps, of row number row (the last axis varying fastest).
func mvCoords(row int, axes [][]int) []int {
	coord := make([]int, len(axes))
	for d := len(axes) - 1; d >= 0; d-- {
		coord[d] = row % len(axes[d])
		row /= len(axes[d])
	}
	return coord
}

// mvStepsBy reports whether the offsets of an axis map start anywhere
// and advance by exactly step, with no hole.
func mvStepsBy(axis []int, step int) bool {
	if len(axis) == 0 || axis[0] < 0 {
		return false
	}
	for c, off := range axis {
		if off != axis[0]+c*step {
			return false
		}
	}
	return true
}

// mvTransposeBlock is the side of the square tiles in which permute moves
// elements when neither the reads nor the writes can be sequential: a
// tile of its rows and columns stays in the L1 cache.
const mvTransposeBlock = 32

func (v mvSlice[T]) permute(src mvElements, shape, strides []int) {
	s := src.(mvSlice[T])
	if len(v) == 0 {
		return
	}
	shape, strides = mvMergeAxes(shape, strides)
	r := len(shape)
	q := -1 // the output axis that reads the input contiguously
	for d := range r {
		if strides[d] == 1 {
			q = d
		}
	}
	if r > 0 && strides[r-1] == 1 {
		v.copyRows(s, shape, strides)
		return
	}
	if r < 2 || q < 0 {
		m := make(mvAxisMaps, r)
		for d := range m {
			m[d] = mvStrided(shape[d], 0, strides[d])
		}
		v.gatherAxes(s, m, nil)
		return
	}
	// Tiles over (q, last): the writes run along the output's last axis,
	// the reads along the input's last axis (output axis q). The work
	// items, spread over the workers, are the bands of mvTransposeBlock
	// rows along q of each position of the other axes.
	outStrides := tensor.Strides(shape)
	nq, nl, sl, oq := shape[q], shape[r-1], strides[r-1], outStrides[q]
	bands := (nq + mvTransposeBlock - 1) / mvTransposeBlock
	items := len(v) / (nq * nl) * bands
	parallel.For(items, max(1, mvCopyGrain/(mvTransposeBlock*nl)), func(lo, hi int) {
		for item := lo; item < hi; item++ {
			obase, ibase := 0, 0
			rest := item / bands
			for d := r - 2; d >= 0; d-- {
				if d != q {
					c := rest % shape[d]
					rest /= shape[d]
					obase += c * outStrides[d]
					ibase += c * strides[d]
				}
			}
			i0 := item % bands * mvTransposeBlock
			i1 := min(i0+mvTransposeBlock, nq)
			for j0 := 0; j0 < nl; j0 += mvTransposeBlock {
				j1 := min(j0+mvTransposeBlock, nl)
				v.transposeTile(s, obase, oq, ibase, sl, i0, i1, j0, j1)
			}
		}
	})
}

// copyRows fills v from s read through strides, when the last axis is
// read contiguously (strides[len-1] is 1): row by row, each row one copy,
// the input offset of the next row kept up to date axis by axis rather
// than recomputed (ShuffleNet's channel shuffle moves rows of 49
// elements).
func (v mvSlice[T]) copyRows(s mvSlice[T], shape, strides []int) {
	r := len(shape)
	n := shape[r-1]
	parallel.For(len(v)/n, max(mvCopyGrain/n, 1), func(lo, hi int) {
		coord := make([]int, r-1)
		in := 0
		for d, rest := r-2, lo; d >= 0; d-- {
			coord[d] = rest % shape[d]
			rest /= shape[d]
			in += coord[d] * strides[d]
		}
		for out := lo * n; out < hi*n; out += n {
			copy(v[out:out+n], s[in:in+n])
			for d := r - 2; d >= 0; d-- {
				in += strides[d]
				if coord[d]++; coord[d] < shape[d] {
					break
				}
				in -= shape[d] * strides[d]
				coord[d] = 0
			}
		}
	})
}

// transposeTile copies the tile of output rows i0..i1-1 and columns
// j0..j1-1, where output element (i, j) at obase+i*oq+j is input element
// ibase+i+j*sl. It reads four input rows at once, each sequentially, and
// writes four neighbouring elements of each output row: one element at a
// time would touch a new input cache line with every read, and with a
// power-of-two sl these lines all fall in one set of the L1 cache
// (attention's keys [S, B*H, D] -> [B*H, D, S] ran 7 times slower).
func (v mvSlice[T]) transposeTile(s mvSlice[T], obase, oq, ibase, sl, i0, i1, j0, j1 int) {
	j := j0
	for ; j+4 <= j1; j += 4 {
		in := ibase + j*sl
		r0 := s[in+i0 : in+i1]
		r1 := s[in+sl+i0 : in+sl+i1]
		r2 := s[in+2*sl+i0 : in+2*sl+i1]
		r3 := s[in+3*sl+i0 : in+3*sl+i1]
		for i := range r0 {
			out := obase + (i0+i)*oq + j
			d := v[out : out+4 : out+4]
			d[0], d[1], d[2], d[3] = r0[i], r1[i], r2[i], r3[i]
		}
	}
	for ; j < j1; j++ {
		row := s[ibase+j*sl+i0 : ibase+j*sl+i1]
		for i, x := range row {
			v[obase+(i0+i)*oq+j] = x
		}
	}
}

// mvMergeAxes simplifies a strided read: it drops axes of size 1 and joins
// neighbouring axes that the strides walk as one.
func mvMergeAxes(shape, strides []int) ([]int, []int) {
	var sh, st []int
	for d, n := range shape {
		switch {
		case n == 1:
		case len(sh) > 0 && st[len(st)-1] == strides[d]*n:
			sh[len(sh)-1] *= n
			st[len(st)-1] = strides[d]
		default:
			sh = append(sh, n)
			st = append(st, strides[d])
		}
	}
	return sh, st
}

// mvElems wraps the elements of t. Data that is not a slice of an
// element type breaks the tensor package's invariant and panics.
func mvElems(t *tensor.Tensor) mvElements {
	switch d := t.Data.(type) {
	case []float32:
		return mvSlice[float32](d)
	case []float64:
		return mvSlice[float64](d)
	case []uint16:
		return mvSlice[uint16](d)
	case []int8:
		return mvSlice[int8](d)
	case []int16:
		return mvSlice[int16](d)
	case []int32:
		return mvSlice[int32](d)
	case []int64:
		return mvSlice[int64](d)
	case []uint8:
		return mvSlice[uint8](d)
	case []uint32:
		return mvSlice[uint32](d)
	case []uint64:
		return mvSlice[uint64](d)
	case []bool:
		return mvSlice[bool](d)
	case []string:
		return mvSlice[string](d)
	case []complex64:
		return mvSlice[complex64](d)
	case []complex128:
		return mvSlice[complex128](d)
	case nil:
		if t.Len() == 0 && t.DType.Valid() {
			return mvElems(tensor.New(t.DType, 0))
		}
	}
	panic(fmt.Sprintf("ops: tensor %v holds %T", t, t.Data))
}

// mvCheckShape checks that a shape computed from user input has no
// negative dimension and not too many elements.
func mvCheckShape(shape []int) error {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("shape %v has a negative dimension", shape)
		}
		if d > 0 && n > mvMaxElements/d {
			return fmt.Errorf("shape %v has more than %d elements", shape, mvMaxElements)
		}
		n *= d
	}
	return nil
}

// mvCheckOutput checks an output of type dt and shape computed from user
// input as mvCheckShape does, and checks it and the axis maps that
// assemble it (one int per output coordinate of each axis) against the
// run's budget.
func mvCheckOutput(ctx *Context, dt graph.DType, shape []int) error {
	if err := mvCheckShape(shape); err != nil {
		return err
	}
	if err := ctx.checkOutput(dt, shape); err != nil {
		return err
	}
	sum := 0
	for _, d := range shape {
		sum += d
	}
	if err := ctx.checkOutput(graph.Int64, []int{sum}); err != nil {
		return fmt.Errorf("the index maps of output %s%v: %w", dt, shape, err)
	}
	return nil
}

// mvShape returns the values of a 1-D int64 shape input as ints, checked
// to fit; negative values are kept for the caller to interpret.
func mvShape(t *tensor.Tensor, what string) ([]int, error) {
	if t.Rank() != 1 {
		return nil, fmt.Errorf("%s has shape %v, want 1-D", what, t.Shape)
	}
	v, err := intValues(t, what)
	if err != nil {
		return nil, err
	}
	return mvCheckedInts(v, what)
}

// mvCheckedInts converts int64 values to ints, refusing those beyond mvMaxElements.
func mvCheckedInts(v []int64, what string) ([]int, error) {
	out := make([]int, len(v))
	for i, x := range v {
		if x > mvMaxElements || x < -mvMaxElements {
			return nil, fmt.Errorf("%s value %d is out of range", what, x)
		}
		out[i] = int(x)
	}
	return out, nil
}

// mvNumber returns v as a one-element slice of dtype's elements, for
// the numeric types and bool (true when v is not 0).
func mvNumber(dtype graph.DType, v float64) (mvElements, error) {
	switch dtype {
	case graph.Float32:
		return mvSlice[float32]{float32(v)}, nil
	case graph.Float64:
		return mvSlice[float64]{v}, nil
	case graph.Float16:
		return mvSlice[uint16]{graph.Float16Bits(float32(v))}, nil
	case graph.BFloat16:
		return mvSlice[uint16]{graph.BFloat16Bits(float32(v))}, nil
	case graph.Int8:
		return mvSlice[int8]{int8(v)}, nil
	case graph.Int16:
		return mvSlice[int16]{int16(v)}, nil
	case graph.Int32:
		return mvSlice[int32]{int32(v)}, nil
	case graph.Int64:
		return mvSlice[int64]{int64(v)}, nil
	case graph.Uint8:
		return mvSlice[uint8]{uint8(v)}, nil
	case graph.Uint16:
		return mvSlice[uint16]{uint16(v)}, nil
	case graph.Uint32:
		return mvSlice[uint32]{uint32(v)}, nil
	case graph.Uint64:
		return mvSlice[uint64]{uint64(v)}, nil
	case graph.Bool:
		return mvSlice[bool]{v != 0}, nil
	}
	return nil, fmt.Errorf("%v is not a numeric type", dtype)
}
