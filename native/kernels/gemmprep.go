package kernels

import (
	"sync/atomic"

	"github.com/onnxkit/onnxkit/native/linalg"
)

// PreparedB is the right operand of Gemm or MatMul (a layer's weights,
// unchanged across calls) packed once for the GEMM in use, so that the
// products by it skip the packing, and the strided reads, that Sgemm
// does on every call. It holds PackB's panels, for the products Sgemm
// multiplies by blocks, and PackVecB's panels, for products with one row
// (see rowByPanels); each layout is packed on the first product that
// takes it. The products give bitwise the results of the same products
// by B as stored. A PreparedB is safe for concurrent use.
type PreparedB struct {
	gemm   linalg.Blocked
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
	return &PreparedB{gemm: g, transB: transB, k: k, n: n, b: b[:k*n], ldb: ldb}
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
	case pb.gemm.BlocksB(pb.transB, m, pb.n, pb.k):
		blocks := pb.layout(&pb.blocks, pb.gemm.PackedLen(pb.k, pb.n), pb.gemm.PackB)
		pb.gemm.SgemmPackedB(m, pb.n, pb.k, alpha, a, lda, blocks, beta, c, pb.n)
		return true
	case rowByPanels(pb.transB, m, pb.n, pb.k):
		rows := pb.layout(&pb.rows, linalg.VecPackedLen(pb.k, pb.n), linalg.PackVecB)
		pb.gemm.SgemvPackedB(pb.n, pb.k, alpha, a, rows, beta, c)
		return true
	}
	return false
}

// layout returns the panels held in p, packing them with pack into a
// new buffer of size elements first if there are none yet. Concurrent
// first calls may each pack; one buffer is kept, and all are the same.
func (pb *PreparedB) layout(p *atomic.Pointer[[]float32], size int,
	pack func(transB bool, k, n int, b []float32, ldb int, dst []float32)) []float32 {
	if s := p.Load(); s != nil {
		return *s
	}
	s := make([]float32, size)
	pack(pb.transB, pb.k, pb.n, pb.b, pb.ldb, s)
	if p.CompareAndSwap(nil, &s) {
		return s
	}
	return *p.Load()
}

// rowByPanels reports whether a product of one row of A (as stored) by a
// k×n op(B) (B transposed when transB) multiplies by PackVecB's panels of
// B, read in one stream (SgemvPackedB), rather than by B as stored.
//
// Sgemm reads an untransposed B a row of 32 values at a time, at a new
// page for each row of a wide B, with the same arithmetic as the
// panels': the panels ran 2-3x faster with B out of the caches (9216 x
// 4096: 40 -> 13 ms, loaded machine). It multiplies a transposed B by
// dot products of four of its rows at once, four streams at a time,
// which memory feeds well only once the rows are long: the panels took
// 98 against 160 us at k = 512 (n = 1000), 243 against 295 at 1280, and
// the same time from k = 4096. So a transposed B takes the panels up to
// rows of maxPanelRow values, and Gemm packs it on every call when it
// is not prepared, so that prepared and unprepared products agree. A B
// narrower than a panel streams as stored.
func rowByPanels(transB bool, m, n, k int) bool {
	return m == 1 && n >= linalg.VecPanelWidth && (!transB || k <= maxPanelRow)
}

// maxPanelRow is the longest row of a transposed B that rowByPanels
// multiplies by panels: beyond it the panels would cost a second copy
// of B for little gain.
const maxPanelRow = 2048

// rowByTransposedB computes y = alpha*x*b^T + beta*y for a row x of k
// values and b n×k as stored, as PreparedB.multiply does from its panels,
// packing them for the call, and reports whether it did: not when the
// GEMM in use is not a linalg.Blocked.
func rowByTransposedB(n, k int, alpha float32, x, b []float32, beta float32, y []float32) bool {
	g, ok := linalg.Current().(linalg.Blocked)
	if !ok {
		return false
	}
	panels := getBuffer(linalg.VecPackedLen(k, n))
	defer putBuffer(panels)
	linalg.PackVecB(true, k, n, b, k, panels)
	g.SgemvPackedB(n, k, alpha, x, panels, beta, y)
	return true
}
