package linalg_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/linalg"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/simd"
)

// namedGemm is one implementation under test.
type namedGemm struct {
	name string
	g    linalg.Gemm
}

// extraGemms holds implementations added by build-tagged test files
// (OpenBLAS with -tags openblas).
var extraGemms []namedGemm

// openblasName names the OpenBLAS implementation in tests and benchmarks.
const openblasName = "openblas"

// implementations returns every Gemm this build and CPU can run for the
// benchmarks: the reference, each Blocked kernel the CPU level in use
// allows (forced explicitly, whatever the default is) and the extras.
func implementations() []namedGemm {
	gs := []namedGemm{{"naive", linalg.Naive{}}}
	for _, b := range linalg.Available() {
		gs = append(gs, namedGemm{b.Name(), b})
	}
	return append(gs, extraGemms...)
}

// testedImplementations lists, for TestGemm, the reference, the
// stand-ins that run the blocking and packing of every amd64 kernel
// around a Go micro-kernel (see linalg.StandIns) and the extras; the
// kernels themselves run at their levels.
func testedImplementations() []namedGemm {
	gs := append([]namedGemm{{"naive", linalg.Naive{}}}, extraGemms...)
	for _, b := range unpreferred() {
		gs = append(gs, namedGemm{b.Name(), b})
	}
	for _, b := range linalg.StandIns {
		gs = append(gs, namedGemm{b.Name(), b})
	}
	return gs
}

// unpreferred returns the kernels of the levels this CPU has that no
// level's Fast uses (the AVX-512 one on amd64), which the tests run on
// their own.
func unpreferred() []linalg.Blocked {
	fast := map[string]bool{}
	for _, l := range simd.Levels() {
		restore, err := simd.Force(l)
		if err != nil {
			panic(err)
		}
		fast[linalg.Fast().Name()] = true
		restore()
	}
	var gs []linalg.Blocked
	for _, b := range linalg.Available() {
		if !fast[b.Name()] {
			gs = append(gs, b)
		}
	}
	return gs
}

// float32Unit is the unit roundoff of float32, 2^-24.
const float32Unit = 1.0 / (1 << 24)

// gemmTolerance bounds |computed - exact| for one element of
// alpha*op(A)*op(B) + beta*C in float32 arithmetic, whatever the order of
// summation: the classical bound gamma_n = n*u/(1-n*u) on a dot product
// of length n, with n = k+3 to cover the rounding of the products by
// alpha and beta and the final addition, times the magnitude sum
// |alpha|*sum|a||b| + |beta|*|c|.
func gemmTolerance(k int, magnitude float64) float64 {
	n := float64(k + 3)
	return n * float32Unit / (1 - n*float32Unit) * magnitude
}

// gemmCase is one call: shapes, transposes, strides (with extra padding
// beyond the minimum) and scalars.
type gemmCase struct {
	transA, transB bool
	m, n, k        int
	padA, padB     int
	padC           int
	alpha, beta    float32
}

func (tc gemmCase) String() string {
	return fmt.Sprintf("tA=%v tB=%v m=%d n=%d k=%d pad=%d,%d,%d alpha=%g beta=%g",
		tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.padA, tc.padB, tc.padC, tc.alpha, tc.beta)
}

// operands returns seeded random A, B and C for tc with their strides.
// When beta is 0, C holds NaN (which must be ignored); the padding of
// every row of C beyond column n holds a sentinel that must survive.
func (tc gemmCase) operands(rng *rand.Rand) (a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	ar, ac := tc.m, tc.k
	if tc.transA {
		ar, ac = ac, ar
	}
	br, bc := tc.k, tc.n
	if tc.transB {
		br, bc = bc, br
	}
	lda, ldb, ldc = ac+tc.padA, bc+tc.padB, tc.n+tc.padC
	a = randomSlice(rng, ar*lda)
	b = randomSlice(rng, br*ldb)
	c = randomSlice(rng, tc.m*ldc)
	for i := range c {
		switch {
		case i%ldc >= tc.n:
			c[i] = sentinel
		case tc.beta == 0:
			c[i] = float32(math.NaN())
		}
	}
	return a, lda, b, ldb, c, ldc
}

// sentinel marks elements of C outside the m×n matrix.
const sentinel = -12345.5

func randomSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*rng.Float32() - 1
	}
	return s
}

