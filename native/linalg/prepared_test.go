package linalg_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/native/linalg"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/simd"
)

// vecPacking is a Gemm for an untransposed A: it packs op(B) with
// PackVecB and multiplies with SgemmPackedVecB.
type vecPacking struct{ g linalg.Blocked }

func (vp vecPacking) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	if transA {
		panic("vecPacking: transposed A")
	}
	packed := make([]float32, linalg.VecPackedLen(k, n))
	vp.g.PackVecB(transB, k, n, b, ldb, packed)
	vp.g.SgemmPackedVecB(m, n, k, alpha, a, lda, packed, beta, c, ldc)
}

// rowByRow is a Gemm for an untransposed A that multiplies each row of
// A on its own by op(B) as stored (a transposed copy of a transposed
// B): the products SgemmPackedVecB must match bitwise.
type rowByRow struct{ g linalg.Blocked }

func (rr rowByRow) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	if transA {
		panic("rowByRow: transposed A")
	}
	if transB {
		bt := make([]float32, k*n)
		for j := range n {
			for q := range k {
				bt[q*n+j] = b[j*ldb+q]
			}
		}
		b, ldb = bt, n
	}
	for i := range m {
		rr.g.Sgemm(false, false, 1, n, k, alpha, a[i*lda:], lda, b, ldb, beta, c[i*ldc:], ldc)
	}
}

// TestPreparedWeights runs the shared suite's cases with an untransposed
// A that BlocksB says Sgemm multiplies by blocks through PackB and
// SgemmPackedB, bitwise against Sgemm, and those of up to 4 rows
// through PackVecB and SgemmPackedVecB, bitwise against Sgemm row by
// row; both against the float64 reference, for every kernel.
// Then a few larger shapes with 1 and 2 workers.
func TestPreparedWeights(t *testing.T) {
	suite := newGemmSuite(23)
	defer parallel.SetThreads(parallel.Threads())
	// Every kernel at its level and those no level prefers; not the
	// stand-ins (the kernels' blocking around a Go micro-kernel), which
	// take minutes.
	check := func(t *testing.T, g linalg.Blocked) {
		// bitwise runs tc through prepared and want on the same
		// operands and compares every element of C.
		bitwise := func(t *testing.T, prepared, want linalg.Gemm, tc gemmCase, seed uint64) {
			t.Helper()
			a, lda, b, ldb, c, ldc := tc.operands(rand.New(rand.NewPCG(seed, 1)))
			w := slices.Clone(c)
			want.Sgemm(false, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, w, ldc)
			prepared.Sgemm(false, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
			for i := range c {
				if math.Float32bits(c[i]) != math.Float32bits(w[i]) && !(c[i] != c[i] && w[i] != w[i]) {
					t.Fatalf("%v: C[%d] = %g prepared, %g unprepared", tc, i, c[i], w[i])
				}
			}
		}
		var blocked, rows int
		for i, tc := range suite.cases {
			if tc.transA {
				continue
			}
			if g.BlocksB(tc.transB, tc.m, tc.n, tc.k) {
				suite.check(t, packing{g}, i)
				bitwise(t, packing{g}, g, tc, uint64(i))
				blocked++
			}
			if tc.m <= 4 && tc.n > 0 {
				suite.check(t, vecPacking{g}, i)
				bitwise(t, vecPacking{g}, rowByRow{g}, tc, uint64(i))
				rows++
			}
		}
		if blocked == 0 || rows == 0 {
			t.Fatalf("%d cases multiplied by blocks and %d by rows: the suite lost its shapes", blocked, rows)
		}
		// Rows spread over workers, blocked products computed as C^T by
		// Sgemm, and edge columns that are not.
		for _, threads := range []int{1, 2} {
			parallel.SetThreads(threads)
			for _, tc := range []gemmCase{
				{m: 1, n: 1000, k: 1100, alpha: 1, beta: 1},
				{transB: true, m: 3, n: 1000, k: 576, alpha: 0.5, padA: 2, padC: 1},
				{transB: true, m: 1, n: 33, k: 4100, alpha: 1, padB: 3},
			} {
				bitwise(t, vecPacking{g}, rowByRow{g}, tc, uint64(tc.n))
			}
			for _, tc := range []gemmCase{
				{m: 7, n: 1000, k: 512, alpha: 1, beta: 1},
				{transB: true, m: 128, n: 1024, k: 256, alpha: 1},
				{m: 64, n: 17, k: 300, alpha: 1},
				{transB: true, m: 40, n: 34, k: 700, alpha: 1},
			} {
				if g.BlocksB(tc.transB, tc.m, tc.n, tc.k) {
					bitwise(t, packing{g}, g, tc, uint64(tc.n))
				}
			}
		}
	}
	forEachLevel(t, check)
	for _, g := range unpreferred() {
		t.Run(g.Name(), func(t *testing.T) { check(t, g) })
	}
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

// coldCopies returns copies of prepared weights of size elements, packed
// by pack, that together overflow the L3 cache (32 MB here), for a
// benchmark to take in turn: the weights then come from memory, as in a
// network, where the other layers' weights and activations evict them
// between runs.
func coldCopies(size int, pack func(dst []float32)) [][]float32 {
	copies := make([][]float32, max(1, (64<<20)/(4*size)))
	for i := range copies {
		copies[i] = make([]float32, size)
		pack(copies[i])
	}
	return copies
}

// BenchmarkSgemmPackedVecB times the one-row products of classifier
// layers with prepared weights (batch 1) and reports the weights' read
// bandwidth.
func BenchmarkSgemmPackedVecB(b *testing.B) {
	for _, sh := range []struct {
		name    string
		m, n, k int
	}{
		{"mobilenet_v2_fc", 1, 1000, 1280},
		{"mobilenet_v3_fc", 1, 1000, 1024},
		{"mobilenet_v3_fc1", 1, 1024, 576},
		{"shufflenet_fc", 1, 1000, 1024},
		{"squeeze_excite", 1, 64, 16},
	} {
		rng := rand.New(rand.NewPCG(3, 4))
		g := linalg.Fast()
		a, w := randomSlice(rng, sh.m*sh.k), randomSlice(rng, sh.k*sh.n)
		size := linalg.VecPackedLen(sh.k, sh.n)
		copies := coldCopies(size, func(dst []float32) { g.PackVecB(false, sh.k, sh.n, w, sh.n, dst) })
		c := make([]float32, sh.m*sh.n)
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s_%dx%dx%d/threads%d", sh.name, sh.m, sh.n, sh.k, threads), func(b *testing.B) {
				defer parallel.SetThreads(parallel.Threads())
				parallel.SetThreads(threads)
				b.SetBytes(int64(4 * size))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					g.SgemmPackedVecB(sh.m, sh.n, sh.k, 1, a, sh.k, copies[i%len(copies)], 0, c, sh.n)
					i++
				}
			})
		}
	}
}

