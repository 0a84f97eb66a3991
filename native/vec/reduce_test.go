package vec

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
)

// TestMax compares Max, at every CPU level, with a float64 maximum on
// every length up to 70 (whole and partial vectors), a NaN at every
// position of some slices, and infinities.
func TestMax(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		for n := 1; n <= 70; n++ {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(rng.NormFloat64() * 100)
			}
			want := math.Inf(-1)
			for _, v := range x {
				want = math.Max(want, float64(v))
			}
			if got := Max(x); float64(got) != want {
				t.Fatalf("Max of %d values = %g, want %g", n, got, want)
			}
			x[rng.IntN(n)] = float32(math.Inf(1))
			if got := Max(x); !math.IsInf(float64(got), 1) {
				t.Fatalf("Max of %d values with +Inf = %g", n, got)
			}
			for at := range x {
				y := append([]float32(nil), x...)
				y[at] = float32(math.NaN())
				if got := Max(y); got == got {
					t.Fatalf("Max of %d values with a NaN at %d = %g", n, at, got)
				}
			}
		}
		if got := Max([]float32{float32(math.Inf(-1)), -3}); got != -3 {
			t.Errorf("Max(-Inf, -3) = %g", got)
		}
	})
}

// TestExpShiftSum checks, at every CPU level, that ExpShiftSum stores
// what Exp gives for the differences (Exp is bounded against float64 by
// TestTranscendentals) and returns their sum within float64 rounding,
// on every length up to 70 and a long row, in place too.
func TestExpShiftSum(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		for _, n := range append([]int{1000}, func() []int {
			var ns []int
			for n := range 71 {
				ns = append(ns, n)
			}
			return ns
		}()...) {
			src := make([]float32, n)
			for i := range src {
				src[i] = float32(rng.NormFloat64() * 10)
			}
			shift := float32(rng.NormFloat64() * 10)
			want := make([]float32, n)
			for i, v := range src {
				want[i] = v - shift
			}
			Exp(want, want)
			var wantSum float64
			for _, v := range want {
				wantSum += float64(v)
			}
			for _, inPlace := range []bool{false, true} {
				dst := make([]float32, n)
				if inPlace {
					copy(dst, src)
				}
				in := src
				if inPlace {
					in = dst
				}
				sum := ExpShiftSum(dst, in, shift)
				for i := range dst {
					if math.Float32bits(dst[i]) != math.Float32bits(want[i]) {
						t.Fatalf("n %d: e^(%g - %g) = %g, Exp gives %g", n, src[i], shift, dst[i], want[i])
					}
				}
				if math.Abs(sum-wantSum) > 1e-12*wantSum {
					t.Fatalf("n %d: sum %g, want %g", n, sum, wantSum)
				}
			}
		}
		// A row of -Inf shifted by -Inf is NaN throughout, as in Go.
		dst := make([]float32, 20)
		src := make([]float32, 20)
		for i := range src {
			src[i] = float32(math.Inf(-1))
		}
		if sum := ExpShiftSum(dst, src, float32(math.Inf(-1))); sum == sum {
			t.Errorf("sum of e^(-Inf - -Inf) = %g, want NaN", sum)
		}
	})
}

// TestSoftmax compares Softmax, at every CPU level, with a softmax in
// float64 of the float32 differences from the maximum on every length
// up to 70 and some longer rows (a vision transformer's 197), with -Inf
// entries (masked positions) in some rows, in place too: each result
// within 4e-7 of the reference plus 1e-38 (the exponentials are float32
// within a few ULPs, the division a float32 product). A NaN anywhere makes every result a NaN, as does a
// row of -Inf only.
func TestSoftmax(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		lengths := []int{128, 197, 1000}
		for n := 1; n <= 70; n++ {
			lengths = append(lengths, n)
		}
		for _, n := range lengths {
			for _, masked := range []bool{false, true} {
				src := make([]float32, n)
				for i := range src {
					src[i] = float32(rng.NormFloat64() * 10)
					if masked && i > 0 && rng.IntN(3) == 0 {
						src[i] = float32(math.Inf(-1))
					}
				}
				m := math.Inf(-1)
				for _, v := range src {
					m = math.Max(m, float64(v))
				}
				want := make([]float64, n)
				var sum float64
				for i, v := range src {
					want[i] = math.Exp(float64(v - float32(m))) // the difference in float32, as specified
					sum += want[i]
				}
				for _, inPlace := range []bool{false, true} {
					dst := make([]float32, n)
					in := src
					if inPlace {
						copy(dst, src)
						in = dst
					}
					Softmax(dst, in)
					for i, v := range dst {
						w := want[i] / sum
						if math.Abs(float64(v)-w) > 4e-7*w+1e-38 {
							t.Fatalf("n %d masked %v in place %v: softmax[%d] = %g, want %g", n, masked, inPlace, i, v, w)
						}
					}
				}
			}
			src := make([]float32, n)
			for i := range src {
				src[i] = float32(rng.NormFloat64())
			}
			src[rng.IntN(n)] = float32(math.NaN())
			dst := make([]float32, n)
			Softmax(dst, src)
			for i, v := range dst {
				if v == v {
					t.Fatalf("n %d with a NaN: softmax[%d] = %g, want NaN", n, i, v)
				}
			}
			for i := range src {
				src[i] = float32(math.Inf(-1))
			}
			Softmax(dst, src)
			for i, v := range dst {
				if v == v {
					t.Fatalf("n %d of -Inf: softmax[%d] = %g, want NaN", n, i, v)
				}
			}
		}
	})
}

// TestSoftmaxRows checks, at every CPU level, that SoftmaxRows gives
// each row bitwise what Softmax gives it alone (Softmax is checked
// against float64 by TestSoftmax), on rows of every length up to 40 and
// 197, a NaN in one row leaving the others, in place too.
func TestSoftmaxRows(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, 12))
		for _, n := range append([]int{197}, func() []int {
			var ns []int
			for n := 1; n <= 40; n++ {
				ns = append(ns, n)
			}
			return ns
		}()...) {
			const rows = 5
			src := make([]float32, rows*n)
			for i := range src {
				src[i] = float32(rng.NormFloat64() * 10)
			}
			src[2*n+rng.IntN(n)] = float32(math.NaN())
			want := make([]float32, len(src))
			for r := range rows {
				Softmax(want[r*n:(r+1)*n], src[r*n:(r+1)*n])
			}
			for _, inPlace := range []bool{false, true} {
				dst := make([]float32, len(src))
				in := src
				if inPlace {
					copy(dst, src)
					in = dst
				}
				SoftmaxRows(dst, in, n)
				for i := range dst {
					if math.Float32bits(dst[i]) != math.Float32bits(want[i]) {
						t.Fatalf("rows of %d, in place %v: [%d] = %g, Softmax of the row gives %g", n, inPlace, i, dst[i], want[i])
					}
				}
			}
			for i := range n {
				if v := want[2*n+i]; v == v {
					t.Fatalf("rows of %d: the row with a NaN has %g at %d", n, v, i)
				}
				if v := want[n+i]; v != v {
					t.Fatalf("rows of %d: row 1 has a NaN at %d, from row 2's", n, i)
				}
			}
		}
	})
}
