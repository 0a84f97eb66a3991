package linalg

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/onnxkit/onnxkit/native/internal/arena"
	"github.com/onnxkit/onnxkit/native/parallel"
)

// Blocked is a cache-blocked Gemm in the manner of GotoBLAS and BLIS:
// op(B) is packed in kc×nc blocks of nr-wide panels, op(A) in mc×kc
// blocks of mr-tall panels (transposes are absorbed by the packing), and
// a register-blocked micro-kernel computes each mr×nr tile of C from one
// A panel and one B panel. The loops, outermost first, run over columns
// of C by nc, over k by kc, over rows of C by mc, then over panels; the
// blocks are evened out (4096 columns in two blocks of 2048, not 4080 and
// 16). Kernels that can read an untransposed A in place skip packing it
// except for a last, short panel. When C^T = op(B)^T op(A)^T fits the
// tiles much better (n = 17 with 16-wide tiles), that is computed
// instead, with the same products summed in the same order.
//
// C is split along whichever of m and n costs the busiest worker less
// (see splitRows), on micro-tile boundaries, into chunks that
// parallel.For workers take in turn, smaller towards the end (see
// blockTask and leastChunk). Every element of
// C is accumulated in the same order whatever the split and whichever
// worker computes it (the kc blocks are fixed by k alone and a tile
// never straddles two chunks), so results are bitwise identical for any
// thread count and any timing. Pack buffers are kept for reuse, so a
// call allocates nothing but the bookkeeping of handing out the chunks.
//
// When alpha or k is 0, A and B are not read and C becomes beta*C, as in
// the reference BLAS (Naive would turn an Inf in A into NaN).
//
// The zero value uses the portable Go micro-kernel.
type Blocked struct {
	kern   *kernel
	serial bool // see Serial
}

// Serial returns g computing every product on the calling goroutine, for
// callers that run several products in parallel themselves. The results
// are bitwise those of g.
func (g Blocked) Serial() Blocked {
	g.serial = true
	return g
}

// SerialGemm implements SerialGemm: it is Serial as a Gemm.
func (g Blocked) SerialGemm() Gemm { return g.Serial() }

// Portable is the Blocked Gemm with the pure-Go micro-kernel; it runs on
// every architecture.
var Portable = Blocked{kern: &goKernel}

// Name returns the name of the micro-kernel, such as "avx2-6x16".
func (g Blocked) Name() string { return g.kernel().name }

func (g Blocked) kernel() *kernel {
	if g.kern == nil {
		return &goKernel
	}
	return g.kern
}

// kernel is one micro-kernel with the blocking sizes tuned for it.
type kernel struct {
	name   string
	mr, nr int // tile of C computed by one call of run
	// mc, kc and nc are the cache blocks: an nr-wide, kc-deep panel of B
	// stays in L1 while the mc×kc block of A streams from L2. mc is a
	// multiple of mr and nc of nr.
	mc, kc, nc int
	// ncT replaces nc when B is transposed. Packing a transposed B reads
	// runs of kc values whatever nc is, so a smaller block that keeps
	// the packed B in L2 costs nothing there (with B as stored, a large
	// nc lets the packing stream long rows instead).
	ncT int
	// unroll is the step of k the kernel's loop is unrolled by; kc
	// blocks are multiples of it where they can be.
	unroll int
	// run computes the mr×nr tile c = alpha*a*b (+ beta*c if useBeta)
	// from a packed k×mr panel a and a packed k×nr panel b; see package
	// asmgen for the layouts. c has row stride ldc.
	run func(k int, a, b, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue)
	// runRows, if not nil, is run with A read in place: mr rows of a
	// row-major matrix with row stride lda. It spares packing A when A
	// is not transposed.
	runRows func(k int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue)
	// run8 and runRows8, if not nil, are run and runRows for an mr×8
	// tile from a B panel packed 8 columns wide: a product that packs B
	// itself packs its last panel so when it has at most 8 columns
	// (narrowB), as AlexNet's conv5 (36 columns: 32 and 4) has.
	run8     func(k int, a, b, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue)
	runRows8 func(k int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue)
	// slide and slideRows, if not nil, are run and runRows with B read
	// through a sliding window instead of a packed panel: row q of B is
	// x[off[q]:][:nr]. Without them, such a B is gathered into panels.
	slide     func(k int, a, x []float32, off []int32, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue)
	slideRows func(k int, a []float32, lda int, x []float32, off []int32, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue)
	// gather, if not nil, is run with A read in place through a window:
	// A[i][q] = x[rows[i]+off[q]] for i < mr. Without it, such an A is
	// gathered into panels.
	gather func(k int, x []float32, rows, off []int32, b, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue)
	// gatherPair, if not nil, is gather for an mr×2nr tile from two
	// panels of a packed B, the second panel elements after the first
	// (see gathersPair), and gatherPair7 the same for a tile of
	// pairRows7 rows (see pairRows).
	gatherPair, gatherPair7 func(k int, x []float32, rows, off []int32, b []float32, panel int, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue)
	// gatherPairNext and gatherPair7Next, if not nil, are gatherPair
	// and gatherPair7 that also prefetch into L2 the rows of the next
	// two panels of B that they read of their own (see tilePair).
	gatherPairNext, gatherPair7Next func(k int, x []float32, rows, off []int32, b []float32, panel int, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue)
	// transpose16, if not nil, stores dst[q*dstStride+j] = src[j*ldb+q]
	// for j < 16 and q < done, for some done <= k, and returns done. It
	// speeds up packing a transposed B.
	transpose16 func(k int, src []float32, ldb int, dst []float32, dstStride int) (done int)
	// copyA and copyB, if not nil, copy k runs of mr (copyA) or nr
	// (copyB) values: dst[q*dstStride:][:w] = src[q*srcStride:][:w]. They
	// speed up packing a transposed A and a B as stored.
	copyA, copyB func(k int, src []float32, srcStride int, dst []float32, dstStride int)
	// dot4, if not nil, returns the dot products of x[:k] with
	// a[i*lda:][:k] for i < 4, for k a multiple of 8; axpy32, if not
	// nil, returns columns 0 to 31 of x times the len(x)-row matrix b
	// with row stride ldb. They speed up the products with one row or
	// one column (see gemv).
	dot4   func(k int, a []float32, lda int, x []float32) [4]float32
	axpy32 func(x, b []float32, ldb int) [32]float32
	// wide, if not nil, is a kernel that multiplies matrices as stored
	// (Sgemm) instead of this one where plainKernel says, with bitwise
	// the same results: the same k blocks, each element summed in k
	// order with one fused multiply-add a step. B packed in advance and
	// windows are multiplied with this kernel alone, so that PanelWidth
	// and PackB do not depend on the shape.
	wide *kernel
	// shortWide, if not nil, is a kernel of wide's panels of B in
	// tiles of fewer rows, taken as wide is where wide's tiles cover
	// the rows of C badly (see plainKernel).
	shortWide *kernel

	// free holds the workspaces not in use. A worker takes one for the
	// duration of a call and gives it back, so there are never more than
	// the most workers ever run at once, and calls in steady state do
	// not allocate. (A sync.Pool would let the garbage collector take
	// them, but it misses whenever a goroutine changes P between Put and
	// Get.) Their pack buffers, the large part, come from the arena of
	// the run the worker serves, and go back to it after the call.
	mu   sync.Mutex
	free []*workspace

	// serial is the kernel's Blocked.Serial as a Gemm, boxed once
	// (serialGemm), for Serial.
	serial atomic.Pointer[Gemm]
}

// serialGemm returns Blocked{kern: kern}.Serial() as a Gemm, boxed once:
// converting a Blocked to an interface allocates.
func (kern *kernel) serialGemm() Gemm {
	if g := kern.serial.Load(); g != nil {
		return *g
	}
	g := Gemm(Blocked{kern: kern, serial: true})
	kern.serial.Store(&g)
	return g
}

// workspace holds one worker's pack buffers (for one call, from the
// arena), an edge tile, and the offsets of the rows of a tile of A read
// through a window.
type workspace struct {
	a, b, tile []float32
	rows       []int32
	// epi is the store epilogue of the tile in hand (see kernel.tile).
	epi   tileEpilogue
	arena *arena.Arena // where a and b came from
}

