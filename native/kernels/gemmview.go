package kernels

import (
	"fmt"

	"github.com/onnxkit/onnxkit/native/linalg"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// MatMul of operands read in place as strided views.
//
// A MatMul operand that is a Transpose of another tensor x (attention's
// heads, [L, H, D] -> [H, L, D], or its keys, [L, H, D] -> [H, D, L])
// need not be materialised: its element (i..., r, c) is x's element at
// the offset sum(i*s) + r*sr + c*sc for the strides s, sr, sc of x's
// axes that the Transpose moved there. The GEMM reads such a matrix in
// place when one of sr and sc is 1: rows of stride sr (sc = 1), or the
// transpose of rows of stride sc (sr = 1).

// MatMulView is the layout of a MatMul operand read in place from a
// larger buffer: Strides holds the element strides of its axes, the batch
// axes first, then the matrix's rows and columns; one of the last two
// must be 1.
type MatMulView struct {
	Strides []int
}

// PermutedView returns the view of the transpose of a row-major tensor
// of shape xShape by perm (output axis d is input axis perm[d]), and
// reports whether a MatMul can read it in place: whether perm moves x's
// last, contiguous axis to one of the last two. perm must be a
// permutation of the axes of xShape, of at least two.
func PermutedView(xShape, perm []int) (MatMulView, bool) {
	r := len(xShape)
	if r < 2 || len(perm) != r || perm[r-1] != r-1 && perm[r-2] != r-1 {
		return MatMulView{}, false
	}
	strides := make([]int, r)
	for d, s := 0, 1; d < r; d++ {
		strides[r-1-d] = s
		s *= xShape[r-1-d]
	}
	v := MatMulView{Strides: make([]int, r)}
	for d, axis := range perm {
		v.Strides[d] = strides[axis]
	}
	return v, true
}

// TransposedOutputView returns the view that writes a MatMul output of
// shape yShape as its transpose by perm (output axis d of the transpose
// is axis perm[d] of y), a row-major tensor of the permuted shape, and
// reports whether its rows stay contiguous: whether perm keeps y's last
// axis last. perm must be a permutation of the axes of yShape, of at
// least two.
func TransposedOutputView(yShape, perm []int) (MatMulView, bool) {
	r := len(yShape)
	if r < 2 || len(perm) != r || perm[r-1] != r-1 {
		return MatMulView{}, false
	}
	v := MatMulView{Strides: make([]int, r)}
	for d, s := r-1, 1; d >= 0; d-- {
		v.Strides[perm[d]] = s
		s *= yShape[perm[d]]
	}
	return v, true
}

// matrix returns the GEMM's reading of the view's rows×cols matrices:
// whether they are transposed and their leading dimension.
func (v *MatMulView) matrix(rows, cols int) (trans bool, ld int) {
	s := v.Strides
	rs, cs := s[len(s)-2], s[len(s)-1]
	if cs == 1 {
		return false, max(rs, cols)
	}
	return true, max(cs, rows)
}

// rows reports whether the view's matrices, of batch axes batch and
// rows×cols each, are together one row-major matrix of all their rows,
// one after another at a fixed stride with contiguous columns (the
// tokens of [N, L, E] transposed to [L, N, E] at batch 1), and returns
// that stride: then a product by one b is one product of all the rows.
func (v *MatMulView) rows(batch []int, rows, cols int) (ld int, ok bool) {
	s := v.Strides
	if cols > 1 && s[len(s)-1] != 1 {
		return 0, false
	}
	shape := append(append([]int(nil), batch...), rows)
	ld = cols
	inner := -1 // the innermost axis of more than one row seen so far
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] == 1 {
			continue
		}
		if inner < 0 {
			ld = s[d]
		} else if s[d] != s[inner]*shape[inner] {
			return 0, false
		}
		inner = d
	}
	return ld, ld >= cols
}

