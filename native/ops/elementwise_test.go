package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// Shared helpers of the elementwise tests (elementwise*_test.go,
// compare_test.go, unary_test.go, activation_test.go, cast_test.go).

// ewTol is a named tolerance: |got - want| <= ATol + RTol*|want|.
type ewTol struct {
	name       string
	rtol, atol float64
}

var (
	// ewExact is for results that must match bit for bit (integers,
	// selections, exactly rounded single operations).
	ewExact = ewTol{"exact", 0, 0}
	// ewRounded is one rounding of a float64 result to float32.
	ewRounded = ewTol{"one float32 rounding", 1e-6, 1e-7}
	// ewHalf is one rounding to float16 (11-bit significand).
	ewHalf = ewTol{"one float16 rounding", 1e-3, 1e-4}
	// ewFiniteDiff compares analytic float32 gradients with central
	// differences of a float32 forward pass (step ewStep), whose
	// rounding error is about 1e-7*|loss|/step.
	ewFiniteDiff = ewTol{"central differences of float32", 1e-2, 2e-3}
)

// ewStep is the step of the central differences.
const ewStep = 1e-2

// ewClose fails t when got and want differ beyond tol, reporting the
// largest difference and the first element out of tolerance. NaNs must
// match NaNs and infinities must be equal.
func ewClose(t *testing.T, what string, got, want []float64, tol ewTol) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	maxDiff, first := 0.0, -1
	for i := range want {
		g, w := got[i], want[i]
		if math.IsNaN(w) || math.IsNaN(g) || math.IsInf(w, 0) || math.IsInf(g, 0) {
			if !(math.IsNaN(w) && math.IsNaN(g)) && g != w && first < 0 {
				first = i
			}
			continue
		}
		d := math.Abs(g - w)
		maxDiff = max(maxDiff, d)
		if d > tol.atol+tol.rtol*math.Abs(w) && first < 0 {
			first = i
		}
	}
	if first >= 0 {
		t.Fatalf("%s: not within %s tolerance (rtol %g, atol %g): max difference %g; first mismatch at %d: got %v, want %v",
			what, tol.name, tol.rtol, tol.atol, maxDiff, first, got[first], want[first])
	}
}

// ewValues returns a tensor's elements as float64.
func ewValues(t *testing.T, x *tensor.Tensor) []float64 {
	t.Helper()
	v, err := x.Float64s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// ewBuild constructs op with the given attributes at opset.
func ewBuild(t *testing.T, opType string, opset int64, attrs ...*graph.Attr) Op {
	t.Helper()
	op, err := Build(&graph.Node{Name: "n", OpType: opType, Attrs: attrs}, opset)
	if err != nil {
		t.Fatalf("building %s at opset %d: %v", opType, opset, err)
	}
	return op
}

// ewRun runs op and returns its single output.
func ewRun(t *testing.T, op Op, in ...*tensor.Tensor) *tensor.Tensor {
	t.Helper()
	out, err := op.Forward(&Context{}, in)
	if err != nil {
		t.Fatalf("%T: %v", op, err)
	}
	if len(out) != 1 || out[0] == nil {
		t.Fatalf("%T: %d outputs", op, len(out))
	}
	return out[0]
}

// ewRunErr runs op and fails unless it returns an error.
func ewRunErr(t *testing.T, op Op, in ...*tensor.Tensor) {
	t.Helper()
	if _, err := op.Forward(&Context{}, in); err == nil {
		t.Fatalf("%T accepted %v", op, in)
	}
}

// ewFromFloat64 builds a tensor of type dt from float64 values: rounded
// to floats; truncated to int64 and then wrapped to narrower integers.
func ewFromFloat64(dt graph.DType, shape []int, v []float64) *tensor.Tensor {
	x := tensor.New(dt, shape...)
	switch d := x.Data.(type) {
	case []float32:
		for i := range d {
			d[i] = float32(v[i])
		}
	case []float64:
		copy(d, v)
	case []uint16:
		for i := range d {
			switch dt {
			case graph.Float16:
				d[i] = graph.Float16Bits(float32(v[i]))
			case graph.BFloat16:
				d[i] = graph.BFloat16Bits(float32(v[i]))
			default:
				d[i] = uint16(int64(v[i]))
			}
		}
	case []int8:
		for i := range d {
			d[i] = int8(int64(v[i]))
		}
	case []int16:
		for i := range d {
			d[i] = int16(int64(v[i]))
		}
	case []int32:
		for i := range d {
			d[i] = int32(int64(v[i]))
		}
	case []int64:
		for i := range d {
			d[i] = int64(v[i])
		}
	case []uint8:
		for i := range d {
			d[i] = uint8(int64(v[i]))
		}
	case []uint32:
		for i := range d {
			d[i] = uint32(int64(v[i]))
		}
	case []uint64:
		for i := range d {
			d[i] = uint64(int64(v[i]))
		}
	case []bool:
		for i := range d {
			d[i] = v[i] != 0
		}
	default:
		panic(fmt.Sprintf("ewFromFloat64: %v", dt))
	}
	return x
}

// ewRandom returns n values drawn uniformly from [lo, hi), with a random
// sign when signed, never zero when lo > 0.
func ewRandom(rng *rand.Rand, n int, lo, hi float64, signed bool) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = lo + (hi-lo)*rng.Float64()
		if signed && rng.IntN(2) == 0 {
			v[i] = -v[i]
		}
	}
	return v
}

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
			ewClose(t, fmt.Sprintf("out %v input %v offsets", out, ins[k]), got[k], want[k], ewExact)
		}
	}
}

func TestArithMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ops := map[string]func(x, y float64) float64{
		"Add": func(x, y float64) float64 { return x + y },
		"Sub": func(x, y float64) float64 { return x - y },
		"Mul": func(x, y float64) float64 { return x * y },
		"Div": func(x, y float64) float64 { return x / y },
	}
	for name, f := range ops {
		op := ewBuild(t, name, 14)
		for _, dt := range []graph.DType{graph.Float32, graph.Float64, graph.Float16, graph.Int32, graph.Int64, graph.Uint8, graph.Int8} {
			for _, sh := range ewShapePairs {
				na, nb := tensor.NumElements(sh[0]), tensor.NumElements(sh[1])
				var av, bv []float64
				tol := ewRounded
				switch {
				case dt == graph.Uint8:
					av, bv = ewRandomInts(rng, na, 200, false), ewRandomInts(rng, nb, 9, false)
					tol = ewExact
				case !dt.IsFloat():
					av, bv = ewRandomInts(rng, na, 100, true), ewRandomInts(rng, nb, 9, true)
					tol = ewExact
				default:
					av, bv = ewRandom(rng, na, 0.5, 2, true), ewRandom(rng, nb, 0.5, 2, true)
				}
				a, b := ewFromFloat64(dt, sh[0], av), ewFromFloat64(dt, sh[1], bv)
				// The reference reads the inputs as stored (float16 rounded),
				// computes in float64 and rounds or wraps like the type.
				av, bv = ewValues(t, a), ewValues(t, b)
				out, _ := tensor.BroadcastShape(sh[0], sh[1])
				want := ewRefBroadcast(out, [][]int{sh[0], sh[1]}, [][]float64{av, bv}, func(v []float64) float64 {
					r := f(v[0], v[1])
					if !dt.IsFloat() {
						r = math.Trunc(r) // C division
					}
					return r
				})
				want = ewValues(t, ewFromFloat64(dt, out, want))
				if dt == graph.Float16 {
					tol = ewHalf
				}
				got := ewRun(t, op, a, b)
				if got.DType != dt || !slices.Equal(got.Shape, out) {
					t.Fatalf("%s %v: got %v, want %v%v", name, dt, got, dt, out)
				}
				ewClose(t, fmt.Sprintf("%s %v %v", name, dt, sh), ewValues(t, got), want, tol)
			}
		}
	}
}

