package vec

import (
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
)

// TestTransposeBias compares TransposeBias and TransposeBiasResidual,
// in assembly and in Go, with their definition on random matrices with
// NaNs and infinities, every size up to 19x19 (whole 8x8 blocks and the
// edges in Go), rows further apart than the matrices are wide, with and
// without bias, residual and ReLU; the gaps between dst's rows must
// survive.
func TestTransposeBias(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	leveltest.Run(t, func(t *testing.T) {
		for rows := 0; rows < 20; rows++ {
			for cols := 0; cols < 20; cols++ {
				for _, relu := range []bool{false, true} {
					srcStride, dstStride := cols+rng.IntN(3), rows+rng.IntN(3)
					src := randomSpecials(rng, max(0, (rows-1)*srcStride+cols), 30)
					var bias []float32
					if rng.IntN(2) == 0 {
						bias = make([]float32, cols)
						for j := range bias {
							bias[j] = 2*rng.Float32() - 1
						}
					}
					const untouched = 7
					dst := make([]float32, max(0, (cols-1)*dstStride+rows))
					for i := range dst {
						dst[i] = untouched
					}
					var residual []float32
					if rng.IntN(2) == 0 {
						residual = randomSpecials(rng, len(dst), 30)
						TransposeBiasResidual(dst, dstStride, src, srcStride, rows, cols, bias, residual, relu)
					} else {
						TransposeBias(dst, dstStride, src, srcStride, rows, cols, bias, relu)
					}
					for j := 0; j < cols; j++ {
						for i := 0; i < dstStride && j*dstStride+i < len(dst); i++ {
							got := dst[j*dstStride+i]
							if i >= rows {
								if got != untouched {
									t.Fatalf("%dx%d avx2=%v: wrote %g past row %d of dst", rows, cols, hasAVX2(), got, j)
								}
								continue
							}
							want := src[i*srcStride+j]
							if bias != nil {
								want += bias[j]
							}
							if residual != nil {
								want += residual[j*dstStride+i]
							}
							if relu {
								want = max(want, 0)
							}
							if got != want && !(got != got && want != want) {
								t.Fatalf("%dx%d avx2=%v relu=%v bias=%v residual=%v: dst[%d][%d] = %g, want %g",
									rows, cols, hasAVX2(), relu, bias != nil, residual != nil, j, i, got, want)
							}
						}
					}
				}
			}
		}
	})
}

// TestTransposeBiasBounds checks that TransposeBias refuses matrices
// that do not fit.
func TestTransposeBiasBounds(t *testing.T) {
	refused := func(dst []float32, ds int, src []float32, ss, rows, cols int, bias []float32, residual ...float32) (r bool) {
		defer func() { r = recover() != nil }()
		TransposeBiasResidual(dst, ds, src, ss, rows, cols, bias, residual, false)
		return false
	}
	src, dst, bias := make([]float32, 3*5), make([]float32, 5*3), make([]float32, 5)
	if refused(dst, 3, src, 5, 3, 5, bias) {
		t.Fatal("refused a matrix that fits")
	}
	for name, ok := range map[string]bool{
		"short source":       refused(dst, 3, src[:14], 5, 3, 5, bias),
		"short destination":  refused(dst[:14], 3, src, 5, 3, 5, bias),
		"few biases":         refused(dst, 3, src, 5, 3, 5, bias[:4]),
		"narrow source":      refused(dst, 3, src, 4, 3, 5, bias),
		"narrow destination": refused(dst, 2, src, 5, 3, 5, bias),
		"short residual":     refused(dst, 3, src, 5, 3, 5, bias, make([]float32, 14)...),
	} {
		if !ok {
			t.Errorf("%s: not refused", name)
		}
	}
}