// check reports a view that does not fit an operand of batch axes batch
// and rows×cols matrices, or that no GEMM reads in place.
func (v *MatMulView) check(name string, batch []int, rows, cols int) error {
	if v == nil {
		return nil
	}
	s := v.Strides
	if len(s) != len(batch)+2 {
		return paramErr("MatMul", name, "%d strides for %d axes", len(s), len(batch)+2)
	}
	for _, x := range s {
		if x < 0 {
			return paramErr("MatMul", name, "negative stride in %v", s)
		}
	}
	rs, cs := s[len(s)-2], s[len(s)-1]
	switch {
	case cs == 1 && (rows == 1 || rs >= cols):
	case rs == 1 && (cols == 1 || cs >= rows):
	default:
		return paramErr("MatMul", name, "strides %v do not lay out %d×%d matrices with a unit stride", s, rows, cols)
	}
	return nil
}

// extent returns how many elements the view's matrices span: one past
// the last element of the operand.
func (v *MatMulView) extent(batch []int, rows, cols int) int {
	shape := append(append([]int(nil), batch...), rows, cols)
	last := 0
	for d, n := range shape {
		last += (n - 1) * v.Strides[d]
	}
	return last + 1
}

// viewOffsets returns, for each output matrix, the element offset of the
// a or b matrix it multiplies: from view's strides when not nil, else
// matrices of size elements one after another. batch holds the operand's
// batch axes, out the output's.
func viewOffsets(view *MatMulView, batch, out []int, size int) []int {
	count := tensor.NumElements(out)
	var strides []int
	if view != nil {
		strides = make([]int, len(out))
		off := len(out) - len(batch)
		for d, n := range batch {
			if n != 1 {
				strides[off+d] = view.Strides[d]
			}
		}
	} else {
		strides = tensor.BroadcastStrides(batch, out)
		for d := range strides {
			strides[d] *= size
		}
	}
	offs := make([]int, count)
	for o := range count {
		r := o
		for axis := len(out) - 1; axis >= 0; axis-- {
			i := r % out[axis]
			r /= out[axis]
			offs[o] += i * strides[axis]
		}
	}
	return offs
}

// matMulViewsForward is MatMulPreparedForward when a, b or y is a view
// (p.AView, p.BView, p.YView): each product reads its matrices in place,
// transposed where the view's rows are strided and its columns not, and
// writes its output rows in place.
func matMulViewsForward(p *MatMulParams, a, b, bias, r, y []float32) {
	const op = "MatMul"
	for _, c := range []struct {
		name       string
		view       *MatMulView
		batch      []int
		rows, cols int
		buf        []float32
	}{{"a", p.AView, p.BatchA, p.M, p.K, a}, {"b", p.BView, p.BatchB, p.K, p.N, b}} {
		if err := c.view.check(c.name, c.batch, c.rows, c.cols); err != nil {
			panic(fmt.Sprintf("kernels: %v", err))
		}
		n := tensor.NumElements(c.batch) * c.rows * c.cols
		if c.view != nil {
			n = c.view.extent(c.batch, c.rows, c.cols)
		}
		need(op, c.name, c.buf, n)
	}
	out := p.OutBatch()
	count, mn := tensor.NumElements(out), p.M*p.N
	ny, ldc := count*mn, p.N
	if p.YView != nil {
		if r != nil {
			panic("kernels: MatMul: a residual with an output view")
		}
		if err := p.YView.check("y", out, p.M, p.N); err != nil {
			panic(fmt.Sprintf("kernels: %v", err))
		}
		ny = p.YView.extent(out, p.M, p.N)
		_, ldc = p.YView.matrix(p.M, p.N)
	}
	need(op, "y", y, ny)
	if bias != nil {
		need(op, "bias", bias, p.N)
	}
	if r != nil {
		need(op, "r", r, count*mn)
	}
	oa := viewOffsets(p.AView, p.BatchA, out, p.M*p.K)
	ob := viewOffsets(p.BView, p.BatchB, out, p.K*p.N)
	oy := viewOffsets(p.YView, out, out, mn)
	transA, lda := false, p.K
	if p.AView != nil {
		transA, lda = p.AView.matrix(p.M, p.K)
	}
	transB, ldb := false, p.N
	if p.BView != nil {
		transB, ldb = p.BView.matrix(p.K, p.N)
	}
	gather := p.AView != nil && gathersA(transA, lda, p.M, p.K)
	forEachProduct(p, count, func(g linalg.Gemm, o int) {
		if gather {
			// The product's rows of a, strided, copied next to each
			// other just before it reads them (see gathersA).
			ao := getBuffer(p.M * p.K)
			gatherMatrix(a[oa[o]:], transA, lda, p.M, p.K, ao)
			g.Sgemm(false, transB, p.M, p.N, p.K, 1, ao, p.K, b[ob[o]:], ldb, 0, y[oy[o]:], ldc)
			putBuffer(ao)
		} else {
			g.Sgemm(transA, transB, p.M, p.N, p.K, 1, a[oa[o]:], lda, b[ob[o]:], ldb, 0, y[oy[o]:], ldc)
		}
		if p.YView == nil {
			productEpilogue(p, o, bias, r, y)
			return
		}
		if p.Scale != nil || bias != nil || p.Act.Kind != ActIdentity {
			for i := range p.M {
				epilogueRows(p.Act, p.Scale, y[oy[o]+i*ldc:][:p.N], bias, nil, p.N)
			}
		}
	})
}