// minParallelFlops returns the smallest 2*m*n*k for which Sgemm spreads
// over several workers; below it the goroutine hand-off costs more than
// it saves (see parallel.GrainFlops).
func minParallelFlops() int { return parallel.Grain() }

// gemmArgs gathers the operands of one call.
type gemmArgs struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
	// transC says that the product is C transposed: element (i, j) of
	// the m×n product goes to c[j*ldc+i]. See transposed.
	transC bool
	// serial says to compute on the calling goroutine (Blocked.Serial).
	serial bool
	// narrowB says that B is packed by the product, which packs the
	// last panel of each block narrowNR columns wide when it has no
	// more and the kernel has run8 (see kernel.panelWidth). PackB and
	// windows keep whole panels.
	narrowB bool
	// packedB says that b holds op(B) packed in advance, as
	// SgemmPackedB takes it, and ldb is unused.
	packedB bool
	// packedA says that A is packed in advance, as SgemmPackedAB takes
	// it: pa (see PackA); a and lda are then unused.
	packedA bool
	pa      PackedA
	// window, if its Off is not nil, says that B is read through it, as
	// SgemmWindow takes it, or B^T when windowT is set, as SgemmWindowT
	// takes it; b and ldb are then unused. When windowA is set, it is
	// A^T that is read through it, as SgemmWindowA takes it, and a and
	// lda are unused.
	window           Window
	windowT, windowA bool
	// fused says that the kernels apply epi as they store the last
	// block of k of each tile (SgemmPackedBEpilogue, SgemmWindowEpilogue).
	fused bool
	epi   storeEpilogue
}

// Window is a k×n matrix B read through a sliding window of a buffer:
// B[q][j] = X[Off[q] + (j/RowLen)*RowStride + (j%RowLen)*Step]. The
// columns come in rows of RowLen laid RowStride apart, so that a product
// can skip what lies between them (RowLen 0 means one row: B[q][j] =
// X[Off[q]+j*Step]); Step 0 means 1, and only SgemmWindowA, which
// broadcasts single elements, takes another step.
type Window struct {
	X                 []float32
	Off               []int32
	RowLen, RowStride int
	Step              int
}

// at returns the offset in X of B[q][j] less Off[q].
func (w *Window) at(j int) int {
	step := max(w.Step, 1)
	if w.RowLen == 0 {
		return j * step
	}
	return j/w.RowLen*w.RowStride + j%w.RowLen*step
}

// transposed returns the problem C^T = op(B)^T op(A)^T, which has the
// same products and the same order of summation for every element, and
// the same merge with C (see macro).
func (p gemmArgs) transposed() gemmArgs {
	return gemmArgs{
		transA: !p.transB, transB: !p.transA,
		m: p.n, n: p.m, k: p.k,
		alpha: p.alpha, beta: p.beta,
		a: p.b, b: p.a, c: p.c,
		lda: p.ldb, ldb: p.lda, ldc: p.ldc,
		transC: !p.transC,
		serial: p.serial,
	}
}

// tileEfficiency is the fraction of the computed tiles of an m×n C that
// lies inside C, for a product that packs B (with narrow last panels).
func (kern *kernel) tileEfficiency(m, n int) float64 {
	cols := roundUp(n, kern.nr)
	if r := n % kern.nr; kern.run8 != nil && r > 0 && r <= narrowNR {
		cols = n - r + narrowNR
	}
	return float64(m) / float64(roundUp(m, kern.mr)) * float64(n) / float64(cols)
}

// narrowNR is the width of the narrow last panels of B (see kernel.run8).
const narrowNR = 8

// panelWidth returns the width of a panel of B with cols columns packed
// by the product p: narrowNR for a narrow last panel, else nr.
func (kern *kernel) panelWidth(p *gemmArgs, cols int) int {
	if p.narrowB && kern.run8 != nil && cols <= narrowNR {
		return narrowNR
	}
	return kern.nr
}

// edgeDots is the most columns of C past whole panels that are computed
// as dot products instead of a panel of their own, when op(A)'s rows and
// op(B)'s columns lie contiguous (A as stored, B transposed): a panel of
// 16 for one column would waste 15/16 of its work (AlexNet's last layer,
// 64x17x4096, reached 0.54-0.65 of OpenBLAS with its 17th column so, and
// through C^T, which writes every tile through ws.tile).
const edgeDots = 2

// edgeColumns stores columns [j0, n) of C, one dot product of a row of A
// with a row of the stored B each (gemv's dot kernel, four rows of A at
// a time).
func (kern *kernel) edgeColumns(p *gemmArgs, j0 int) {
	for j := j0; j < p.n; j++ {
		out := vecOut{c: p.c[j:], stride: p.ldc, alpha: p.alpha, beta: p.beta}
		kern.dotColumns(p.b[j*p.ldb:][:p.k], p.a, p.lda, p.m, 0, p.m, &out)
	}
}

// swapPays reports whether computing C^T wastes so much less of the edge
// tiles than computing C (such as m = 64, n = 17: 52% of two 16-wide
// tiles, against 94% of 18×64 for C^T) that it beats the cost of writing
// every tile through ws.tile. (At 256×36, 75% against 100% with 6×16
// tiles, it did not on Zen 4.)
func (kern *kernel) swapPays(m, n, k int) bool {
	return k >= 128 && kern.tileEfficiency(n, m) > 1.5*kern.tileEfficiency(m, n)
}

// plainKernel returns the kernel that multiplies the matrices of p as
// stored: kern.wide when there is one, unless the wide kernel's tiles
// cover C worse than kern's, then kern.shortWide under the same
// condition, else kern. The wide kernel of the AVX-512 level, 12×32
// tiles against 6×16, was faster on Zen 4 at conv1 and conv5, 1.2x on
// two threads, and with narrow last panels (run8) 1.1-1.2x at conv3
// and conv5 on one thread, and 1.13x at conv2's weight gradient
// (256×2400×676, B transposed: on one thread 1.03 of OpenBLAS against
// 0.89). Where 12-row tiles waste more of m = 64 (72 rows computed
// against 66) it was slower: 0.87x at fc6 (64×4096×1024, B
// transposed), up to 0.6x at fc8 (64×17), and at fc7's input gradient
// (64×4096×4096) 0.93x in CPU time on two threads (though 1.0-1.05x on
// one). So it is taken only where its tiles cover at least
// minWideCover of what kern's cover. Its short form, 6×32 tiles, covers
// the rows as kern does, and on one thread (best of 45 calls,
// alternated) took fc7's input gradient from 0.95-1.08 of OpenBLAS to
// 1.15-1.20 and fc8's from 1.01 to 1.10, fc6 and fc7 staying at
// 1.21-1.22; it is not taken where the wide kernel is (at 256 rows it
// was within the noise of it). Each element of C is summed and merged
// with the same instructions in the same order by every kernel, as C
// or as C^T, so the results are bitwise equal; the dot products of
// gemv and edgeColumns, which sum otherwise, are taken before, and
// edgeColumns only with B transposed. On two threads, fc7's input
// gradient (each worker packing 2 MiB blocks of B, from L3) was also
// fastest in 6×32 tiles: 0.98 of OpenBLAS against 0.96 in 6×16 and 0.90
// in 12×32 (medians of the best calls of 299 alternated loaded runs).
//
// Where neither covers C that well, the first that still covers at least
// minFullWidthCover of what kern's tiles cover is taken: on Zen 5, whose
// AVX-512 units are 512 bits wide, the 12×32 kernel ran at 1.6-1.7
// times the GFLOP/s of the 6×16 one on products its tiles both cover
// (best of 300 alternated calls on one thread: 256×3136×64 162 against
// 93, 128×784×512 161 against 91), so that at the point products of
// Winograd's F(4x4, 3x3) on 64 channels, 64×196×64 (0.85 of the 6×16
// cover), it ran at 129 against 86, and 6×32 at 117. With half a panel
// of 32 columns (512×16×512, 0.5 of the cover) 6×16 stayed faster: 99
// against 84.
func (kern *kernel) plainKernel(p *gemmArgs) *kernel {
	eff := kern.tileEfficiency(p.m, p.n)
	for _, least := range [...]float64{minWideCover * eff, minFullWidthCover * eff} {
		for _, w := range [...]*kernel{kern.wide, kern.shortWide} {
			if w != nil && w.tileEfficiency(p.m, p.n) >= least {
				return w
			}
		}
	}
	return kern
}

