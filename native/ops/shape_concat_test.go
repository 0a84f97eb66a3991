package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// TestConcatAgainstReference joins random tensors along every axis,
// with an empty input among them, and compares with a coordinate-by-
// coordinate reference: small tensors of several element types, and
// large ones that the threads (4 of them) copy in ranges that cut the
// inputs' pieces.
func TestConcatAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	small := []graph.DType{graph.Float32, graph.Int32, graph.String, graph.Bool}
	concatAgainstReference(t, rng, []int{3, 4, 2}, []int{2, 0, 3, 1}, small)
	parallel.With(4, func() {
		concatAgainstReference(t, rng, []int{3, 5, 97, 53}, []int{5, 0, 7, 3}, []graph.DType{graph.Float32, graph.Int64})
	})
	x := tensor.Float32(2, 3)
	runNodeErr(t, testNode("Concat", graph.IntAttr("axis", 0)), 13, x, tensor.Float32(2, 4))
	runNodeErr(t, testNode("Concat", graph.IntAttr("axis", 0)), 13, x, tensor.New(graph.Int64, 2, 3))
	if _, err := Build(testNode("Concat"), 4); err == nil {
		t.Error("Concat-4 without axis accepted")
	}
	// Opset 1 defaults to axis 1.
	y := runNode(t, testNode("Concat"), 1, x, x)[0]
	checkTensor(t, "Concat-1 default axis", y, []int{2, 6}, make([]float64, 12), tolExact)
}

// concatAgainstReference joins, along each axis of base, inputs of base's
// shape with that axis of the given sizes.
func concatAgainstReference(t *testing.T, rng *rand.Rand, base, sizes []int, dtypes []graph.DType) {
	t.Helper()
	rank := len(base)
	for axis := range rank {
		for _, dt := range dtypes {
			var in []*tensor.Tensor
			var vals [][]float64
			var shapes [][]int
			total := 0
			for _, s := range sizes {
				shape := append([]int(nil), base...)
				shape[axis] = s
				v := mvRandFor(rng, dt, tensor.NumElements(shape))
				in = append(in, testTensor(dt, shape, v))
				vals, shapes = append(vals, v), append(shapes, shape)
				total += s
			}
			out := append([]int(nil), base...)
			out[axis] = total
			// Reference: find the input whose range along axis holds the
			// output coordinate.
			want := make([]float64, tensor.NumElements(out))
			for i := range want {
				c := coordsOf(i, out)
				k, pos := 0, c[axis]
				for pos >= sizes[k] {
					pos -= sizes[k]
					k++
				}
				c[axis] = pos
				want[i] = vals[k][flatIndex(c, shapes[k])]
			}
			for _, a := range []int{axis, axis - rank} {
				y := runNode(t, testNode("Concat", graph.IntAttr("axis", int64(a))), 13, in...)[0]
				checkTensor(t, fmt.Sprintf("%v %v axis %d", dt, out, a), y, out, want, tolExact)
			}
		}
	}
}

func TestConcatGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	in := []*tensor.Tensor{
		testTensor(graph.Float32, []int{2, 1, 3}, randomNormal(rng, 6)),
		testTensor(graph.Float32, []int{2, 4, 3}, randomNormal(rng, 24)),
		testTensor(graph.Float32, []int{2, 2, 3}, randomNormal(rng, 12)),
	}
	op := buildOp(t, testNode("Concat", graph.IntAttr("axis", -2)), 13)
	for i := range in {
		checkGradients(t, "Concat", op, in, []int{i}, rand.New(rand.NewPCG(uint64(10+i), 7)), tolLinearGrad)
	}
}

