package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/kernels"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// The N-D kernels' values are checked against float64 references and
// finite differences in native/kernels; these tests check that Conv and
// the pooling ops translate their attributes for three spatial axes into
// the right kernels.Window (pads worked out by hand below) and pass the
// outputs and gradients through unchanged, so they compare bitwise with
// direct kernel calls.

// ndOpset is a version at which Conv, MaxPool (with dilations and
// ceil_mode) and AveragePool (with count_include_pad) all exist.
const ndOpset = 12

// ndRandom returns a float32 tensor of the given shape with values in [-1, 1).
func ndRandom(rng *rand.Rand, shape ...int) *tensor.Tensor {
	data := make([]float32, tensor.NumElements(shape))
	for i := range data {
		data[i] = 2*rng.Float32() - 1
	}
	return tensor.FromFloat32(data, shape...)
}

// ndForward builds a node of opType and runs it forward, returning the op
// and the context for Backward.
func ndForward(t *testing.T, opType string, attrs []*graph.Attr, in ...*tensor.Tensor) (Differentiable, *Context, []*tensor.Tensor) {
	t.Helper()
	op, err := Build(&graph.Node{Name: "nd", OpType: opType, Domain: graph.DefaultDomain, Attrs: attrs}, ndOpset)
	if err != nil {
		t.Fatalf("build %s: %v", opType, err)
	}
	ctx := &Context{}
	out, err := op.Forward(ctx, in)
	if err != nil {
		t.Fatalf("%s forward: %v", opType, err)
	}
	d, ok := op.(Differentiable)
	if !ok {
		t.Fatalf("%s has no backward pass", opType)
	}
	return d, ctx, out
}

// ndSame checks a tensor's shape and that its float32 values are bitwise
// those of want.
func ndSame(t *testing.T, what string, got *tensor.Tensor, shape []int, want []float32) {
	t.Helper()
	if fmt.Sprint(got.Shape) != fmt.Sprint(shape) {
		t.Fatalf("%s: shape %v, want %v", what, got.Shape, shape)
	}
	for i, v := range got.F32() {
		if math.Float32bits(v) != math.Float32bits(want[i]) {
			t.Errorf("%s: first difference at index %d: %v, want %v", what, i, v, want[i])
			return
		}
	}
}

