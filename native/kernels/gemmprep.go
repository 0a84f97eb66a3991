package kernels

import (
	"sync/atomic"

	"github.com/onnxkit/onnxkit/native/internal/hugepages"
	"github.com/onnxkit/onnxkit/native/linalg"
)

// PreparedB is the right operand of Gemm or MatMul (a layer's weights,
// unchanged across calls) packed once for the GEMM in use, so that the
// products by it skip the packing, and the strided reads, that Sgemm
// does on every call. It holds PackB's panels, for the products Sgemm
// multiplies by blocks (by a B of at most maxPackedB elements), packed
// for the kernel that multiplies prepared weights best
// (linalg.Blocked.PreparedBGemm), and
// PackVecB's panels, for products with a few
// rows (see rowByPanels); each layout is packed on the first product that
// takes it. The products give bitwise the results of the same products
// by B as stored. A PreparedB is safe for concurrent use.
type PreparedB struct {
	gemm linalg.Blocked
	// packed packs and multiplies PackB's panels (gemm.PreparedBGemm).
	packed linalg.Blocked
	transB bool
	k, n   int
	b      []float32 // B as stored, which must not change
	ldb    int
	blocks atomic.Pointer[[]float32] // PackB's panels, once packed
	rows   atomic.Pointer[[]float32] // PackVecB's panels, once packed
}

// PrepareB returns op(B), the k×n matrix b (n×k when transB) with row
// stride k or n, prepared for the products by it, or nil when the GEMM
// in use (linalg.Current) is not a linalg.Blocked, which packs nothing
// in advance. b must not change while the PreparedB is in use.
func PrepareB(transB bool, k, n int, b []float32) *PreparedB {
	g, ok := linalg.Current().(linalg.Blocked)
	if !ok {
		return nil
	}
	need("Gemm", "b", b, k*n)
	ldb := n
	if transB {
		ldb = k
	}
	return &PreparedB{gemm: g, packed: g.PreparedBGemm(n), transB: transB, k: k, n: n, b: b[:k*n], ldb: ldb}
}

// Current reports whether pb was prepared for the GEMM in use
// (linalg.Use replaces it).
func (pb *PreparedB) Current() bool { return pb != nil && linalg.Current() == linalg.Gemm(pb.gemm) }

// Fits reports whether pb is op(B) of the k×n shape given, transposed
// as given, from the weights at b.
func (pb *PreparedB) Fits(transB bool, k, n int, b []float32) bool {
	return pb != nil && pb.transB == transB && pb.k == k && pb.n == n && len(b) >= k*n && &b[0] == &pb.b[0]
}

// multiply computes C = alpha*A*op(B) + beta*C for an m×k A as stored
// (row stride lda), C with row stride n, from a prepared layout, and
// reports whether it did: otherwise Sgemm computes this product with
// arithmetic of its own, and the caller multiplies by B as stored.
func (pb *PreparedB) multiply(m int, alpha float32, a []float32, lda int, beta float32, c []float32) bool {
	switch {
	case pb == nil || !pb.Current():
		return false
	case rowByPanels(pb.transB, m, pb.n, pb.k):
		rows := pb.layout(&pb.rows, linalg.VecPackedLen(pb.k, pb.n), hugepages.Floats, pb.gemm.PackVecB)
		pb.gemm.SgemmPackedVecB(m, pb.n, pb.k, alpha, a, lda, rows, beta, c, pb.n)
		return true
	case pb.k*pb.n <= maxPackedB && pb.gemm.BlocksB(pb.transB, m, pb.n, pb.k):
		blocks := pb.layout(&pb.blocks, pb.packed.PackedLen(pb.k, pb.n), floats, pb.packed.PackB)
		pb.packed.SgemmPackedB(m, pb.n, pb.k, alpha, a, lda, blocks, beta, c, pb.n)
		return true
	}
	return false
}

// maxPackedB is the most elements of a B that PreparedB packs in PackB's
// panels. A larger B streams from memory once per product either way,
// and Sgemm's packing of a block at a time, in cache, costs little
// beside it (8 rows by 9216 x 4096 took the same time packed on every
// call as prepared, loaded machine); the panels would double the
// weights' memory (VGG-16's fc6: 411 MB) for nothing. (At 512 x 1000,
// 8 rows took 205 us packed on every call, 149 prepared.)
const maxPackedB = 1 << 22

