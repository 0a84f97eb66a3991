package ops

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// mvRandIndices returns n random indices into an axis of size size, half
// of them written negatively (counting from the end), and the resolved
// non-negative ones.
func mvRandIndices(rng *rand.Rand, n, size int, negative bool) (raw []int64, resolved []int) {
	for range n {
		i := rng.IntN(size)
		resolved = append(resolved, i)
		if negative && rng.IntN(2) == 0 {
			raw = append(raw, int64(i-size))
		} else {
			raw = append(raw, int64(i))
		}
	}
	return raw, resolved
}

func TestGatherAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	shape := []int{3, 4, 5}
	idxShape := []int{2, 3}
	for axis := range 3 {
		for _, dt := range []graph.DType{graph.Float32, graph.Int64, graph.String, graph.Bool} {
			vals := mvRandFor(rng, dt, 60)
			raw, idx := mvRandIndices(rng, 6, shape[axis], true)
			out := slices.Concat(shape[:axis], idxShape, shape[axis+1:])
			want := mvNaive(vals, shape, out, 0, func(c []int) []int {
				k := flatIndex(c[axis:axis+2], idxShape)
				return slices.Concat(c[:axis], []int{idx[k]}, c[axis+2:])
			})
			indices := &tensor.Tensor{DType: graph.Int64, Shape: idxShape, Data: raw}
			y := runNode(t, testNode("Gather", graph.IntAttr("axis", int64(axis))), 13, testTensor(dt, shape, vals), indices)[0]
			checkTensor(t, fmt.Sprintf("%v axis %d", dt, axis), y, out, want, tolExact)
		}
	}
	// A scalar index removes the axis; int32 indices work too.
	x := testTensor(graph.Float32, []int{2, 3}, []float64{1, 2, 3, 4, 5, 6})
	idx := &tensor.Tensor{DType: graph.Int32, Shape: []int{}, Data: []int32{-1}}
	checkTensor(t, "scalar index", runNode(t, testNode("Gather", graph.IntAttr("axis", 1)), 13, x, idx)[0], []int{2}, []float64{3, 6}, tolExact)
	// Negative indices, official from opset 11, are accepted before.
	checkTensor(t, "Gather-1 negative", runNode(t, testNode("Gather"), 1, x, int64s(-1))[0], []int{1, 3}, []float64{4, 5, 6}, tolExact)
	runNodeErr(t, testNode("Gather"), 13, x, int64s(2))
	runNodeErr(t, testNode("Gather"), 13, x, int64s(-3))
}

func TestGatherElementsAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(63, 64))
	shape := []int{3, 4}
	for axis := range 2 {
		for _, dt := range []graph.DType{graph.Float64, graph.String} {
			vals := mvRandFor(rng, dt, 12)
			idxShape := []int{2, 3} // smaller than the data off the axis
			idxShape[axis] = 5      // and larger along it
			raw, idx := mvRandIndices(rng, tensor.NumElements(idxShape), shape[axis], true)
			want := mvNaive(vals, shape, idxShape, 0, func(c []int) []int {
				src := slices.Clone(c)
				src[axis] = idx[flatIndex(c, idxShape)]
				return src
			})
			indices := &tensor.Tensor{DType: graph.Int64, Shape: idxShape, Data: raw}
			y := runNode(t, testNode("GatherElements", graph.IntAttr("axis", int64(axis-2))), 13, testTensor(dt, shape, vals), indices)[0]
			checkTensor(t, fmt.Sprintf("%v axis %d", dt, axis), y, idxShape, want, tolExact)
		}
	}
	x := tensor.Float32(2, 2)
	runNodeErr(t, testNode("GatherElements"), 13, x, int64s(0, 1))
	runNodeErr(t, testNode("GatherElements"), 13, x, &tensor.Tensor{DType: graph.Int64, Shape: []int{1, 1}, Data: []int64{2}})
}

func TestGatherNDAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(65, 66))
	shape := []int{2, 3, 4, 5}
	for _, b := range []int{0, 1, 2} {
		for k := 1; k <= len(shape)-b; k++ {
			vals := mvRandInts(rng, tensor.NumElements(shape), 100)
			// indices [batch..., 2, k]
			idxShape := slices.Concat(shape[:b], []int{2, k})
			tuples := tensor.NumElements(idxShape) / k
			raw := make([]int64, 0, tuples*k)
			resolved := make([][]int, tuples)
			for tu := range resolved {
				for j := range k {
					r, v := mvRandIndices(rng, 1, shape[b+j], true)
					raw = append(raw, r[0])
					resolved[tu] = append(resolved[tu], v[0])
				}
			}
			out := slices.Concat(idxShape[:len(idxShape)-1], shape[b+k:])
			want := mvNaive(vals, shape, out, 0, func(c []int) []int {
				tu := flatIndex(c[:b+1], idxShape[:b+1])
				return slices.Concat(c[:b], resolved[tu], c[b+1:])
			})
			indices := &tensor.Tensor{DType: graph.Int64, Shape: idxShape, Data: raw}
			y := runNode(t, testNode("GatherND", graph.IntAttr("batch_dims", int64(b))), 13, testTensor(graph.Int32, shape, vals), indices)[0]
			checkTensor(t, fmt.Sprintf("batch_dims %d k %d", b, k), y, out, want, tolExact)
		}
	}
	x := tensor.Float32(2, 3)
	runNodeErr(t, testNode("GatherND"), 13, x, &tensor.Tensor{DType: graph.Int64, Shape: []int{1, 3}, Data: []int64{0, 0, 0}})
	runNodeErr(t, testNode("GatherND"), 13, x, &tensor.Tensor{DType: graph.Int64, Shape: []int{1, 2}, Data: []int64{0, 3}})
	runNodeErr(t, testNode("GatherND", graph.IntAttr("batch_dims", 1)), 13, x, &tensor.Tensor{DType: graph.Int64, Shape: []int{3, 1}, Data: []int64{0, 0, 0}})
}

func TestOneHot(t *testing.T) {
	// indices [[1, -1], [5, 0]] with depth 3: -1 is 2, 5 is out of range
	// (all off). values [off=4, on=9]; axis -1 appends the depth axis.
	indices := &tensor.Tensor{DType: graph.Int64, Shape: []int{2, 2}, Data: []int64{1, -1, 5, 0}}
	depth := &tensor.Tensor{DType: graph.Float32, Shape: []int{}, Data: []float32{3}}
	for _, dt := range []graph.DType{graph.Float32, graph.String, graph.Int8} {
		values := testTensor(dt, []int{2}, []float64{4, 9})
		y := runNode(t, testNode("OneHot"), 11, indices, depth, values)[0]
		checkTensor(t, fmt.Sprintf("%v axis -1", dt), y, []int{2, 2, 3}, []float64{
			4, 9, 4, 4, 4, 9, // [1, -1]
			4, 4, 4, 9, 4, 4, // [5, 0]
		}, tolExact)
		// axis 0 puts the depth axis first: y[j, a, b] = on where index[a, b] == j.
		y = runNode(t, testNode("OneHot", graph.IntAttr("axis", 0)), 11, indices, depth, values)[0]
		checkTensor(t, fmt.Sprintf("%v axis 0", dt), y, []int{3, 2, 2}, []float64{
			4, 4, 4, 9, // j = 0
			9, 4, 4, 4, // j = 1
			4, 9, 4, 4, // j = 2
		}, tolExact)
	}
	floatIdx := testTensor(graph.Float32, []int{2}, []float64{2, 0})
	checkTensor(t, "float indices", runNode(t, testNode("OneHot"), 9, floatIdx, depth, testTensor(graph.Int64, []int{2}, []float64{0, 1}))[0], []int{2, 3}, []float64{0, 0, 1, 1, 0, 0}, tolExact)
	runNodeErr(t, testNode("OneHot"), 11, indices, depth, testTensor(graph.Float32, []int{3}, []float64{0, 1, 2}))
	runNodeErr(t, testNode("OneHot"), 11, indices, testTensor(graph.Float32, []int{}, []float64{0}), testTensor(graph.Float32, []int{2}, []float64{0, 1}))
}