// reference computes alpha*op(A)*op(B) + beta*C in float64 and the
// magnitude |alpha|*sum|a||b| + |beta|*|c| of every element, for
// gemmTolerance.
func (tc gemmCase) reference(a []float32, lda int, b []float32, ldb int, c []float32, ldc int) (want, mag []float64) {
	want = make([]float64, tc.m*tc.n)
	mag = make([]float64, tc.m*tc.n)
	for i := 0; i < tc.m; i++ {
		for j := 0; j < tc.n; j++ {
			var sum, abs float64
			for p := 0; p < tc.k; p++ {
				var x, y float32
				if tc.transA {
					x = a[p*lda+i]
				} else {
					x = a[i*lda+p]
				}
				if tc.transB {
					y = b[j*ldb+p]
				} else {
					y = b[p*ldb+j]
				}
				sum += float64(x) * float64(y)
				abs += math.Abs(float64(x) * float64(y))
			}
			w := float64(tc.alpha) * sum
			mg := math.Abs(float64(tc.alpha)) * abs
			if tc.beta != 0 {
				old := float64(c[i*ldc+j])
				w += float64(tc.beta) * old
				mg += math.Abs(float64(tc.beta) * old)
			}
			want[i*tc.n+j], mag[i*tc.n+j] = w, mg
		}
	}
	return want, mag
}

// gemmSuite is the shared suite for several implementations: each case's
// operands come from a generator seeded by its index, so that every
// implementation multiplies the same matrices, and the float64
// references of the costly cases are kept for the next implementation.
type gemmSuite struct {
	cases []gemmCase
	seed  uint64
	refs  map[int][2][]float64
}

func newGemmSuite(seed uint64) *gemmSuite {
	return &gemmSuite{cases: gemmCases(), seed: seed, refs: map[int][2][]float64{}}
}

// check runs case i through g against the reference.
func (s *gemmSuite) check(t *testing.T, g linalg.Gemm, i int) {
	t.Helper()
	tc := s.cases[i]
	a, lda, b, ldb, c, ldc := tc.operands(rand.New(rand.NewPCG(s.seed, uint64(i))))
	ref, ok := s.refs[i]
	if !ok {
		ref[0], ref[1] = tc.reference(a, lda, b, ldb, c, ldc)
		if tc.m*tc.n*tc.k >= 1<<15 && tc.m*tc.n <= 1<<16 { // worth keeping, and small
			s.refs[i] = ref
		}
	}
	checkAgainst(t, g, tc, a, lda, b, ldb, c, ldc, ref[0], ref[1])
}