func TestIntegerDivision(t *testing.T) {
	div := ewBuild(t, "Div", 14)
	// C truncates toward zero: 7/2 = 3, -7/2 = -3, 7/-2 = -3, -7/-2 = 3.
	a := &tensor.Tensor{DType: graph.Int32, Shape: []int{4}, Data: []int32{7, -7, 7, -7}}
	b := &tensor.Tensor{DType: graph.Int32, Shape: []int{4}, Data: []int32{2, 2, -2, -2}}
	got := ewRun(t, div, a, b).Data.([]int32)
	if !slices.Equal(got, []int32{3, -3, -3, 3}) {
		t.Errorf("int32 division: got %v, want [3 -3 -3 3]", got)
	}
	zero := &tensor.Tensor{DType: graph.Int32, Shape: []int{}, Data: []int32{0}}
	ewRunErr(t, div, a, zero)
}

func TestArithRejectsBadInputs(t *testing.T) {
	add := ewBuild(t, "Add", 14)
	f32 := tensor.Float32(2, 3)
	ewRunErr(t, add, f32, tensor.New(graph.Float64, 2, 3))                     // mixed types
	ewRunErr(t, add, f32, tensor.Float32(2))                                   // shapes that do not broadcast
	ewRunErr(t, add, f32)                                                      // one input
	ewRunErr(t, add, f32, nil)                                                 // absent input
	ewRunErr(t, add, tensor.New(graph.String, 1), tensor.New(graph.String, 1)) // strings
	ewRunErr(t, add, tensor.New(graph.Float8E4M3FN, 1), tensor.New(graph.Float8E4M3FN, 1))
}

func TestLegacyBroadcast(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	a := ewFromFloat64(graph.Float32, []int{2, 3, 4, 5}, ewRandom(rng, 120, 0.5, 2, true))
	av := ewValues(t, a)
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
		b := ewFromFloat64(graph.Float32, c.bShape, ewRandom(rng, tensor.NumElements(c.bShape), 0.5, 2, true))
		for _, opset := range []int64{1, 6} {
			got := ewRun(t, ewBuild(t, "Mul", opset, c.attrs...), a, b)
			want := ewRefBroadcast(a.Shape, [][]int{a.Shape, c.as}, [][]float64{av, ewValues(t, b)},
				func(v []float64) float64 { return v[0] * v[1] })
			ewClose(t, fmt.Sprintf("opset %d Mul B%v", opset, c.bShape), ewValues(t, got), want, ewRounded)
		}
	}
	// Without broadcast=1 the shapes must be equal; B must fit in A.
	ewRunErr(t, ewBuild(t, "Add", 6), a, tensor.Float32(5))
	ewRunErr(t, ewBuild(t, "Add", 6, graph.IntAttr("broadcast", 1), graph.IntAttr("axis", 3)), a, tensor.Float32(5, 1))
	ewRunErr(t, ewBuild(t, "Add", 6, graph.IntAttr("broadcast", 1), graph.IntAttr("axis", 1)), a, tensor.Float32(4))
	// From opset 7 numpy rules apply and the attributes are gone.
	ewRunErr(t, ewBuild(t, "Add", 7), a, tensor.Float32(3, 4))
}

// ewLossGrad returns random float64 weights w for the loss sum(w*y) and
// w as a float32 tensor of shape, the loss's gradient with respect to y.
func ewLossGrad(rng *rand.Rand, shape []int) ([]float64, *tensor.Tensor) {
	w := ewRandom(rng, tensor.NumElements(shape), 0.1, 1, true)
	g := ewFromFloat64(graph.Float32, shape, w)
	rounded, _ := g.Float64s()
	return rounded, g
}

// ewLoss runs op on in and returns sum(w*y) in float64.
func ewLoss(t *testing.T, op Op, w []float64, in []*tensor.Tensor) float64 {
	t.Helper()
	out, err := op.Forward(&Context{}, in)
	if err != nil {
		t.Fatal(err)
	}
	loss := 0.0
	for i, v := range out[0].F32() {
		loss += w[i] * float64(v)
	}
	return loss
}

