package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// mvReduceReference combines a with b in float64 as reduction says.
func mvReduceReference(a, b float64, reduction string) float64 {
	switch reduction {
	case "add":
		return a + b
	case "mul":
		return a * b
	case "max":
		return math.Max(a, b)
	case "min":
		return math.Min(a, b)
	}
	return b
}

func TestScatterElementsAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	shape := []int{3, 4}
	idxShape := []int{2, 3}
	for _, reduction := range []string{"none", "add", "mul", "max", "min"} {
		for axis := range 2 {
			for _, dt := range []graph.DType{graph.Float32, graph.Int32, graph.Float16, graph.String} {
				if dt == graph.String && reduction != "none" {
					continue
				}
				vals := mvRandInts(rng, 12, 10)
				upd := mvRandInts(rng, 6, 10)
				raw, idx := mvRandIndices(rng, 6, shape[axis], true)
				// Reference: apply the updates in order, duplicates included.
				want := append([]float64(nil), vals...)
				for i := range upd {
					c := coordsOf(i, idxShape)
					c[axis] = idx[i]
					j := flatIndex(c, shape)
					want[j] = mvReduceReference(want[j], upd[i], reduction)
				}
				node := testNode("ScatterElements", graph.IntAttr("axis", int64(axis)), graph.StringAttr("reduction", reduction))
				indices := &tensor.Tensor{DType: graph.Int64, Shape: idxShape, Data: raw}
				y := runNode(t, node, 18, testTensor(dt, shape, vals), indices, testTensor(dt, idxShape, upd))[0]
				checkTensor(t, fmt.Sprintf("%v axis %d reduction %s", dt, axis, reduction), y, shape, want, tolExact)
			}
		}
	}
}

func TestScatterVersions(t *testing.T) {
	data := testTensor(graph.Float32, []int{1, 3}, []float64{1, 2, 3})
	upd := testTensor(graph.Float32, []int{1, 2}, []float64{5, 7})
	idx := &tensor.Tensor{DType: graph.Int64, Shape: []int{1, 2}, Data: []int64{2, 0}}
	neg := &tensor.Tensor{DType: graph.Int64, Shape: []int{1, 2}, Data: []int64{-1, 0}}
	axis1 := graph.IntAttr("axis", 1)
	want := []float64{7, 2, 5}
	checkTensor(t, "Scatter-9", runNode(t, testNode("Scatter", axis1), 9, data, idx, upd)[0], []int{1, 3}, want, tolExact)
	checkTensor(t, "Scatter-9 negative", runNode(t, testNode("Scatter", axis1), 9, data, neg, upd)[0], []int{1, 3}, want, tolExact)
	checkTensor(t, "Scatter-11 negative", runNode(t, testNode("Scatter", axis1), 11, data, neg, upd)[0], []int{1, 3}, want, tolExact)
	checkTensor(t, "ScatterElements-11", runNode(t, testNode("ScatterElements", axis1), 11, data, neg, upd)[0], []int{1, 3}, want, tolExact)
	// The reduction attribute exists from 16; max and min from 18.
	add := testNode("ScatterElements", axis1, graph.StringAttr("reduction", "add"))
	checkTensor(t, "ScatterElements-16 add", runNode(t, add, 16, data, idx, upd)[0], []int{1, 3}, []float64{8, 2, 8}, tolExact)
	if _, err := Build(testNode("ScatterElements", graph.StringAttr("reduction", "max")), 16); err == nil {
		t.Error("ScatterElements-16 accepted reduction max")
	}
	if _, err := Build(testNode("ScatterND", graph.StringAttr("reduction", "sum")), 18); err == nil {
		t.Error("ScatterND accepted reduction sum")
	}
	runNodeErr(t, testNode("ScatterElements", axis1), 13, data, idx, testTensor(graph.Float32, []int{2}, []float64{5, 7}))
	runNodeErr(t, testNode("ScatterElements", axis1), 13, data, &tensor.Tensor{DType: graph.Int64, Shape: []int{1, 2}, Data: []int64{3, 0}}, upd)
}

func TestScatterNDAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(73, 74))
	shape := []int{4, 3, 2}
	for _, reduction := range []string{"none", "add", "mul", "max", "min"} {
		for k := 1; k <= 3; k++ {
			vals := mvRandInts(rng, 24, 10)
			const tuples = 3
			slice := tensor.NumElements(shape[k:])
			raw := make([]int64, 0, tuples*k)
			var starts []int
			for range tuples {
				var c []int
				for j := range k {
					r, v := mvRandIndices(rng, 1, shape[j], true)
					raw = append(raw, r[0])
					c = append(c, v[0])
				}
				for len(c) < len(shape) {
					c = append(c, 0)
				}
				starts = append(starts, flatIndex(c, shape))
			}
			upd := mvRandInts(rng, tuples*slice, 10)
			want := append([]float64(nil), vals...)
			for tu, start := range starts {
				for e := range slice {
					want[start+e] = mvReduceReference(want[start+e], upd[tu*slice+e], reduction)
				}
			}
			updShape := append([]int{tuples}, shape[k:]...)
			indices := &tensor.Tensor{DType: graph.Int64, Shape: []int{tuples, k}, Data: raw}
			y := runNode(t, testNode("ScatterND", graph.StringAttr("reduction", reduction)), 18,
				testTensor(graph.Float64, shape, vals), indices, testTensor(graph.Float64, updShape, upd))[0]
			checkTensor(t, fmt.Sprintf("k %d reduction %s", k, reduction), y, shape, want, tolExact)
		}
	}
	x := tensor.Float32(2, 2)
	runNodeErr(t, testNode("ScatterND"), 13, x, &tensor.Tensor{DType: graph.Int64, Shape: []int{1, 1}, Data: []int64{0}}, tensor.Float32(1, 3))
	runNodeErr(t, testNode("ScatterND"), 13, x, &tensor.Tensor{DType: graph.Int64, Shape: []int{1, 1}, Data: []int64{2}}, tensor.Float32(1, 2))
}
