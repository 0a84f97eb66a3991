package linalg

import (
	"fmt"

	"github.com/onnxkit/onnxkit/native/parallel"
)

// Weights multiplied by many left operands (a layer's B, constant
// across runs) are packed once by their callers, in one of two layouts:
// PackB's panels for the blocked products (see BlocksB), and PackVecB's
// for products with a few rows, each row as Sgemm multiplies one (see
// SgemmPackedVecB). Each gives bitwise the results of the Sgemm it
// stands for on B as stored, without its packing or its strided reads.

// BlocksB reports whether Sgemm computes the m×n×k product of an A as
// stored (not transposed) and B (transposed when transB) with the blocked
// algorithm, packing B into panels: then SgemmPackedB on PackB's panels
// of B gives bitwise its results. Products with one row or one column
// (gemv), those whose last columns are dot products (edgeColumns) and
// those computed as C^T (swapPays, whose tiles merge with C otherwise)
// are not computed that way.
func (g Blocked) BlocksB(transB bool, m, n, k int) bool {
	kern := g.kernel()
	if m == 0 || n == 0 || k == 0 || isVector(m, n) || kern.swapPays(m, n, k) {
		return false
	}
	r := n % kern.nr
	return !transB || n <= kern.nr || r == 0 || r > edgeDots
}

// PreparedBGemm returns the Blocked whose PackB and SgemmPackedB
// multiply by a B of n columns packed once for many products (a layer's
// weights): g, unless g multiplies packed panels of 16 columns with the
// 6×16 AVX2 kernel and has a 6×32 AVX-512 kernel for its products as
// stored (the AVX-512 level's), whose panels of 32 columns cover n as
// well (within minWideCover); then that kernel. The AVX-512 level keeps
// the AVX2 layout for the B it packs on every call and for the windows
// of convolutions, but on one Zen 4 core (thread CPU time, 2-22 B's
// cycled so that they come from L3, as a model's weights do) the 6×32
// kernel on prepared panels ran at 103-113 GFLOP/s against 92-106 for
// the 6×16 one at the BERT-like encoder's 128×1024×256, 128×256×1024
// and 128×256×256, and at 100-116 against 93-105 at ViT-B/16's
// 197×3072×768, 197×768×3072 and 197×768×768 (1024×1024×256: 105-108
// against 102-107). Its tiles cover m as the 6×16 ones do. Every kernel
// sums each element of C alike, so the products are bitwise those of
// g's.
func (g Blocked) PreparedBGemm(n int) Blocked {
	kern := g.kernel()
	w := kern.shortWide
	if w == nil || w.nr <= kern.nr || float64(roundUp(n, kern.nr)) < minWideCover*float64(roundUp(n, w.nr)) {
		return g
	}
	return Blocked{kern: w, serial: g.serial}
}

// VecPanelWidth is the width of the panels of a B packed by PackVecB.
const VecPanelWidth = 32

// VecPackedLen returns the length of a k×n B packed by PackVecB.
func VecPackedLen(k, n int) int { return roundUp(n, VecPanelWidth) * k }

// PackVecB stores op(B), a k×n matrix (B with row stride ldb, transposed
// when transB is set), in dst in the layout SgemmPackedVecB takes:
// panels of VecPanelWidth columns, each k rows of VecPanelWidth values,
// element (q, j) at dst[(j/w)*w*k + q*w + j%w] for w = VecPanelWidth,
// the columns of the last panel beyond n zero. dst holds
// VecPackedLen(k, n) elements.
func (g Blocked) PackVecB(transB bool, k, n int, b []float32, ldb int, dst []float32) {
	const w = VecPanelWidth
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if n == 0 || k == 0 {
		return
	}
	if ldb < bc || len(b) < (br-1)*ldb+bc || len(dst) < VecPackedLen(k, n) {
		panic(fmt.Sprintf("linalg: PackVecB of a %d×%d B with ldb=%d from %d into %d elements", k, n, ldb, len(b), len(dst)))
	}
	kern := g.kernel()
	for j0 := 0; j0 < n; j0 += w {
		panel := dst[j0*k : (j0+w)*k]
		cols := min(w, n-j0)
		if !transB {
			for q := range k {
				copy(panel[q*w:q*w+cols], b[q*ldb+j0:][:cols])
			}
			clearColumns(panel, w, k, cols)
			continue
		}
		// op(B)[q][j] = b[j*ldb+q]: 16 columns at a time through the
		// kernel's transposition, as packB does, the rest one by one.
		j := 0
		if kern.transpose16 != nil {
			for ; j+16 <= cols; j += 16 {
				base := (j0 + j) * ldb
				done := kern.transpose16(k, b[base:], ldb, panel[j:], w)
				for q := done; q < k; q++ {
					for i := range 16 {
						panel[q*w+j+i] = b[base+i*ldb+q]
					}
				}
			}
		}
		dealColumns(panel, w, j, cols, func(j int) []float32 { return b[(j0+j)*ldb:][:k] })
		clearColumns(panel, w, k, cols)
	}
}