// checkAgainst runs tc through g on the given operands and compares with
// want, within gemmTolerance of mag, reporting the largest error and the
// first element out of tolerance.
func checkAgainst(t *testing.T, g linalg.Gemm, tc gemmCase, a []float32, lda int, b []float32, ldb int,
	c []float32, ldc int, want, mag []float64) {
	t.Helper()
	g.Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
	var worst float64
	bad := 0
	first := ""
	for i := 0; i < tc.m; i++ {
		for j := 0; j < ldc; j++ {
			got := c[i*ldc+j]
			if j >= tc.n {
				if got != sentinel {
					bad++
					if first == "" {
						first = fmt.Sprintf("C[%d][%d] beyond n overwritten: %g", i, j, got)
					}
				}
				continue
			}
			w := want[i*tc.n+j]
			diff := math.Abs(float64(got) - w)
			tol := gemmTolerance(tc.k, mag[i*tc.n+j])
			worst = math.Max(worst, diff)
			if !(diff <= tol) {
				bad++
				if first == "" {
					first = fmt.Sprintf("C[%d][%d] = %g, want %g (diff %.3g, tolerance %.3g)", i, j, got, w, diff, tol)
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%v: %d bad elements, max diff %.3g; first: %s", tc, bad, worst, first)
	}
}

// edgeSizes straddle the micro-tile sizes (4, 6, 12, 16, 32) of every kernel.
var edgeSizes = []int{1, 2, 3, 7, 15, 16, 17, 31, 33, 64, 65}

// shortEdgeSizes are the sizes of the fast tier (go test -short): one on
// each side of the AVX2 and AVX-512 panel widths, and a single element.
var shortEdgeSizes = []int{1, 7, 16, 17, 33}

// scalars are the (alpha, beta) pairs the cases cycle through.
var scalars = [][2]float32{{1, 0}, {1, 1}, {0.75, -1.5}, {-2, 0}, {1, 0.5}, {0, 2}, {0.5, 1}}

// gemmCases lists the shared suite: every transpose pair over m, n, k
// from edgeSizes (with varied padding and scalars), then shapes larger
// than the cache blocks (several kc and mc blocks, n beyond nc), shapes
// that Blocked computes as C^T, k = 0 and empty matrices.
//
// In the fast tier the edge sizes are shortEdgeSizes and the shapes beyond
// the cache blocks are left out.
func gemmCases() []gemmCase {
	var cases []gemmCase
	idx := 0
	// (16, 21, 300) is computed as C^T with more rows than C (a
	// convolution's shape that the fuzzer found sliced past C).
	// (600, 40, 300) is split into several chunks per worker by rows,
	// (150, 4200, 5) by columns; (64, 1000, 17) and AlexNet's fc8 dX
	// (64, 4096, 17), shallow, into one per worker (see Blocked).
	sizes, large := edgeSizes, [][3]int{{300, 97, 600}, {150, 4200, 5}, {37, 45, 1100}, {1, 500, 300}, {500, 1, 300},
		{1, 4100, 1001}, {1001, 1, 4100}, {64, 17, 300}, {16, 21, 300}, {40, 34, 700}, {64, 1000, 17}, {64, 4096, 17}, {600, 40, 300},
		{13, 9, 0}, {0, 5, 7}, {6, 0, 3}}
	if testing.Short() {
		sizes, large = shortEdgeSizes, [][3]int{{64, 17, 300}, {16, 21, 300}, {40, 34, 700}, {64, 1000, 17}, {13, 9, 0}, {0, 5, 7}, {6, 0, 3}}
	}
	for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
		for _, m := range sizes {
			for _, n := range sizes {
				for _, k := range sizes {
					s := scalars[idx%len(scalars)]
					cases = append(cases, gemmCase{tr[0], tr[1], m, n, k, idx % 3, (idx / 3) % 2, idx % 5, s[0], s[1]})
					idx++
				}
			}
		}
		// (64, 17, 300) and (500, 1, 300) fit the tiles better transposed,
		// or with B transposed, 17's last column as dot products, as
		// (40, 34, 700)'s last two.
		for _, sh := range large {
			for _, s := range scalars[:3] {
				cases = append(cases, gemmCase{tr[0], tr[1], sh[0], sh[1], sh[2], 1, 2, 3, s[0], s[1]})
			}
		}
	}
	return cases
}

// defaultGemm is linalg.Sgemm, the implementation in use.
type defaultGemm struct{}

func (defaultGemm) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	linalg.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// TestGemm runs the shared suite through linalg.Sgemm at every CPU level,
// then against the reference, the stand-ins and the extras, with the
// default thread count (so the large cases run in parallel).
func TestGemm(t *testing.T) {
	suite := newGemmSuite(1)
	leveltest.Run(t, func(t *testing.T) {
		for i := range suite.cases {
			suite.check(t, defaultGemm{}, i)
		}
	})
	for _, impl := range testedImplementations() {
		t.Run(impl.name, func(t *testing.T) {
			for i, tc := range suite.cases {
				if impl.name == "naive" && tc.m*tc.n*tc.k > 1e6 {
					continue // the reference is checked on the small cases; it is too slow for the rest
				}
				suite.check(t, impl.g, i)
			}
		})
	}
}

// TestBlockedThreadIndependence checks that every Blocked kernel gives
// bitwise identical results for 1, 2 and 3 threads, on shapes that split
// by rows and by columns, with and without edge tiles.
func TestBlockedThreadIndependence(t *testing.T) {
	defer parallel.SetThreads(parallel.Threads())
	defer parallel.SetGrain(parallel.SetGrain(1 << 16)) // split small products too
	shapes := []gemmCase{
		{m: 96, n: 1000, k: 363, alpha: 1},
		{transA: true, m: 385, n: 100, k: 700, alpha: 0.5, beta: 1.5},
		{transB: true, m: 64, n: 17, k: 4096, alpha: 1, beta: 1},
		{transB: true, m: 1, n: 4100, k: 2001, alpha: 1},
		{m: 1, n: 1000, k: 700, alpha: 1, beta: 0.5},
		{transA: true, m: 900, n: 1, k: 301, alpha: 2},
		// AlexNet's fc8 dX, in one chunk per worker, and conv1 dW, in
		// several.
		{m: 64, n: 4096, k: 17, alpha: 1},
		{transB: true, m: 96, n: 363, k: 3025, alpha: 1, beta: 1},
		{m: 600, n: 40, k: 300, alpha: 0.5, beta: 0.25},
	}
	forEachLevel(t, func(t *testing.T, g linalg.Blocked) {
		for _, tc := range shapes {
			var first []float32
			for _, threads := range []int{1, 2, 3} {
				parallel.SetThreads(threads)
				rng := rand.New(rand.NewPCG(3, 4))
				a, lda, b, ldb, c, ldc := tc.operands(rng)
				g.Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
				if first == nil {
					first = c
					continue
				}
				for i := range c {
					if math.Float32bits(c[i]) != math.Float32bits(first[i]) {
						t.Errorf("%s %v: %d threads give C[%d] = %g, 1 thread %g", g.Name(), tc, threads, i, c[i], first[i])
						break
					}
				}
			}
		}
	})
}

// TestBlockedAllocations checks that a single-threaded call of each
// Blocked kernel allocates nothing once its pack buffers are pooled.
func TestBlockedAllocations(t *testing.T) {
	defer parallel.SetThreads(parallel.Threads())
	parallel.SetThreads(1)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []gemmCase{
		{m: 100, n: 300, k: 400, alpha: 1, beta: 1},
		{transA: true, transB: true, m: 1, n: 300, k: 400, alpha: 1, beta: 1},
		{m: 1, n: 300, k: 400, alpha: 1, beta: 1},
	} {
		a, lda, b, ldb, c, ldc := tc.operands(rng)
		forEachLevel(t, func(t *testing.T, g linalg.Blocked) {
			allocs := testing.AllocsPerRun(20, func() {
				g.Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, 1, a, lda, b, ldb, 0, c, ldc)
			})
			if allocs != 0 {
				t.Errorf("%s %v: %g allocations per call, want 0", g.Name(), tc, allocs)
			}
		})
	}
}

// TestDefault checks that Sgemm runs through the kernel the CPU level in
// use prefers, at each level, and that Available lists it first, then
// one kernel per level, down to Portable.
func TestDefault(t *testing.T) {
	// The AVX-512 level prefers the AVX2 kernel with the AVX-512 one for
	// some shapes (see Fast), which Available lists besides both.
	kernels := map[simd.Level]string{simd.Generic: "go-4x4", simd.AVX2: "avx2-6x16", simd.AVX512: "avx512-by-shape"}
	available := map[simd.Level]int{simd.Generic: 1, simd.AVX2: 2, simd.AVX512: 4}
	leveltest.Run(t, func(t *testing.T) {
		if got, want := linalg.Current(), linalg.Gemm(linalg.Fast()); got != want {
			t.Errorf("Current() = %v, want %v", got, want)
		}
		if runtime.GOARCH == "amd64" && linalg.Fast().Name() != kernels[simd.Current()] {
			t.Errorf("at level %s, Fast() is %s, want %s", simd.Current(), linalg.Fast().Name(), kernels[simd.Current()])
		}
		av := linalg.Available()
		if av[0] != linalg.Fast() || av[len(av)-1] != linalg.Portable || len(av) != available[simd.Current()] {
			t.Errorf("at level %s, Available() = %v", simd.Current(), av)
		}
	})
	if prev := linalg.Use(linalg.Naive{}); prev != nil {
		t.Errorf("Use returned %v as the default, want nil", prev)
	}
	if linalg.Use(nil) != (linalg.Naive{}) || linalg.Current() != linalg.Gemm(linalg.Fast()) {
		t.Error("Use(nil) did not restore the default")
	}
}

// TestVectorColumnsIndependent checks that a product with one row of A
// gives each element of C the same bits wherever its column falls, as
// the tiles of the blocked algorithm do: x·B[:, s:] must equal the last
// columns of x·B for every shift s, with B as stored and transposed.
func TestVectorColumnsIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const k, n = 301, 70
	x := randomSlice(rng, k)
	forEachLevel(t, func(t *testing.T, g linalg.Blocked) {
		for _, transB := range []bool{false, true} {
			b := randomSlice(rng, k*n)
			ldb, step := n, 1 // B is k×n; a shift moves its start one column
			if transB {
				ldb, step = k, k // B is n×k; a shift moves it one row
			}
			full := make([]float32, n)
			g.Sgemm(false, transB, 1, n, k, 1, x, k, b, ldb, 0, full, n)
			for s := 1; s < n; s++ {
				part := make([]float32, n-s)
				g.Sgemm(false, transB, 1, n-s, k, 1, x, k, b[s*step:], ldb, 0, part, n-s)
				for j, v := range part {
					if math.Float32bits(v) != math.Float32bits(full[s+j]) {
						t.Fatalf("%s transB=%v: column %d is %g alone from shift %d, %g in the full product", g.Name(), transB, s+j, v, s, full[s+j])
					}
				}
			}
		}
	})
}

