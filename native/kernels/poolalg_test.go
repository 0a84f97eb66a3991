package kernels

import (
	"fmt"
	"math"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
)

// pool2D is a pooling of the suite's table, with equal pads on all sides.
func pool2D(n, c, h, w, kh, kw, stride, pad, dilation int, ceil bool) PoolParams {
	return PoolParams{N: n, C: c, H: h, W: w, KH: kh, KW: kw, StrideH: stride, StrideW: stride,
		PadTop: pad, PadLeft: pad, PadBottom: pad, PadRight: pad, DilationH: dilation, DilationW: dilation, CeilMode: ceil}
}

// poolSuiteShapes is the table of edge shapes of the pooling suite: the
// hand-picked cases, 1x1 windows, one output, padding of a window less
// one, every stride the separable path treats apart (1, 2, 3) on planes
// wide enough for the vector loops, odd and prime sizes, dilation.
func poolSuiteShapes() []PoolParams {
	shapes := append([]PoolParams(nil), poolCases...)
	return append(shapes,
		pool2D(2, 3, 5, 7, 1, 1, 1, 0, 1, false),   // 1x1
		pool2D(1, 2, 5, 5, 5, 5, 1, 0, 1, false),   // one output
		pool2D(1, 2, 4, 4, 3, 3, 1, 2, 1, false),   // padding of the window less one
		pool2D(2, 3, 13, 61, 3, 3, 1, 0, 1, false), // stride 1, wide
		pool2D(2, 3, 13, 61, 3, 3, 2, 0, 1, false), // stride 2, wide
		pool2D(2, 3, 17, 61, 3, 5, 3, 0, 1, false), // stride 3, wide
		pool2D(1, 2, 17, 43, 2, 3, 2, 0, 2, false), // dilated
		pool2D(1, 3, 11, 13, 3, 3, 2, 1, 1, true),  // padded, ceil mode
		pool2D(3, 1, 7, 31, 2, 2, 2, 0, 1, true),   // ceil mode without padding, the last window short
		pool2D(1, 1, 1, 37, 1, 3, 1, 0, 1, false),  // 1-D
		pool2D(1, 2, 6, 19, 3, 2, 2, 0, 1, false),  // AlexNet's 3x3/2 in small, odd width
	)
}

// TestPoolAlgorithms is the shared suite of the pooling algorithms:
// MaxPool by every algorithm, forced, at every CPU level, forward (values
// with and without the argmax) against the direct loop in float64, and
// backward against dy scattered to the reference's argmax; AveragePool
// (one algorithm) at every level, forward against the reference and
// backward by its adjoint identity <AvgPool(x), dy> = <x, AvgPool^T(dy)>
// in float64. Pairs an algorithm cannot compute are counted and logged.
func TestPoolAlgorithms(t *testing.T) {
	ran, skipped := map[poolAlgorithm]int{}, map[poolAlgorithm]int{}
	for i, p := range poolSuiteShapes() {
		if err := p.Validate(); err != nil {
			t.Fatalf("%s: %v", poolName(p), err)
		}
		rng := newRNG(uint64(200 + i))
		oh, ow := p.OutSize()
		nIn, nOut := p.N*p.C*p.H*p.W, p.N*p.C*oh*ow
		x, dy := uniform(rng, nIn, -1, 1), uniform(rng, nOut, -1, 1)
		ref := ndFromPool2D(p)[0]
		wantMax, wantArg := poolNDRef(ref, x, false)
		wantAvg, _ := poolNDRef(ref, x, true)
		wantDx := make([]float64, nIn)
		for o, at := range wantArg {
			wantDx[at] += float64(dy[o])
		}
		t.Run(poolName(p), func(t *testing.T) {
			leveltest.Run(t, func(t *testing.T) {
				for alg := poolAuto + 1; alg < numPoolAlgorithms; alg++ {
					q := p
					q.algorithm = alg
					if _, err := q.maxPoolAlgorithm(); err != nil {
						skipped[alg]++
						continue
					}
					ran[alg]++
					what := fmt.Sprintf("%s %s", poolName(p), alg)
					y, arg, values := make([]float32, nOut), make([]int64, nOut), make([]float32, nOut)
					MaxPoolForward(&q, x, y, arg)
					compare(t, what+" max", tolMaxPool, y, wantMax)
					for o := range arg {
						if arg[o] != wantArg[o] {
							t.Fatalf("%s: argmax[%d] = %d, want %d", what, o, arg[o], wantArg[o])
						}
					}
					MaxPoolValues(&q, x, values)
					compare(t, what+" values", tolMaxPool, values, wantMax)
					dx := make([]float32, nIn)
					MaxPoolBackward(&q, arg, dy, dx)
					compare(t, what+" dx", tolAvgPool, dx, wantDx)
				}
				y := make([]float32, nOut)
				AveragePoolForward(&p, x, y)
				compare(t, poolName(p)+" average", tolAvgPool, y, wantAvg)
				dx := make([]float32, nIn)
				AveragePoolBackward(&p, dy, dx)
				var lhs, rhs, mag float64
				for o, v := range wantAvg {
					lhs += v * float64(dy[o])
					mag += math.Abs(v * float64(dy[o]))
				}
				for j, v := range dx {
					rhs += float64(x[j]) * float64(v)
					mag += math.Abs(float64(x[j]) * float64(v))
				}
				if math.Abs(lhs-rhs) > 1e-5*mag {
					t.Errorf("%s: <AvgPool(x), dy> = %.9g, <x, AvgPool^T(dy)> = %.9g", poolName(p), lhs, rhs)
				}
			})
		})
	}
	for alg := poolAuto + 1; alg < numPoolAlgorithms; alg++ {
		t.Logf("MaxPool %s: %d shape-level pairs computed, %d skipped (windows that read padding)", alg, ran[alg], skipped[alg])
		if ran[alg] == 0 {
			t.Errorf("MaxPool %s computed no shape", alg)
		}
	}
}