func TestConvNDAttributes(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(41, 42))
		x, w, b := ndRandom(rng, 2, 4, 6, 6, 4), ndRandom(rng, 6, 2, 3, 2, 3), ndRandom(rng, 6)
		for _, tc := range []struct {
			name  string
			attrs []*graph.Attr
			want  kernels.Window
		}{
			// SAME_UPPER, out = ceil(in/stride), total pad = (out-1)*stride + kernel - in:
			// depth 6, k 3, s 2: out 3, total 1 -> (0, 1); height 6, k 2, s 2: out 3, total 0;
			// width 4, k 3, s 1: out 4, total 2 -> (1, 1).
			{"same_upper", []*graph.Attr{graph.StringAttr("auto_pad", "SAME_UPPER"), graph.IntsAttr("strides", 2, 2, 1), graph.IntAttr("group", 2)},
				kernels.Window{In: []int{6, 6, 4}, Kernel: []int{3, 2, 3}, Strides: []int{2, 2, 1},
					PadsBegin: []int{0, 0, 1}, PadsEnd: []int{1, 0, 1}, Dilations: []int{1, 1, 1}}},
			// SAME_LOWER puts the odd unit of depth at the start.
			{"same_lower", []*graph.Attr{graph.StringAttr("auto_pad", "SAME_LOWER"), graph.IntsAttr("strides", 2, 2, 1), graph.IntAttr("group", 2)},
				kernels.Window{In: []int{6, 6, 4}, Kernel: []int{3, 2, 3}, Strides: []int{2, 2, 1},
					PadsBegin: []int{1, 0, 1}, PadsEnd: []int{0, 0, 1}, Dilations: []int{1, 1, 1}}},
			// pads lists the begin values of the three axes, then the end values.
			{"explicit", []*graph.Attr{graph.IntsAttr("pads", 1, 0, 2, 0, 1, 1), graph.IntsAttr("dilations", 2, 1, 1),
				graph.IntsAttr("kernel_shape", 3, 2, 3), graph.IntAttr("group", 2)},
				kernels.Window{In: []int{6, 6, 4}, Kernel: []int{3, 2, 3}, Strides: []int{1, 1, 1},
					PadsBegin: []int{1, 0, 2}, PadsEnd: []int{0, 1, 1}, Dilations: []int{2, 1, 1}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				op, ctx, out := ndForward(t, "Conv", tc.attrs, x, w, b)
				p := kernels.ConvNDParams{N: 2, C: 4, M: 6, Group: 2, Window: tc.want}
				if err := p.Validate(); err != nil {
					t.Fatal(err)
				}
				want := make([]float32, 2*6*tensor.NumElements(p.OutSize()))
				kernels.ConvNDForward(&p, x.F32(), w.F32(), b.F32(), want)
				ndSame(t, "Y", out[0], append([]int{2, 6}, p.OutSize()...), want)

				g := ndRandom(rng, out[0].Shape...)
				grads, err := op.Backward(ctx, []*tensor.Tensor{x, w, b}, out, []*tensor.Tensor{g})
				if err != nil {
					t.Fatal(err)
				}
				dx, dw, db := make([]float32, x.Len()), make([]float32, w.Len()), make([]float32, b.Len())
				kernels.ConvNDBackward(&p, x.F32(), w.F32(), nil, g.F32(), dx, dw, db)
				ndSame(t, "dX", grads[0], x.Shape, dx)
				ndSame(t, "dW", grads[1], w.Shape, dw)
				ndSame(t, "dB", grads[2], b.Shape, db)

				// A backward pass that does not want dX (the input of the
				// first layer) gets none, and the same dW and dB.
				ctx.Wanted = []bool{false, true, true}
				grads, err = op.Backward(ctx, []*tensor.Tensor{x, w, b}, out, []*tensor.Tensor{g})
				if err != nil {
					t.Fatal(err)
				}
				if grads[0] != nil {
					t.Errorf("dX computed though not wanted")
				}
				ndSame(t, "dW without dX", grads[1], w.Shape, dw)
				ndSame(t, "dB without dX", grads[2], b.Shape, db)
			})
		}
	})
}

