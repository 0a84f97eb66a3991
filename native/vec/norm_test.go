package vec

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/simd"
)

// normLengths are the row lengths the norm tests try: every length up
// to 70 (each loop of the assembly and the Go tail at both widths) and
// transformer widths.
func normLengths() []int {
	ns := []int{256, 768, 1000, 4099}
	for n := range 71 {
		ns = append(ns, n)
	}
	return ns
}

// TestSquaredDeviations compares SquaredDeviations with the exact sum of
// the float64 squares (math/big), within n+2 float64 roundings of it,
// and checks that an infinity or a NaN carries through, at every CPU
// level.
func TestSquaredDeviations(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, 12))
		for _, n := range normLengths() {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(3 + rng.NormFloat64()*math.Pow(10, float64(rng.IntN(5)-2)))
			}
			mean := 3 + rng.Float64()
			exact := new(big.Float).SetPrec(2000)
			for _, v := range x {
				d := new(big.Float).SetPrec(2000).Sub(new(big.Float).SetFloat64(float64(v)), new(big.Float).SetFloat64(mean))
				exact.Add(exact, d.Mul(d, d))
			}
			want, _ := exact.Float64()
			if got := SquaredDeviations(x, mean); math.Abs(got-want) > float64(n+2)*0x1p-52*want {
				t.Fatalf("%s: SquaredDeviations of %d values = %.17g, want %.17g", simd.Current(), n, got, want)
			}
			if n == 0 {
				continue
			}
			at := rng.IntN(n)
			y := append([]float32(nil), x...)
			y[at] = float32(math.Inf(-1))
			if got := SquaredDeviations(y, mean); !math.IsInf(got, 1) {
				t.Fatalf("%s: SquaredDeviations of %d values with -Inf at %d = %g", simd.Current(), n, at, got)
			}
			y[at] = float32(math.NaN())
			if got := SquaredDeviations(y, mean); got == got {
				t.Fatalf("%s: SquaredDeviations of %d values with a NaN at %d = %g", simd.Current(), n, at, got)
			}
		}
	})
}

// TestNormalizeAffine compares NormalizeAffine with the map computed in
// float64 from the same float32 operands, within 8 float32 roundings of
// the magnitudes of its terms, in place and not, at every CPU level;
// nothing past dst's length is written.
func TestNormalizeAffine(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(13, 14))
		for _, n := range normLengths() {
			for _, inPlace := range []bool{false, true} {
				src, scale, bias := make([]float32, n), make([]float32, n), make([]float32, n)
				for i := range src {
					src[i] = float32(rng.NormFloat64()*4 + 1)
					scale[i] = float32(rng.NormFloat64())
					bias[i] = float32(rng.NormFloat64())
				}
				mean, inv := float32(rng.NormFloat64()), float32(0.5+rng.Float64())
				want := make([]float64, n)
				tol := make([]float64, n)
				for i, v := range src {
					d := float64(v) - float64(mean)
					want[i] = d*float64(inv)*float64(scale[i]) + float64(bias[i])
					tol[i] = 8 * 0x1p-24 * ((math.Abs(float64(v))+math.Abs(float64(mean)))*float64(inv)*math.Abs(float64(scale[i])) + math.Abs(float64(bias[i])))
				}
				dst := make([]float32, n+1)
				dst[n] = 42
				if inPlace {
					copy(dst, src)
					NormalizeAffine(dst[:n], dst, scale, bias, mean, inv)
				} else {
					NormalizeAffine(dst[:n], src, scale, bias, mean, inv)
				}
				for i := range n {
					if math.Abs(float64(dst[i])-want[i]) > tol[i] {
						t.Fatalf("%s: NormalizeAffine of %d (in place %v): [%d] = %g, want %g ± %g", simd.Current(), n, inPlace, i, dst[i], want[i], tol[i])
					}
				}
				if dst[n] != 42 {
					t.Fatalf("%s: NormalizeAffine of %d wrote past dst: %g", simd.Current(), n, dst[n])
				}
			}
		}
	})
}

// BenchmarkLayerNormRow times the moments and the affine map of a row of
// 256 and of 768 values (a small encoder's and BERT-base's width).
func BenchmarkLayerNormRow(b *testing.B) {
	for _, n := range []int{256, 768} {
		x, scale, bias := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range x {
			x[i], scale[i], bias[i] = float32(i%7), 1, 0.5
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			leveltest.Bench(b, func(b *testing.B) {
				b.SetBytes(int64(4 * n))
				for b.Loop() {
					m := SumFloat64(x) / float64(n)
					inv := 1 / math.Sqrt(SquaredDeviations(x, m)/float64(n)+1e-5)
					NormalizeAffine(x, x, scale, bias, float32(m), float32(inv))
				}
			})
		})
	}
}
