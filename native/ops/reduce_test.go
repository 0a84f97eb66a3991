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

// xtReduceRef is the float64 reference of each reduction over a list.
var xtReduceRef = map[string]func(v []float64) float64{
	"ReduceSum": func(v []float64) float64 { return xtFold(v, 0, func(a, x float64) float64 { return a + x }) },
	"ReduceMean": func(v []float64) float64 {
		return xtFold(v, 0, func(a, x float64) float64 { return a + x }) / float64(len(v))
	},
	"ReduceMax":  func(v []float64) float64 { return xtFold(v, math.Inf(-1), math.Max) },
	"ReduceMin":  func(v []float64) float64 { return xtFold(v, math.Inf(1), math.Min) },
	"ReduceProd": func(v []float64) float64 { return xtFold(v, 1, func(a, x float64) float64 { return a * x }) },
	"ReduceL1":   func(v []float64) float64 { return xtFold(v, 0, func(a, x float64) float64 { return a + math.Abs(x) }) },
	"ReduceL2": func(v []float64) float64 {
		return math.Sqrt(xtFold(v, 0, func(a, x float64) float64 { return a + x*x }))
	},
	"ReduceLogSum": func(v []float64) float64 {
		return math.Log(xtFold(v, 0, func(a, x float64) float64 { return a + x }))
	},
	"ReduceLogSumExp": func(v []float64) float64 {
		return math.Log(xtFold(v, 0, func(a, x float64) float64 { return a + math.Exp(x) }))
	},
	"ReduceSumSquare": func(v []float64) float64 { return xtFold(v, 0, func(a, x float64) float64 { return a + x*x }) },
}

func xtFold(v []float64, init float64, f func(acc, x float64) float64) float64 {
	for _, x := range v {
		init = f(init, x)
	}
	return init
}

// xtNaiveReduce groups the elements of x by their coordinates outside
// the reduced axes and applies ref to each group. It returns the
// keepdims shape and the values.
func xtNaiveReduce(x []float64, shape []int, axes []int, ref func([]float64) float64) ([]int, []float64) {
	outShape := slices.Clone(shape)
	for _, a := range axes {
		outShape[a] = 1
	}
	groups := make([][]float64, tensor.NumElements(outShape))
	for i, v := range x {
		c := coordsOf(i, shape)
		for _, a := range axes {
			c[a] = 0
		}
		g := flatIndex(c, outShape)
		groups[g] = append(groups[g], v)
	}
	out := make([]float64, len(groups))
	for g, vals := range groups {
		out[g] = ref(vals)
	}
	return outShape, out
}

// TestReduceRandomAgainstNaive runs every reduction over seeded random
// data, several axis sets, both keepdims and the attribute and input
// forms of axes, against xtNaiveReduce.
func TestReduceRandomAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	shape := []int{2, 3, 4}
	axisSets := [][]int64{nil, {1}, {0, 2}, {-1}, {2, 0, 1}}
	for name, ref := range xtReduceRef {
		dtypes := []graph.DType{graph.Float32, graph.Float64, graph.Float16}
		switch name {
		case "ReduceSum", "ReduceMax", "ReduceMin", "ReduceL1", "ReduceSumSquare", "ReduceMean", "ReduceProd":
			dtypes = append(dtypes, graph.Int32, graph.Int64)
		}
		for _, dt := range dtypes {
			vals := randomFor(rng, dt, tensor.NumElements(shape))
			if name == "ReduceLogSum" {
				for i := range vals {
					vals[i] = math.Abs(vals[i]) + 0.1
				}
			}
			if name == "ReduceProd" && !dt.IsFloat() {
				for i := range vals {
					vals[i] = float64(int(vals[i])%3 + 1) // keep products in range
				}
			}
			x := testTensor(dt, shape, vals)
			exact := testValues(t, x)
			for _, axes := range axisSets {
				for _, keep := range []int64{0, 1} {
					resolved, _ := resolveAxes(axes, len(shape))
					if axes == nil {
						resolved = []int{0, 1, 2}
					}
					keepShape, want := xtNaiveReduce(exact, shape, resolved, ref)
					if !dt.IsFloat() && (name == "ReduceMean") {
						for i := range want {
							want[i] = math.Trunc(want[i])
						}
					}
					wantShape := keepShape
					if keep == 0 {
						wantShape = nil
						for d, n := range keepShape {
							if !slices.Contains(resolved, d) {
								wantShape = append(wantShape, n)
							}
						}
					}
					tol := map[graph.DType]tolerance{graph.Float32: tolF32, graph.Float64: tolF64, graph.Float16: tolF16}[dt]
					what := fmt.Sprintf("%s %v axes %v keepdims %d", name, dt, axes, keep)
					// Axes as an attribute: opset 13 (ReduceSum: 11).
					attrOpset := int64(13)
					if name == "ReduceSum" {
						attrOpset = 11
					}
					attrs := []*graph.Attr{graph.IntAttr("keepdims", keep)}
					if axes != nil {
						attrs = append(attrs, graph.IntsAttr("axes", axes...))
					}
					got := runNode(t, testNode(name, attrs...), attrOpset, x)[0]
					checkTensor(t, what+" (attribute)", got, wantShape, want, tol)
					// Axes as an input: opset 18.
					var axesIn *tensor.Tensor
					if axes != nil {
						axesIn = int64s(axes...)
					}
					got = runNode(t, testNode(name, graph.IntAttr("keepdims", keep)), 18, x, axesIn)[0]
					checkTensor(t, what+" (input)", got, wantShape, want, tol)
				}
			}
		}
	}
}