// minWideCover is the least fraction of kern's tile efficiency at which
// plainKernel takes the wide kernel: at 0.977 (conv2's weight gradient,
// 256×2400) and 0.989 (conv2, 256×676) it was faster, at 0.92 (m = 64)
// slower. (At 0.96, conv1's weight gradient, 96×363, 363 columns in
// 384 against 368, the two were within the noise.)
const minWideCover = 0.97

// minFullWidthCover is the least fraction of kern's tile efficiency at
// which plainKernel takes a kernel of the AVX-512 level where neither
// covers C within minWideCover: about the inverse of the 12×32 kernel's
// speed-up on full tiles on a CPU with full-width AVX-512 units (see
// plainKernel).
const minFullWidthCover = 0.6

// Sgemm implements Gemm.
func (g Blocked) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	g.run(gemmArgs{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc})
}

// PanelWidth is the width of the column panels of a packed B (see
// SgemmPackedB): the kernel's tile width.
func (g Blocked) PanelWidth() int { return g.kernel().nr }

// PackedLen returns the length of a k×n B packed for SgemmPackedB.
func (g Blocked) PackedLen(k, n int) int { return roundUp(n, g.PanelWidth()) * k }

// SgemmPackedB computes C = alpha*A*B + beta*C for a row-major m×k A (row
// stride lda) and a k×n B packed in advance in panels of w = PanelWidth()
// columns: element (p, j) of B at b[(j/w)*w*k + p*w + j%w], the columns
// of the last panel beyond n zero. A producer that can write B in this
// layout (convolution's im2col) spares the product packing it; the
// results are bitwise those of Sgemm on the same B unpacked, whenever
// Sgemm multiplies by blocks.
func (g Blocked) SgemmPackedB(m, n, k int, alpha float32, a []float32, lda int, b []float32,
	beta float32, c []float32, ldc int) {
	g.run(gemmArgs{m: m, n: n, k: k, alpha: alpha, beta: beta, a: a, b: b, c: c, lda: lda, ldc: ldc,
		packedB: true})
}

// SgemmWindow computes C = alpha*op(A)*B + beta*C for the k×n matrix B
// read through the window b. A convolution is such a product of its
// weights and a window of its zero-padded input, with no im2col matrix
// in between (kernels.ConvForward). The kernels read B in whole panels
// of PanelWidth() columns, which must not straddle two of the window's
// rows, and may read a panel's columns beyond n: b.RowLen, when not 0,
// must be a multiple of PanelWidth() and at most b.RowStride, and X must
// hold every panel, Off[q] + b.at(j0) + PanelWidth() <= len(X) for the
// first column j0 of each. Each element of C is summed in the same order
// as by SgemmPackedB with B materialised, so the results are bitwise
// equal.
func (g Blocked) SgemmWindow(transA bool, m, n, k int, alpha float32, a []float32, lda int,
	b Window, beta float32, c []float32, ldc int) {
	if b.Off == nil {
		b.Off = []int32{} // nil would mean B as stored
	}
	g.run(gemmArgs{transA: transA, m: m, n: n, k: k, alpha: alpha, beta: beta, a: a, c: c,
		lda: lda, ldc: ldc, window: b})
}

// SgemmWindowT computes C = alpha*A*B + beta*C for a row-major m×k A
// (row stride lda) and the k×n matrix B whose transpose is read through
// the window b: B[q][j] = X[Off[j] + (q/RowLen)*RowStride + q%RowLen].
// The gradient of a convolution's weights is such a product of the
// output gradient and a window of its input; B is gathered into the
// packed panels, so the window has no other constraints than
// RowLen <= RowStride and X holding every element of B.
func (g Blocked) SgemmWindowT(m, n, k int, alpha float32, a []float32, lda int,
	b Window, beta float32, c []float32, ldc int) {
	if b.Off == nil {
		b.Off = []int32{} // nil would mean B as stored
	}
	g.run(gemmArgs{m: m, n: n, k: k, alpha: alpha, beta: beta, a: a, c: c,
		lda: lda, ldc: ldc, window: b, windowT: true})
}

// SgemmWindowA computes C = alpha*A*B + beta*C for the m×k matrix A
// whose transpose is read through the window a, A[i][q] = X[Off[q] +
// (i/RowLen)*RowStride + (i%RowLen)*Step], and a k×n B packed in advance
// as SgemmPackedB takes it (see PackB). A strided convolution is such a
// product of a window of its input (a row of A per output position, the
// column step being the stride) and its transposed weights, computed
// with no im2col matrix; the product is the output transposed, pixel by
// channel. Kernels that can read A in place broadcast its elements
// straight from X; others gather it into panels. A row of the window must
// end before the next begins, (RowLen-1)*Step < RowStride, and X must
// hold every element of A.
func (g Blocked) SgemmWindowA(m, n, k int, alpha float32, a Window, b []float32,
	beta float32, c []float32, ldc int) {
	if a.Off == nil {
		a.Off = []int32{}
	}
	g.run(gemmArgs{m: m, n: n, k: k, alpha: alpha, beta: beta, b: b, c: c, ldc: ldc,
		packedB: true, window: a, windowA: true})
}

// GatherWidth returns how many columns of C g's micro-kernel computes at
// once from an A read through a window (SgemmWindowA): two panels of B
// where it has 6×32 tiles for that (AVX-512), one otherwise.
func (g Blocked) GatherWidth() int {
	if kern := g.kernel(); kern.gatherPair != nil {
		return 2 * kern.nr
	}
	return g.PanelWidth()
}

// PackB stores op(B), a k×n matrix (B with row stride ldb, transposed
// when transB is set), in dst in the layout SgemmPackedB and
// SgemmWindowA take, dst holding PackedLen(k, n) elements. Weights
// multiplied many times are packed once that way.
func (g Blocked) PackB(transB bool, k, n int, b []float32, ldb int, dst []float32) {
	p := gemmArgs{transB: transB, k: k, n: n, b: b, ldb: ldb}
	kern := g.kernel()
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if n == 0 || k == 0 {
		return
	}
	if ldb < bc || len(b) < (br-1)*ldb+bc || len(dst) < g.PackedLen(k, n) {
		panic(fmt.Sprintf("linalg: PackB of a %d×%d B with ldb=%d from %d into %d elements", k, n, ldb, len(b), len(dst)))
	}
	kern.packB(dst, &p, 0, k, 0, n)
}

// run computes the product p describes.
func (g Blocked) run(p gemmArgs) {
	kern := g.kernel()
	p.serial = g.serial
	p.check(kern.nr)
	m, n, k := p.m, p.n, p.k
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || p.alpha == 0 {
		scaleC(m, n, p.beta, p.c, p.ldc)
		if p.fused {
			p.epi.applyC(m, n, p.c, p.ldc)
		}
		return
	}
	laidOut := p.packedB || p.window.Off != nil // B (or A) is not a matrix as stored
	if !laidOut && isVector(m, n) {
		kern.gemv(p)
		return
	}
	if r := n % kern.nr; !laidOut && !p.transA && p.transB && !p.transC && n > kern.nr && r > 0 && r <= edgeDots {
		// The last columns as dot products, the rest by blocks.
		main := p
		main.n = n - r
		g.run(main)
		kern.edgeColumns(&p, n-r)
		return
	}
	if !laidOut {
		kern = kern.plainKernel(&p)
	}
	if !laidOut && kern.swapPays(m, n, k) {
		p = p.transposed()
		m, n = n, m
	}
	p.narrowB = !laidOut
	mTiles := (m + kern.mr - 1) / kern.mr
	nTiles := (n + kern.nr - 1) / kern.nr
	workers := parallel.Threads()
	if p.serial || 2*float64(m)*float64(n)*float64(k) < float64(minParallelFlops()) {
		workers = 1
	}
	if workers <= 1 {
		kern.compute(&p, 0, m, 0, n)
		return
	}
	// The workers share a copy of p, so that p itself stays on the stack
	// on the single-worker path.
	t := blockTasks.Get()
	*t = blockTask{kern: kern, p: p, byRows: kern.splitRows(&p, mTiles, nTiles, workers)}
	t.tiles, t.unit = nTiles, kern.nr
	if t.byRows {
		t.tiles, t.unit = mTiles, kern.mr
	}
	t.deal(workers, kern.leastChunk(&p, t.byRows, workers))
	forChunks(t.count(), workers, t)
	blockTasks.Put(t)
}

