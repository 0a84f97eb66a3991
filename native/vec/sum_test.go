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

// TestSumFloat64 compares SumFloat64 with the exact sum (math/big),
// within n float64 roundings of the sum of magnitudes, for every length
// up to 100 (every loop of the assembly and the Go tail) and a long
// one, and checks that an infinity or a NaN anywhere carries through, at
// every CPU level.
func TestSumFloat64(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		for _, n := range append([]int{1000, 4099}, func() []int {
			ns := make([]int, 101)
			for i := range ns {
				ns[i] = i
			}
			return ns
		}()...) {
			x := make([]float32, n)
			exact := new(big.Float).SetPrec(2000)
			var mag float64
			for i := range x {
				x[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(7)-3)))
				exact.Add(exact, new(big.Float).SetFloat64(float64(x[i])))
				mag += math.Abs(float64(x[i]))
			}
			want, _ := exact.Float64()
			if got := SumFloat64(x); math.Abs(got-want) > float64(n)*0x1p-52*mag {
				t.Fatalf("%s: SumFloat64 of %d values = %.17g, want %.17g", simd.Current(), n, got, want)
			}
			if n == 0 {
				continue
			}
			at := rng.IntN(n)
			y := append([]float32(nil), x...)
			y[at] = float32(math.Inf(-1))
			if got := SumFloat64(y); !math.IsInf(got, -1) {
				t.Fatalf("%s: SumFloat64 of %d values with -Inf at %d = %g", simd.Current(), n, at, got)
			}
			y[at] = float32(math.NaN())
			if got := SumFloat64(y); got == got {
				t.Fatalf("%s: SumFloat64 of %d values with a NaN at %d = %g", simd.Current(), n, at, got)
			}
		}
	})
}

// BenchmarkSumFloat64 times the sum of a 7x7 and a 56x56 plane.
func BenchmarkSumFloat64(b *testing.B) {
	for _, n := range []int{49, 3136} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(i)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			leveltest.Bench(b, func(b *testing.B) {
				b.SetBytes(int64(4 * n))
				for b.Loop() {
					SumFloat64(x)
				}
			})
		})
	}
}
