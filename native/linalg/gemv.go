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
	// Columns are handed out in groups the kernels compute at once, in
	// chunks that the workers take in turn (see vecSplit). The workers
	// share copies of p and out, so that those stay on the stack on the
	// serial path.
	group := 4
	if !p.transB {
		group = 32
	}
	groups := (n + group - 1) / group
	// A group costs its multiply-adds or the reading of its columns of
	// B, which come from memory more often than not.
	per, workers := vecSplit(groups, max(2*group*k, group*k*4/streamBytesPerFlop))
	if p.serial || workers == 1 {
		kern.vecColumns(&p, x, &out, 0, n)
		return
	}
	t := gemvTasks.Get()
	*t = gemvTask{kern: kern, p: p, x: x, out: out, cols: per * group}
	forChunks((groups+per-1)/per, workers, t)
	gemvTasks.Put(t)
}

// vecSplit returns how many of units, each costing about cost flops,
// the one-row products (gemv, SgemmPackedVecB) put in a chunk, and how
// many workers take the chunks: one worker (the caller) unless the
// whole is at least minParallelFlops, then up to one per
// minParallelFlops, and chunks of at least minParallelFlops /
// leastChunkShare each, up to chunksPerWorker per worker. The chunks
// are smaller than minParallelFlops so that a worker that starts late
// still takes a share: in chunks of at least minParallelFlops,
// MobileNet V3's classifier.0 (576x1024, 2.4 MB of weights, weighed as
// 2.4M flops) went in two, and a second worker that came late left both
// to the caller.
func vecSplit(units, cost int) (per, workers int) {
	return vecSplitFor(units, cost, parallel.Threads(), minParallelFlops())
}

// vecSplitFor is vecSplit on threads threads with the grain grain.
func vecSplitFor(units, cost, threads, grain int) (per, workers int) {
	total := units * cost
	if total < grain || threads == 1 {
		return units, 1
	}
	workers = min(threads, total/grain, units)
	if workers == 1 {
		return units, 1
	}
	least := max(1, (grain/leastChunkShare+cost-1)/cost)
	chunks := max(1, min(units/least, workers*chunksPerWorker))
	return (units + chunks - 1) / chunks, workers
}

// leastChunkShare is how much smaller than minParallelFlops vecSplit's
// chunks may be: a quarter of a million flops is some 3 µs of one
// core's work, a few times what handing a chunk to a polling worker
// costs.
const leastChunkShare = 4

// gemvTask computes gemv's chunks: columns [c*cols, (c+1)*cols) for
// chunk c.
type gemvTask struct {
	kern *kernel
	p    gemmArgs
	x    []float32
	out  vecOut
	cols int
}

var gemvTasks parallel.Tasks[gemvTask]

func (t *gemvTask) runChunk(c int) {
	t.kern.vecColumns(&t.p, t.x, &t.out, c*t.cols, min((c+1)*t.cols, t.p.n))
}

// vecColumns stores elements [j0, j1) of the row x·op(B) in out; j0 is
// a multiple of the kernels' group of columns and j1 one too or n.
func (kern *kernel) vecColumns(p *gemmArgs, x []float32, out *vecOut, j0, j1 int) {
	if p.transB {
		kern.dotColumns(x, p.b, p.ldb, p.n, j0, j1, out)
	} else {
		kern.axpyColumns(x, p.b, p.ldb, p.n, j0, j1, out)
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
// that are rows of the stored, transposed B, of which there are n. Each
// dot product is summed the same way wherever its row falls: a last
// group of fewer than four rows is computed as the last four rows of B,
// or from a zero-padded copy when B has fewer.
func (kern *kernel) dotColumns(x, b []float32, ldb, n, j0, j1 int, out *vecOut) {
	k := len(x)
	if kern.dot4 == nil {
		for j := j0; j < j1; j++ {
			var s float32
			for q, v := range b[j*ldb:][:k] {
				s += v * x[q]
			}
			out.store(j, s)
		}
		return
	}
	group := func(rows []float32, ld, first, from int) {
		done := k / 8 * 8
		for i, s := range kern.dot4(done, rows, ld, x) {
			for q := done; q < k; q++ {
				s += rows[i*ld+q] * x[q]
			}
			if j := first + i; j >= from && j < j1 {
				out.store(j, s)
			}
		}
	}
	j := j0
	for ; j+4 <= j1; j += 4 {
		group(b[j*ldb:], ldb, j, j)
	}
	switch {
	case j == j1:
	case n >= 4:
		group(b[(n-4)*ldb:], ldb, n-4, j)
	default:
		ws := kern.takeWorkspace(4, k, 0)
		defer kern.giveWorkspace(ws)
		pad := ws.a[:4*k]
		clear(pad)
		for i := 0; i < n; i++ {
			copy(pad[i*k:(i+1)*k], b[i*ldb:])
		}
		group(pad, k, 0, j)
	}
}

// axpyColumns stores columns [j0, j1) of x·B for a B stored k×n with row
// stride ldb. Each column is summed the same way wherever it falls: a
// last group of fewer than 32 columns is computed as the last 32 columns
// of B, or from a zero-padded copy when B has fewer.
func (kern *kernel) axpyColumns(x, b []float32, ldb, n, j0, j1 int, out *vecOut) {
	k := len(x)
	if kern.axpy32 == nil {
		for j := j0; j < j1; j++ {
			var s float32
			for q, v := range x {
				s += v * b[q*ldb+j]
			}
			out.store(j, s)
		}
		return
	}
	group := func(cols []float32, ld, first, from int) {
		for i, s := range kern.axpy32(x, cols, ld) {
			if j := first + i; j >= from && j < j1 {
				out.store(j, s)
			}
		}
	}
	j := j0
	for ; j+32 <= j1; j += 32 {
		group(b[j:], ldb, j, j)
	}
	switch {
	case j == j1:
	case n >= 32:
		group(b[n-32:], ldb, n-32, j)
	default:
		ws := kern.takeWorkspace(0, k, 32)
		defer kern.giveWorkspace(ws)
		pad := ws.b[:32*k]
		for q := 0; q < k; q++ {
			clear(pad[q*32+copy(pad[q*32:q*32+n], b[q*ldb:q*ldb+n]) : (q+1)*32])
		}
		group(pad, 32, 0, j)
	}
}
