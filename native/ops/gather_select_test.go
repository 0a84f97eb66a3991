package ops

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

func TestCompressAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(81, 82))
	shape := []int{3, 4}
	for _, dt := range []graph.DType{graph.Float32, graph.String, graph.Bool} {
		vals := mvRandFor(rng, dt, 12)
		x := testTensor(dt, shape, vals)
		for axis := range 2 {
			// A condition one shorter than the axis drops the last slice.
			cond := make([]bool, shape[axis]-1)
			var kept []int
			for i := range cond {
				if cond[i] = rng.IntN(2) == 0; cond[i] {
					kept = append(kept, i)
				}
			}
			out := []int{3, 4}
			out[axis] = len(kept)
			want := mvNaive(vals, shape, out, 0, func(c []int) []int {
				src := []int{c[0], c[1]}
				src[axis] = kept[c[axis]]
				return src
			})
			condT := &tensor.Tensor{DType: graph.Bool, Shape: []int{len(cond)}, Data: cond}
			y := runNode(t, testNode("Compress", graph.IntAttr("axis", int64(axis-2))), 11, x, condT)[0]
			checkTensor(t, fmt.Sprintf("%v axis %d", dt, axis), y, out, want, tolExact)
		}
		// Without axis the input is flattened: elements 1 and 5 are kept.
		cond := &tensor.Tensor{DType: graph.Bool, Shape: []int{6}, Data: []bool{false, true, false, false, false, true}}
		checkTensor(t, fmt.Sprintf("%v flat", dt), runNode(t, testNode("Compress"), 9, x, cond)[0], []int{2}, []float64{vals[1], vals[5]}, tolExact)
	}
	long := &tensor.Tensor{DType: graph.Bool, Shape: []int{5}, Data: []bool{false, false, false, false, true}}
	runNodeErr(t, testNode("Compress", graph.IntAttr("axis", 1)), 11, tensor.Float32(3, 4), long)
}

func TestNonZero(t *testing.T) {
	rng := rand.New(rand.NewPCG(83, 84))
	shape := []int{2, 3, 4}
	for _, dt := range []graph.DType{graph.Float32, graph.Int8, graph.Bool, graph.String, graph.Float16} {
		vals := mvRandInts(rng, 24, 2)
		x := testTensor(dt, shape, vals)
		if dt == graph.String {
			// Strings are non-zero unless empty.
			for i, v := range vals {
				if v == 0 {
					x.Data.([]string)[i] = ""
				}
			}
		}
		var nz []int
		for i, v := range vals {
			if v != 0 {
				nz = append(nz, i)
			}
		}
		want := make([]float64, 3*len(nz))
		for j, i := range nz {
			for d, c := range coordsOf(i, shape) {
				want[d*len(nz)+j] = float64(c)
			}
		}
		checkTensor(t, dt.String(), runNode(t, testNode("NonZero"), 13, x)[0], []int{3, len(nz)}, want, tolExact)
	}
	// Negative zero is zero.
	h := &tensor.Tensor{DType: graph.Float16, Shape: []int{2}, Data: []uint16{0x8000, 0x3c00}}
	checkTensor(t, "float16 -0", runNode(t, testNode("NonZero"), 9, h)[0], []int{1, 1}, []float64{1}, tolExact)
}
