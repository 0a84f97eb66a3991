package linalg_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/native/linalg"
	"github.com/onnxkit/onnxkit/native/parallel"
)

// vecPacking is a Gemm for products of one row by an untransposed A: it
// packs op(B) with PackVecB and multiplies with SgemvPackedB.
type vecPacking struct{ g linalg.Blocked }

func (vp vecPacking) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	if transA || m != 1 {
		panic("vecPacking: not one row of an untransposed A")
	}
	packed := make([]float32, linalg.VecPackedLen(k, n))
	linalg.PackVecB(transB, k, n, b, ldb, packed)
	vp.g.SgemvPackedB(n, k, alpha, a, packed, beta, c)
}

// TestPreparedWeights runs the shared suite's cases with an untransposed
// A that BlocksB says Sgemm multiplies by blocks through PackB and
// SgemmPackedB, and those of one row through PackVecB and SgemvPackedB,
// against the float64 reference and bitwise against Sgemm, for every
// Blocked kernel; then a few larger shapes with 1 and 2 workers.
func TestPreparedWeights(t *testing.T) {
	suite := newGemmSuite(23)
	defer parallel.SetThreads(parallel.Threads())
	forEachBlocked(t, func(t *testing.T, g linalg.Blocked) {
		// bitwise runs tc through prepared and through g.Sgemm on the
		// same operands and compares every element of C. SgemvPackedB
		// sums as Sgemm does with op(B) as stored, so with vecPacking
		// Sgemm multiplies by a transposed copy of a transposed B.
		bitwise := func(t *testing.T, prepared linalg.Gemm, tc gemmCase, seed uint64) {
			t.Helper()
			a, lda, b, ldb, c, ldc := tc.operands(rand.New(rand.NewPCG(seed, 1)))
			want := slices.Clone(c)
			if _, ok := prepared.(vecPacking); ok && tc.transB {
				bt := make([]float32, tc.k*tc.n)
				for j := range tc.n {
					for q := range tc.k {
						bt[q*tc.n+j] = b[j*ldb+q]
					}
				}
				g.Sgemm(false, false, tc.m, tc.n, tc.k, tc.alpha, a, lda, bt, tc.n, tc.beta, want, ldc)
			} else {
				g.Sgemm(false, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, want, ldc)
			}
			prepared.Sgemm(false, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
			for i := range c {
				if math.Float32bits(c[i]) != math.Float32bits(want[i]) && !(c[i] != c[i] && want[i] != want[i]) {
					t.Fatalf("%v: C[%d] = %g prepared, %g from Sgemm", tc, i, c[i], want[i])
				}
			}
		}
		var blocked, rows int
		for i, tc := range suite.cases {
			switch {
			case tc.transA:
			case g.BlocksB(tc.transB, tc.m, tc.n, tc.k):
				suite.check(t, packing{g}, i)
				bitwise(t, packing{g}, tc, uint64(i))
				blocked++
			case tc.m == 1 && tc.n > 0:
				suite.check(t, vecPacking{g}, i)
				bitwise(t, vecPacking{g}, tc, uint64(i))
				rows++
			}
		}
		if blocked == 0 || rows == 0 {
			t.Fatalf("%d cases multiplied by blocks and %d of one row: the suite lost its shapes", blocked, rows)
		}
		// Products of one row spread over workers, blocked products
		// computed as C^T by Sgemm, and edge columns that are not.
		for _, threads := range []int{1, 2} {
			parallel.SetThreads(threads)
			for _, tc := range []gemmCase{
				{m: 1, n: 1000, k: 1100, alpha: 1, beta: 1},
				{transB: true, m: 1, n: 1000, k: 576, alpha: 0.5},
				{transB: true, m: 1, n: 33, k: 4100, alpha: 1, padB: 3},
			} {
				bitwise(t, vecPacking{g}, tc, uint64(tc.n))
			}
			for _, tc := range []gemmCase{
				{m: 3, n: 1000, k: 512, alpha: 1, beta: 1},
				{transB: true, m: 128, n: 1024, k: 256, alpha: 1},
				{m: 64, n: 17, k: 300, alpha: 1},
				{transB: true, m: 40, n: 34, k: 700, alpha: 1},
			} {
				if g.BlocksB(tc.transB, tc.m, tc.n, tc.k) {
					bitwise(t, packing{g}, tc, uint64(tc.n))
				}
			}
		}
	})
}

// TestBlocksBLeavesOutOtherPaths checks the shapes BlocksB must refuse:
// one row or one column, and (B transposed) a column or two past whole
// panels, which Sgemm computes as dot products.
func TestBlocksBLeavesOutOtherPaths(t *testing.T) {
	forEachLevel(t, func(t *testing.T, g linalg.Blocked) {
		w := g.PanelWidth()
		for _, c := range []struct {
			transB  bool
			m, n, k int
			want    bool
		}{
			{false, 1, 1000, 512, false},
			{true, 64, 1, 512, false},
			{true, 64, 2*w + 1, 300, false},
			{false, 64, 2*w + 1, 300, true},
			{true, 64, 2 * w, 300, true},
			{true, 64, w - 1, 300, true},
			{true, 8, 1000, 576, 1000%w == 0 || 1000%w > 2},
		} {
			if got := g.BlocksB(c.transB, c.m, c.n, c.k); got != c.want {
				t.Errorf("BlocksB(transB=%v, %d, %d, %d) = %v, want %v", c.transB, c.m, c.n, c.k, got, c.want)
			}
		}
	})
}