func TestPoolNDAttributes(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(43, 44))
		x := ndRandom(rng, 2, 3, 7, 5, 6)
		// pads begin (1, 0, 1), end (0, 1, 1); ceil_mode: depth ceil((7+1-3)/2)+1 = 4,
		// height ceil((5+1-2)/2)+1 = 3, width ceil((6+2-3)/1)+1 = 6.
		win := kernels.Window{In: []int{7, 5, 6}, Kernel: []int{3, 2, 2}, Strides: []int{2, 2, 1},
			PadsBegin: []int{1, 0, 1}, PadsEnd: []int{0, 1, 1}, Dilations: []int{1, 1, 2}}
		shape := []int{2, 3, 4, 3, 6}
		common := []*graph.Attr{graph.IntsAttr("kernel_shape", 3, 2, 2), graph.IntsAttr("strides", 2, 2, 1),
			graph.IntsAttr("pads", 1, 0, 1, 0, 1, 1), graph.IntAttr("ceil_mode", 1)}
		p := kernels.PoolNDParams{N: 2, C: 3, Window: win, CeilMode: true}

		t.Run("MaxPool", func(t *testing.T) {
			op, ctx, out := ndForward(t, "MaxPool", append(common, graph.IntsAttr("dilations", 1, 1, 2)), x)
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			n := tensor.NumElements(shape)
			want, argmax := make([]float32, n), make([]int64, n)
			kernels.MaxPoolNDForward(&p, x.F32(), want, argmax)
			ndSame(t, "Y", out[0], shape, want)
			if fmt.Sprint(out[1].Shape) != fmt.Sprint(shape) || fmt.Sprint(out[1].Data) != fmt.Sprint(argmax) {
				t.Errorf("Indices %v %v, want %v %v", out[1].Shape, out[1].Data, shape, argmax)
			}
			g := ndRandom(rng, shape...)
			grads, err := op.Backward(ctx, []*tensor.Tensor{x}, out, []*tensor.Tensor{g, nil})
			if err != nil {
				t.Fatal(err)
			}
			dx := make([]float32, x.Len())
			kernels.MaxPoolNDBackward(&p, argmax, g.F32(), dx)
			ndSame(t, "dX", grads[0], x.Shape, dx)
		})

		t.Run("AveragePool", func(t *testing.T) {
			q := p
			q.Dilations, q.CountIncludePad = []int{1, 1, 1}, true
			// Without dilation the width has ceil((6+2-2)/1)+1 = 7 positions.
			avgShape := []int{2, 3, 4, 3, 7}
			op, ctx, out := ndForward(t, "AveragePool", append(common, graph.IntAttr("count_include_pad", 1)), x)
			if err := q.Validate(); err != nil {
				t.Fatal(err)
			}
			want := make([]float32, tensor.NumElements(avgShape))
			kernels.AveragePoolNDForward(&q, x.F32(), want)
			ndSame(t, "Y", out[0], avgShape, want)
			g := ndRandom(rng, avgShape...)
			grads, err := op.Backward(ctx, []*tensor.Tensor{x}, out, []*tensor.Tensor{g})
			if err != nil {
				t.Fatal(err)
			}
			dx := make([]float32, x.Len())
			kernels.AveragePoolNDBackward(&q, g.F32(), dx)
			ndSame(t, "dX", grads[0], x.Shape, dx)
		})
	})
}

func TestWindowNDErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(45, 46))
	x5, w5 := ndRandom(rng, 1, 2, 4, 4, 4), ndRandom(rng, 3, 2, 2, 2, 2)
	for _, tc := range []struct {
		opType string
		attrs  []*graph.Attr
		in     []*tensor.Tensor
		want   string
	}{
		{"Conv", []*graph.Attr{graph.IntsAttr("pads", 1, 1, 1, 1)}, []*tensor.Tensor{x5, w5}, "pads [1 1 1 1] does not fit 3 spatial axes"},
		{"Conv", []*graph.Attr{graph.IntsAttr("strides", 1, 1)}, []*tensor.Tensor{x5, w5}, "does not fit 3 spatial axes"},
		{"Conv", []*graph.Attr{graph.IntAttr("group", 2)}, []*tensor.Tensor{x5, w5}, "with group 2 does not fit 2 input channels"},
		{"Conv", []*graph.Attr{graph.IntsAttr("kernel_shape", 5, 2, 2)}, []*tensor.Tensor{x5, ndRandom(rng, 3, 2, 5, 2, 2)}, "larger than padded input"},
		{"MaxPool", []*graph.Attr{graph.IntsAttr("kernel_shape", 2, 2)}, []*tensor.Tensor{x5}, "kernel_shape [2 2] does not fit an input with 3 spatial axes"},
		{"MaxPool", []*graph.Attr{graph.IntsAttr("kernel_shape", 2)}, []*tensor.Tensor{ndRandom(rng, 2, 3)}, "no spatial axes"},
	} {
		op, err := Build(&graph.Node{Name: "nd", OpType: tc.opType, Domain: graph.DefaultDomain, Attrs: tc.attrs}, ndOpset)
		if err == nil {
			_, err = op.Forward(&Context{}, tc.in)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: got error %v, want one containing %q", tc.opType, tc.attrs, err, tc.want)
		}
	}
}
