package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// Shared helpers of the elementwise tests (elementwise*_test.go,
// compare_test.go, unary_test.go, activation_test.go, cast_test.go).

// Tolerances of the elementwise ops, beyond the shared ones in
// helpers_test.go.
var (
	// tolRounded is one rounding of a float64 result to float32.
	tolRounded = tolerance{name: "one float32 rounding", abs: 1e-7, rel: 1e-6}
	// tolHalfRounded is one rounding to float16 (11-bit significand).
	tolHalfRounded = tolerance{name: "one float16 rounding", abs: 1e-4, rel: 1e-3}
	// tolFiniteDiff compares analytic float32 gradients with central
	// differences of a float32 forward pass (step finiteDiffStep), whose
	// rounding error is about 1e-7*|loss|/step.
	tolFiniteDiff = tolerance{name: "central differences of float32", abs: 2e-3, rel: 1e-2}
)

// ewRandomInts returns n nonzero integers in [-m, m] (or [1, m]).
func ewRandomInts(rng *rand.Rand, n, m int, signed bool) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(1 + rng.IntN(m))
		if signed && rng.IntN(2) == 0 {
			v[i] = -v[i]
		}
	}
	return v
}

// ewRefBroadcast is the reference for broadcasting, written from the
// definition: output element at coordinates c reads input element at
// coordinates c (aligned right), with 0 along the input's size-1 axes.
func ewRefBroadcast(out []int, ins [][]int, vals [][]float64, f func(args []float64) float64) []float64 {
	res := make([]float64, tensor.NumElements(out))
	coord := make([]int, len(out))
	args := make([]float64, len(ins))
	for i := range res {
		rem := i
		for d := len(out) - 1; d >= 0; d-- {
			coord[d] = rem % out[d]
			rem /= out[d]
		}
		for k, s := range ins {
			idx := 0
			for d := range s {
				c := coord[len(out)-len(s)+d]
				if s[d] == 1 {
					c = 0
				}
				idx = idx*s[d] + c
			}
			args[k] = vals[k][idx]
		}
		res[i] = f(args)
	}
	return res
}

// ewShapePairs are input shapes that broadcast: equal, trailing, leading
// ones, scalars, both sides stretched, an empty axis, and a large pair
// that the loops split over the cores.
var ewShapePairs = [][2][]int{
	{{2, 3, 4}, {2, 3, 4}},
	{{2, 3, 4}, {4}},
	{{2, 3, 4}, {3, 1}},
	{{1, 3, 1}, {2, 1, 4}},
	{{}, {2, 3}},
	{{5}, {}},
	{{}, {}},
	{{2, 0, 3}, {3}},
	{{3, 1}, {1, 5}},
	{{200, 257}, {257}},
	{{70, 1, 600}, {70, 1, 1}},
}

func TestEWPlanMatchesCoordinates(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range [][][]int{
		{{2, 3, 4}, {2, 3, 4}, {3, 1}, {4}},
		{{4, 1, 6}, {4, 1, 6}, {1, 1, 6}},
		{{2, 2, 3, 5}, {2, 1, 3, 1}, {5}, {}},
		{{3}, {1}},
		{{}, {}},
		{{1, 1}, {1}},
	} {
		out, ins := c[0], c[1:]
		p := newEWPlan(out, ins...)
		// Expected offsets from the coordinates of each output element.
		want := make([][]float64, len(ins))
		for k, s := range ins {
			idx := make([]float64, tensor.NumElements(s))
			for i := range idx {
				idx[i] = float64(i)
			}
			want[k] = ewRefBroadcast(out, [][]int{s}, [][]float64{idx}, func(a []float64) float64 { return a[0] })
		}
		got := make([][]float64, len(ins))
		for k := range got {
			got[k] = make([]float64, p.total)
		}
		// Walk in random pieces, as the parallel split does.
		for lo := 0; lo < p.total; {
			hi := min(p.total, lo+1+rng.IntN(7))
			p.walk(lo, hi, func(o, n int, offs []int) {
				for k := range ins {
					for j := 0; j < n; j++ {
						got[k][o+j] = float64(offs[k] + j*p.steps[k])
					}
				}
			})
			lo = hi
		}
		for k := range ins {
			checkClose(t, fmt.Sprintf("out %v input %v offsets", out, ins[k]), got[k], want[k], tolExact)
		}
	}
}