// SgemmPackedVecB computes C = alpha*A*B + beta*C for a row-major m×k
// A (row stride lda), C with row stride ldc and a k×n B packed by
// PackVecB: each row of C bitwise as Sgemm(false, false, 1, n, k, alpha,
// row, k, B, ldb, beta, row of C, n) computes it on B as stored, whose
// vector kernel sums each column in the same order; as there, when beta
// is 0 the old C is ignored. Each panel of B is multiplied by every row
// of A while it is in cache; the panels are spread over the workers as
// Sgemm spreads a row's columns. At one row these products wait on
// memory, not on the FMA units: on Zen 4 an AVX-512 kernel in
// SgemvPackedVecB's order ran no faster than the AVX2 one (process CPU
// time, 3.7 µs both at 144×576 from L2, 48 against 47 µs at 1024×1000
// from L3, 250 against 215 µs from memory), so they keep Sgemm's.
func (g Blocked) SgemmPackedVecB(m, n, k int, alpha float32, a []float32, lda int, b []float32,
	beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if lda < k || ldc < n || len(a) < (m-1)*lda+k || len(b) < VecPackedLen(k, n) || len(c) < (m-1)*ldc+n {
		panic(fmt.Sprintf("linalg: SgemmPackedVecB of %d×%d×%d with lda=%d, ldc=%d from A, B and C of %d, %d and %d elements",
			m, n, k, lda, ldc, len(a), len(b), len(c)))
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	t := vecPanelTask{kern: g.kernel(), m: m, k: k, n: n, a: a, lda: lda, b: b, c: c, ldc: ldc, alpha: alpha, beta: beta}
	panels := (n + VecPanelWidth - 1) / VecPanelWidth
	// A panel costs its flops or, with few rows, the reading of its
	// weights, which come from memory more often than not (a classifier's
	// weights are read once per run): streamBytesPerFlop bytes of them
	// weigh as a flop.
	per, workers := vecSplit(panels, max(2*m*VecPanelWidth*k, VecPanelWidth*k*4/streamBytesPerFlop))
	if g.serial || workers == 1 {
		t.per = panels
		t.runChunk(0)
		return
	}
	t.per = per
	shared := vecPanelTasks.Get()
	*shared = t
	forChunks((panels+t.per-1)/t.per, workers, shared)
	vecPanelTasks.Put(shared)
}

// vecPanelTask computes SgemmPackedVecB's chunks: panels [c*per,
// (c+1)*per) for chunk c.
type vecPanelTask struct {
	kern        *kernel
	m, k, n     int
	a, b, c     []float32
	lda, ldc    int
	alpha, beta float32
	per         int
}

var vecPanelTasks parallel.Tasks[vecPanelTask]

func (t *vecPanelTask) runChunk(c int) {
	const w = VecPanelWidth
	k := t.k
	for j0 := c * t.per * w; j0 < min((c+1)*t.per*w, t.n); j0 += w {
		panel := t.b[j0*k : (j0+w)*k]
		cols := min(w, t.n-j0)
		for i := range t.m {
			x := t.a[i*t.lda:][:k]
			out := vecOut{c: t.c[i*t.ldc:], stride: 1, alpha: t.alpha, beta: t.beta}
			if t.kern.axpy32 != nil {
				sums := t.kern.axpy32(x, panel, w)
				for j, s := range sums[:cols] {
					out.store(j0+j, s)
				}
				continue
			}
			// As axpyColumns sums without the kernel.
			for j := range cols {
				var s float32
				for q, v := range x {
					s += v * panel[q*w+j]
				}
				out.store(j0+j, s)
			}
		}
	}
}

// streamBytesPerFlop converts the bytes of weights a one-row product
// streams from memory into the flops its parallel split weighs them as:
// reading 5 MB of a classifier's weights from memory takes one core
// about as long as 4M flops of SGEMM, and a second core doubles the
// bandwidth the product gets.
const streamBytesPerFlop = 1

// PackedAGemm is an EpilogueGemm that also multiplies an A packed in
// advance: a layer's weights on the left of its products (a 1x1
// convolution's, [output channels, input channels]) are packed once,
// which spares each product reading them in place from rows far apart
// (rows 4 KiB apart share a set of L1) and packing the short last panel
// of rows again. Blocked implements it.
type PackedAGemm interface {
	EpilogueGemm
	// TileRows is the height of the row panels of a packed A.
	TileRows() int
	// PackA packs the row-major m×k A.
	PackA(m, k int, a []float32, lda int) PackedA
	// SgemmPackedAB computes C = alpha*A*B + beta*C, followed by e (nil:
	// none), with A and B packed.
	SgemmPackedAB(n int, alpha float32, a PackedA, b []float32, beta float32, c []float32, ldc int, e *Epilogue)
}

var _ PackedAGemm = Blocked{}

// PackedA is an m×k matrix packed by Blocked.PackA for the kernel of
// that Blocked (and its Wide and Serial forms alike), or some of its
// rows (see Rows). The layout is the one the products pack a block of A
// into: for each block of k in turn (the blocks the products take for
// this k), the panels of TileRows() rows, each stored column by column,
// the rows of the last panel beyond m zero.
type PackedA struct {
	data []float32
	m, k int
	// panels is the number of rows of all the panels of the packed
	// matrix, and row0 the first row of this view of it.
	panels, row0 int
	kern         *kernel
}

// Rows returns rows [i0, i1) of a, i0 a multiple of the panel height.
func (a PackedA) Rows(i0, i1 int) PackedA {
	if i0 < 0 || i1 < i0 || i1 > a.m || i0%a.kern.mr != 0 {
		panic(fmt.Sprintf("linalg: rows [%d, %d) of a packed A of %d rows in panels of %d", i0, i1, a.m, a.kern.mr))
	}
	a.row0 += i0
	a.m = i1 - i0
	return a
}

// PackA returns the row-major m×k matrix A (row stride lda) packed for
// SgemmPackedAB. Weights multiplied many times are packed once so.
func (g Blocked) PackA(m, k int, a []float32, lda int) PackedA {
	kern := g.kernel()
	if m < 0 || k < 0 || m > 0 && k > 0 && (lda < k || len(a) < (m-1)*lda+k) {
		panic(fmt.Sprintf("linalg: PackA of a %d×%d A with lda=%d from %d elements", m, k, lda, len(a)))
	}
	pa := PackedA{m: m, k: k, panels: roundUp(m, kern.mr), kern: kern}
	pa.data = make([]float32, pa.panels*k)
	p := gemmArgs{m: m, k: k, a: a, lda: lda}
	kc := evenBlock(k, kern.kc, kern.unroll) // as compute blocks k
	for pc := 0; pc < k; pc += kc {
		kb := min(kc, k-pc)
		kern.packA(pa.data[pc*pa.panels:], &p, 0, m, pc, kb)
	}
	return pa
}

// panel returns the packed kb×mr panel of rows [i, i+mr) and columns
// [pc, pc+kb) of a: i a multiple of mr from the view's first row, pc
// and kb a block of k.
func (a *PackedA) panel(i, pc, kb int) []float32 {
	at := pc*a.panels + (a.row0+i)*kb
	return a.data[at : at+kb*a.kern.mr]
}

// SgemmPackedAB computes C = alpha*A*B + beta*C for the m×k A packed by
// PackA (m and k are a's) and a k×n B packed by PackB, C with row stride
// ldc, followed by e as SgemmPackedBEpilogue applies it (e nil: none).
// A must have been packed by g's kernel. The results are bitwise those
// of SgemmPackedBEpilogue with A as stored: the kernels sum each element
// in the same order whether they read A packed or in place.
func (g Blocked) SgemmPackedAB(n int, alpha float32, a PackedA, b []float32, beta float32, c []float32, ldc int, e *Epilogue) {
	if a.kern != g.kernel() {
		panic(fmt.Sprintf("linalg: A packed for %s multiplied by %s", a.kern.name, g.kernel().name))
	}
	g.run(gemmArgs{m: a.m, n: n, k: a.k, alpha: alpha, beta: beta, b: b, c: c, ldc: ldc,
		packedA: true, pa: a, packedB: true, epi: e.clamps(a.m), fused: e != nil})
}
