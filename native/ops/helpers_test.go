package ops

// Test helpers shared by every op family's tests, and tests of helpers.go.
//
// References are computed in float64; results are read back as float64
// (testValues) and compared under a named tolerance (checkClose,
// checkTensor) that prints the largest difference and the first mismatch.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// tolerance is a named allowed difference |got-want| <= abs + rel*|want|.
type tolerance struct {
	name     string
	abs, rel float64
}

// Named tolerances shared by the families: tolExact for integer results,
// copies and selections; tolF64 for float64 kernels against a float64
// reference; tolF32 for float32 results (rounding of a float64
// computation plus float32 inputs); tolF16 for float16 results. Families
// with other error budgets name their own beside their tests.
var (
	tolExact = tolerance{name: "exact"}
	tolF64   = tolerance{name: "float64", abs: 1e-12, rel: 1e-10}
	tolF32   = tolerance{name: "float32", abs: 1e-6, rel: 1e-5}
	// tolF32ULP admits one float32 rounding error: a kernel computed in
	// float32 within one unit in the last place, which is 2^-149 among
	// the subnormals.
	tolF32ULP = tolerance{name: "float32, 1 ULP", abs: 0x1p-149, rel: 0x1p-23}
	tolF16    = tolerance{name: "float16", abs: 1e-3, rel: 2e-3}
)

// testNode returns a node of opType with the given attributes, named
// after the op.
func testNode(opType string, attrs ...*graph.Attr) *graph.Node {
	return &graph.Node{Name: "test_" + opType, OpType: opType, Attrs: attrs}
}

// buildOp builds the op of n at opset through the registry, failing the
// test on error.
func buildOp(t *testing.T, n *graph.Node, opset int64) Op {
	t.Helper()
	op, err := Build(n, opset)
	if err != nil {
		t.Fatalf("build %s at opset %d: %v", n.OpType, opset, err)
	}
	return op
}

// runNode builds n at opset and runs it on in, failing the test on error.
func runNode(t *testing.T, n *graph.Node, opset int64, in ...*tensor.Tensor) []*tensor.Tensor {
	t.Helper()
	out, err := buildOp(t, n, opset).Forward(&Context{}, in)
	if err != nil {
		t.Fatalf("%s (opset %d): %v", n.OpType, opset, err)
	}
	return out
}

// runNodeErr builds n at opset and runs it on in, returning the error of
// building or running it; the test fails if there is none (the node is
// meant to be malformed or its inputs bad).
func runNodeErr(t *testing.T, n *graph.Node, opset int64, in ...*tensor.Tensor) error {
	t.Helper()
	op, err := Build(n, opset)
	if err != nil {
		return err
	}
	return runOpErr(t, op, in...)
}

// runOp runs a built op on in and returns its single output, failing the
// test on error.
func runOp(t *testing.T, op Op, in ...*tensor.Tensor) *tensor.Tensor {
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

// runOpErr runs a built op on in and returns its error; the test fails
// if there is none.
func runOpErr(t *testing.T, op Op, in ...*tensor.Tensor) error {
	t.Helper()
	_, err := op.Forward(&Context{}, in)
	if err == nil {
		t.Errorf("%T accepted %v", op, in)
	}
	return err
}

// wantErr checks that err is not nil and mentions every fragment.
func wantErr(t *testing.T, what string, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error", what)
		return
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("%s: error %q does not mention %q", what, err, f)
		}
	}
}

// testTensor makes a tensor of dtype and shape from float64 values:
// rounded to floats; truncated to int64 and then wrapped to narrower
// integers; bools true when not 0; strings as decimal integers; complex
// numbers with a zero imaginary part.
func testTensor(dtype graph.DType, shape []int, vals []float64) *tensor.Tensor {
	x := tensor.New(dtype, shape...)
	for i, v := range vals {
		switch d := x.Data.(type) {
		case []float32:
			d[i] = float32(v)
		case []float64:
			d[i] = v
		case []uint16:
			switch dtype {
			case graph.Float16:
				d[i] = graph.Float16Bits(float32(v))
			case graph.BFloat16:
				d[i] = graph.BFloat16Bits(float32(v))
			default:
				d[i] = uint16(int64(v))
			}
		case []int8:
			d[i] = int8(int64(v))
		case []int16:
			d[i] = int16(int64(v))
		case []int32:
			d[i] = int32(int64(v))
		case []int64:
			d[i] = int64(v)
		case []uint8:
			d[i] = uint8(int64(v))
		case []uint32:
			d[i] = uint32(int64(v))
		case []uint64:
			d[i] = uint64(int64(v))
		case []bool:
			d[i] = v != 0
		case []string:
			d[i] = strconv.Itoa(int(v))
		case []complex64:
			d[i] = complex(float32(v), 0)
		case []complex128:
			d[i] = complex(v, 0)
		default:
			panic(fmt.Sprintf("testTensor: %v", dtype))
		}
	}
	return x
}