// blockTask computes run's chunks of C: the tiles along the split
// dimension (rows when byRows is set, else columns) dealt out in
// batches of one chunk per worker, each chunk of a batch a share of
// the tiles left, smaller batch by batch (the factoring of Hummel,
// Schonberg and Flynn, 1992): a batch of workers chunks of
// ceil(left/(2·workers)) tiles while those hold at least least tiles,
// then the tiles left evenly in one chunk per worker. Workers take the
// chunks in turn as they finish one, so that a worker that starts late
// or is held up (a goroutine woken on a core that is asleep or busy:
// tens to hundreds of microseconds on the virtual machines measured)
// leaves its share to the others, and the last chunks, which decide
// how far apart the workers finish, are small, while the first are
// large and few. least 0 asks for one chunk per worker, the tiles
// dealt evenly.
type blockTask struct {
	kern           *kernel
	p              gemmArgs
	byRows         bool
	tiles, unit    int
	workers, least int
}

var blockTasks parallel.Tasks[blockTask]

func (t *blockTask) runChunk(c int) {
	lo, hi := t.span(c)
	if t.byRows {
		t.kern.compute(&t.p, lo, min(hi, t.p.m), 0, t.p.n)
	} else {
		t.kern.compute(&t.p, 0, t.p.m, lo, min(hi, t.p.n))
	}
}

// deal sets t up for workers, with chunks of at least least tiles
// (see leastChunk) in the first batch and at least least/tailShrink in
// the last, or one chunk per worker when least is 0 or the first
// batch's chunks would be thinner.
func (t *blockTask) deal(workers, least int) {
	t.workers, t.least = workers, 0
	if least > 0 && t.tiles >= 2*workers*least {
		t.least = max(1, least/tailShrink)
	}
}

// span returns the rows or columns [lo, hi) of chunk c, hi possibly
// past the edge of C; lo is -1 past the last chunk.
func (t *blockTask) span(c int) (lo, hi int) {
	at, left := 0, t.tiles
	for t.least > 0 && left >= 2*t.workers*t.least {
		size := (left + 2*t.workers - 1) / (2 * t.workers)
		if c < t.workers {
			return (at + c*size) * t.unit, (at + (c+1)*size) * t.unit
		}
		c -= t.workers
		at += t.workers * size
		left -= t.workers * size
	}
	// The last batch: the tiles left evenly, in at most one chunk per
	// worker.
	last := min(t.workers, left)
	if c >= last {
		return -1, -1
	}
	return (at + c*left/last) * t.unit, (at + (c+1)*left/last) * t.unit
}

// count returns the number of chunks.
func (t *blockTask) count() int {
	c := 0
	for lo, _ := t.span(c); lo >= 0; lo, _ = t.span(c) {
		c++
	}
	return c
}

// chunkRunner computes the chunks of a product that forChunks hands out.
type chunkRunner interface {
	runChunk(c int)
}

// forChunks calls r.runChunk(c) for every chunk c in [0, chunks), on up
// to workers parallel goroutines that each take the next chunk when they
// finish one.
func forChunks(chunks, workers int, r chunkRunner) {
	t := chunkLoops.Get()
	t.chunks, t.r = chunks, r
	parallel.Run(min(workers, chunks), 1, t)
	chunkLoops.Put(t)
}

// chunkLoop is the loop of forChunks' workers; next is the next chunk
// to take, updated atomically.
type chunkLoop struct {
	next   int64
	chunks int
	r      chunkRunner
}

var chunkLoops parallel.Tasks[chunkLoop]

func (t *chunkLoop) Range(_, _ int) {
	for {
		c := int(atomic.AddInt64(&t.next, 1) - 1)
		if c >= t.chunks {
			return
		}
		t.r.runChunk(c)
	}
}

// chunksPerWorker is the most chunks per worker that gemv and
// SgemvPackedVecB hand out. Workers take the next chunk as they finish
// one, so that a worker that starts late (a goroutine woken on a core
// that was asleep or busy: tens of microseconds, a good part of a
// product such as 64x4096x17) leaves its share to the others instead
// of holding up the call.
const chunksPerWorker = 4

// tailShrink is how much thinner than leastChunk the last chunks of a
// split may be: the first batch of chunks (see blockTask) holds at
// least leastChunk tiles each, the last ones at least a quarter of
// that, whose fixed cost (reading or packing the other operand again)
// only the last few chunks pay. Workers that do not start together
// then finish within one of those of each other: a worker that starts
// L late costs L/2 rather than L. Modelled for AlexNet's conv1
// (96×3025×363 in 95 panels of 32 columns, least 4; 21.3 µs a panel
// and 3 µs a chunk on one thread, measured), with the second worker
// starting 50, 100 or 200 µs late: eight equal chunks of 11-12 panels
// take 1085, 1135 and 1235 µs, chunks of 24, 24, 12, 12, 6, 6, 5, 6
// (least 4 down to the end) 1085, 1135 and 1166 µs, chunks of 24,
// 24, 12, 12, 6, 6, 3, 3, 2, 2, 1 (down to 1) 1062, 1084 and 1132 µs,
// and with no lag 1035, 1035 and 1041 µs. One thread computing C in
// those chunks one after another took 2117, 2099 and 2114 µs (best of
// 150 calls), against 2094 in one piece.
const tailShrink = 4

// leastChunk returns the fewest tiles of a chunk of C that run hands
// out (see blockTask), splitting its tiles along rows of C when byRows
// is set, else along columns; 0 for one chunk per worker. Each chunk
// reads all of the operand along the other dimension again, from L3 or
// memory, and packs it again unless it is read in place or came
// packed; a chunk of c columns with A in place reads m·k values of A
// for m·c·k multiply-adds, about 2/c of its time on Zen 4 (32 bytes a
// cycle from L3 against 16 multiply-adds). So chunks hold at least 128
// columns (minPackedRun when they pack a B as stored, unless
// thinChunksPay), or 96 rows, or an mc block of rows when each chunk
// packs B again; when even the first batch's chunks would be thinner,
// each worker gets one, as a static split would give it. Columns of a
// shallow product whose C stays in cache are split one chunk per
// worker (see shallowInCache).
func (kern *kernel) leastChunk(p *gemmArgs, byRows bool, workers int) int {
	switch {
	case !byRows && shallowInCache(p, workers):
		return 0
	case byRows && !p.packedB && !kern.slidesIn(p):
		return max(1, kern.mc/kern.mr)
	case byRows:
		return max(1, 96/kern.mr)
	case kern.packsRowsOfB(p) && !thinChunksPay(p):
		return max(1, minPackedRun/kern.nr)
	}
	return max(1, 128/kern.nr)
}

// l2Bytes is the size of the L2 cache of one core of the CPUs this is
// tuned for (Zen 4: 1 MiB).
const l2Bytes = 1 << 20

// shallowInCache reports whether p multiplies matrices as stored with
// k at most shallowK and a C that fits the L2 caches of the workers:
// each chunk's time then goes mostly into writing its part of C. Such
// products are split into one chunk per worker. AlexNet's fc8 input
// gradient (64×4096×17, C 1 MiB) took 1.5-2% less time on one core in
// 2 chunks of 2048 columns than in 8 of 512 (five loaded runs of
// 10,000 calls, best of each), and on two threads its best calls in 61
// alternated runs on a loaded machine reached 96-142 GFLOP/s against
// 71-107 (the best twelve runs of each; OpenBLAS 117 at best).
func shallowInCache(p *gemmArgs, workers int) bool {
	return p.k <= shallowK && !p.packedB && p.window.Off == nil && 4*p.m*p.n <= workers*l2Bytes
}