// packing is a Gemm for untransposed A that packs op(B) in the layout
// SgemmPackedB documents and multiplies with it.
type packing struct{ g linalg.Blocked }

func (pk packing) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	if transA {
		panic("packing: transposed A")
	}
	w := pk.g.PanelWidth()
	packed := make([]float32, pk.g.PackedLen(k, n))
	for p := 0; p < k; p++ {
		for j := 0; j < n; j++ {
			var v float32
			if transB {
				v = b[j*ldb+p]
			} else {
				v = b[p*ldb+j]
			}
			packed[(j/w)*w*k+p*w+j%w] = v
		}
	}
	pk.g.SgemmPackedB(m, n, k, alpha, a, lda, packed, beta, c, ldc)
}

// TestPackBLayout checks that PackB of every Blocked kernel writes op(B)
// in the layout SgemmPackedB documents, which convolutions and
// prepacked weights rely on, whatever the shape: whole panels of
// PanelWidth columns, the last one padded with zeros (products that
// pack B themselves may pack a narrow last panel otherwise).
func TestPackBLayout(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	forEachBlocked(t, func(t *testing.T, g linalg.Blocked) {
		w := g.PanelWidth()
		for _, transB := range []bool{false, true} {
			for _, sh := range [][2]int{{5, 3}, {37, 7}, {300, 36}, {64, 100}, {17, 2*w + 4}, {9, 3 * w}} {
				k, n := sh[0], sh[1]
				ldb := n + 3
				if transB {
					ldb = k + 3
				}
				b := randomSlice(rng, max(k, n)*ldb)
				packed := make([]float32, g.PackedLen(k, n))
				for i := range packed {
					packed[i] = sentinel
				}
				g.PackB(transB, k, n, b, ldb, packed)
				if len(packed) != (n+w-1)/w*w*k {
					t.Fatalf("PackedLen(%d, %d) = %d with panels of %d", k, n, len(packed), w)
				}
				for p := 0; p < k; p++ {
					for j := 0; j < (n+w-1)/w*w; j++ {
						var want float32
						switch {
						case j >= n:
						case transB:
							want = b[j*ldb+p]
						default:
							want = b[p*ldb+j]
						}
						if got := packed[(j/w)*w*k+p*w+j%w]; got != want {
							t.Fatalf("transB=%v k=%d n=%d: B[%d][%d] packed as %g, want %g", transB, k, n, p, j, got, want)
						}
					}
				}
			}
		}
	})
}

