package linalg

import "fmt"

// SgemvPackedVecB computes y = x·B for m rows of k values (x's rows ldx
// apart) and a k×n B packed by PackVecB: the product of a recurrent
// cell's step at a small batch (see VecPanelRows), where B stays in
// cache from one call to the next. It stores every column of B's panels, n rounded up
// to VecPanelWidth (the padding columns get 0), in each row of y, ldy
// apart, so ldy must be at least that. It runs on the calling
// goroutine.
//
// Each column is summed in an order fixed by k alone, whichever panel
// it falls in and whichever rows go with it, so that results do not
// depend on how callers split B's columns or x's rows; the order is not
// Sgemm's. At the AVX-512 level kernels sum the products of x[q] in four
// partial sums by q mod 4 (the last k mod 4 in the first), added as
// (s0 + s1) + (s2 + s3), one, two or three rows at a time: on Zen 4
// the one-row kernel read a B of 256×512 values from L2 at 111 GB/s,
// against 97 for SgemmPackedVecB's, and 96 against 82 at 256×1024; the
// three-row kernel, which reads each panel's row once for the three,
// reaches the FMA units' peak (105-112 GFLOP/s at 256×1024 and 256×128,
// 8 rows, against 41-67 for SgemmPackedB's tiles). Elsewhere each column
// is as SgemmPackedVecB sums it.
func (g Blocked) SgemvPackedVecB(m, n, k int, x []float32, ldx int, b []float32, y []float32, ldy int) {
	g.sgemvPackedVecB(false, m, n, k, x, ldx, b, y, ldy)
}

// SgemvPackedVecBBackward is SgemvPackedVecB, with the same results bit
// for bit, reading B's panels from the last to the first. A caller that
// multiplies by a B larger than the core's cache at every step of a
// sequence alternates the two, so that each product first reads the
// panels that the one before read last, still in cache: on Zen 4 (L2 of
// 1 MiB), a B of 256×1024 values (1 MiB) took 10.7-11.3 µs per product
// alternated, against 11.7-12.5 read forward every time.
func (g Blocked) SgemvPackedVecBBackward(m, n, k int, x []float32, ldx int, b []float32, y []float32, ldy int) {
	g.sgemvPackedVecB(true, m, n, k, x, ldx, b, y, ldy)
}

// sgemvPackedVecB is SgemvPackedVecB, reading the panels from the last
// if backward.
func (g Blocked) sgemvPackedVecB(backward bool, m, n, k int, x []float32, ldx int, b []float32, y []float32, ldy int) {
	panels := (n + VecPanelWidth - 1) / VecPanelWidth
	cols := panels * VecPanelWidth
	if m == 0 || panels == 0 {
		return
	}
	if ldx < k || ldy < cols || len(x) < (m-1)*ldx+k || len(b) < VecPackedLen(k, n) || len(y) < (m-1)*ldy+cols {
		panic(fmt.Sprintf("linalg: SgemvPackedVecB of %d×%d×%d with ldx=%d, ldy=%d from x, B and y of %d, %d and %d elements",
			m, n, k, ldx, ldy, len(x), len(b), len(y)))
	}
	if k == 0 {
		for i := range m {
			clear(y[i*ldy:][:cols])
		}
		return
	}
	if vecPanelsFast(g.kernel(), backward, m, k, panels, x, ldx, b, y, ldy) {
		return
	}
	if backward {
		for p := panels - 1; p >= 0; p-- {
			const w = VecPanelWidth
			g.Serial().SgemmPackedVecB(m, w, k, 1, x, ldx, b[p*w*k:], 0, y[p*w:], ldy)
		}
		return
	}
	g.Serial().SgemmPackedVecB(m, cols, k, 1, x, ldx, b, 0, y, ldy)
}

// VecPanelRows returns the most rows of x for which SgemvPackedVecB, on
// B packed by PackVecB, is at g's level at least as fast as SgemmPackedB
// on B packed by PackB, or 0 where SgemvPackedVecB has no kernels of its
// own. Up to it, a caller that multiplies the same B many times (a
// recurrent cell's steps) packs it once, for SgemvPackedVecB alone.
func (g Blocked) VecPanelRows() int {
	if vecPanelsVectorised(g.kernel()) {
		return vecPanelMaxRows
	}
	return 0
}

// vecPanelMaxRows is VecPanelRows where SgemvPackedVecB has kernels: on
// Zen 4, 105-112 GFLOP/s against SgemmPackedB's 41-98 from 1 to 12 rows
// (BenchmarkSgemvPackedVecB).
const vecPanelMaxRows = 12