// minPackedRun is the fewest columns of a chunk of C that packs a B as
// stored from its rows, when k is deeper than shallowK, unless the
// operands are small (thinChunksPay): packing reads runs of B's rows as
// wide as the chunk, from memory when B is large, and narrow runs cost.
// With the AVX-512 kernel on one thread, fc7's input gradient
// (64×4096×4096) ran at 0.77 of OpenBLAS in blocks of 512 columns, 0.91
// of 2048 and 1.07 of 4096 (whole rows, read as one stream); the AVX2
// kernel at 0.88 in blocks of 512 and 0.96-0.97 in blocks of 1024 or
// more. Chunks that read A (in place) again took more CPU time too:
// conv2 (256×676×2400, A 2.4 MB) 7-10% more on two threads in chunks of
// 160-192 columns than in one chunk per worker.
const minPackedRun = 2048

// packsRowsOfB reports whether the product of p packs op(B) from the
// rows of a B as stored, deeper than shallowK.
func (kern *kernel) packsRowsOfB(p *gemmArgs) bool {
	return !p.transB && !p.packedB && p.window.Off == nil && p.k > shallowK
}

// Sizes in bytes below which thinChunksPay takes an operand to stay in
// cache: B in L3 (half of the 32 MiB of a Zen 4 CCD, which other data
// and other work share), A in L2 (half of Zen 4's 1 MiB, beside the
// packed blocks of B).
const (
	cachedB = 16 << 20
	cachedA = 512 << 10
)

// thinChunksPay reports whether chunks of columns of C as thin as any
// other product's pay where packsRowsOfB would keep them minPackedRun
// wide: when B is read from L3 (packing narrow runs of it costs nothing
// that shows) and A stays in L2 (reading it again for every chunk
// neither). AlexNet's conv1 (96×3025×363: B 4.4 MB, A 139 KB) ran at
// 0.73-0.76 of OpenBLAS on two threads in one chunk of 1536 columns
// per worker (a worker that starts late holds up the call by as much);
// in 2×4 chunks of 384 columns it took 5-11% less CPU time, and at
// best 1.06-1.09 of OpenBLAS's speed against 0.73-1.02 in the same
// loaded run (best of 20 calls each, alternated with OpenBLAS's).
func thinChunksPay(p *gemmArgs) bool {
	return 4*float64(p.k)*float64(p.n) <= cachedB && 4*float64(p.m)*float64(p.k) <= cachedA
}

// readsAInPlace reports whether the kernel reads the full panels of A in
// place rather than packing them.
func (kern *kernel) readsAInPlace(p *gemmArgs) bool {
	switch {
	case p.packedA:
		return false
	case p.windowA:
		return kern.gather != nil
	}
	return !p.transA && kern.runRows != nil && !crowdsL1Set(p.lda, kern.mr)
}

// The L1 data cache of the CPUs this is tuned for (Zen 4, and most x86
// cores since): 64-byte lines in 64 sets of 8 ways, so that addresses
// 4 KiB apart share a set.
const (
	l1Sets = 64
	l1Ways = 8
)

// crowdsL1Set reports whether rows of a row-major A with row stride lda
// elements, read mr at a time in place, put more lines into one set of
// the L1 cache than it has ways, so that they evict each other between
// steps of k. That happens when the stride is a multiple of 4 KiB, or
// nearly: the 12-row AVX-512 kernel, reading a 64×4096 A in place, ran
// at 0.88 of OpenBLAS's GFLOP/s on one thread, and at 1.08 with A packed.
func crowdsL1Set(lda, mr int) bool {
	var perSet [l1Sets]int
	for i := range mr {
		set := i * lda * 4 / 64 % l1Sets // of the line row i starts in
		if perSet[set]++; perSet[set] > l1Ways {
			return true
		}
	}
	return false
}

// packCost is the cost of packing one element of an operand, in
// multiply-adds of the micro-kernels: AlexNet's conv1 weight gradient
// (96x363x3025, B transposed) spent 7% of its time packing B, 1.1 M
// elements against 105 M multiply-adds.
const packCost = 8

// splitRows reports whether to split C by rows rather than by columns
// between workers. Each worker packs all of the operand along the
// dimension not split (unless it is read in place or came packed), so
// the split with the least work for the busiest worker is taken, its
// share of the products (the rows or columns it computes as the tiles
// are dealt out) plus its packing; within 3%, the longer dimension, or
// the rows when k is at most shallowK: then the time goes into reading
// and writing C, whose rows each worker then streams whole (AlexNet's
// fc7 weight gradient, 4096×4096 with k = 64 and beta = 1, ran 5-7%
// faster on two threads so than in chunks of 512 columns).
func (kern *kernel) splitRows(p *gemmArgs, mTiles, nTiles, workers int) bool {
	share := func(extent, tiles, size int) float64 {
		w := min(workers, tiles)
		chunk := (tiles + w - 1) / w
		return float64(min(chunk*size, extent)) / float64(extent)
	}
	rows, cols := share(p.m, mTiles, kern.mr), share(p.n, nTiles, kern.nr)
	m, n, k := float64(p.m), float64(p.n), float64(p.k)
	rowWork, colWork := rows*m*n*k, cols*m*n*k
	if !p.packedB && !kern.slidesIn(p) {
		rowWork += packCost * n * k
		colWork += cols * packCost * n * k
	}
	if !p.packedA && !kern.readsAInPlace(p) {
		rowWork += rows * packCost * m * k
		colWork += packCost * m * k
	}
	switch {
	case rowWork < 0.97*colWork:
		return true
	case colWork < 0.97*rowWork:
		return false
	}
	return p.m > p.n || p.k <= shallowK
}

// check panics when the arguments cannot describe the matrices: these are
// preconditions on the caller, and the assembly kernels rely on them. nr
// is the panel width of a packed B.
func (p *gemmArgs) check(nr int) {
	if p.m < 0 || p.n < 0 || p.k < 0 {
		panic(fmt.Sprintf("linalg: negative dimension m=%d n=%d k=%d", p.m, p.n, p.k))
	}
	need := func(name string, s []float32, rows, cols, ld int) {
		if rows == 0 || cols == 0 {
			return
		}
		if ld < cols {
			panic(fmt.Sprintf("linalg: ld%s=%d < %d", name, ld, cols))
		}
		if len(s) < (rows-1)*ld+cols {
			panic(fmt.Sprintf("linalg: len(%s)=%d < %d", name, len(s), (rows-1)*ld+cols))
		}
	}
	ar, ac := p.m, p.k
	if p.transA {
		ar, ac = ac, ar
	}
	br, bc := p.k, p.n
	if p.transB {
		br, bc = bc, br
	}
	switch {
	case p.windowA:
		p.window.checkA(p.m, p.k)
	case p.packedA:
		// Checked by PackA and Rows.
	default:
		need("a", p.a, ar, ac, p.lda)
	}
	switch {
	case p.packedB:
		if n := roundUp(p.n, nr) * p.k; len(p.b) < n {
			panic(fmt.Sprintf("linalg: len(b)=%d < %d for a packed %d×%d B", len(p.b), n, p.k, p.n))
		}
	case p.windowT:
		p.window.checkT(p.k, p.n)
	case p.window.Off != nil && !p.windowA:
		p.window.check(p.k, p.n, nr)
	default:
		need("b", p.b, br, bc, p.ldb)
	}
	need("c", p.c, p.m, p.n, p.ldc)
}

// check panics unless w can be the window of a k×n B, read in panels of
// nr columns.
func (w *Window) check(k, n, nr int) {
	if w.Step > 1 {
		panic(fmt.Sprintf("linalg: window of B with a step of %d", w.Step))
	}
	if w.RowLen != 0 && (w.RowLen%nr != 0 || w.RowStride < w.RowLen) {
		panic(fmt.Sprintf("linalg: window rows of %d columns %d apart, not a multiple of the panel width %d within their stride",
			w.RowLen, w.RowStride, nr))
	}
	span := 0
	if n > 0 {
		span = w.at((n-1)/nr*nr) + nr // the rows grow, so the last panel reaches farthest
	}
	w.checkOffsets(k, span)
}