// float32s wraps float32 values as a tensor of shape.
func float32s(shape []int, vals ...float32) *tensor.Tensor {
	return tensor.FromFloat32(vals, shape...)
}

// float32Scalar returns a float32 scalar.
func float32Scalar(v float32) *tensor.Tensor { return float32s([]int{}, v) }

// int64s wraps int64 values as a 1-D tensor.
func int64s(vals ...int64) *tensor.Tensor {
	return &tensor.Tensor{DType: graph.Int64, Shape: []int{len(vals)}, Data: vals}
}

// int64Scalar returns an int64 scalar.
func int64Scalar(v int64) *tensor.Tensor {
	return &tensor.Tensor{DType: graph.Int64, Shape: []int{}, Data: []int64{v}}
}

// testValues reads any tensor back as float64 values: numbers and bools
// as tensor.Float64s does, strings parsed (the zero string "" as 0),
// complex numbers by their real part.
func testValues(t *testing.T, x *tensor.Tensor) []float64 {
	t.Helper()
	switch d := x.Data.(type) {
	case []string:
		out := make([]float64, len(d))
		for i, s := range d {
			if s == "" {
				continue
			}
			v, err := strconv.Atoi(s)
			if err != nil {
				t.Fatalf("string element %q", s)
			}
			out[i] = float64(v)
		}
		return out
	case []complex64:
		out := make([]float64, len(d))
		for i, c := range d {
			out[i] = float64(real(c))
		}
		return out
	case []complex128:
		out := make([]float64, len(d))
		for i, c := range d {
			out[i] = real(c)
		}
		return out
	}
	v, err := x.Float64s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// checkClose compares got with want under tol, reporting the largest
// difference and the first mismatch. NaNs match NaNs and infinities
// match equal infinities.
func checkClose(t *testing.T, what string, got, want []float64, tol tolerance) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", what, len(got), len(want))
		return
	}
	maxDiff, first := 0.0, -1
	for i := range want {
		g, w := got[i], want[i]
		if g == w || math.IsNaN(g) && math.IsNaN(w) {
			continue
		}
		d := math.Abs(g - w)
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		maxDiff = max(maxDiff, d)
		if d > tol.abs+tol.rel*math.Abs(w) && first < 0 {
			first = i
		}
	}
	if first >= 0 {
		t.Errorf("%s: not within %s tolerance (abs %g, rel %g): max difference %g; first mismatch at %d: got %v, want %v",
			what, tol.name, tol.abs, tol.rel, maxDiff, first, got[first], want[first])
	}
}

// checkTensor compares a result tensor's shape and values.
func checkTensor(t *testing.T, what string, got *tensor.Tensor, shape []int, want []float64, tol tolerance) {
	t.Helper()
	if got == nil || got.Kind != tensor.Dense || !slices.Equal(got.Shape, shape) {
		t.Errorf("%s: got %v, want shape %v", what, got, shape)
		return
	}
	checkClose(t, what, testValues(t, got), want, tol)
}

// coordsOf returns the row-major coordinates of flat index i in shape.
func coordsOf(i int, shape []int) []int {
	c := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] > 0 {
			c[d] = i % shape[d]
			i /= shape[d]
		}
	}
	return c
}

// flatIndex returns the row-major flat index of coordinates c in shape.
func flatIndex(c, shape []int) int {
	i := 0
	for d := range shape {
		i = i*shape[d] + c[d]
	}
	return i
}

// randomFor returns n seeded values that dtype can hold: standard
// normal floats, or integers in [-20, 20] (non-negative for unsigned
// types).
func randomFor(rng *rand.Rand, dtype graph.DType, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		switch dtype {
		case graph.Float32, graph.Float64, graph.Float16, graph.BFloat16:
			v[i] = rng.NormFloat64()
		case graph.Uint8, graph.Uint16, graph.Uint32, graph.Uint64:
			v[i] = float64(rng.IntN(21))
		default:
			v[i] = float64(rng.IntN(41) - 20)
		}
	}
	return v
}

// randomNormal returns n standard normal values.
func randomNormal(rng *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return v
}

// randomUniform returns n values drawn uniformly from [lo, hi), with a
// random sign when signed (never zero when lo > 0).
func randomUniform(rng *rand.Rand, n int, lo, hi float64, signed bool) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = lo + (hi-lo)*rng.Float64()
		if signed && rng.IntN(2) == 0 {
			v[i] = -v[i]
		}
	}
	return v
}

