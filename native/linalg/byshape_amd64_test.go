package linalg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/native/simd"
)

// TestByShapeBitwise checks that the kernel of the AVX-512 level, which
// multiplies some shapes with the AVX-512 kernel, gives bitwise the
// results of the AVX2 kernel alone at every shape: AlexNet's trainer
// gets the same losses either way. The pair runs as assembly on CPUs
// with AVX-512 and as stand-ins (the same blocking with a Go tile) on
// every CPU; the test fails unless the AVX-512 kernel was taken at some
// shapes, its short form (6×32 tiles) at others, and the AVX2 kernel
// at others still.
func TestByShapeBitwise(t *testing.T) {
	type pair struct {
		name          string
		byShape, avx2 *kernel
	}
	pairs := []pair{{"standin", standIn(&avx512ByShape), standIn(&avx2Kernel)}}
	if simd.Has(simd.AVX512) {
		pairs = append(pairs, pair{"asm", &avx512ByShape, &avx2Kernel})
	}
	type shape struct {
		transA, transB bool
		m, n, k        int
		alpha, beta    float32
	}
	shapes := []shape{
		// Edges in both directions, k over several blocks of 256.
		{false, false, 37, 45, 600, 1, 0},
		{false, false, 37, 45, 600, 0.5, -1.5},
		{true, false, 50, 70, 300, 1, 1},
		{false, true, 50, 70, 300, 1, 1},
		{true, true, 13, 33, 513, -0.7, 0.25},
		// Shallow blocks along the rows of C; one row of tiles.
		{false, false, 12, 100, 64, 1, 1},
		{true, false, 100, 40, 17, 2, 0},
		// Shapes that transpose C with one kernel and not the other.
		{false, false, 64, 17, 256, 1, 1},
		{false, false, 17, 64, 256, 1, 1},
		{false, false, 6, 300, 200, 1, 0.5},
		// A whose rows crowd one set of L1 (a 4 KiB stride).
		{false, false, 30, 40, 1024, 1, 1},
		// Half a panel of 32 columns (the AVX2 kernel), and 0.85 of its
		// cover (the AVX-512 kernel: minFullWidthCover).
		{false, false, 40, 16, 300, 1, 0.5},
		{false, false, 64, 196, 64, 1, 0},
	}
	// AlexNet, in assembly only: conv1, conv5, conv4's input gradient,
	// fc8's input gradient, fc7's weight gradient (its columns cut to
	// 1000), conv2's weight gradient, fc7's input gradient (its columns
	// cut to 1000), fc6 (its columns cut to 1000).
	alexNet := []shape{
		{false, false, 96, 3025, 363, 1, 0},
		{false, false, 256, 36, 3456, 1, 0},
		{true, false, 3456, 64, 384, 1, 0},
		{false, false, 64, 4096, 17, 1, 0},
		{true, false, 4096, 1000, 64, 1, 1},
		// conv2's weight gradient (B transposed; its columns cut to 1000).
		{false, true, 256, 1000, 676, 1, 1},
		{false, false, 64, 1000, 4096, 1, 0},
		{false, true, 64, 1000, 1024, 1, 0},
	}
	for _, pr := range pairs {
		taken := map[*kernel]int{}
		shapes := shapes
		if pr.name == "asm" {
			shapes = append(shapes[:len(shapes):len(shapes)], alexNet...)
		}
		for _, sh := range shapes {
			name := fmt.Sprintf("%s/tA=%v_tB=%v_%dx%dx%d_alpha=%g_beta=%g", pr.name, sh.transA, sh.transB, sh.m, sh.n, sh.k, sh.alpha, sh.beta)
			ar, ac, br, bc := sh.m, sh.k, sh.k, sh.n
			if sh.transA {
				ar, ac = ac, ar
			}
			if sh.transB {
				br, bc = bc, br
			}
			rng := rand.New(rand.NewPCG(uint64(sh.m), uint64(sh.n*sh.k)))
			random := func(n int) []float32 {
				s := make([]float32, n)
				for i := range s {
					s[i] = 2*rng.Float32() - 1
				}
				return s
			}
			a, b, c := random(ar*ac), random(br*bc), random(sh.m*sh.n)
			want := append([]float32(nil), c...)
			Blocked{kern: pr.avx2}.Sgemm(sh.transA, sh.transB, sh.m, sh.n, sh.k, sh.alpha, a, ac, b, bc, sh.beta, want, sh.n)
			got := append([]float32(nil), c...)
			Blocked{kern: pr.byShape}.Sgemm(sh.transA, sh.transB, sh.m, sh.n, sh.k, sh.alpha, a, ac, b, bc, sh.beta, got, sh.n)
			p := gemmArgs{transA: sh.transA, transB: sh.transB, m: sh.m, n: sh.n, k: sh.k}
			taken[pr.byShape.plainKernel(&p)]++
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s: C[%d][%d] = %g by shape, %g with the AVX2 kernel alone", name, i/sh.n, i%sh.n, got[i], want[i])
				}
			}
		}
		for _, k := range []*kernel{pr.byShape, pr.byShape.wide, pr.byShape.shortWide} {
			if taken[k] == 0 {
				t.Errorf("%s: %s was taken at no shape: every kernel must be tested", pr.name, k.name)
			}
		}
	}
}

