package ops

// Test helpers of the reduction, sorting, resizing, normalisation and
// miscellaneous op families (prefix xt), and tests of misc_helpers.go.

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// xtTolerance is an allowed difference |got-want| <= abs + rel*|want|.
type xtTolerance struct{ abs, rel float64 }

// Named tolerances: xtExact for integer results and copies, xtF64 for
// float64 kernels against a float64 reference, xtF32 for float32 results
// (rounding of a float64 computation plus float32 inputs), xtF16 for
// float16 results.
var (
	xtExact = xtTolerance{}
	xtF64   = xtTolerance{abs: 1e-12, rel: 1e-10}
	xtF32   = xtTolerance{abs: 1e-6, rel: 1e-5}
	xtF16   = xtTolerance{abs: 1e-3, rel: 2e-3}
)

// xtNode returns a node of opType with the given attributes.
func xtNode(opType string, attrs ...*graph.Attr) *graph.Node {
	return &graph.Node{Name: "n", OpType: opType, Domain: graph.DefaultDomain, Attrs: attrs}
}

// xtRun builds n under opset and runs it on in, failing the test on error.
func xtRun(t *testing.T, n *graph.Node, opset int64, in ...*tensor.Tensor) []*tensor.Tensor {
	t.Helper()
	op, err := Build(n, opset)
	if err != nil {
		t.Fatalf("build %s-%d: %v", n.OpType, opset, err)
	}
	out, err := op.Forward(&Context{}, in)
	if err != nil {
		t.Fatalf("%s-%d forward: %v", n.OpType, opset, err)
	}
	return out
}

// xtRunErr builds and runs n, returning the first error.
func xtRunErr(n *graph.Node, opset int64, in ...*tensor.Tensor) error {
	op, err := Build(n, opset)
	if err != nil {
		return err
	}
	_, err = op.Forward(&Context{}, in)
	return err
}

// xtWantErr checks that err is not nil and mentions every fragment.
func xtWantErr(t *testing.T, what string, err error, fragments ...string) {
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

// xtTensor makes a tensor of dtype from float64 values.
func xtTensor(dtype graph.DType, shape []int, vals []float64) *tensor.Tensor {
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
				d[i] = uint16(v)
			}
		case []int8:
			d[i] = int8(v)
		case []int16:
			d[i] = int16(v)
		case []int32:
			d[i] = int32(v)
		case []int64:
			d[i] = int64(v)
		case []uint8:
			d[i] = uint8(v)
		case []uint32:
			d[i] = uint32(v)
		case []uint64:
			d[i] = uint64(v)
		case []bool:
			d[i] = v != 0
		}
	}
	return x
}

// xtF32s wraps float32 values.
func xtF32s(shape []int, vals ...float32) *tensor.Tensor {
	return tensor.FromFloat32(vals, shape...)
}

// xtI64s wraps int64 values as a 1-D tensor.
func xtI64s(vals ...int64) *tensor.Tensor {
	return &tensor.Tensor{DType: graph.Int64, Shape: []int{len(vals)}, Data: vals}
}

// xtValues returns a tensor's elements as float64.
func xtValues(t *testing.T, x *tensor.Tensor) []float64 {
	t.Helper()
	v, err := x.Float64s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// xtRandom returns n seeded values: normal floats, or integers in
// [-20, 20] (non-negative for unsigned types).
func xtRandom(rng *rand.Rand, dtype graph.DType, n int) []float64 {
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

// xtClose compares got with want under tol, reporting the largest
// difference and the first mismatch. NaNs match NaNs and infinities
// match equal infinities.
func xtClose(t *testing.T, what string, got, want []float64, tol xtTolerance) {
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
		if d > maxDiff {
			maxDiff = d
		}
		if d > tol.abs+tol.rel*math.Abs(w) && first < 0 {
			first = i
		}
	}
	if first >= 0 {
		t.Errorf("%s: max difference %g; first mismatch at %d: got %v, want %v", what, maxDiff, first, got[first], want[first])
	}
}

// xtCheck compares a result tensor's shape and values.
func xtCheck(t *testing.T, what string, got *tensor.Tensor, shape []int, want []float64, tol xtTolerance) {
	t.Helper()
	if len(got.Shape) != len(shape) || tensor.NumElements(got.Shape) != tensor.NumElements(shape) {
		t.Errorf("%s: shape %v, want %v", what, got.Shape, shape)
		return
	}
	for i := range shape {
		if got.Shape[i] != shape[i] {
			t.Errorf("%s: shape %v, want %v", what, got.Shape, shape)
			return
		}
	}
	xtClose(t, what, xtValues(t, got), want, tol)
}

// xtCoords returns the coordinates of flat index i in shape.
func xtCoords(i int, shape []int) []int {
	c := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] > 0 {
			c[d] = i % shape[d]
			i /= shape[d]
		}
	}
	return c
}

// xtFlat returns the flat index of coordinates c in shape.
func xtFlat(c, shape []int) int {
	i := 0
	for d := range shape {
		i = i*shape[d] + c[d]
	}
	return i
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
	xtWantErr(t, "repeat", err, "repeated")
	_, err = resolveAxes([]int64{3}, 3)
	xtWantErr(t, "range", err, "out of range")
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
		xtClose(t, dt.String(), got, want, xtTolerance{rel: 1e-2})
	}
}