// benchNode times n at opset on in with a pooled context, to which each
// iteration returns its first output; bytes is what one run reads and
// writes.
func benchNode(b *testing.B, n *graph.Node, opset int64, bytes int64, in ...*tensor.Tensor) {
	op, err := Build(n, opset)
	if err != nil {
		b.Fatal(err)
	}
	ctx := &Context{Pool: NewPool()}
	b.SetBytes(bytes)
	b.ReportAllocs()
	for b.Loop() {
		out, err := op.Forward(ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		ctx.Pool.Put(out[0])
	}
}

// finiteDiffStep is the step of the central differences of
// checkGradients.
const finiteDiffStep = 1e-2

// checkGradients compares op's analytic gradients with respect to the
// float32 inputs listed in wrt against central differences (step
// finiteDiffStep, as float32 represents it) of the loss L = Σ w·y over
// all outputs y, accumulated in float64, with random weights w of
// magnitude in [0.1, 1) and random sign.
func checkGradients(t *testing.T, what string, op Op, in []*tensor.Tensor, wrt []int, rng *rand.Rand, tol tolerance) {
	t.Helper()
	diff, ok := op.(Differentiable)
	if !ok {
		t.Fatalf("%s: %T is not Differentiable", what, op)
	}
	ctx := &Context{Training: true}
	out, err := op.Forward(ctx, in)
	if err != nil {
		t.Fatalf("%s: forward: %v", what, err)
	}
	weights := make([][]float64, len(out))
	gradOut := make([]*tensor.Tensor, len(out))
	for j, y := range out {
		gradOut[j] = testTensor(graph.Float32, y.Shape, randomUniform(rng, y.Len(), 0.1, 1, true))
		weights[j] = testValues(t, gradOut[j]) // as float32 holds them
	}
	loss := func() float64 {
		out, err := op.Forward(&Context{Training: true}, in)
		if err != nil {
			t.Fatalf("%s: forward: %v", what, err)
		}
		sum := 0.0
		for j, y := range out {
			for i, v := range y.F32() {
				sum += weights[j][i] * float64(v)
			}
		}
		return sum
	}
	grads, err := diff.Backward(ctx, in, out, gradOut)
	if err != nil {
		t.Fatalf("%s: backward: %v", what, err)
	}
	for _, k := range wrt {
		x := in[k]
		if grads[k] == nil || !slices.Equal(grads[k].Shape, x.Shape) {
			t.Fatalf("%s: gradient of input %d is %v, want shape %v", what, k, grads[k], x.Shape)
		}
		data := x.F32()
		numeric := make([]float64, len(data))
		for i := range data {
			orig := data[i]
			xUp, xDown := orig+finiteDiffStep, orig-finiteDiffStep
			data[i] = xUp
			up := loss()
			data[i] = xDown
			down := loss()
			data[i] = orig
			numeric[i] = (up - down) / (float64(xUp) - float64(xDown))
		}
		checkClose(t, fmt.Sprintf("%s: gradient of input %d", what, k), testValues(t, grads[k]), numeric, tol)
	}
}

func TestFromFloat64SaturatesAndTruncates(t *testing.T) {
	cases := []struct {
		got, want any
	}{
		{fromFloat64[int8](300), int8(127)},
		{fromFloat64[int8](-300), int8(-128)},
		{fromFloat64[int8](-2.7), int8(-2)}, // toward zero
		{fromFloat64[uint8](-1), uint8(0)},
		{fromFloat64[uint8](math.NaN()), uint8(0)},
		{fromFloat64[int64](math.Inf(1)), int64(math.MaxInt64)},
		{fromFloat64[uint64](math.Inf(1)), uint64(math.MaxUint64)},
		{fromFloat64[int32](math.Inf(-1)), int32(math.MinInt32)},
		{fromFloat64[float32](1.5), float32(1.5)},
	}
	for i, c := range cases {
		if c.got != c.want {
			t.Errorf("case %d: got %v, want %v", i, c.got, c.want)
		}
	}
}

func TestResolveAxesRejectsRepeatsAndRange(t *testing.T) {
	if got, err := resolveAxes([]int64{-1, 0}, 3); err != nil || got[0] != 2 || got[1] != 0 {
		t.Errorf("resolveAxes([-1 0], 3) = %v, %v; want [2 0]", got, err)
	}
	_, err := resolveAxes([]int64{1, -2}, 3)
	wantErr(t, "repeat", err, "repeated")
	_, err = resolveAxes([]int64{3}, 3)
	wantErr(t, "range", err, "out of range")
}

func TestHalfRoundTrip(t *testing.T) {
	vals := []float32{0.5, -2, 1024, 0.1}
	for _, dt := range []graph.DType{graph.Float16, graph.BFloat16} {
		back := halfToFloat32(float32ToHalf(vals, dt), dt)
		want := make([]float64, len(vals))
		got := make([]float64, len(vals))
		for i := range vals {
			want[i], got[i] = float64(vals[i]), float64(back[i])
		}
		checkClose(t, dt.String(), got, want, tolerance{rel: 1e-2})
	}
}