// TestNarrowPanels checks the tile efficiencies that swapPays compares
// for kernels with narrow last panels (run8): conv5's 36 columns are 32
// and 8 for the AVX-512 kernel, 48 for the AVX2 one.
func TestNarrowPanels(t *testing.T) {
	cases := []struct {
		kern *kernel
		m, n int
		want float64
	}{
		{&avx512Kernel, 256, 36, 256.0 / 264 * 36 / 40},
		{&avx512Kernel, 256, 41, 256.0 / 264 * 41 / 64}, // 9 past 32: a whole panel
		{&avx512Kernel, 24, 8, 1},
		{&avx2Kernel, 256, 36, 256.0 / 258 * 36 / 48},
	}
	for _, c := range cases {
		if got := c.kern.tileEfficiency(c.m, c.n); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: tileEfficiency(%d, %d) = %g, want %g", c.kern.name, c.m, c.n, got, c.want)
		}
	}
	if avx512Kernel.swapPays(256, 36, 3456) {
		t.Error("the AVX-512 kernel computes conv5 (256×36) as C^T, though 87% of its tiles are used as C")
	}
}

// TestPlainKernel checks which kernel of the AVX-512 level multiplies
// AlexNet's products as stored: the wide one unless its 12×32 tiles
// cover C worse than 6×16 ones, then its short form unless its 6×32
// tiles do, and failing both, the first that covers at least
// minFullWidthCover of what 6×16 tiles cover.
func TestPlainKernel(t *testing.T) {
	cases := []struct {
		name string
		p    gemmArgs
		want *kernel
	}{
		{"conv1", gemmArgs{m: 96, n: 3025, k: 363}, &avx512Kernel},
		{"conv2: 0.989 of the 6x16 cover", gemmArgs{m: 256, n: 676, k: 2400}, &avx512Kernel},
		{"conv5: 32+8 columns for 36, against 48", gemmArgs{m: 256, n: 36, k: 3456}, &avx512Kernel},
		{"fc7 dX: 64 rows in 72, in 66 by 6", gemmArgs{m: 64, n: 4096, k: 4096}, &avx512ShortKernel},
		{"fc8 dX: 64 rows in 72, in 66 by 6", gemmArgs{m: 64, n: 4096, k: 17}, &avx512ShortKernel},
		{"fc7 dW: 4096 rows in 4104", gemmArgs{transA: true, m: 4096, n: 4096, k: 64}, &avx512Kernel},
		{"conv2 dW: 0.977 of the 6x16 cover", gemmArgs{transB: true, m: 256, n: 2400, k: 676}, &avx512Kernel},
		{"fc6: 64 rows in 72, in 66 by 6", gemmArgs{transB: true, m: 64, n: 4096, k: 1024}, &avx512ShortKernel},
		{"conv1 dW: 363 columns in 384, 0.96 of the 6x16 cover", gemmArgs{transB: true, m: 96, n: 363, k: 3025}, &avx512Kernel},
		{"Winograd's 64x196x64: 0.85 of the 6x16 cover", gemmArgs{m: 64, n: 196, k: 64}, &avx512Kernel},
		{"512x16: half a panel of 32", gemmArgs{m: 512, n: 16, k: 512}, &avx512ByShape},
		{"16 columns: a panel of 16, half one of 32", gemmArgs{m: 64, n: 16, k: 300}, &avx512ByShape},
	}
	for _, c := range cases {
		if got := avx512ByShape.plainKernel(&c.p); got != c.want {
			t.Errorf("%s: kernel %s, want %s", c.name, got.name, c.want.name)
		}
	}
}