// maxGatheredA is the most elements of a matrix of a that
// matMulViewsForward copies before its product (see gathersA): 64 KiB,
// which stays in the L2 cache for the product that follows.
const maxGatheredA = 1 << 14

// gathersA reports whether matMulViewsForward copies each rows×cols
// matrix of an a read as a view, transposed or with a leading dimension
// of ld, into a row-major matrix before its product: when its rows (or
// columns) are not next to each other, and it is small. Attention's
// queries read in place from [tokens, heads, 64], rows 256 to 2,048
// floats apart, made the scores' product 5-13% slower on one thread
// than the Transpose's copy and the product of contiguous rows (12-row
// tiles then read from 12 rows that span many pages); copied per
// product, just before the product reads them, they cost less than the
// Transpose's pass over all the heads. Either way each element of y is
// the same sum.
func gathersA(trans bool, ld, rows, cols int) bool {
	if rows*cols > maxGatheredA || rows == 1 {
		return false
	}
	return trans || ld != cols
}

// gatherMatrix copies the rows×cols matrix of src, transposed when trans
// (element (i, j) at src[j*ld+i]) or with leading dimension ld, into dst
// as a row-major matrix.
func gatherMatrix(src []float32, trans bool, ld, rows, cols int, dst []float32) {
	for i := range rows {
		row := dst[i*cols:][:cols]
		if !trans {
			copy(row, src[i*ld:][:cols])
			continue
		}
		for j := range row {
			row[j] = src[j*ld+i]
		}
	}
}

// gatherView copies the matrices of the view v of src, of batch axes
// batch and rows×cols each, into dst as a row-major tensor, the matrices
// spread over the workers.
func gatherView(v *MatMulView, batch []int, rows, cols int, src, dst []float32) {
	offs := viewOffsets(v, batch, batch, rows*cols)
	s := v.Strides
	rs, cs := s[len(s)-2], s[len(s)-1]
	parallel.For(len(offs), grainFor(rows*cols), func(lo, hi int) {
		for o := lo; o < hi; o++ {
			out := dst[o*rows*cols:][:rows*cols]
			for i := range rows {
				row, at := out[i*cols:][:cols], offs[o]+i*rs
				if cs == 1 {
					copy(row, src[at:at+cols])
					continue
				}
				for j := range row {
					row[j] = src[at+j*cs]
				}
			}
		}
	})
}
