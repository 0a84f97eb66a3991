package linalg

import "fmt"

// SgemvPackedVecB computes y = x·B for a row x of k values and a k×n B
// packed by PackVecB, the product of a recurrent cell's step at a batch
// of one, where B stays in cache from one call to the next. It stores
// y[j] for every column j of B's panels, n rounded up to VecPanelWidth
// (the padding columns get 0), so y holds at least that many values.
// It runs on the calling goroutine.
//
// Each column is summed in an order fixed by k alone, whichever panel
// it falls in, so that results do not depend on how callers split B's
// columns; the order is not Sgemm's. At the AVX-512 level a kernel sums
// the products of x[q] in four partial sums by q mod 4 (the last k mod
// 4 in the first), added as (s0 + s1) + (s2 + s3): on Zen 4 it read a B
// of 256×512 values from L2 at 111 GB/s, against 97 for
// SgemmPackedVecB's kernel, and 96 against 82 at 256×1024. Elsewhere
// each column is as SgemmPackedVecB sums it.
func (g Blocked) SgemvPackedVecB(n, k int, x, b, y []float32) {
	panels := (n + VecPanelWidth - 1) / VecPanelWidth
	if len(x) < k || len(b) < VecPackedLen(k, n) || len(y) < panels*VecPanelWidth {
		panic(fmt.Sprintf("linalg: SgemvPackedVecB of %d×%d from x, B and y of %d, %d and %d elements",
			k, n, len(x), len(b), len(y)))
	}
	if panels == 0 {
		return
	}
	if k == 0 {
		clear(y[:panels*VecPanelWidth])
		return
	}
	if vecPanelsFast(g.kernel(), k, panels, x, b, y) {
		return
	}
	g.Serial().SgemmPackedVecB(1, panels*VecPanelWidth, k, 1, x, k, b, 0, y, panels*VecPanelWidth)
}