// arithShapePairs adds to ewShapePairs the cases of the float32 vector
// loops at lengths around their vector widths: a bias along the last
// axis (vector and vector per row), a vector and a scalar, a scalar and
// a vector, and a column broadcast (a scalar per row).
var arithShapePairs = append(slices.Clone(ewShapePairs),
	[2][]int{{3, 17}, {17}},
	[2][]int{{2, 65}, {65}},
	[2][]int{{1000}, {}},
	[2][]int{{1}, {63}},
	[2][]int{{7, 16}, {7, 1}},
	[2][]int{{15}, {15}},
)

// TestArithMatchesReference checks Add, Sub, Mul and Div on every
// element type and broadcast of arithShapePairs against float64
// arithmetic, at every CPU level (the float32 vector loops).
func TestArithMatchesReference(t *testing.T) {
	leveltest.Run(t, testArithMatchesReference)
}

func testArithMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ops := map[string]func(x, y float64) float64{
		"Add": func(x, y float64) float64 { return x + y },
		"Sub": func(x, y float64) float64 { return x - y },
		"Mul": func(x, y float64) float64 { return x * y },
		"Div": func(x, y float64) float64 { return x / y },
	}
	for name, f := range ops {
		op := buildOp(t, testNode(name), 14)
		for _, dt := range []graph.DType{graph.Float32, graph.Float64, graph.Float16, graph.Int32, graph.Int64, graph.Uint8, graph.Int8} {
			for _, sh := range arithShapePairs {
				na, nb := tensor.NumElements(sh[0]), tensor.NumElements(sh[1])
				var av, bv []float64
				tol := tolRounded
				switch {
				case dt == graph.Uint8:
					av, bv = ewRandomInts(rng, na, 200, false), ewRandomInts(rng, nb, 9, false)
					tol = tolExact
				case !dt.IsFloat():
					av, bv = ewRandomInts(rng, na, 100, true), ewRandomInts(rng, nb, 9, true)
					tol = tolExact
				default:
					av, bv = randomUniform(rng, na, 0.5, 2, true), randomUniform(rng, nb, 0.5, 2, true)
				}
				a, b := testTensor(dt, sh[0], av), testTensor(dt, sh[1], bv)
				// The reference reads the inputs as stored (float16 rounded),
				// computes in float64 and rounds or wraps like the type.
				av, bv = testValues(t, a), testValues(t, b)
				out, _ := tensor.BroadcastShape(sh[0], sh[1])
				want := ewRefBroadcast(out, [][]int{sh[0], sh[1]}, [][]float64{av, bv}, func(v []float64) float64 {
					r := f(v[0], v[1])
					if !dt.IsFloat() {
						r = math.Trunc(r) // C division
					}
					return r
				})
				want = testValues(t, testTensor(dt, out, want))
				if dt == graph.Float16 {
					tol = tolHalfRounded
				}
				got := runOp(t, op, a, b)
				if got.DType != dt || !slices.Equal(got.Shape, out) {
					t.Fatalf("%s %v: got %v, want %v%v", name, dt, got, dt, out)
				}
				checkClose(t, fmt.Sprintf("%s %v %v", name, dt, sh), testValues(t, got), want, tol)
			}
		}
	}
}