// layout returns the panels held in p, packing them with pack into a
// buffer of size elements from alloc first if there are none yet.
// Concurrent first calls may each pack; one buffer is kept, and all are
// the same.
//
// PackVecB's panels, which a product with one row streams from memory,
// are allocated in huge pages where the system has them (see package
// hugepages); PackB's are not: products with many rows spend their
// time in arithmetic, and the blocks of a transformer's layers (tens of
// buffers of 2-16 MB) could each add up to a huge page of resident
// memory.
func (pb *PreparedB) layout(p *atomic.Pointer[[]float32], size int, alloc func(n int) []float32,
	pack func(transB bool, k, n int, b []float32, ldb int, dst []float32)) []float32 {
	if s := p.Load(); s != nil {
		return *s
	}
	s := alloc(size)
	pack(pb.transB, pb.k, pb.n, pb.b, pb.ldb, s)
	if p.CompareAndSwap(nil, &s) {
		return s
	}
	return *p.Load()
}

// floats is a plain allocation of n values.
func floats(n int) []float32 { return make([]float32, n) }

// rowByPanels reports whether a product of m rows of A (as stored) by a
// k×n op(B) (B transposed when transB) multiplies each row by PackVecB's
// panels of B, read in one stream (SgemmPackedVecB), rather than by
// blocks or by B as stored.
//
// One row: Sgemm reads an untransposed B a row of 32 values at a time,
// at a new page for each row of a wide B, with the same arithmetic as
// the panels': the panels ran 2-3x faster with B out of the caches (9216
// x 4096: 40 -> 13 ms, loaded machine). It multiplies a transposed B by
// dot products of four of its rows at once, four streams at a time,
// which memory feeds well only once the rows are long: the panels took
// 98 against 160 us at k = 512 (n = 1000), 243 against 295 at 1280, and
// the same time from k = 4096. So a transposed B takes the panels up to
// rows of maxPanelRow values, beyond which they would cost a second copy
// of B for little gain.
//
// A few rows: Sgemm multiplies by blocks, with tiles of 6 rows or more
// of which all but m are wasted, and packs B on every call; each row
// by the panels, which stay in cache from one row to the next, costs
// about what one row does up to maxPanelRows rows.
//
// Unless the product is one row by an untransposed B, a B that is not
// prepared is packed into panels for the call (rowsByPackedB), so that
// prepared and unprepared products agree; so those products take the
// panels only with a B of at most maxPackedB elements. A B narrower than
// a panel streams as stored.
func rowByPanels(transB bool, m, n, k int) bool {
	switch {
	case n < linalg.VecPanelWidth:
		return false
	case m == 1 && !transB:
		return true
	case k*n > maxPackedB:
		// Packed on every call when not prepared: a second pass over B
		// and a buffer of its size.
		return false
	case m == 1:
		return k <= maxPanelRow
	}
	return m <= maxPanelRows
}

// maxPanelRow is the longest row of a transposed B that rowByPanels
// multiplies one row of A by with panels.
const maxPanelRow = 2048

// maxPanelRows is the most rows of A that rowByPanels multiplies by
// panels.
const maxPanelRows = 4

// rowsByPackedB computes C = alpha*A*op(B) + beta*C, for m rows of A as
// stored (row stride lda), B as stored (n×k when transB, else k×n) and C
// with row stride n, as PreparedB.multiply does from its panels, packing
// them for the call, and reports whether it did: only when rowByPanels
// says so, not for one row by an untransposed B (which Sgemm multiplies
// with the same arithmetic from B as stored), and not when the GEMM in
// use is not a linalg.Blocked.
func rowsByPackedB(transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, beta float32, c []float32) bool {
	if !rowByPanels(transB, m, n, k) || m == 1 && !transB {
		return false
	}
	g, ok := linalg.Current().(linalg.Blocked)
	if !ok {
		return false
	}
	ldb := n
	if transB {
		ldb = k
	}
	panels := getBuffer(linalg.VecPackedLen(k, n))
	defer putBuffer(panels)
	g.PackVecB(transB, k, n, b, ldb, panels)
	g.SgemmPackedVecB(m, n, k, alpha, a, lda, panels, beta, c, n)
	return true
}