// ewCheckGrads compares op's analytic gradients at in with central
// differences of the loss sum(w*y), for every input element.
func ewCheckGrads(t *testing.T, what string, op Op, in []*tensor.Tensor, rng *rand.Rand) {
	t.Helper()
	out, err := op.Forward(&Context{}, in)
	if err != nil {
		t.Fatal(err)
	}
	w, g := ewLossGrad(rng, out[0].Shape)
	grads, err := op.(Differentiable).Backward(&Context{}, in, out, []*tensor.Tensor{g})
	if err != nil {
		t.Fatalf("%s: backward: %v", what, err)
	}
	for k, x := range in {
		if grads[k] == nil || !slices.Equal(grads[k].Shape, x.Shape) {
			t.Fatalf("%s: gradient %d is %v, want shape %v", what, k, grads[k], x.Shape)
		}
		num := make([]float64, x.Len())
		data := x.F32()
		for i := range data {
			orig := data[i]
			xUp, xDown := orig+ewStep, orig-ewStep // as float32 represents them
			data[i] = xUp
			up := ewLoss(t, op, w, in)
			data[i] = xDown
			down := ewLoss(t, op, w, in)
			data[i] = orig
			num[i] = (up - down) / (float64(xUp) - float64(xDown))
		}
		ewClose(t, fmt.Sprintf("%s: gradient of input %d", what, k), ewValues(t, grads[k]), num, ewFiniteDiff)
	}
}

func TestArithBackwardMatchesFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	shapes := [][2][]int{{{2, 3, 4}, {2, 3, 4}}, {{2, 3, 4}, {3, 1}}, {{4}, {2, 3, 1}}, {{2, 1, 3}, {}}, {{1, 3}, {2, 1}}}
	for _, name := range []string{"Add", "Sub", "Mul", "Div"} {
		op := ewBuild(t, name, 14)
		for _, sh := range shapes {
			a := ewFromFloat64(graph.Float32, sh[0], ewRandom(rng, tensor.NumElements(sh[0]), 0.5, 2, true))
			b := ewFromFloat64(graph.Float32, sh[1], ewRandom(rng, tensor.NumElements(sh[1]), 0.5, 2, true))
			ewCheckGrads(t, fmt.Sprintf("%s %v", name, sh), op, []*tensor.Tensor{a, b}, rng)
		}
	}
	// Opset 6 broadcasting: B [3] along axis 1 of A [2,3,4].
	op := ewBuild(t, "Div", 6, graph.IntAttr("broadcast", 1), graph.IntAttr("axis", 1))
	a := ewFromFloat64(graph.Float32, []int{2, 3, 4}, ewRandom(rng, 24, 0.5, 2, true))
	b := ewFromFloat64(graph.Float32, []int{3}, ewRandom(rng, 3, 0.5, 2, true))
	ewCheckGrads(t, "opset 6 Div", op, []*tensor.Tensor{a, b}, rng)
}

// BenchmarkAddF32 and friends time the float32 fast paths on 1M elements.
const ewBenchLen = 1 << 20

func benchBinary(b *testing.B, opType string, bShape []int) {
	rng := rand.New(rand.NewPCG(9, 10))
	x := ewFromFloat64(graph.Float32, []int{ewBenchLen / 1024, 1024}, ewRandom(rng, ewBenchLen, 0.5, 2, true))
	y := ewFromFloat64(graph.Float32, bShape, ewRandom(rng, tensor.NumElements(bShape), 0.5, 2, true))
	op, err := Build(&graph.Node{OpType: opType}, 14)
	if err != nil {
		b.Fatal(err)
	}
	ctx := &Context{Pool: NewPool()}
	in := []*tensor.Tensor{x, y}
	b.SetBytes(3 * 4 * ewBenchLen)
	b.ReportAllocs()
	for b.Loop() {
		out, err := op.Forward(ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		ctx.Pool.Put(out[0])
	}
}

func BenchmarkAddF32SameShape1M(b *testing.B) { benchBinary(b, "Add", []int{ewBenchLen / 1024, 1024}) }
func BenchmarkAddF32RowBias1M(b *testing.B)   { benchBinary(b, "Add", []int{1024}) }
func BenchmarkMulF32SameShape1M(b *testing.B) { benchBinary(b, "Mul", []int{ewBenchLen / 1024, 1024}) }
