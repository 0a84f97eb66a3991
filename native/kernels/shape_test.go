package kernels

import (
	"github.com/onnxkit/onnxkit/native/tensor"

	"fmt"
	"slices"
	"strings"
	"testing"
)

// tolShapeGrad: Transpose and Concat only move values, so the difference
// quotient is exact up to float32 rounding of x ± eps.
var tolShapeGrad = tolerance{Abs: 1e-5, Rel: 1e-5}

func TestTranspose(t *testing.T) {
	rng := newRNG(91)
	for _, p := range []TransposeParams{
		{Shape: []int{2, 3}, Perm: []int{1, 0}},
		{Shape: []int{2, 3, 4}, Perm: []int{2, 0, 1}},
		{Shape: []int{2, 3, 4, 5}, Perm: []int{0, 2, 3, 1}}, // NCHW -> NHWC
		{Shape: []int{3, 1, 2}, Perm: []int{0, 1, 2}},
		{Shape: []int{}, Perm: []int{}},
	} {
		t.Run(fmt.Sprintf("%v_%v", p.Shape, p.Perm), func(t *testing.T) {
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			x := uniform(rng, tensor.NumElements(p.Shape), -1, 1)
			y := make([]float32, len(x))
			TransposeForward(&p, x, y)
			out := p.OutShape()
			want := make([]float64, len(x))
			for i := range want {
				// Output multi-index o reads the input at i[Perm[k]] = o[k].
				o := unravel(i, out)
				in := make([]int, len(o))
				for k, a := range p.Perm {
					in[a] = o[k]
				}
				flat := 0
				for a, d := range p.Shape {
					flat = flat*d + in[a]
				}
				want[i] = float64(x[flat])
			}
			compare(t, "y", tolerance{}, y, want)

			g := uniform(rng, len(y), -1, 1)
			dx := make([]float32, len(x))
			TransposeBackward(&p, g, dx)
			checkGradients(t, "Transpose", tolShapeGrad, 1e-2, rng, g,
				func() []float32 { TransposeForward(&p, x, y); return y }, gradInput{"x", x, dx})
		})
	}
	for _, p := range []TransposeParams{
		{Shape: []int{2, 3}, Perm: []int{0}},
		{Shape: []int{2, 3}, Perm: []int{1, 1}},
		{Shape: []int{2, 3}, Perm: []int{0, 2}},
	} {
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "Perm") {
			t.Errorf("Validate(%+v) = %v, want a Perm error", p, err)
		}
	}
}

func TestConcat(t *testing.T) {
	rng := newRNG(92)
	for _, p := range []ConcatParams{
		{Shapes: [][]int{{2, 3}, {2, 1}, {2, 4}}, Axis: 1},
		{Shapes: [][]int{{1, 3, 2}, {2, 3, 2}}, Axis: 0},
		{Shapes: [][]int{{2, 1, 2}, {2, 3, 2}, {2, 2, 2}}, Axis: 1},
		{Shapes: [][]int{{2, 2, 1}, {2, 2, 3}}, Axis: 2},
		{Shapes: [][]int{{3}}, Axis: 0},
	} {
		t.Run(fmt.Sprintf("%v_axis%d", p.Shapes, p.Axis), func(t *testing.T) {
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			xs := make([][]float32, len(p.Shapes))
			for i, s := range p.Shapes {
				xs[i] = uniform(rng, tensor.NumElements(s), -1, 1)
			}
			out := p.OutShape()
			y := make([]float32, tensor.NumElements(out))
			ConcatForward(&p, xs, y)
			want := make([]float64, len(y))
			for i := range want {
				// Find the input holding position o[Axis] along the axis.
				o := unravel(i, out)
				input := 0
				for o[p.Axis] >= p.Shapes[input][p.Axis] {
					o[p.Axis] -= p.Shapes[input][p.Axis]
					input++
				}
				flat := 0
				for a, d := range p.Shapes[input] {
					flat = flat*d + o[a]
				}
				want[i] = float64(xs[input][flat])
			}
			compare(t, "y", tolerance{}, y, want)

			g := uniform(rng, len(y), -1, 1)
			dxs := make([][]float32, len(xs))
			inputs := make([]gradInput, len(xs))
			for i := range xs {
				dxs[i] = make([]float32, len(xs[i]))
				inputs[i] = gradInput{fmt.Sprintf("x%d", i), xs[i], dxs[i]}
			}
			ConcatBackward(&p, g, dxs)
			checkGradients(t, "Concat", tolShapeGrad, 1e-2, rng, g,
				func() []float32 { ConcatForward(&p, xs, y); return y }, inputs...)
		})
	}
	for _, tc := range []struct {
		p    ConcatParams
		want string
	}{
		{ConcatParams{}, "no inputs"},
		{ConcatParams{Shapes: [][]int{{2, 3}}, Axis: 2}, "Axis: 2 out of range for rank 2"},
		{ConcatParams{Shapes: [][]int{{2, 3}, {2}}, Axis: 0}, "input 1 has rank 1"},
		{ConcatParams{Shapes: [][]int{{2, 3}, {3, 3}, {2, 4}}, Axis: 0}, "input 2 is [2 4], input 0 is [2 3]: axis 1 differs"},
	} {
		if err := tc.p.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want error containing %q", tc.p, err, tc.want)
		}
	}
	// A nil gradient buffer is skipped.
	p := ConcatParams{Shapes: [][]int{{2}, {3}}, Axis: 0}
	dx1 := make([]float32, 3)
	ConcatBackward(&p, []float32{1, 2, 3, 4, 5}, [][]float32{nil, dx1})
	if !slices.Equal(dx1, []float32{3, 4, 5}) {
		t.Errorf("dx1 = %v, want [3 4 5]", dx1)
	}
}
