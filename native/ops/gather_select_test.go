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
		x := mvTensor(dt, shape, vals)
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
			y := mvRun(t, mvNode("Compress", graph.IntAttr("axis", int64(axis-2))), 11, x, condT)[0]
			mvExpect(t, fmt.Sprintf("%v axis %d", dt, axis), y, out, want)
		}
		// Without axis the input is flattened: elements 1 and 5 are kept.
		cond := &tensor.Tensor{DType: graph.Bool, Shape: []int{6}, Data: []bool{false, true, false, false, false, true}}
		mvExpect(t, fmt.Sprintf("%v flat", dt), mvRun(t, mvNode("Compress"), 9, x, cond)[0], []int{2}, []float64{vals[1], vals[5]})
	}
	long := &tensor.Tensor{DType: graph.Bool, Shape: []int{5}, Data: []bool{false, false, false, false, true}}
	mvRunErr(t, mvNode("Compress", graph.IntAttr("axis", 1)), 11, tensor.Float32(3, 4), long)
}

func TestNonZero(t *testing.T) {
	rng := rand.New(rand.NewPCG(83, 84))
	shape := []int{2, 3, 4}
	for _, dt := range []graph.DType{graph.Float32, graph.Int8, graph.Bool, graph.String, graph.Float16} {
		vals := mvRandInts(rng, 24, 2)
		x := mvTensor(dt, shape, vals)
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
			for d, c := range mvCoords(i, shape) {
				want[d*len(nz)+j] = float64(c)
			}
		}
		mvExpect(t, dt.String(), mvRun(t, mvNode("NonZero"), 13, x)[0], []int{3, len(nz)}, want)
	}
	// Negative zero is zero.
	h := &tensor.Tensor{DType: graph.Float16, Shape: []int{2}, Data: []uint16{0x8000, 0x3c00}}
	mvExpect(t, "float16 -0", mvRun(t, mvNode("NonZero"), 9, h)[0], []int{1, 1}, []float64{1})
}