func TestReduceHandWorked(t *testing.T) {
	x := float32s([]int{2, 2}, 1, 2, 3, 4)
	// Rows: 1+2 = 3, 3+4 = 7.
	got := runNode(t, testNode("ReduceSum"), 13, x, int64s(1))[0]
	checkTensor(t, "ReduceSum rows", got, []int{2, 1}, []float64{3, 7}, tolExact)
	// Columns without keepdims: max(1,3) = 3, max(2,4) = 4.
	got = runNode(t, testNode("ReduceMax", graph.IntsAttr("axes", 0), graph.IntAttr("keepdims", 0)), 13, x)[0]
	checkTensor(t, "ReduceMax columns", got, []int{2}, []float64{3, 4}, tolExact)
	// log(e^0 + e^ln3) = log 4.
	lse := float32s([]int{2}, 0, float32(math.Log(3)))
	got = runNode(t, testNode("ReduceLogSumExp", graph.IntAttr("keepdims", 0)), 13, lse)[0]
	checkTensor(t, "ReduceLogSumExp", got, []int{}, []float64{math.Log(4)}, tolF32)
	// Large inputs do not overflow: log(e^1000 + e^1000) = 1000 + log 2.
	big := testTensor(graph.Float64, []int{2}, []float64{1000, 1000})
	got = runNode(t, testNode("ReduceLogSumExp", graph.IntAttr("keepdims", 0)), 13, big)[0]
	checkTensor(t, "ReduceLogSumExp large", got, []int{}, []float64{1000 + math.Ln2}, tolF64)
}

func TestReduceEmptyAxesInput(t *testing.T) {
	x := float32s([]int{2, 2}, 1, 2, 3, 4)
	// noop_with_empty_axes=1 with empty axes: the identity.
	got := runNode(t, testNode("ReduceSum", graph.IntAttr("noop_with_empty_axes", 1)), 13, x, int64s())[0]
	checkTensor(t, "noop", got, []int{2, 2}, []float64{1, 2, 3, 4}, tolExact)
	// Without it, empty axes reduce everything: 1+2+3+4 = 10.
	got = runNode(t, testNode("ReduceSum"), 13, x, int64s())[0]
	checkTensor(t, "all", got, []int{1, 1}, []float64{10}, tolExact)
	// An absent axes input behaves the same.
	got = runNode(t, testNode("ReduceMean", graph.IntAttr("noop_with_empty_axes", 1)), 18, x, nil)[0]
	checkTensor(t, "noop absent", got, []int{2, 2}, []float64{1, 2, 3, 4}, tolExact)
}