func TestSplitVersions(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	vals := mvRandInts(rng, 14, 100)
	x := testTensor(graph.Int64, []int{2, 7}, vals)
	// Reference: row r of piece [lo, hi) along axis 1.
	piece := func(lo, hi int) []float64 {
		var out []float64
		for r := range 2 {
			out = append(out, vals[r*7+lo:r*7+hi]...)
		}
		return out
	}
	outs := func(k int) *graph.Node {
		n := testNode("Split", graph.IntAttr("axis", 1))
		for i := range k {
			n.Outputs = append(n.Outputs, fmt.Sprint("y", i))
		}
		return n
	}
	check := func(what string, ys []*tensor.Tensor, bounds ...int) {
		t.Helper()
		if len(ys) != len(bounds)-1 {
			t.Fatalf("%s: %d outputs, want %d", what, len(ys), len(bounds)-1)
		}
		for i, y := range ys {
			checkTensor(t, fmt.Sprintf("%s piece %d", what, i), y, []int{2, bounds[i+1] - bounds[i]}, piece(bounds[i], bounds[i+1]), tolExact)
		}
	}
	n := outs(3)
	n.Attrs = append(n.Attrs, graph.IntsAttr("split", 2, 0, 5))
	check("Split-2 attribute", runNode(t, n, 2, x), 0, 2, 2, 7)
	check("Split-1 input", runNode(t, outs(2), 1, x, int64s(3, 4)), 0, 3, 7)
	check("Split-13 input", runNode(t, outs(2), 13, x, int64s(6, 1)), 0, 6, 7)
	check("Split-13 equal", runNode(t, outs(1), 13, x), 0, 7)
	runNodeErr(t, outs(2), 13, x) // 7 is odd
	n = outs(4)
	n.Attrs = append(n.Attrs, graph.IntAttr("num_outputs", 4))
	check("Split-18 num_outputs", runNode(t, n, 18, x), 0, 2, 4, 6, 7)
	runNodeErr(t, outs(2), 13, x, int64s(3, 3))
	runNodeErr(t, outs(2), 13, x, int64s(8, -1))
	s := testTensor(graph.String, []int{2, 7}, vals)
	ys := runNode(t, outs(2), 13, s, int64s(3, 4))
	checkTensor(t, "Split string", ys[1], []int{2, 4}, piece(3, 7), tolExact)
}

// BenchmarkConcat joins along the channels a DenseNet-121 block's
// features at batch 8 ([8, 224, 28, 28] and [8, 32, 28, 28]) and a
// SqueezeNet Fire module's two expansions at batch 1 ([1, 128, 54, 54]
// twice).
func BenchmarkConcat(b *testing.B) {
	for _, c := range []struct {
		name   string
		shapes [][]int
	}{
		{"densenet8x224+32x28x28", [][]int{{8, 224, 28, 28}, {8, 32, 28, 28}}},
		{"fire1x128+128x54x54", [][]int{{1, 128, 54, 54}, {1, 128, 54, 54}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var in []*tensor.Tensor
			bytes := 0
			for _, s := range c.shapes {
				in = append(in, tensor.Float32(s...))
				bytes += 4 * in[len(in)-1].Len()
			}
			benchNode(b, testNode("Concat", graph.IntAttr("axis", 1)), 13, int64(bytes), in...)
		})
	}
}

// TestConcatIntoSkipsPlacedPieces gives Concat its output as
// Context.Into, with the first and last pieces already written there as
// views of it (as a program's memory plan has their producers do) and
// the middle one apart, and compares with the Concat of copies of the
// pieces: the output is the one offered, bitwise equal. An Into of
// another shape is not taken.
func TestConcatIntoSkipsPlacedPieces(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 6))
	op := buildOp(t, testNode("Concat", graph.IntAttr("axis", 1)), 13)
	random := func(x *tensor.Tensor) *tensor.Tensor {
		for i := range x.F32() {
			x.F32()[i] = float32(rng.NormFloat64())
		}
		return x
	}
	into := tensor.Float32(1, 9, 5)
	for i := range into.F32() {
		into.F32()[i] = float32(math.NaN()) // what no piece may leave
	}
	buf := into.F32()
	first := random(tensor.FromFloat32(buf[0:10:10], 1, 2, 5))
	middle := random(tensor.Float32(1, 3, 5))
	last := random(tensor.FromFloat32(buf[25:45:45], 1, 4, 5))
	want := runOp(t, op, first.Clone(), middle.Clone(), last.Clone())
	out, err := op.Forward(&Context{Into: into}, []*tensor.Tensor{first, middle, last})
	if err != nil {
		t.Fatal(err)
	}
	if out[0] != into {
		t.Fatalf("Concat wrote %p, not the Into offered", out[0])
	}
	for i, w := range want.F32() {
		if g := out[0].F32()[i]; math.Float32bits(g) != math.Float32bits(w) {
			t.Fatalf("element %d is %v, want %v", i, g, w)
		}
	}
	other := tensor.Float32(1, 8, 5)
	out, err = op.Forward(&Context{Into: other}, []*tensor.Tensor{first.Clone(), middle, last.Clone()})
	if err != nil {
		t.Fatal(err)
	}
	if out[0] == other {
		t.Fatal("Concat took an Into of shape [1 8 5] for an output of [1 9 5]")
	}
}
