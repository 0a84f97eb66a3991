package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// xtNaiveTopK selects the k extreme elements of every line of x along
// axis by sorting (value, index) pairs with sort.Slice: larger (smaller)
// value first, lower index first among equal values.
func xtNaiveTopK(x []float64, shape []int, axis, k int, largest bool) (vals, idx []float64) {
	outShape := slices.Clone(shape)
	outShape[axis] = k
	vals = make([]float64, tensor.NumElements(outShape))
	idx = make([]float64, len(vals))
	lineShape := slices.Clone(shape)
	lineShape[axis] = 1
	for l := range tensor.NumElements(lineShape) {
		c := coordsOf(l, lineShape)
		type pair struct {
			v float64
			i int
		}
		var line []pair
		for j := range shape[axis] {
			c[axis] = j
			line = append(line, pair{x[flatIndex(c, shape)], j})
		}
		sort.Slice(line, func(a, b int) bool {
			if line[a].v != line[b].v {
				return line[a].v > line[b].v == largest
			}
			return line[a].i < line[b].i
		})
		for j := range k {
			c[axis] = j
			p := flatIndex(c, outShape)
			vals[p], idx[p] = line[j].v, float64(line[j].i)
		}
	}
	return vals, idx
}

func TestTopKRandomAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	shape := []int{3, 6, 4}
	for _, dt := range []graph.DType{graph.Float32, graph.Float64, graph.Int64, graph.Uint8} {
		vals := make([]float64, tensor.NumElements(shape))
		for i := range vals {
			vals[i] = float64(rng.IntN(5)) // ties are frequent
		}
		x := testTensor(dt, shape, vals)
		for _, axis := range []int64{0, 1, -1} {
			ax, _ := resolveAxis(axis, 3, "axis")
			for _, k := range []int{0, 1, shape[ax]} {
				for _, largest := range []int64{0, 1} {
					wantV, wantI := xtNaiveTopK(vals, shape, ax, k, largest == 1)
					outShape := slices.Clone(shape)
					outShape[ax] = k
					n := testNode("TopK", graph.IntAttr("axis", axis), graph.IntAttr("largest", largest))
					out := runNode(t, n, 11, x, int64s(int64(k)))
					what := fmt.Sprintf("TopK %v axis %d k %d largest %d", dt, axis, k, largest)
					checkTensor(t, what+" values", out[0], outShape, wantV, tolExact)
					checkTensor(t, what+" indices", out[1], outShape, wantI, tolExact)
				}
			}
		}
	}
}

func TestTopKOpsetForms(t *testing.T) {
	x := float32s([]int{5}, 3, 1, 4, 1, 5)
	// Opset 1: k is an attribute. The two largest: 5 (index 4), 4 (2).
	out := runNode(t, testNode("TopK", graph.IntAttr("k", 2)), 1, x)
	checkTensor(t, "opset 1 values", out[0], []int{2}, []float64{5, 4}, tolExact)
	checkTensor(t, "opset 1 indices", out[1], []int{2}, []float64{4, 2}, tolExact)
	// Opset 10: k is an input; largest is not an attribute yet, so a
	// largest=0 attribute is ignored.
	out = runNode(t, testNode("TopK", graph.IntAttr("largest", 0)), 10, x, int64s(2))
	checkTensor(t, "opset 10 values", out[0], []int{2}, []float64{5, 4}, tolExact)
	// Opset 11 smallest: 1 (index 1) before the equal 1 (index 3).
	out = runNode(t, testNode("TopK", graph.IntAttr("largest", 0)), 11, x, int64s(3))
	checkTensor(t, "opset 11 smallest values", out[0], []int{3}, []float64{1, 1, 3}, tolExact)
	checkTensor(t, "opset 11 smallest indices", out[1], []int{3}, []float64{1, 3, 0}, tolExact)
	// NaN ranks above every number.
	nan := float32s([]int{3}, 1, float32(math.NaN()), 2)
	out = runNode(t, testNode("TopK"), 11, nan, int64s(1))
	checkTensor(t, "NaN first", out[1], []int{1}, []float64{1}, tolExact)
}

func TestTopKErrors(t *testing.T) {
	x := float32s([]int{3}, 1, 2, 3)
	wantErr(t, "k too large", runNodeErr(t, testNode("TopK"), 11, x, int64s(4)), "k is 4")
	wantErr(t, "k negative", runNodeErr(t, testNode("TopK"), 11, x, int64s(-1)), "k is -1")
	wantErr(t, "k missing", runNodeErr(t, testNode("TopK"), 11, x), "want at least 2")
	wantErr(t, "k attribute missing", runNodeErr(t, testNode("TopK"), 1, x), "required")
}