func TestIntegerDivision(t *testing.T) {
	div := buildOp(t, testNode("Div"), 14)
	// C truncates toward zero: 7/2 = 3, -7/2 = -3, 7/-2 = -3, -7/-2 = 3.
	a := &tensor.Tensor{DType: graph.Int32, Shape: []int{4}, Data: []int32{7, -7, 7, -7}}
	b := &tensor.Tensor{DType: graph.Int32, Shape: []int{4}, Data: []int32{2, 2, -2, -2}}
	got := runOp(t, div, a, b).Data.([]int32)
	if !slices.Equal(got, []int32{3, -3, -3, 3}) {
		t.Errorf("int32 division: got %v, want [3 -3 -3 3]", got)
	}
	zero := &tensor.Tensor{DType: graph.Int32, Shape: []int{}, Data: []int32{0}}
	runOpErr(t, div, a, zero)
}

func TestArithRejectsBadInputs(t *testing.T) {
	add := buildOp(t, testNode("Add"), 14)
	f32 := tensor.Float32(2, 3)
	runOpErr(t, add, f32, tensor.New(graph.Float64, 2, 3))                     // mixed types
	runOpErr(t, add, f32, tensor.Float32(2))                                   // shapes that do not broadcast
	runOpErr(t, add, f32)                                                      // one input
	runOpErr(t, add, f32, nil)                                                 // absent input
	runOpErr(t, add, tensor.New(graph.String, 1), tensor.New(graph.String, 1)) // strings
	runOpErr(t, add, tensor.New(graph.Float8E4M3FN, 1), tensor.New(graph.Float8E4M3FN, 1))
}

func TestLegacyBroadcast(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	a := testTensor(graph.Float32, []int{2, 3, 4, 5}, randomUniform(rng, 120, 0.5, 2, true))
	av := testValues(t, a)
	cases := []struct {
		attrs  []*graph.Attr
		bShape []int
		as     []int // where B sits in A's shape, for the reference
	}{
		{[]*graph.Attr{graph.IntAttr("broadcast", 1), graph.IntAttr("axis", 1)}, []int{3, 4}, []int{1, 3, 4, 1}},
		{[]*graph.Attr{graph.IntAttr("broadcast", 1)}, []int{5}, []int{5}},
		{[]*graph.Attr{graph.IntAttr("broadcast", 1), graph.IntAttr("axis", 0)}, []int{2}, []int{2, 1, 1, 1}},
		{[]*graph.Attr{graph.IntAttr("broadcast", 1)}, []int{}, []int{}},
		{nil, []int{2, 3, 4, 5}, []int{2, 3, 4, 5}},
	}
	for _, c := range cases {
		b := testTensor(graph.Float32, c.bShape, randomUniform(rng, tensor.NumElements(c.bShape), 0.5, 2, true))
		for _, opset := range []int64{1, 6} {
			got := runOp(t, buildOp(t, testNode("Mul", c.attrs...), opset), a, b)
			want := ewRefBroadcast(a.Shape, [][]int{a.Shape, c.as}, [][]float64{av, testValues(t, b)},
				func(v []float64) float64 { return v[0] * v[1] })
			checkClose(t, fmt.Sprintf("opset %d Mul B%v", opset, c.bShape), testValues(t, got), want, tolRounded)
		}
	}
	// Without broadcast=1 the shapes must be equal; B must fit in A.
	runOpErr(t, buildOp(t, testNode("Add"), 6), a, tensor.Float32(5))
	runOpErr(t, buildOp(t, testNode("Add", graph.IntAttr("broadcast", 1), graph.IntAttr("axis", 3)), 6), a, tensor.Float32(5, 1))
	runOpErr(t, buildOp(t, testNode("Add", graph.IntAttr("broadcast", 1), graph.IntAttr("axis", 1)), 6), a, tensor.Float32(4))
	// From opset 7 numpy rules apply and the attributes are gone.
	runOpErr(t, buildOp(t, testNode("Add"), 7), a, tensor.Float32(3, 4))
}

func TestArithBackwardMatchesFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	shapes := [][2][]int{{{2, 3, 4}, {2, 3, 4}}, {{2, 3, 4}, {3, 1}}, {{4}, {2, 3, 1}}, {{2, 1, 3}, {}}, {{1, 3}, {2, 1}}}
	for _, name := range []string{"Add", "Sub", "Mul", "Div"} {
		op := buildOp(t, testNode(name), 14)
		for _, sh := range shapes {
			a := testTensor(graph.Float32, sh[0], randomUniform(rng, tensor.NumElements(sh[0]), 0.5, 2, true))
			b := testTensor(graph.Float32, sh[1], randomUniform(rng, tensor.NumElements(sh[1]), 0.5, 2, true))
			checkGradients(t, fmt.Sprintf("%s %v", name, sh), op, []*tensor.Tensor{a, b}, []int{0, 1}, rng, tolFiniteDiff)
		}
	}
	// Opset 6 broadcasting: B [3] along axis 1 of A [2,3,4].
	op := buildOp(t, testNode("Div", graph.IntAttr("broadcast", 1), graph.IntAttr("axis", 1)), 6)
	a := testTensor(graph.Float32, []int{2, 3, 4}, randomUniform(rng, 24, 0.5, 2, true))
	b := testTensor(graph.Float32, []int{3}, randomUniform(rng, 3, 0.5, 2, true))
	checkGradients(t, "opset 6 Div", op, []*tensor.Tensor{a, b}, []int{0, 1}, rng, tolFiniteDiff)
}

// TestArithThreadIndependence runs a broadcast Div forward and backward,
// large enough for the work and the reduction of b's gradient to be
// split, with one and with two workers, and requires bitwise equal
// results.
func TestArithThreadIndependence(t *testing.T) {
	rng := rand.New(rand.NewPCG(111, 112))
	a := testTensor(graph.Float32, []int{64, 1, 64}, randomUniform(rng, 64*64, 0.5, 1.5, true))
	b := testTensor(graph.Float32, []int{32, 64}, randomUniform(rng, 32*64, 0.5, 1.5, true))
	g := testTensor(graph.Float32, []int{64, 32, 64}, randomUniform(rng, 64*32*64, 0.1, 1, true))
	run := func(threads int) []*tensor.Tensor {
		defer parallel.SetThreads(parallel.Threads())
		parallel.SetThreads(threads)
		op := buildOp(t, testNode("Div"), 14).(Differentiable)
		ctx := &Context{Training: true}
		y, err := op.Forward(ctx, []*tensor.Tensor{a, b})
		if err != nil {
			t.Fatal(err)
		}
		grads, err := op.Backward(ctx, []*tensor.Tensor{a, b}, y, []*tensor.Tensor{g})
		if err != nil {
			t.Fatal(err)
		}
		return append(y, grads...)
	}
	one, two := run(1), run(2)
	for i, name := range []string{"y", "da", "db"} {
		x, z := one[i].Data.([]float32), two[i].Data.([]float32)
		for j := range x {
			if math.Float32bits(x[j]) != math.Float32bits(z[j]) {
				t.Fatalf("Div %s[%d]: %g with 1 worker, %g with 2", name, j, x[j], z[j])
			}
		}
	}
}

// BenchmarkAddF32 and friends time the float32 fast paths on 1M elements.
const ewBenchLen = 1 << 20

func benchBinary(b *testing.B, opType string, bShape []int) {
	rng := rand.New(rand.NewPCG(9, 10))
	x := testTensor(graph.Float32, []int{ewBenchLen / 1024, 1024}, randomUniform(rng, ewBenchLen, 0.5, 2, true))
	y := testTensor(graph.Float32, bShape, randomUniform(rng, tensor.NumElements(bShape), 0.5, 2, true))
	benchNode(b, &graph.Node{OpType: opType}, 14, 3*4*ewBenchLen, x, y)
}

func BenchmarkAddF32SameShape1M(b *testing.B) { benchBinary(b, "Add", []int{ewBenchLen / 1024, 1024}) }
func BenchmarkAddF32RowBias1M(b *testing.B)   { benchBinary(b, "Add", []int{1024}) }
func BenchmarkMulF32SameShape1M(b *testing.B) { benchBinary(b, "Mul", []int{ewBenchLen / 1024, 1024}) }