// checkT panics unless w can be the window of the transpose of a k×n B.
func (w *Window) checkT(k, n int) {
	if w.Step > 1 {
		panic(fmt.Sprintf("linalg: window of B^T with a step of %d", w.Step))
	}
	if w.RowLen != 0 && w.RowStride < w.RowLen {
		panic(fmt.Sprintf("linalg: window rows of %d columns %d apart", w.RowLen, w.RowStride))
	}
	span := 0
	if k > 0 {
		span = w.at(k-1) + 1
	}
	w.checkOffsets(n, span)
}

// checkA panics unless w can be the window of the transpose of an m×k A.
func (w *Window) checkA(m, k int) {
	if w.RowLen != 0 && w.RowStride <= (w.RowLen-1)*max(w.Step, 1) {
		panic(fmt.Sprintf("linalg: window rows of %d columns %d apart reach past the next row, %d on", w.RowLen, max(w.Step, 1), w.RowStride))
	}
	span := 0
	if m > 0 {
		span = w.at(m-1) + 1 // at grows with i
	}
	w.checkOffsets(k, span)
}

// checkOffsets panics unless w has count offsets, each with span elements
// of X from it (none to check when span is 0).
func (w *Window) checkOffsets(count, span int) {
	if len(w.Off) < count {
		panic(fmt.Sprintf("linalg: window of %d offsets, %d needed", len(w.Off), count))
	}
	if span == 0 {
		return
	}
	for q, o := range w.Off[:count] {
		if o < 0 || int(o)+span > len(w.X) {
			panic(fmt.Sprintf("linalg: window offset %d = %d: reaches %d, past len(X) = %d", q, o, int(o)+span, len(w.X)))
		}
	}
}

// scaleC sets C = beta*C, or C = 0 when beta is 0 (ignoring NaN in C).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// compute runs the blocked algorithm on rows [i0, i1) and columns
// [j0, j1) of C; i0 and j0 are multiples of mr and nr.
func (kern *kernel) compute(p *gemmArgs, i0, i1, j0, j1 int) {
	maxKC := kern.kc
	if p.windowA {
		// A gathered through a window is reread for every panel of B:
		// deeper blocks save a pass over C (AlexNet's conv1, k = 363 in
		// one block rather than two, ran 6-7% faster in alternated runs).
		maxKC = windowAKCBlocks * kern.kc
	}
	packsB := min(max(kern.nc, kern.ncT), roundUp(j1-j0, kern.nr)) // the columns of B packed at a time
	if p.packedB || kern.slidesIn(p) {
		packsB = 0 // B is read as given
	}
	ws := kern.takeWorkspace(min(kern.mc, roundUp(i1-i0, kern.mr)), min(maxKC, p.k), packsB)
	defer kern.giveWorkspace(ws)
	inPlaceA := kern.readsAInPlace(p)
	nc := kern.nc
	if p.transB {
		nc = kern.ncT
	}
	nc = evenBlock(j1-j0, nc, kern.nr)
	mc := evenBlock(i1-i0, kern.mc, kern.mr)
	kc := evenBlock(p.k, maxKC, kern.unroll)
	for jc := j0; jc < j1; jc += nc {
		nb := min(nc, j1-jc)
		for pc := 0; pc < p.k; pc += kc {
			kb := min(kc, p.k-pc)
			if !p.packedB && !kern.slidesIn(p) {
				kern.packB(ws.b, p, pc, kb, jc, nb)
			}
			// The first k block applies beta; later ones add to C.
			beta, useBeta := p.beta, p.beta != 0
			if pc > 0 {
				beta, useBeta = 1, true
			}
			for ic := i0; ic < i1; ic += mc {
				mb := min(mc, i1-ic)
				switch {
				case p.packedA:
					// Packed in advance.
				case inPlaceA && p.windowA:
					// A short last panel repeats its last row.
				case inPlaceA:
					// Only a last panel shorter than mr is packed.
					full := mb / kern.mr * kern.mr
					kern.packA(ws.a[full*kb:], p, ic+full, mb-full, pc, kb)
				default:
					kern.packA(ws.a, p, ic, mb, pc, kb)
				}
				kern.macro(ws, p, inPlaceA, ic, mb, jc, nb, pc, kb, beta, useBeta)
			}
		}
	}
}

// windowAKCBlocks is how many of a kernel's kc a block of k holds at
// most when A is gathered through a window (see compute): with 6×32
// tiles two panels of B of kc 1024 are 256 KiB, which stream from L2 as
// the panels of kc 256 already did. Against 1.5 kc, 4 kc took 0.94-0.98
// of the CPU time of the strided window's 3x3 convolutions at batch 1
// on one thread (weights from memory, best of 5 interleaved rounds on a
// loaded machine, BenchmarkConvZooKxK): SqueezeNet's 48->192@13 (k 432
// in one block rather than two) and 64->256@13 (576), GoogLeNet's
// 96->208@14 (864) and 144->288@14 (1296 in two blocks rather than
// four), ResNet-18's 512->512@7 (4608 in five rather than twelve);
// 2.25 and 3 kc did as well or in between. AlexNet's conv1 and conv2 at
// batch 32, forward and backward, did not change beyond the noise.
const windowAKCBlocks = 4

// macro multiplies the mb×kb block of op(A) at (ic, pc), packed in ws.a
// or in advance (p.pa), or read in place, by the packed kb×nb block of B
// (in ws.b, or in p.b when B came packed) into C at (ic, jc).
// Full tiles go straight to C. Edge tiles are computed on a copy of the
// part of C they cover, in ws.tile, and copied back, so that they are
// scaled and merged with C as whole tiles are (with the same roundings);
// so is every tile of a transposed C, on a transposed copy.
func (kern *kernel) macro(ws *workspace, p *gemmArgs, inPlaceA bool, ic, mb, jc, nb, pc, kb int, beta float32, useBeta bool) {
	b := block{ws: ws, p: p, inPlaceA: inPlaceA, ic: ic, mb: mb, jc: jc, nb: nb, pc: pc, kb: kb, beta: beta, useBeta: useBeta}
	if kb <= shallowK {
		// Along the rows of C: see shallowK.
		for ir := 0; ir < mb; ir += kern.mr {
			for jr := 0; jr < nb; jr += kern.nr {
				if kern.gathersPair(&b, jr) {
					kern.tilePair(&b, ws, ir, jr, kern.mr)
					jr += kern.nr
					continue
				}
				kern.tile(&b, ws, ir, jr)
			}
		}
		return
	}
	for jr := 0; jr < nb; jr += kern.nr {
		if !kern.gathersPair(&b, jr) {
			for ir := 0; ir < mb; ir += kern.mr {
				kern.tile(&b, ws, ir, jr)
			}
			continue
		}
		rows := kern.pairRows(mb)
		for ir := 0; ir < mb; ir += rows {
			kern.tilePair(&b, ws, ir, jr, rows)
		}
		jr += kern.nr
	}
}

// pairRows7 is the height of gatherPair7's tiles.
const pairRows7 = 7

// pairRows returns the rows of the tiles in which tilePair computes mb
// rows: kern.mr, or pairRows7 where its tiles compute fewer rows past mb
// (the 49 positions of a 7x7 plane take 7 tiles of 7 rather than 9 of 6,
// whose last computes 1 row at the cost of 6: ResNet-18's 3x3 512->512
// at 7x7 at batch 1, one thread, CPU time, 3 interleaved rounds on a
// loaded machine, took 2.87-3.01 against 3.22-3.52 ms, its 3x3 256->512
// of stride 2 1.40-1.54 against 1.59-1.64 ms).
func (kern *kernel) pairRows(mb int) int {
	if kern.gatherPair7 != nil && roundUp(mb, pairRows7) < roundUp(mb, kern.mr) {
		return pairRows7
	}
	return kern.mr
}

// gathersPair reports whether the tiles of block b at column jr are
// computed two panels of B at a time by gatherPair: A gathered through
// a window (whose loads of A it halves per multiply-add: the AVX-512
// level's 6×32 tiles against the AVX2 6×16 ones), into C as stored, and
// two whole panels left in the block.
func (kern *kernel) gathersPair(b *block, jr int) bool {
	return kern.gatherPair != nil && b.inPlaceA && b.p.windowA && !b.p.transC && jr+2*kern.nr <= b.nb
}

