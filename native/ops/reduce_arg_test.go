package ops

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// xtNaiveArg returns, for every line of x along axis, the index of its
// greatest (least) element, the first or the last among ties.
func xtNaiveArg(x []float64, shape []int, axis int, isMax, last bool) []float64 {
	outShape := slices.Clone(shape)
	outShape[axis] = 1
	out := make([]float64, tensor.NumElements(outShape))
	for o := range out {
		c := coordsOf(o, outShape)
		best := 0.0
		for k := range shape[axis] {
			c[axis] = k
			v := x[flatIndex(c, shape)]
			better := isMax && (v > best || v == best && last) || !isMax && (v < best || v == best && last)
			if k == 0 || better {
				best, out[o] = v, float64(k)
			}
		}
	}
	return out
}

func TestArgMaxMinRandomAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	shape := []int{3, 4, 5}
	for _, name := range []string{"ArgMax", "ArgMin"} {
		for _, dt := range []graph.DType{graph.Float32, graph.Int32, graph.Uint8, graph.Float16} {
			// Few distinct integers, so that ties occur.
			vals := make([]float64, tensor.NumElements(shape))
			for i := range vals {
				vals[i] = float64(rng.IntN(4))
			}
			x := testTensor(dt, shape, vals)
			for _, axis := range []int64{0, 1, 2, -1} {
				for _, last := range []int64{0, 1} {
					ax, _ := resolveAxis(axis, 3, "axis")
					want := xtNaiveArg(vals, shape, ax, name == "ArgMax", last == 1)
					wantShape := slices.Clone(shape)
					wantShape[ax] = 1
					n := testNode(name, graph.IntAttr("axis", axis), graph.IntAttr("select_last_index", last))
					got := runNode(t, n, 13, x)[0]
					if got.DType != graph.Int64 {
						t.Fatalf("%s output is %v, want int64", name, got.DType)
					}
					checkTensor(t, fmt.Sprintf("%s %v axis %d last %d", name, dt, axis, last), got, wantShape, want, tolExact)
					// keepdims=0 drops the axis.
					n.Attrs = append(n.Attrs, graph.IntAttr("keepdims", 0))
					got = runNode(t, n, 13, x)[0]
					dropped := slices.Delete(slices.Clone(shape), ax, ax+1)
					checkTensor(t, fmt.Sprintf("%s %v axis %d no keepdims", name, dt, axis), got, dropped, want, tolExact)
				}
			}
		}
	}
}

func TestArgMaxSelectLastIndexIgnoredBeforeOpset12(t *testing.T) {
	x := float32s([]int{3}, 5, 7, 7)
	n := testNode("ArgMax", graph.IntAttr("select_last_index", 1))
	// Opset 11 has no select_last_index: the first 7 (index 1) wins.
	checkTensor(t, "opset 11", runNode(t, n, 11, x)[0], []int{1}, []float64{1}, tolExact)
	checkTensor(t, "opset 12", runNode(t, n, 12, x)[0], []int{1}, []float64{2}, tolExact)
}

func TestArgMaxErrors(t *testing.T) {
	wantErr(t, "axis", runNodeErr(t, testNode("ArgMax", graph.IntAttr("axis", 2)), 13, float32s([]int{2}, 1, 2)), "out of range")
	wantErr(t, "empty axis", runNodeErr(t, testNode("ArgMin"), 13, tensor.New(graph.Float32, 0, 2)), "empty")
}