func TestUniqueHandWorked(t *testing.T) {
	x := float32s([]int{6}, 2, 1, 1, 3, 4, 3)
	// Sorted: [1, 2, 3, 4]; first occurrences at 1, 0, 3, 4;
	// X maps to entries [1, 0, 0, 2, 3, 2]; counts [2, 1, 2, 1].
	out := runNode(t, testNode("Unique"), 11, x)
	checkTensor(t, "Y", out[0], []int{4}, []float64{1, 2, 3, 4}, tolExact)
	checkTensor(t, "indices", out[1], []int{4}, []float64{1, 0, 3, 4}, tolExact)
	checkTensor(t, "inverse", out[2], []int{6}, []float64{1, 0, 0, 2, 3, 2}, tolExact)
	checkTensor(t, "counts", out[3], []int{4}, []float64{2, 1, 2, 1}, tolExact)
	// Unsorted: order of first occurrence [2, 1, 3, 4].
	out = runNode(t, testNode("Unique", graph.IntAttr("sorted", 0)), 11, x)
	checkTensor(t, "Y unsorted", out[0], []int{4}, []float64{2, 1, 3, 4}, tolExact)
	checkTensor(t, "inverse unsorted", out[2], []int{6}, []float64{0, 1, 1, 2, 3, 2}, tolExact)
	// Rows of [[1, 0], [0, 1], [1, 0]] along axis 0: [0, 1] < [1, 0].
	rows := float32s([]int{3, 2}, 1, 0, 0, 1, 1, 0)
	out = runNode(t, testNode("Unique", graph.IntAttr("axis", 0)), 11, rows)
	checkTensor(t, "rows Y", out[0], []int{2, 2}, []float64{0, 1, 1, 0}, tolExact)
	checkTensor(t, "rows counts", out[3], []int{2}, []float64{1, 2}, tolExact)
}

func TestUniqueStrings(t *testing.T) {
	x := &tensor.Tensor{DType: graph.String, Shape: []int{4}, Data: []string{"b", "a", "b", "c"}}
	out := runNode(t, testNode("Unique"), 11, x)
	if got := out[0].Data.([]string); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("Y = %v, want [a b c]", got)
	}
	checkTensor(t, "counts", out[3], []int{3}, []float64{1, 2, 1}, tolExact)
}

// TestUniqueRandomProperties checks, on seeded random slices, the
// defining properties of the four outputs along every axis.
func TestUniqueRandomProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	shape := []int{4, 5, 3}
	vals := make([]float64, tensor.NumElements(shape))
	for i := range vals {
		vals[i] = float64(rng.IntN(2))
	}
	x := testTensor(graph.Int32, shape, vals)
	for _, axis := range []int{0, 1, 2} {
		for _, sorted := range []int64{0, 1} {
			out := runNode(t, testNode("Unique", graph.IntAttr("axis", int64(axis)), graph.IntAttr("sorted", sorted)), 11, x)
			y, first, inverse, counts := testValues(t, out[0]), testValues(t, out[1]), testValues(t, out[2]), testValues(t, out[3])
			nu := len(first)
			// slice(t, shape, i) lists slice i of a tensor along axis.
			slice := func(v []float64, sh []int, i int) []float64 {
				var s []float64
				for j := range v {
					if coordsOf(j, sh)[axis] == i {
						s = append(s, v[j])
					}
				}
				return s
			}
			yShape := slices.Clone(shape)
			yShape[axis] = nu
			total := 0.0
			for j := range nu {
				ys := slice(y, yShape, j)
				if !slices.Equal(ys, slice(vals, shape, int(first[j]))) {
					t.Errorf("axis %d: Y slice %d is not X slice %v", axis, j, first[j])
				}
				for i := range int(first[j]) {
					if slices.Equal(slice(vals, shape, i), ys) {
						t.Errorf("axis %d: entry %d occurs at %d, before its first index %v", axis, j, i, first[j])
					}
				}
				if j > 0 && sorted == 1 && slices.Compare(slice(y, yShape, j-1), ys) >= 0 {
					t.Errorf("axis %d: Y slices %d and %d are not ascending", axis, j-1, j)
				}
				if j > 0 && sorted == 0 && first[j-1] >= first[j] {
					t.Errorf("axis %d: unsorted Y is not in order of first occurrence", axis)
				}
				total += counts[j]
			}
			for i := range shape[axis] {
				if !slices.Equal(slice(vals, shape, i), slice(y, yShape, int(inverse[i]))) {
					t.Errorf("axis %d: X slice %d is not Y slice %v", axis, i, inverse[i])
				}
			}
			if total != float64(shape[axis]) {
				t.Errorf("axis %d: counts add up to %v, want %d", axis, total, shape[axis])
			}
		}
	}
}
