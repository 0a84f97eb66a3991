package vec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
)

// arithLengths are the lengths the binary operations are checked at:
// empty, below one vector, around one and four vectors of either width,
// and long.
var arithLengths = []int{0, 1, 7, 8, 15, 16, 17, 63, 64, 65, 1000}

// arithOperand returns n values with the cases that distinguish the
// operations' rounding and special values: signed zeros, infinities,
// NaN, subnormals and ordinary values of mixed magnitude.
func arithOperand(rng *rand.Rand, n int) []float32 {
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), 1e-40, -3e-39, math.MaxFloat32, 1}
	v := make([]float32, n)
	for i := range v {
		if rng.IntN(6) == 0 {
			v[i] = special[rng.IntN(len(special))]
		} else {
			v[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(7)-3)))
		}
	}
	return v
}

// sameFloat reports whether got and want are the same float32, any NaN
// matching any NaN.
func sameFloat(got, want float32) bool {
	return got == want && math.Signbit(float64(got)) == math.Signbit(float64(want)) || got != got && want != want
}

// TestBinaryOps checks Binary, BinaryScalar and ScalarBinary at every CPU
// level, every operation and the lengths of arithLengths against Go's
// float32 arithmetic element by element: the results must be the same
// bits (NaN payloads aside). Each runs out of place, and in place over
// the vector operand, on slices longer than dst, whose extra elements
// must stay untouched.
func TestBinaryOps(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, 12))
		ops := map[BinaryOp]func(x, y float32) float32{
			OpAdd: func(x, y float32) float32 { return x + y },
			OpSub: func(x, y float32) float32 { return x - y },
			OpMul: func(x, y float32) float32 { return x * y },
			OpDiv: func(x, y float32) float32 { return x / y },
		}
		for op, ref := range ops {
			for _, n := range arithLengths {
				x, y := arithOperand(rng, n+3), arithOperand(rng, n+3)
				s := arithOperand(rng, 1)[0]
				check := func(form string, got []float32, want func(i int) float32) {
					t.Helper()
					for i := 0; i < n; i++ {
						if w := want(i); !sameFloat(got[i], w) {
							t.Errorf("%s op %d n=%d: [%d] = %g, want %g", form, op, n, i, got[i], w)
							return
						}
					}
				}
				dst := make([]float32, n)
				Binary(op, dst, x, y)
				check("Binary", dst, func(i int) float32 { return ref(x[i], y[i]) })
				BinaryScalar(op, dst, x, s)
				check("BinaryScalar", dst, func(i int) float32 { return ref(x[i], s) })
				ScalarBinary(op, dst, s, y)
				check("ScalarBinary", dst, func(i int) float32 { return ref(s, y[i]) })

				inPlace := append([]float32(nil), x...)
				Binary(op, inPlace[:n], inPlace, y)
				check("Binary in place", inPlace, func(i int) float32 { return ref(x[i], y[i]) })
				inPlace = append(inPlace[:0], y...)
				ScalarBinary(op, inPlace[:n], s, inPlace)
				check("ScalarBinary in place", inPlace, func(i int) float32 { return ref(s, y[i]) })
				for i := n; i < n+3; i++ {
					if !sameFloat(inPlace[i], y[i]) {
						t.Errorf("ScalarBinary op %d n=%d wrote element %d past dst", op, n, i)
					}
				}
			}
		}
	})
}

// TestBinaryPanics checks that operands shorter than dst and unknown
// operations are refused.
func TestBinaryPanics(t *testing.T) {
	cases := map[string]func(){
		"short y":       func() { Binary(OpAdd, make([]float32, 9), make([]float32, 9), make([]float32, 8)) },
		"short x":       func() { BinaryScalar(OpMul, make([]float32, 9), make([]float32, 8), 1) },
		"short vector":  func() { ScalarBinary(OpDiv, make([]float32, 9), 1, make([]float32, 8)) },
		"bad operation": func() { Binary(OpDiv+1, nil, nil, nil) },
	}
	for name, f := range cases {
		if msg := catchPanic(f); msg == "" {
			t.Errorf("%s: no panic", name)
		}
	}
}

// catchPanic runs f and returns what it panicked with, formatted, or "".
func catchPanic(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

// BenchmarkBinary measures Binary's addition on 64 Ki elements (256 KiB per
// operand, within L2).
func BenchmarkBinary(b *testing.B) {
	const n = 1 << 16
	x, y, dst := make([]float32, n), make([]float32, n), make([]float32, n)
	b.SetBytes(3 * 4 * n)
	for b.Loop() {
		Binary(OpAdd, dst, x, y)
	}
}