// tilePair computes the mr rows of the tile of C at (b.ic+ir, b.jc+jr)
// and of the one at its right with gatherPair (mr kern.mr) or
// gatherPair7 (mr pairRows7); a tile short of mr rows repeats its last
// row of A, as tile does, on a copy of the part of C it covers.
func (kern *kernel) tilePair(b *block, ws *workspace, ir, jr, mr int) {
	nr := kern.nr
	run, next := kern.gatherPair, kern.gatherPairNext
	if mr == pairRows7 {
		run, next = kern.gatherPair7, kern.gatherPair7Next
	}
	if ir == 0 && next != nil {
		// The first tile of the pair fetches the next pair's rows of
		// this block of k into L2 while the pair's other tiles compute
		// from theirs (weights prepared once and read from memory:
		// MobileNet V2's 1x1 convolutions on 7x7 planes, whose B is
		// read once per seven tiles).
		run = next
	}
	p, kb, pc, ic, jc := b.p, b.kb, b.pc, b.ic, b.jc
	at := (jc+jr)*p.k + pc*nr // panel (jc+jr)/nr, row pc
	panel := nr * p.k         // and the next panel's row pc
	rows := min(mr, b.mb-ir)
	for i := range mr {
		ws.rows[i] = int32(p.window.at(ic + ir + min(i, rows-1)))
	}
	dst, ldd := p.c[(ic+ir)*p.ldc+jc+jr:], p.ldc
	edge := rows < mr
	if edge {
		dst, ldd = ws.tile, 2*nr
		if b.useBeta {
			for i := 0; i < rows; i++ {
				copy(ws.tile[i*ldd:][:ldd], p.c[(ic+ir+i)*p.ldc+jc+jr:])
			}
		}
	}
	var e *tileEpilogue
	if p.fused && pc+kb == p.k {
		p.epi.forTile(&ws.epi, ic+ir, rows, mr)
		e = &ws.epi
	}
	run(kb, p.window.X, ws.rows[:mr], p.window.Off[pc:pc+kb], p.b[at:at+panel+kb*nr], panel, dst, ldd, p.alpha, b.beta, b.useBeta, e)
	if edge {
		for i := 0; i < rows; i++ {
			copy(p.c[(ic+ir+i)*p.ldc+jc+jr:][:ldd], ws.tile[i*ldd:][:ldd])
		}
	}
}

// shallowK is the deepest block of k for which macro computes the tiles
// of C along its rows rather than down its columns. Down the columns,
// the panel of B stays in L1 and the panels of A stream from L2; but
// each tile of a shallow block computes too little to hide the loads of
// its part of C, which then come from memory (AlexNet's fc7 weight
// gradient: 4096×4096 with k = 64 and beta = 1). Along the rows, each
// row of C is read in order, which the hardware prefetchers follow,
// while the B panels stream from L2 instead.
const shallowK = 128

// block is one call of macro: the mb×kb block of op(A) at (ic, pc) times
// the kb×nb block of B at (pc, jc), added to C as beta says.
type block struct {
	ws                     *workspace
	p                      *gemmArgs
	inPlaceA               bool
	ic, mb, jc, nb, pc, kb int
	beta                   float32
	useBeta                bool
}

// tile computes the tile of C at (b.ic+ir, b.jc+jr) for macro.
func (kern *kernel) tile(b *block, ws *workspace, ir, jr int) {
	mr, nr := kern.mr, kern.nr
	p, kb, pc := b.p, b.kb, b.pc
	ic, jc, beta, useBeta := b.ic, b.jc, b.beta, b.useBeta
	cols := min(nr, b.nb-jr)
	width := kern.panelWidth(p, cols)
	var bp []float32 // the panel of B
	if p.packedB {
		at := (jc+jr)*p.k + pc*nr // panel (jc+jr)/nr, row pc
		bp = p.b[at : at+kb*nr]
	} else if !kern.slidesIn(p) {
		bp = ws.b[jr*kb : jr*kb+width*kb]
	}
	ap := ws.a[ir*kb : (ir+mr)*kb] // the packed panel of A
	if p.packedA {
		ap = p.pa.panel(ic+ir, pc, kb)
	}
	var window []int32 // the offsets of a B read in place through a window
	if kern.slidesIn(p) {
		bp, window = p.window.X[p.window.at(jc+jr):], p.window.Off[pc:pc+kb]
	}
	rows := min(mr, b.mb-ir)
	dst, ldd, alpha, bet, useBet := ws.tile, nr, p.alpha, beta, useBeta
	edge := rows < mr || cols < nr || p.transC
	switch {
	case p.transC:
		// The kernel scales and merges as for a whole tile of C as
		// it is, on a transposed copy of the part of C^T that the
		// tile covers, so that the results are bitwise those of C.
		if useBeta {
			for i := 0; i < rows; i++ {
				t := ws.tile[i*nr : i*nr+cols]
				for j := range t {
					t[j] = p.c[(jc+jr+j)*p.ldc+ic+ir+i]
				}
			}
		}
	case !edge:
		dst, ldd = p.c[(ic+ir)*p.ldc+jc+jr:], p.ldc
	default:
		// The kernel scales and merges as for a whole tile, on a
		// copy of the part of C that the tile covers.
		dst, ldd = ws.tile, nr
		if useBeta {
			for i := 0; i < rows; i++ {
				copy(ws.tile[i*nr:i*nr+cols], p.c[(ic+ir+i)*p.ldc+jc+jr:])
			}
		}
	}
	// The epilogue, in the kernel, on the last block of k (in ws, which
	// tile takes apart from b so that only ws, not b's contents, flows
	// to the kernel through e).
	var e *tileEpilogue
	if p.fused && pc+kb == p.k {
		p.epi.forTile(&ws.epi, ic+ir, rows, mr)
		e = &ws.epi
	}
	switch inRows := b.inPlaceA && rows == mr; {
	case b.inPlaceA && p.windowA:
		for i := range mr {
			ws.rows[i] = int32(p.window.at(ic + ir + min(i, rows-1)))
		}
		kern.gather(kb, p.window.X, ws.rows[:mr], p.window.Off[pc:pc+kb], bp, dst, ldd, alpha, bet, useBet, e)
	case window != nil && inRows:
		kern.slideRows(kb, p.a[(ic+ir)*p.lda+pc:], p.lda, bp, window, dst, ldd, alpha, bet, useBet, e)
	case window != nil:
		kern.slide(kb, ap, bp, window, dst, ldd, alpha, bet, useBet, e)
	case inRows && width < nr:
		kern.runRows8(kb, p.a[(ic+ir)*p.lda+pc:], p.lda, bp, dst, ldd, alpha, bet, useBet, e)
	case inRows:
		kern.runRows(kb, p.a[(ic+ir)*p.lda+pc:], p.lda, bp, dst, ldd, alpha, bet, useBet, e)
	case width < nr:
		kern.run8(kb, ap, bp, dst, ldd, alpha, bet, useBet, e)
	default:
		kern.run(kb, ap, bp, dst, ldd, alpha, bet, useBet, e)
	}
	if !edge {
		return
	}
	for i := 0; i < rows; i++ {
		t := ws.tile[i*nr : i*nr+cols]
		if !p.transC {
			copy(p.c[(ic+ir+i)*p.ldc+jc+jr:][:cols], t)
			continue
		}
		for j, v := range t {
			p.c[(jc+jr+j)*p.ldc+ic+ir+i] = v
		}
	}
}

// takeWorkspace takes a free workspace, or makes one, and makes sure it
// holds blocks of at most mb×kb of A and kb×nb of B.
func (kern *kernel) takeWorkspace(mb, kb, nb int) *workspace {
	var ws *workspace
	kern.mu.Lock()
	if n := len(kern.free); n > 0 {
		ws = kern.free[n-1]
		kern.free = kern.free[:n-1]
	}
	kern.mu.Unlock()
	if ws == nil {
		rows := max(kern.mr, pairRows7) // of tile or tilePair
		// A worker writes its workspace (the rows of a tile, its
		// epilogue, an edge tile) at every tile: it lies alone on its
		// cache lines, as the other workers' do.
		ws = &new(arena.LineAlone[workspace]).V
		ws.tile, ws.rows = arena.Alone[float32](2*rows*kern.nr), arena.Alone[int32](rows)
	}
	a, owner := parallel.Scratch()
	if a == nil {
		a = arena.Shared
	}
	ws.arena = a
	ws.a = a.Float32(roundUp(mb, kern.mr)*kb, owner)
	ws.b = a.Float32(roundUp(nb, kern.nr)*kb, owner)
	ws.a, ws.b = ws.a[:cap(ws.a)], ws.b[:cap(ws.b)]
	return ws
}

