package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// TestConvPreparedWeights runs convolutions whose algorithms prepare
// their weights (Winograd's transformed kernels, the strided window's
// packed panels) with the weights marked constant and not: the results
// agree bitwise (the preparation is the one every call otherwise does),
// and with a float64 direct convolution; a new weights generation
// prepares the changed weights again.
func TestConvPreparedWeights(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 14))
	random := func(shape ...int) *tensor.Tensor {
		x := tensor.Float32(shape...)
		for i := range x.F32() {
			x.F32()[i] = float32(rng.NormFloat64())
		}
		return x
	}
	cases := []struct {
		name          string
		x, w          []int
		group, stride int
		pad           int64
	}{
		{"winograd-3x3", []int{1, 32, 24, 24}, []int{32, 32, 3, 3}, 1, 1, 1},
		{"winograd-3x3-groups", []int{1, 64, 24, 24}, []int{64, 32, 3, 3}, 2, 1, 1},
		{"winograd-5x5", []int{1, 32, 24, 24}, []int{40, 32, 5, 5}, 1, 1, 2},
		{"strided-window", []int{1, 3, 35, 35}, []int{16, 3, 11, 11}, 1, 4, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := testNode("Conv", graph.IntAttr("group", int64(tc.group)),
				graph.IntsAttr("strides", int64(tc.stride), int64(tc.stride)),
				graph.IntsAttr("pads", tc.pad, tc.pad, tc.pad, tc.pad))
			op := buildOp(t, n, 11).(*conv)
			x, w, b := random(tc.x...), random(tc.w...), random(tc.w[0])
			in := []*tensor.Tensor{x, w, b}
			run := func(constants, generation uint64) *tensor.Tensor {
				ctx := &Context{Pool: NewPool(), Constants: constants, Generation: generation}
				out, err := op.Forward(ctx, in)
				if err != nil {
					t.Fatal(err)
				}
				return out[0]
			}
			plain := run(0, 0)
			prepared := run(1<<1, 1)
			binding, _ := op.bound.lookup(in)
			if binding == nil || binding.prepared.Load() == nil || binding.prepared.Load().plan == nil {
				t.Fatal("the weights were not prepared")
			}
			identical(t, "prepared", prepared, plain)
			checkClose(t, "conv", testValues(t, prepared), directConv(x, w, b, tc.group, tc.stride, int(tc.pad)), tolerance{abs: 1e-3, rel: 1e-3})

			// The weights change in place: a new generation prepares them
			// again, and the result follows.
			for i := range w.F32() {
				w.F32()[i] *= -0.5
			}
			identical(t, "prepared after a change", run(1<<1, 2), run(0, 0))
		})
	}
}

// identical fails unless got and want hold bitwise the same float32s.
func identical(t *testing.T, what string, got, want *tensor.Tensor) {
	t.Helper()
	g, w := got.F32(), want.F32()
	if len(g) != len(w) {
		t.Fatalf("%s: %d values, want %d", what, len(g), len(w))
	}
	for i := range g {
		if math.Float32bits(g[i]) != math.Float32bits(w[i]) {
			t.Fatalf("%s: value %d is %v, want %v bitwise", what, i, g[i], w[i])
		}
	}
}

// directConv computes a 2-D convolution in float64 from its definition.
func directConv(x, w, b *tensor.Tensor, group, stride, pad int) []float64 {
	n, c, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	m, cg, kh, kw := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	oh, ow := (h+2*pad-kh)/stride+1, (wd+2*pad-kw)/stride+1
	mg := m / group
	xs, ws := x.F32(), w.F32()
	out := make([]float64, n*m*oh*ow)
	for i := range n {
		for o := range m {
			g := o / mg
			for y := range oh {
				for z := range ow {
					sum := float64(b.F32()[o])
					for ci := range cg {
						for p := range kh {
							for q := range kw {
								iy, ix := y*stride+p-pad, z*stride+q-pad
								if iy < 0 || iy >= h || ix < 0 || ix >= wd {
									continue
								}
								sum += float64(xs[((i*c+g*cg+ci)*h+iy)*wd+ix]) * float64(ws[((o*cg+ci)*kh+p)*kw+q])
							}
						}
					}
					out[((i*m+o)*oh+y)*ow+z] = sum
				}
			}
		}
	}
	return out
}