// TestReduceEmptySet checks the neutral elements of reductions over a
// zero-length axis.
func TestReduceEmptySet(t *testing.T) {
	x := tensor.New(graph.Float32, 2, 0)
	want := map[string]float64{
		"ReduceSum": 0, "ReduceProd": 1, "ReduceMax": math.Inf(-1), "ReduceMin": math.Inf(1),
		"ReduceL1": 0, "ReduceL2": 0, "ReduceSumSquare": 0, "ReduceLogSum": math.Inf(-1),
		"ReduceLogSumExp": math.Inf(-1), "ReduceMean": math.NaN(),
	}
	for name, w := range want {
		got := runNode(t, testNode(name, graph.IntAttr("keepdims", 0)), 18, x, int64s(1))[0]
		checkTensor(t, name, got, []int{2}, []float64{w, w}, tolExact)
	}
	xi := tensor.New(graph.Int32, 2, 0)
	got := runNode(t, testNode("ReduceMin", graph.IntAttr("keepdims", 0)), 18, xi, int64s(1))[0]
	checkTensor(t, "ReduceMin int32", got, []int{2}, []float64{math.MaxInt32, math.MaxInt32}, tolExact)
	// Reducing a non-empty axis of an empty tensor gives an empty result.
	got = runNode(t, testNode("ReduceSum"), 13, tensor.New(graph.Float32, 0, 3), int64s(1))[0]
	checkTensor(t, "empty rows", got, []int{0, 1}, nil, tolExact)
}

func TestReduceIntegerWraps(t *testing.T) {
	// int8: 100 + 100 = 200 wraps to -56, as the type does.
	x := testTensor(graph.Int8, []int{2}, []float64{100, 100})
	got := runNode(t, testNode("ReduceSum", graph.IntAttr("keepdims", 0)), 13, x, nil)[0]
	checkTensor(t, "int8 sum", got, []int{}, []float64{-56}, tolExact)
}

func TestReduceNaNPropagates(t *testing.T) {
	x := float32s([]int{3}, 1, float32(math.NaN()), 2)
	for _, name := range []string{"ReduceMax", "ReduceMin", "ReduceSum"} {
		got := runNode(t, testNode(name, graph.IntAttr("keepdims", 0)), 13, x)[0]
		if name == "ReduceSum" {
			got = runNode(t, testNode(name, graph.IntAttr("keepdims", 0)), 13, x, nil)[0]
		}
		if v := testValues(t, got)[0]; !math.IsNaN(v) {
			t.Errorf("%s with a NaN = %v, want NaN", name, v)
		}
	}
}

func TestReduceErrors(t *testing.T) {
	x := float32s([]int{2, 2}, 1, 2, 3, 4)
	wantErr(t, "repeated axes", runNodeErr(t, testNode("ReduceSum"), 13, x, int64s(1, -1)), "repeated")
	wantErr(t, "axis out of range", runNodeErr(t, testNode("ReduceMean", graph.IntsAttr("axes", 2)), 13, x), "out of range")
	wantErr(t, "int32 axes", runNodeErr(t, testNode("ReduceSum"), 13, x, testTensor(graph.Int32, []int{1}, []float64{0})), "int64")
	s := &tensor.Tensor{DType: graph.String, Shape: []int{1}, Data: []string{"a"}}
	wantErr(t, "string data", runNodeErr(t, testNode("ReduceMax"), 13, s), "numeric")
	wantErr(t, "bad keepdims kind", runNodeErr(t, testNode("ReduceMax", graph.StringAttr("keepdims", "yes")), 13, x), "keepdims")
}

func TestReduceMaxMinBool(t *testing.T) {
	// Rows [true, false] and [false, false]: any = [true, false],
	// all = [false, false].
	x := testTensor(graph.Bool, []int{2, 2}, []float64{1, 0, 0, 0})
	got := runNode(t, testNode("ReduceMax", graph.IntAttr("keepdims", 0)), 20, x, int64s(1))[0]
	if got.DType != graph.Bool {
		t.Fatalf("ReduceMax of bools is %v, want bool", got.DType)
	}
	checkTensor(t, "any", got, []int{2}, []float64{1, 0}, tolExact)
	got = runNode(t, testNode("ReduceMin", graph.IntAttr("keepdims", 0)), 20, x, int64s(1))[0]
	checkTensor(t, "all", got, []int{2}, []float64{0, 0}, tolExact)
}
