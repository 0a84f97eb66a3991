package linalg

import "fmt"

// DotRows stores in y[i], for i < len(y), the dot product of x with row
// i of the row-major matrix a, whose rows are lda apart and len(x) long:
// y = A x, reading A once, on the calling goroutine. Callers that split
// the rows of one product between workers of their own (a recurrent
// cell's steps) spare Sgemm's bookkeeping per call that way.
//
// With a Blocked Gemm in use (Current), the rows go four at a time
// through its kernel's dot products (on amd64, all groups of four in one
// call of dotRowsAVX2, the same arithmetic); each row is summed the same
// way wherever it falls, so y[i] does not depend on len(y) nor on which
// rows were asked for with it. Otherwise the sums run in plain Go.
func DotRows(y, a []float32, lda int, x []float32) {
	n, k := len(y), len(x)
	if n == 0 {
		return
	}
	if lda < k || len(a) < (n-1)*lda+k {
		panic(fmt.Sprintf("linalg: DotRows of %d rows of %d with lda=%d from %d elements", n, k, lda, len(a)))
	}
	kern := &goKernel
	if b, ok := Current().(Blocked); ok {
		kern = b.kernel()
	}
	if kern.dot4 == nil {
		for i := range y {
			var s float32
			for q, v := range a[i*lda:][:k] {
				s += v * x[q]
			}
			y[i] = s
		}
		return
	}
	done := k / 8 * 8
	tail := func(s float32, row []float32) float32 {
		for q := done; q < k; q++ {
			s += row[q] * x[q]
		}
		return s
	}
	i := dotRowsFast(kern, y, a, lda, x)
	for r := 0; r < i; r++ {
		y[r] = tail(y[r], a[r*lda:])
	}
	for ; i+4 <= n; i += 4 {
		sums := kern.dot4(done, a[i*lda:], lda, x)
		for r, s := range sums {
			y[i+r] = tail(s, a[(i+r)*lda:])
		}
	}
	// A last row or three: the kernel reads the row four times over
	// (a row stride of 0), which sums it as in a group of four.
	for ; i < n; i++ {
		row := a[i*lda:]
		y[i] = tail(kern.dot4(done, row, 0, x)[0], row)
	}
}

// TileRows returns the rows of C that g's micro-kernel computes at once:
// a product with fewer rows, or the last rows past a multiple of it,
// costs as much as a whole tile of them. Callers with a few such rows
// may compute them with DotRows instead.
func (g Blocked) TileRows() int { return g.kernel().mr }