// TestSgemmPackedB runs the shared suite's cases with an untransposed A
// through SgemmPackedB of every Blocked kernel, and checks on shapes that
// Sgemm multiplies by blocks that the two agree bitwise.
func TestSgemmPackedB(t *testing.T) {
	suite := newGemmSuite(11)
	forEachLevel(t, func(t *testing.T, g linalg.Blocked) {
		rng := rand.New(rand.NewPCG(11, 12))
		for i, tc := range suite.cases {
			if !tc.transA {
				suite.check(t, packing{g}, i)
			}
		}
		for _, tc := range []gemmCase{{m: 96, n: 2916, k: 363, alpha: 1}, {m: 37, n: 45, k: 1100, alpha: 0.5, beta: 2}} {
			a, lda, b, ldb, c, ldc := tc.operands(rng)
			want := slices.Clone(c)
			g.Sgemm(false, false, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, want, ldc)
			packing{g}.Sgemm(false, false, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
			for i := range c {
				if math.Float32bits(c[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%v: C[%d] = %g packed, %g from Sgemm", tc, i, c[i], want[i])
				}
			}
		}
	})
}

// forEachLevel runs f in one subtest per CPU level the machine has, with
// that level forced and g its Blocked Gemm (linalg.Fast).
func forEachLevel(t *testing.T, f func(t *testing.T, g linalg.Blocked)) {
	leveltest.Run(t, func(t *testing.T) { f(t, linalg.Fast()) })
}

// forEachBlocked is forEachLevel, then one subtest per kernel no level
// prefers (see unpreferred) and per stand-in (see linalg.StandIns).
func forEachBlocked(t *testing.T, f func(t *testing.T, g linalg.Blocked)) {
	forEachLevel(t, f)
	for _, g := range append(unpreferred(), linalg.StandIns...) {
		t.Run(g.Name(), func(t *testing.T) { f(t, g) })
	}
}

// sliding is a Gemm for untransposed B that copies B row by row into a
// buffer with the slack SgemmWindow requires and multiplies through a
// window of it (Off[q] = q*n).
type sliding struct{ g linalg.Blocked }

func (s sliding) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	if transB {
		panic("sliding: transposed B")
	}
	x := make([]float32, k*n+s.g.PanelWidth())
	off := make([]int32, k)
	for q := range k {
		off[q] = int32(q * n)
		copy(x[q*n:(q+1)*n], b[q*ldb:])
	}
	s.g.SgemmWindow(transA, m, n, k, alpha, a, lda, linalg.Window{X: x, Off: off}, beta, c, ldc)
}

// TestSgemmWindow runs the shared suite's cases with an untransposed B
// (a transposed one is materialised the same) through SgemmWindow of
// every Blocked kernel, then multiplies by windows whose offsets overlap,
// repeat and run backwards (as a convolution's do), in one row and in
// rows with gaps between them, and checks that the results are bitwise
// those of SgemmPackedB on B materialised.
func TestSgemmWindow(t *testing.T) {
	suite := newGemmSuite(13)
	forEachBlocked(t, func(t *testing.T, g linalg.Blocked) {
		rng := rand.New(rand.NewPCG(13, 14))
		for i, tc := range suite.cases {
			if !tc.transB {
				suite.check(t, sliding{g}, i)
			}
		}
		w := g.PanelWidth()
		for _, tc := range []struct {
			gemmCase
			rowLen, rowStride int
		}{
			{gemmCase{m: 96, n: 780, k: 600, alpha: 1}, 0, 0},
			{gemmCase{m: 37, n: 45, k: 1100, alpha: 0.5, beta: 2}, 0, 0},
			{gemmCase{m: 1, n: 3, k: 7, alpha: 1}, 0, 0},
			{gemmCase{m: 50, n: 13 * 3 * w, k: 300, alpha: 1}, 3 * w, 4*w + 5},
			{gemmCase{m: 7, n: 2*w + 3, k: 40, alpha: 1, beta: -1}, w, w},
		} {
			a, lda, _, _, c, ldc := tc.operands(rng)
			win := linalg.Window{X: randomSlice(rng, 3*tc.n+2*w), Off: make([]int32, tc.k),
				RowLen: tc.rowLen, RowStride: tc.rowStride}
			b := make([]float32, tc.k*tc.n)
			for q := range win.Off {
				win.Off[q] = int32(rng.IntN(tc.n + 1))
				for j := range tc.n {
					b[q*tc.n+j] = win.X[int(win.Off[q])+windowColumn(j, tc.rowLen, tc.rowStride, 1)]
				}
			}
			want := slices.Clone(c)
			packing{g}.Sgemm(false, false, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, tc.n, tc.beta, want, ldc)
			g.SgemmWindow(false, tc.m, tc.n, tc.k, tc.alpha, a, lda, win, tc.beta, c, ldc)
			for i := range c {
				if math.Float32bits(c[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%v in rows of %d: C[%d] = %g through the window, %g packed", tc.gemmCase, tc.rowLen, i, c[i], want[i])
				}
			}
		}
	})
}

// TestSgemmWindowBounds checks that a window whose panels reach past X,
// or whose rows would split a panel, is refused before anything is read.
func TestSgemmWindowBounds(t *testing.T) {
	g := linalg.Fast()
	w := g.PanelWidth()
	a, c := make([]float32, 2*3), make([]float32, 2*2*w)
	x := make([]float32, 10*w)
	last := int32(len(x) - roundUpTo(5, w))
	for _, tc := range []struct {
		n    int
		win  linalg.Window
		fail bool
	}{
		{5, linalg.Window{Off: []int32{0, 10, last}}, false},
		{5, linalg.Window{Off: []int32{0, 10, last + 1}}, true},
		{5, linalg.Window{Off: []int32{0, -1, 3}}, true},
		{5, linalg.Window{Off: []int32{0, 1}}, true}, // shorter than k
		{2 * w, linalg.Window{Off: []int32{0, 0, int32(len(x) - 3*w)}, RowLen: w, RowStride: 2 * w}, false},
		{2 * w, linalg.Window{Off: []int32{0, 0, int32(len(x)-3*w) + 1}, RowLen: w, RowStride: 2 * w}, true},
		{2 * w, linalg.Window{Off: []int32{0, 0, 0}, RowLen: w + 1, RowStride: 2 * w}, true},
		{2 * w, linalg.Window{Off: []int32{0, 0, 0}, RowLen: 2 * w, RowStride: w}, true},
		{5, linalg.Window{Off: []int32{0, 10, 20}, Step: 2}, true}, // vector loads need a unit step
	} {
		tc.win.X = x
		err := catch(func() { g.SgemmWindow(false, 2, tc.n, 3, 1, a, 3, tc.win, 0, c, tc.n) })
		if (err != nil) != tc.fail {
			t.Errorf("n=%d, offsets %v, rows of %d every %d: panic %v, want one: %v",
				tc.n, tc.win.Off, tc.win.RowLen, tc.win.RowStride, err, tc.fail)
		}
	}
}

// windowColumn returns where element j of a window's row lies from the
// row's offset, for rows of rowLen laid rowStride apart (rowLen 0: one
// row) with a step between columns, as linalg.Window defines it.
func windowColumn(j, rowLen, rowStride, step int) int {
	if rowLen == 0 {
		return j * step
	}
	return j/rowLen*rowStride + j%rowLen*step
}

func roundUpTo(x, to int) int { return (x + to - 1) / to * to }

// catch runs f and returns what it panicked with, or nil.
func catch(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

// TestSgemmWindowT multiplies by matrices whose transposes are windows,
// in one row and in rows with gaps between them, through every Blocked
// kernel, and checks the results against the float64 reference on B
// materialised, and bitwise against SgemmPackedB.
func TestSgemmWindowT(t *testing.T) {
	forEachBlocked(t, func(t *testing.T, g linalg.Blocked) {
		rng := rand.New(rand.NewPCG(15, 16))
		for _, tc := range []struct {
			gemmCase
			rowLen, rowStride int
		}{
			{gemmCase{m: 64, n: 300, k: 700, alpha: 1, beta: 1}, 0, 0},
			{gemmCase{m: 37, n: 45, k: 1100, alpha: 0.5, beta: 2}, 100, 130},
			{gemmCase{m: 1, n: 3, k: 7, alpha: 1}, 3, 3},
			{gemmCase{m: 13, n: 17, k: 300, alpha: -1, beta: 0.5}, 16, 40},
		} {
			a, lda, _, _, c, ldc := tc.operands(rng)
			win := linalg.Window{X: randomSlice(rng, 4*tc.k+tc.n), Off: make([]int32, tc.n),
				RowLen: tc.rowLen, RowStride: tc.rowStride}
			b := make([]float32, tc.k*tc.n)
			for j := range win.Off {
				win.Off[j] = int32(rng.IntN(tc.n + 1))
				for q := range tc.k {
					b[q*tc.n+j] = win.X[int(win.Off[j])+windowColumn(q, tc.rowLen, tc.rowStride, 1)]
				}
			}
			want, mag := tc.reference(a, lda, b, tc.n, c, ldc)
			bitwise := slices.Clone(c)
			packing{g}.Sgemm(false, false, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, tc.n, tc.beta, bitwise, ldc)
			g.SgemmWindowT(tc.m, tc.n, tc.k, tc.alpha, a, lda, win, tc.beta, c, ldc)
			for i := range tc.m {
				for j := range tc.n {
					got := c[i*ldc+j]
					if math.Float32bits(got) != math.Float32bits(bitwise[i*ldc+j]) {
						t.Fatalf("%v: C[%d][%d] = %g through the window, %g packed", tc.gemmCase, i, j, got, bitwise[i*ldc+j])
					}
					if d := math.Abs(float64(got) - want[i*tc.n+j]); !(d <= gemmTolerance(tc.k, mag[i*tc.n+j])) {
						t.Fatalf("%v: C[%d][%d] = %g, want %g", tc.gemmCase, i, j, got, want[i*tc.n+j])
					}
				}
			}
		}
		bad := linalg.Window{X: make([]float32, 10), Off: []int32{0, 4}}
		if catch(func() { g.SgemmWindowT(1, 2, 7, 1, make([]float32, 7), 7, bad, 0, make([]float32, 2), 2) }) == nil {
			t.Error("a window reaching past X was accepted")
		}
		stepped := linalg.Window{X: make([]float32, 100), Off: []int32{0, 4}, Step: 2}
		if catch(func() { g.SgemmWindowT(1, 2, 7, 1, make([]float32, 7), 7, stepped, 0, make([]float32, 2), 2) }) == nil {
			t.Error("a window with a step of 2 was accepted as B^T")
		}
	})
}

// gathering is a Gemm that packs op(B) with PackB and multiplies by A read
// in place through a window of its own storage (op(A)[i][q] at
// a[i*lda+q], or a[q*lda+i] when transposed) with SgemmWindowA.
type gathering struct{ g linalg.Blocked }

func (gt gathering) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	packed := make([]float32, gt.g.PackedLen(k, n))
	gt.g.PackB(transB, k, n, b, ldb, packed)
	win := linalg.Window{X: a, Off: make([]int32, k), Step: lda}
	for q := range win.Off {
		win.Off[q] = int32(q)
	}
	if transA {
		win.Step = 1
		for q := range win.Off {
			win.Off[q] = int32(q * lda)
		}
	}
	gt.g.SgemmWindowA(m, n, k, alpha, win, packed, beta, c, ldc)
}

// oneBlock is a depth that every kernel takes in one block of k, for
// which products that block k differently still sum in the same order.
const oneBlock = 128

// TestSgemmWindowA runs the shared suite's cases whose A and B are both
// transposed or both not through PackB and SgemmWindowA of every Blocked
// kernel, then multiplies windows whose offsets overlap and repeat, with
// column steps and gaps between rows (as a strided convolution's do), and
// checks them against the float64 reference on A materialised and, when
// k fits one block (SgemmWindowA's blocks are deeper), bitwise against
// SgemmPackedB.
func TestSgemmWindowA(t *testing.T) {
	suite := newGemmSuite(17)
	forEachBlocked(t, func(t *testing.T, g linalg.Blocked) {
		rng := rand.New(rand.NewPCG(17, 18))
		for i, tc := range suite.cases {
			if tc.transA == tc.transB { // both packings of B, both shapes of window; half the time
				suite.check(t, gathering{g}, i)
			}
		}
		for _, tc := range []struct {
			gemmCase
			rowLen, rowStride, step int
		}{
			{gemmCase{m: 400, n: 40, k: 363, alpha: 1}, 54, 4 * 224, 4}, // conv1's rows, fewer of them
			{gemmCase{m: 100, n: 40, k: 700, alpha: 0.5, beta: 2}, 0, 0, 2},
			{gemmCase{m: 37, n: 17, k: 30, alpha: 1, beta: -1}, 5, 13, 2},
			{gemmCase{m: 61, n: 50, k: oneBlock, alpha: 1}, 7, 30, 3},
			{gemmCase{m: 5, n: 3, k: 7, alpha: 1}, 2, 2, 1},
			// pairs of panels (AVX-512's 6x32 tiles), whole and short of
			// rows, beside single panels, one k block and several
			{gemmCase{m: 49, n: 112, k: 600, alpha: 1, beta: 0.5}, 7, 9, 1},
			{gemmCase{m: 70, n: 96, k: 260, alpha: 1}, 14, 16, 1}, // tiles of 7 rows
			{gemmCase{m: 40, n: 64, k: 301, alpha: 2, beta: 1}, 5, 10, 2},
			{gemmCase{m: 23, n: 64, k: oneBlock, alpha: -1}, 4, 11, 2},
		} {
			_, _, b, ldb, c, ldc := tc.operands(rng)
			span := windowColumn(tc.m-1, tc.rowLen, tc.rowStride, tc.step) + 1
			win := linalg.Window{X: randomSlice(rng, span+2*tc.k), Off: make([]int32, tc.k),
				RowLen: tc.rowLen, RowStride: tc.rowStride, Step: tc.step}
			a := make([]float32, tc.m*tc.k)
			for q := range win.Off {
				win.Off[q] = int32(rng.IntN(2 * tc.k))
				for i := range tc.m {
					a[i*tc.k+q] = win.X[int(win.Off[q])+windowColumn(i, tc.rowLen, tc.rowStride, tc.step)]
				}
			}
			want, mag := tc.reference(a, tc.k, b, ldb, c, ldc)
			bitwise := slices.Clone(c)
			packed := make([]float32, g.PackedLen(tc.k, tc.n))
			g.PackB(false, tc.k, tc.n, b, ldb, packed)
			g.SgemmPackedB(tc.m, tc.n, tc.k, tc.alpha, a, tc.k, packed, tc.beta, bitwise, ldc)
			g.SgemmWindowA(tc.m, tc.n, tc.k, tc.alpha, win, packed, tc.beta, c, ldc)
			for i := range tc.m {
				for j := range tc.n {
					got := c[i*ldc+j]
					if tc.k <= oneBlock && math.Float32bits(got) != math.Float32bits(bitwise[i*ldc+j]) {
						t.Fatalf("%v: C[%d][%d] = %g through the window, %g packed", tc.gemmCase, i, j, got, bitwise[i*ldc+j])
					}
					if d := math.Abs(float64(got) - want[i*tc.n+j]); !(d <= gemmTolerance(tc.k, mag[i*tc.n+j])) {
						t.Fatalf("%v: C[%d][%d] = %g, want %g", tc.gemmCase, i, j, got, want[i*tc.n+j])
					}
				}
				for j := tc.n; j < ldc; j++ {
					if c[i*ldc+j] != sentinel {
						t.Fatalf("%v: C[%d][%d] beyond n was written", tc.gemmCase, i, j)
					}
				}
			}
		}
		// Four rows of A, three steps apart, read from X[20]: the last
		// row of offset 10 is X[19].
		for _, tc := range []struct {
			win  linalg.Window
			fail bool
		}{
			{linalg.Window{Off: []int32{0, 4, 10}, Step: 3}, false},
			{linalg.Window{Off: []int32{0, 4, 11}, Step: 3}, true},
			{linalg.Window{Off: []int32{0, -1, 0}, Step: 3}, true},
			{linalg.Window{Off: []int32{0, 4}, Step: 3}, true}, // shorter than k
			{linalg.Window{Off: []int32{0, 1, 2}, RowLen: 2, RowStride: 3, Step: 2}, false},
			{linalg.Window{Off: []int32{0, 1, 2}, RowLen: 2, RowStride: 2, Step: 2}, true}, // rows overlap
		} {
			tc.win.X = make([]float32, 20)
			err := catch(func() {
				g.SgemmWindowA(4, 2, 3, 1, tc.win, make([]float32, g.PackedLen(3, 2)), 0, make([]float32, 8), 2)
			})
			if (err != nil) != tc.fail {
				t.Errorf("window %+v: panic %v, want one: %v", tc.win, err, tc.fail)
			}
		}
	})
}

// TestBlockedSerial checks that Serial gives bitwise the results of the
// parallel product, on shapes of every path (blocks, the transposed
// product, vector products), and allocates nothing once warm.
func TestBlockedSerial(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	forEachLevel(t, func(t *testing.T, g linalg.Blocked) {
		for _, tc := range []gemmCase{{m: 300, n: 97, k: 600, alpha: 1}, {m: 64, n: 17, k: 300, alpha: 1},
			{m: 1, n: 4100, k: 1001, alpha: 1}, {m: 1001, n: 1, k: 4100, alpha: 1, transA: true}} {
			a, lda, b, ldb, c, ldc := tc.operands(rng)
			want := slices.Clone(c)
			g.Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, want, ldc)
			serial := g.Serial()
			serial.Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
			for i := range c {
				if math.Float32bits(c[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s %v: C[%d] = %g serial, %g in parallel", g.Name(), tc, i, c[i], want[i])
				}
			}
			if allocs := testing.AllocsPerRun(3, func() {
				serial.Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
			}); allocs > 0 {
				t.Errorf("%s %v: %.0f allocations per serial product", g.Name(), tc, allocs)
			}
		}
	})
}