func TestHardmaxOpsetSemantics(t *testing.T) {
	// x is [2, 2, 2]:
	//   [[1, 4], [3, 2]]
	//   [[0, 0], [5, 1]]
	x := float32s([]int{2, 2, 2}, 1, 4, 3, 2, 0, 0, 5, 1)
	// Opset 13, default axis -1: the maximum of each innermost pair;
	// ties (0, 0) go to the first.
	got := runNode(t, testNode("Hardmax"), 13, x)[0]
	checkTensor(t, "opset 13", got, []int{2, 2, 2}, []float64{0, 1, 1, 0, 1, 0, 1, 0}, tolExact)
	// Opset 11, default axis 1: each batch is flattened to 4 values;
	// batch 0 max is 4 (position 1), batch 1 max is 5 (position 2).
	got = runNode(t, testNode("Hardmax"), 11, x)[0]
	checkTensor(t, "opset 11", got, []int{2, 2, 2}, []float64{0, 1, 0, 0, 0, 0, 1, 0}, tolExact)
	// Opset 13 along axis 1: compare rows within each batch.
	got = runNode(t, testNode("Hardmax", graph.IntAttr("axis", 1)), 13, x)[0]
	checkTensor(t, "opset 13 axis 1", got, []int{2, 2, 2}, []float64{0, 1, 1, 0, 0, 0, 1, 1}, tolExact)
}

func TestHardmaxRandomRowsAreOneHot(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	shape := []int{4, 3, 5}
	vals := randomFor(rng, graph.Float64, 60)
	x := testTensor(graph.Float64, shape, vals)
	got := testValues(t, runNode(t, testNode("Hardmax", graph.IntAttr("axis", 1)), 13, x)[0])
	want := make([]float64, len(vals))
	arg := xtNaiveArg(vals, shape, 1, true, false)
	for o, k := range arg {
		c := coordsOf(o, []int{4, 1, 5})
		c[1] = int(k)
		want[flatIndex(c, shape)] = 1
	}
	checkClose(t, "hardmax axis 1", got, want, tolExact)
}

func TestCumSumRandomAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	shape := []int{3, 4, 2}
	for _, dt := range []graph.DType{graph.Float32, graph.Float64, graph.Int64, graph.Int32, graph.Float16} {
		vals := randomFor(rng, dt, 24)
		x := testTensor(dt, shape, vals)
		exact := testValues(t, x)
		for _, axis := range []int64{0, 1, -1} {
			for _, ex := range []int64{0, 1} {
				for _, rev := range []int64{0, 1} {
					ax, _ := resolveAxis(axis, 3, "axis")
					want := make([]float64, 24)
					for i := range want {
						c := coordsOf(i, shape)
						for k := range shape[ax] {
							cc := slices.Clone(c)
							cc[ax] = k
							before := k < c[ax] || k == c[ax] && ex == 0
							if rev == 1 {
								before = k > c[ax] || k == c[ax] && ex == 0
							}
							if before {
								want[i] += exact[flatIndex(cc, shape)]
							}
						}
					}
					axisIn := testTensor(graph.Int32, []int{}, []float64{float64(axis)})
					n := testNode("CumSum", graph.IntAttr("exclusive", ex), graph.IntAttr("reverse", rev))
					got := runNode(t, n, 14, x, axisIn)[0]
					tol := map[graph.DType]tolerance{graph.Float32: tolF32, graph.Float64: tolF64, graph.Float16: tolF16}[dt]
					checkTensor(t, fmt.Sprintf("CumSum %v axis %d exclusive %d reverse %d", dt, axis, ex, rev), got, shape, want, tol)
				}
			}
		}
	}
}

func TestCumSumHandWorked(t *testing.T) {
	x := testTensor(graph.Float64, []int{5}, []float64{1, 2, 3, 4, 5})
	axis := int64s(0)
	// exclusive, reverse: sums of the elements after each one:
	// 2+3+4+5, 3+4+5, 4+5, 5, 0.
	n := testNode("CumSum", graph.IntAttr("exclusive", 1), graph.IntAttr("reverse", 1))
	checkTensor(t, "exclusive reverse", runNode(t, n, 11, x, axis)[0], []int{5}, []float64{14, 12, 9, 5, 0}, tolExact)
	wantErr(t, "axis as float", runNodeErr(t, testNode("CumSum"), 11, x, float32s([]int{}, 0)), "int32 or int64")
	wantErr(t, "axis as vector", runNodeErr(t, testNode("CumSum"), 11, x, int64s(0, 0)), "scalar")
}