// BenchmarkSgemmPreparedB times the products of the transformers' layers
// by their prepared weights at batch 1 (ViT-B/16's 197 tokens, the
// BERT-like encoder's 128), through PreparedBGemm's kernel as
// kernels.PreparedB multiplies them, on one thread, and reports GFLOP/s
// (2mnk per call). Copies of the weights that together overflow L3 are
// taken in turn, as a model's weights come from memory.
func BenchmarkSgemmPreparedB(b *testing.B) {
	defer parallel.SetThreads(parallel.Threads())
	parallel.SetThreads(1)
	for _, sh := range []struct {
		name    string
		m, n, k int
	}{
		{"vit_attn_out", 197, 768, 768},
		{"vit_qkv", 197, 2304, 768},
		{"vit_mlp_up", 197, 3072, 768},
		{"vit_mlp_down", 197, 768, 3072},
		{"text_proj", 128, 256, 256},
		{"text_mlp_up", 128, 1024, 256},
		{"text_mlp_down", 128, 256, 1024},
	} {
		rng := rand.New(rand.NewPCG(5, 6))
		g := linalg.Fast().PreparedBGemm(sh.n)
		a, w := randomSlice(rng, sh.m*sh.k), randomSlice(rng, sh.k*sh.n)
		size := g.PackedLen(sh.k, sh.n)
		copies := coldCopies(size, func(dst []float32) { g.PackB(false, sh.k, sh.n, w, sh.n, dst) })
		c := make([]float32, sh.m*sh.n)
		b.Run(fmt.Sprintf("%s_%dx%dx%d/%s", sh.name, sh.m, sh.n, sh.k, g.Name()), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				g.SgemmPackedB(sh.m, sh.n, sh.k, 1, a, sh.k, copies[i%len(copies)], 0, c, sh.n)
				i++
			}
			b.ReportMetric(2*float64(sh.m*sh.n*sh.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// TestSgemmPackedAB multiplies an A packed by PackA by a B packed by
// PackB, with 1 and 2 workers, and requires bitwise the results of
// SgemmPackedB with A as stored, for the whole of A and for its rows
// from a multiple of TileRows() on (PackedA.Rows); and
// the float64 product within a tolerance. The shapes have edge panels
// of rows, several blocks of k, rows 4 KiB apart (k = 1024), and are
// large enough for the product to be split between workers.
func TestSgemmPackedAB(t *testing.T) {
	defer parallel.SetThreads(parallel.Threads())
	shapes := []struct {
		m, n, k     int
		alpha, beta float32
	}{
		{128, 196, 1024, 1, 0},
		{37, 45, 600, 0.5, 2},
		{256, 784, 512, 1, 1},
		{13, 70, 16, 1, 0},
	}
	// Every kernel at its level and those no level prefers; the
	// stand-ins multiply packed As in TestEpilogue, on smaller shapes.
	check := func(t *testing.T, g linalg.Blocked) {
		rng := rand.New(rand.NewPCG(29, 30))
		for _, sh := range shapes {
			m, n, k := sh.m, sh.n, sh.k
			tc := gemmCase{m: m, n: n, k: k, alpha: sh.alpha, beta: sh.beta}
			a, b, c0 := randomSlice(rng, m*k), randomSlice(rng, k*n), randomSlice(rng, m*n)
			packedB := make([]float32, g.PackedLen(k, n))
			g.PackB(false, k, n, b, n, packedB)
			packedA := g.PackA(m, k, a, k)
			want := slices.Clone(c0)
			g.SgemmPackedB(m, n, k, sh.alpha, a, k, packedB, sh.beta, want, n)
			ref, mag := tc.reference(a, k, b, n, c0, n)
			for i, v := range want {
				if tol := gemmTolerance(k, mag[i]); math.Abs(float64(v)-ref[i]) > tol {
					t.Fatalf("%v: C[%d] = %g, float64 reference %g (tolerance %g)", tc, i, v, ref[i], tol)
				}
			}
			r := g.TileRows()
			i0 := min(m/r/2*r, m) // the rows from i0 on, from their part of the packed A
			for _, threads := range []int{1, 2} {
				parallel.SetThreads(threads)
				got, tail := slices.Clone(c0), slices.Clone(c0)
				g.SgemmPackedAB(n, sh.alpha, packedA, packedB, sh.beta, got, n, nil)
				g.SgemmPackedAB(n, sh.alpha, packedA.Rows(i0, m), packedB, sh.beta, tail[i0*n:], n, nil)
				copy(tail[:i0*n], got)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) || math.Float32bits(tail[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%v, %d threads: C[%d] = %g packed A, %g from row %d on, %g A as stored", tc, threads, i, got[i], tail[i], i0, want[i])
					}
				}
			}
		}
	}
	forEachLevel(t, check)
	for _, g := range unpreferred() {
		t.Run(g.Name(), func(t *testing.T) { check(t, g) })
	}
}

// preparedPacking is a Gemm for an untransposed A: it packs op(B) with
// PackB of the Blocked that g.PreparedBGemm names for its width, and
// multiplies with that Blocked's SgemmPackedB, as kernels.PreparedB
// does.
type preparedPacking struct{ g linalg.Blocked }

func (pp preparedPacking) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	if transA {
		panic("preparedPacking: transposed A")
	}
	pg := pp.g.PreparedBGemm(n)
	packed := make([]float32, pg.PackedLen(k, n))
	pg.PackB(transB, k, n, b, ldb, packed)
	pg.SgemmPackedB(m, n, k, alpha, a, lda, packed, beta, c, ldc)
}

// TestPreparedBGemm checks at every CPU level that the products by a B
// packed for PreparedBGemm's kernel agree with float64 on the shared
// suite's cases with an untransposed A, and bitwise with Sgemm wherever
// Sgemm multiplies by blocks (BlocksB), on shapes of the transformers'
// layers and widths that panels of 32 cover as well as panels of 16 or
// not; and that the AVX-512 level takes its 6×32 kernel exactly for
// those widths.
func TestPreparedBGemm(t *testing.T) {
	suite := newGemmSuite(13)
	forEachLevel(t, func(t *testing.T, g linalg.Blocked) {
		for _, c := range []struct {
			n    int
			wide bool // whether the AVX-512 level takes the 6×32 kernel
		}{{256, true}, {1000, true}, {17, true}, {72, false}, {300, false}, {40, false}} {
			pg := g.PreparedBGemm(c.n)
			want := g
			if c.wide && simd.Current() == simd.AVX512 {
				want = linalg.Blocked{}
				if pg.Name() != "avx512-6x32" {
					t.Errorf("n = %d: PreparedBGemm is %s, want avx512-6x32", c.n, pg.Name())
				}
			}
			if want == g && pg != g {
				t.Errorf("n = %d: PreparedBGemm is %s, want %s", c.n, pg.Name(), g.Name())
			}
		}
		for i, tc := range suite.cases {
			if !tc.transA {
				suite.check(t, preparedPacking{g}, i)
			}
		}
		rng := rand.New(rand.NewPCG(13, 14))
		for _, tc := range []gemmCase{
			{m: 128, n: 1024, k: 256, alpha: 1},
			{m: 128, n: 256, k: 1024, alpha: 1, beta: 1},
			{m: 197, n: 768, k: 300, alpha: 1},
			{m: 250, n: 96, k: 520, alpha: 1, beta: 0.5}, // two blocks of rows of 6×32 tiles
			{m: 13, n: 1000, k: 70, alpha: 0.5, beta: 2},
			{m: 5, n: 256, k: 600, alpha: 1},
			{m: 37, n: 64, k: 600, alpha: 1, transB: true},
			{m: 50, n: 300, k: 64, alpha: 1, transB: true},
		} {
			if !g.BlocksB(tc.transB, tc.m, tc.n, tc.k) {
				t.Fatalf("%v: not multiplied by blocks", tc)
			}
			a, lda, b, ldb, c, ldc := tc.operands(rng)
			want := slices.Clone(c)
			g.Sgemm(false, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, want, ldc)
			preparedPacking{g}.Sgemm(false, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
			for i := range c {
				if math.Float32bits(c[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%v: C[%d] = %g prepared, %g from Sgemm", tc, i, c[i], want[i])
				}
			}
		}
	})
}

// TestOneRowProductsThreadIndependence multiplies one to three rows by
// PackVecB's panels (SgemmPackedVecB) and one row by B as stored
// (Sgemm's vector product), B transposed or not, with the grain lowered
// so that even small products are dealt in many chunks: 1, 2 and 3
// threads must give the same bits, and each element must be within
// gemmTolerance of the float64 product, for every kernel, at widths
// around the panels' and odd depths.
func TestOneRowProductsThreadIndependence(t *testing.T) {
	defer parallel.SetThreads(parallel.Threads())
	defer parallel.SetGrain(parallel.SetGrain(1 << 12))
	check := func(t *testing.T, g linalg.Blocked) {
		for _, transB := range []bool{false, true} {
			for _, k := range []int{1, 7, 33, 576, 1025} {
				for _, n := range []int{31, 33, 100, 1000} {
					for m := 1; m <= 3; m++ {
						tc := gemmCase{transB: transB, m: m, n: n, k: k, padA: 1, padB: 2, padC: 3, alpha: 0.75, beta: 0.5}
						var first [2][]float32
						for _, threads := range []int{1, 2, 3} {
							parallel.SetThreads(threads)
							for path, gemm := range []linalg.Gemm{vecPacking{g}, g} {
								if path == 1 && m > 1 {
									continue // Sgemm's vector product takes one row
								}
								a, lda, b, ldb, c, ldc := tc.operands(rand.New(rand.NewPCG(uint64(k), uint64(n))))
								want, mag := tc.reference(a, lda, b, ldb, c, ldc)
								gemm.Sgemm(false, transB, m, n, k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
								for i := range m {
									for j := range n {
										got := c[i*ldc+j]
										if d := math.Abs(float64(got) - want[i*n+j]); d > gemmTolerance(k, mag[i*n+j]) {
											t.Fatalf("%s %v path %d, %d threads: C[%d][%d] = %g, want %g", g.Name(), tc, path, threads, i, j, got, want[i*n+j])
										}
									}
								}
								if first[path] == nil {
									first[path] = c
									continue
								}
								for i := range c {
									if math.Float32bits(c[i]) != math.Float32bits(first[path][i]) {
										t.Fatalf("%s %v path %d: %d threads give C[%d] = %g, 1 thread %g", g.Name(), tc, path, threads, i, c[i], first[path][i])
									}
								}
							}
						}
					}
				}
			}
		}
	}
	forEachLevel(t, check)
	for _, g := range unpreferred() {
		t.Run(g.Name(), func(t *testing.T) { check(t, g) })
	}
}