// giveWorkspace returns ws's pack buffers to their arena and ws to the
// free list.
func (kern *kernel) giveWorkspace(ws *workspace) {
	ws.arena.Give(ws.a)
	ws.arena.Give(ws.b)
	ws.a, ws.b, ws.arena = nil, nil, nil
	kern.mu.Lock()
	kern.free = append(kern.free, ws)
	kern.mu.Unlock()
}

func roundUp(x, to int) int { return (x + to - 1) / to * to }

// evenBlock returns the block size that covers extent in as few blocks of
// at most max as possible, with the blocks as equal as multiples of unit
// allow: 4096 columns in blocks of at most 4080 become two of 2048
// rather than 4080 and 16.
func evenBlock(extent, max, unit int) int {
	if extent <= max {
		return extent
	}
	blocks := (extent + max - 1) / max
	return min(max, roundUp((extent+blocks-1)/blocks, unit))
}

// packA copies rows [ic, ic+mb) and columns [pc, pc+kb) of op(A) into dst
// as mr-row panels, each stored column by column (mr values per step of
// k), zero-padding the last panel to mr rows.
func (kern *kernel) packA(dst []float32, p *gemmArgs, ic, mb, pc, kb int) {
	a, lda, mr := p.a, p.lda, kern.mr
	for ir := 0; ir < mb; ir += mr {
		panel := dst[ir*kb : (ir+mr)*kb]
		rows := min(mr, mb-ir)
		switch {
		case p.windowA:
			w := &p.window
			for i := 0; i < rows; i++ {
				src := w.X[w.at(ic+ir+i):]
				for q, o := range w.Off[pc : pc+kb] {
					panel[q*mr+i] = src[o]
				}
			}
		case p.transA && rows == mr && kern.copyA != nil:
			// op(A)[i][q] = a[q*lda+i]: each step of k is a run of mr.
			kern.copyA(kb, a[pc*lda+ic+ir:], lda, panel, mr)
		case p.transA:
			for q := 0; q < kb; q++ {
				src := a[(pc+q)*lda+ic+ir:]
				d := panel[q*mr : q*mr+rows]
				for i := range d {
					d[i] = src[i]
				}
			}
		default:
			for i := 0; i < rows; i++ {
				src := a[(ic+ir+i)*lda+pc:]
				src = src[:kb]
				for q, v := range src {
					panel[q*mr+i] = v
				}
			}
		}
		if rows < mr {
			for q := 0; q < kb; q++ {
				clear(panel[q*mr+rows : (q+1)*mr])
			}
		}
	}
}

// slidesIn reports whether the kernel reads B in place through the window
// of p rather than from packed panels.
func (kern *kernel) slidesIn(p *gemmArgs) bool {
	return p.window.Off != nil && !p.windowT && !p.windowA && kern.slide != nil
}

// packWindowT is packB for a B whose transpose is read through a window:
// column j of B runs along X from Off[j], in rows of RowLen.
func (kern *kernel) packWindowT(dst []float32, w *Window, pc, kb, jc, nb int) {
	nr := kern.nr
	for jr := 0; jr < nb; jr += nr {
		panel := dst[jr*kb : (jr+nr)*kb]
		cols := min(nr, nb-jr)
		// Runs of q within one row of the window are contiguous in X.
		for q0 := 0; q0 < kb; {
			at := w.at(pc + q0)
			run := kb - q0
			if w.RowLen != 0 {
				run = min(run, w.RowLen-(pc+q0)%w.RowLen)
			}
			dealColumns(panel[q0*nr:], nr, 0, cols, func(j int) []float32 { return w.X[int(w.Off[jc+jr+j])+at:][:run] })
			q0 += run
		}
		clearColumns(panel, nr, kb, cols)
	}
}

// packWindow is packB for a B read through a window.
func (kern *kernel) packWindow(dst []float32, w *Window, pc, kb, jc, nb int) {
	nr := kern.nr
	for jr := 0; jr < nb; jr += nr {
		panel := dst[jr*kb : (jr+nr)*kb]
		cols := min(nr, nb-jr)
		at := w.at(jc + jr)
		for q := 0; q < kb; q++ {
			d := panel[q*nr : (q+1)*nr]
			clear(d[copy(d[:cols], w.X[int(w.Off[pc+q])+at:]):])
		}
	}
}

// packB copies rows [pc, pc+kb) and columns [jc, jc+nb) of op(B) into dst
// as nr-column panels, each stored row by row (nr values per step of k),
// zero-padding the last panel to nr columns.
func (kern *kernel) packB(dst []float32, p *gemmArgs, pc, kb, jc, nb int) {
	switch {
	case p.windowT:
		kern.packWindowT(dst, &p.window, pc, kb, jc, nb)
		return
	case p.window.Off != nil:
		kern.packWindow(dst, &p.window, pc, kb, jc, nb)
		return
	}
	b, ldb, nr := p.b, p.ldb, kern.nr
	full := nb / nr * nr // columns in full panels
	if !p.transB {
		// Read op(B) row by row, so that the reads stream, and deal each
		// row out to the panels.
		for q := 0; q < kb; q++ {
			row := b[(pc+q)*ldb+jc:]
			row = row[:nb]
			if kern.copyB != nil && full > 0 {
				kern.copyB(full/nr, row, nr, dst[q*nr:], kb*nr)
			} else {
				for jr := 0; jr < full; jr += nr {
					d := dst[jr*kb+q*nr : jr*kb+q*nr+nr]
					for j := range d {
						d[j] = row[jr+j]
					}
				}
			}
			if full < nb {
				w := kern.panelWidth(p, nb-full)
				d := dst[full*kb+q*w : full*kb+q*w+w]
				clear(d[copy(d, row[full:]):])
			}
		}
		return
	}
	for jr := 0; jr < nb; jr += nr {
		cols := min(nr, nb-jr)
		w := kern.panelWidth(p, cols)
		panel := dst[jr*kb : jr*kb+w*kb]
		// op(B)[q][j] = b[j*ldb+q]: each column is a contiguous run.
		j := 0
		if kern.transpose16 != nil && cols == nr && nr%16 == 0 {
			for ; j < nr; j += 16 {
				base := (jc+jr+j)*ldb + pc
				done := kern.transpose16(kb, b[base:], ldb, panel[j:], nr)
				for q := done; q < kb; q++ {
					d := panel[q*nr+j : q*nr+j+16]
					for i := range d {
						d[i] = b[base+i*ldb+q]
					}
				}
			}
		}
		dealColumns(panel, w, j, cols, func(j int) []float32 { return b[(jc+jr+j)*ldb+pc:][:kb] })
		clearColumns(panel, w, kb, cols)
	}
}

// dealColumns stores columns [j0, cols) of a panel of nr columns, column
// j from col(j), one value per row; four columns go together, so that
// every store pass over the panel writes four adjacent values.
func dealColumns(panel []float32, nr, j0, cols int, col func(j int) []float32) {
	j := j0
	for ; j+4 <= cols; j += 4 {
		s0 := col(j)
		s1, s2, s3 := col(j + 1)[:len(s0)], col(j + 2)[:len(s0)], col(j + 3)[:len(s0)]
		for q := range s0 {
			d := panel[q*nr+j : q*nr+j+4]
			d[0], d[1], d[2], d[3] = s0[q], s1[q], s2[q], s3[q]
		}
	}
	for ; j < cols; j++ {
		for q, v := range col(j) {
			panel[q*nr+j] = v
		}
	}
}

// clearColumns zeroes columns [cols, nr) of the first rows of a panel of
// nr columns: those beyond the matrix in its last panel.
func clearColumns(panel []float32, nr, rows, cols int) {
	if cols == nr {
		return
	}
	for q := 0; q < rows; q++ {
		clear(panel[q*nr+cols : (q+1)*nr])
	}
}
