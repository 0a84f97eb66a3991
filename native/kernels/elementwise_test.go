package kernels

import (
	"errors"
	"fmt"
	"github.com/onnxkit/onnxkit/native/tensor"
	"slices"
	"strings"
	"testing"
)

// Tolerances for the broadcasting ops.
var (
	// Exact: an IEEE float32 operation is correctly rounded, and so is the
	// float64 result rounded to float32 (float64 carries more than 2*24+2
	// bits, so the double rounding is harmless).
	tolBinary = tolerance{}
	// Gradients: Add and Sub are linear, Mul bilinear, Div smooth with
	// divisors kept in [0.5, 1.5]; eps = 1e-2 truncation for Div
	// (a/b³ * eps² ~ 1e-3 at worst) dominates.
	tolBinaryGrad = tolerance{Abs: 2e-4, Rel: 2e-3}
)

// unravel returns the multi-index of flat index i in shape.
func unravel(i int, shape []int) []int {
	idx := make([]int, len(shape))
	for a := len(shape) - 1; a >= 0; a-- {
		idx[a] = i % shape[a]
		i /= shape[a]
	}
	return idx
}

// ravelBroadcast returns the flat index in shape of the element that the
// output multi-index reads under broadcasting: shape is aligned to the
// end, and its axes of size 1 read index 0.
func ravelBroadcast(outIdx, shape []int) int {
	off := len(outIdx) - len(shape)
	flat := 0
	for a, d := range shape {
		i := outIdx[off+a]
		if d == 1 {
			i = 0
		}
		flat = flat*d + i
	}
	return flat
}

// TestBroadcastShape checks that the kernels' BroadcastShape reports the
// shape errors of tensor.BroadcastShape (tested there) as *ParamError.
func TestBroadcastShape(t *testing.T) {
	if got, err := BroadcastShape([]int{4, 1, 5}, []int{3, 1}); err != nil || !slices.Equal(got, []int{4, 3, 5}) {
		t.Errorf("BroadcastShape([4 1 5], [3 1]) = %v, %v; want [4 3 5]", got, err)
	}
	for _, tc := range []struct {
		a, b []int
		err  string
	}{
		{[]int{2, 3}, []int{2}, "differ at axis 1 (3 vs 2)"},
		{[]int{-1}, []int{1}, "negative dimension"},
	} {
		_, err := BroadcastShape(tc.a, tc.b)
		var pe *ParamError
		if !errors.As(err, &pe) || pe.Op != "Broadcast" || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("BroadcastShape(%v, %v) error = %v, want a *ParamError containing %q", tc.a, tc.b, err, tc.err)
		}
	}
}

var broadcastCases = [][2][]int{
	{{2, 3}, {2, 3}},
	{{2, 3, 4}, {4}},
	{{4}, {2, 3, 4}},
	{{2, 1, 4}, {3, 1}},
	{{1, 3, 1}, {2, 1, 5}},
	{{}, {2, 3}},
	{{3, 2}, {}},
	{{5}, {1}},
}

func TestBinaryOps(t *testing.T) {
	rng := newRNG(51)
	type opCase struct {
		name     string
		forward  func(*Broadcast, []float32, []float32, []float32)
		backward func(bc *Broadcast, a, b, dy, da, db []float32)
		ref      func(a, b float64) float64
	}
	ops := []opCase{
		{"Add", AddForward, func(bc *Broadcast, _, _, dy, da, db []float32) { AddBackward(bc, dy, da, db) },
			func(a, b float64) float64 { return a + b }},
		{"Sub", SubForward, func(bc *Broadcast, _, _, dy, da, db []float32) { SubBackward(bc, dy, da, db) },
			func(a, b float64) float64 { return a - b }},
		{"Mul", MulForward, MulBackward, func(a, b float64) float64 { return a * b }},
		{"Div", DivForward, DivBackward, func(a, b float64) float64 { return a / b }},
	}
	for _, shapes := range broadcastCases {
		for _, op := range ops {
			t.Run(fmt.Sprintf("%s_%v_%v", op.name, shapes[0], shapes[1]), func(t *testing.T) {
				bc, err := NewBroadcast(shapes[0], shapes[1])
				if err != nil {
					t.Fatal(err)
				}
				a := uniform(rng, tensor.NumElements(bc.A), -1, 1)
				b := awayFromZero(rng, tensor.NumElements(bc.B), 0.5)
				for i := range b {
					b[i] *= 1.5
				}
				y := make([]float32, tensor.NumElements(bc.Out))
				op.forward(bc, a, b, y)
				want := make([]float64, len(y))
				for i := range want {
					idx := unravel(i, bc.Out)
					want[i] = op.ref(float64(a[ravelBroadcast(idx, bc.A)]), float64(b[ravelBroadcast(idx, bc.B)]))
					want[i] = float64(float32(want[i])) // the float32 result, correctly rounded
				}
				compare(t, "y", tolBinary, y, want)

				g := uniform(rng, len(y), -1, 1)
				da, db := make([]float32, len(a)), make([]float32, len(b))
				op.backward(bc, a, b, g, da, db)
				checkGradients(t, op.name, tolBinaryGrad, 1e-2, rng, g,
					func() []float32 { op.forward(bc, a, b, y); return y },
					gradInput{"a", a, da}, gradInput{"b", b, db})
			})
		}
	}
}
