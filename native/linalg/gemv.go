package linalg

import "github.com/onnxkit/onnxkit/native/parallel"

// isVector reports whether op(A) is a single row or C a single column,
// the products gemv computes instead of the blocked algorithm: there the
// micro-tiles would waste all but one of their rows or columns, and
// packing would copy a matrix that the product reads only once.
func isVector(m, n int) bool { return m == 1 || n == 1 }

// gemv computes a product with m = 1 or n = 1 as a vector times a
// matrix: with n = 1 it computes C^T = op(B)^T op(A)^T, whose op(A) is a
// row. Each element of C is one dot product of the row with a column of
// op(B), summed in an order fixed by k alone, so that results do not
// depend on the thread count.
func (kern *kernel) gemv(p gemmArgs) {
	if p.m != 1 {
		p = p.transposed()
	}
	k, n := p.k, p.n
	x := p.a[:k]
	if p.transA && p.lda != 1 {
		// The row of op(A) is a column of the stored A: gather it.
		ws := kern.takeWorkspace(1, k, 0)
		defer kern.giveWorkspace(ws)
		x = ws.a[:k]
		for q := range x {
			x[q] = p.a[q*p.lda]
		}
	}
	out := vecOut{c: p.c, stride: 1, alpha: p.alpha, beta: p.beta}
	if p.transC {
		out.stride = p.ldc
	}
	if 2*float64(n)*float64(k) < minParallelFlops || parallel.Threads() == 1 {
		kern.vecColumns(&p, x, &out, 0, n)
		return
	}
	// Columns are handed out in groups the kernels compute at once. The
	// closure gets its own copies, so that the serial path allocates
	// nothing.
	group := 4
	if !p.transB {
		group = 32
	}
	sp, sx, so := p, x, out
	parallel.For((n+group-1)/group, max(1, minParallelFlops/(2*group*k)), func(lo, hi int) {
		kern.vecColumns(&sp, sx, &so, lo*group, min(hi*group, n))
	})
}

// vecColumns stores elements [j0, j1) of the row x·op(B) in out.
func (kern *kernel) vecColumns(p *gemmArgs, x []float32, out *vecOut, j0, j1 int) {
	if p.transB {
		kern.dotColumns(x, p.b, p.ldb, j0, j1, out)
	} else {
		kern.axpyColumns(x, p.b, p.ldb, j0, j1, out)
	}
}

// vecOut is the row of C that gemv writes: element j at c[j*stride].
type vecOut struct {
	c           []float32
	stride      int
	alpha, beta float32
}

// store sets element j to alpha*sum + beta*(element j), ignoring the old
// element when beta is 0.
func (o *vecOut) store(j int, sum float32) {
	c := &o.c[j*o.stride]
	if o.beta == 0 {
		*c = o.alpha * sum
	} else {
		*c = o.alpha*sum + o.beta*(*c)
	}
}

// dotColumns stores x·b[j*ldb:][:k] for j in [j0, j1): columns of op(B)
// that are rows of the stored, transposed B.
func (kern *kernel) dotColumns(x, b []float32, ldb, j0, j1 int, out *vecOut) {
	k := len(x)
	j := j0
	if kern.dot4 != nil {
		done := k / 8 * 8
		for ; j+4 <= j1; j += 4 {
			rows := b[j*ldb:]
			for i, s := range kern.dot4(done, rows, ldb, x) {
				for q := done; q < k; q++ {
					s += rows[i*ldb+q] * x[q]
				}
				out.store(j+i, s)
			}
		}
	}
	for ; j < j1; j++ {
		var s float32
		for q, v := range b[j*ldb:][:k] {
			s += v * x[q]
		}
		out.store(j, s)
	}
}

// axpyColumns stores columns [j0, j1) of x·B for a B stored k×n with row
// stride ldb.
func (kern *kernel) axpyColumns(x, b []float32, ldb, j0, j1 int, out *vecOut) {
	j := j0
	if kern.axpy32 != nil {
		for ; j+32 <= j1; j += 32 {
			for i, s := range kern.axpy32(x, b[j:], ldb) {
				out.store(j+i, s)
			}
		}
	}
	for ; j < j1; j++ {
		var s float32
		for q, v := range x {
			s += v * b[q*ldb+j]
		}
		out.store(j, s)
	}
}
