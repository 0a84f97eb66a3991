package ops

// Test helpers of the data-movement tests (shape, gather, scatter, slice,
// pad and constant families), and tests of the shared kernels.
//
// The data-movement references work on float64 values. Random tests draw
// small integers, so that the same values can be carried by every element
// type (as numbers, decimal strings or, for 0/1, bools) and every output
// compared exactly (tolExact: elements are copied, not computed).

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// tolLinearGrad is the agreement of the gradients of data-movement ops,
// which are linear, with central differences: exact up to float32
// rounding of the inputs and of the loss terms.
var tolLinearGrad = tolerance{name: "central differences of a linear op", abs: 1e-3}

// mvAllTypes are the element types the generic kernels are checked on.
var mvAllTypes = []graph.DType{
	graph.Float32, graph.Float64, graph.Float16, graph.BFloat16, graph.Int8, graph.Int16,
	graph.Int32, graph.Int64, graph.Uint8, graph.Uint16, graph.Uint32, graph.Uint64,
	graph.String, graph.Bool, graph.Complex64, graph.Complex128,
}

// mvRandInts returns n random integers in [0, hi), as float64.
func mvRandInts(rng *rand.Rand, n, hi int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(rng.IntN(hi))
	}
	return v
}

// mvRandFor returns n random small integers that dtype can hold: 0 and
// 1 for bool, [0, 100) for the others.
func mvRandFor(rng *rand.Rand, dtype graph.DType, n int) []float64 {
	if dtype == graph.Bool {
		return mvRandInts(rng, n, 2)
	}
	return mvRandInts(rng, n, 100)
}

// mvNaive computes a reference output of shape out from input values in
// of shape inShape: source maps each output coordinate to an input
// coordinate, or nil for fill.
func mvNaive(in []float64, inShape, out []int, fill float64, source func(c []int) []int) []float64 {
	want := make([]float64, tensor.NumElements(out))
	for i := range want {
		if src := source(coordsOf(i, out)); src != nil {
			want[i] = in[flatIndex(src, inShape)]
		} else {
			want[i] = fill
		}
	}
	return want
}

// TestPermuteMatchesCoordinates checks the strided copy (sequential and
// tiled paths) against a coordinate-by-coordinate reference, for every
// element type.
func TestPermuteMatchesCoordinates(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		shape, perm []int
	}{
		{[]int{5}, []int{0}},
		{[]int{3, 4}, []int{1, 0}},
		{[]int{2, 3, 4}, []int{0, 2, 1}},
		{[]int{2, 1, 3, 4}, []int{3, 1, 0, 2}},
		{[]int{70, 45}, []int{1, 0}},       // several partial tiles
		{[]int{3, 40, 33}, []int{2, 0, 1}}, // tiled with an outer axis between
		{[]int{2, 0, 3}, []int{2, 1, 0}},
		{[]int{2, 37, 66}, []int{0, 2, 1}},              // tiles with a column remainder
		{[]int{16, 4, 8}, []int{1, 2, 0}},               // attention's keys
		{[]int{2, 2, 6, 3, 3}, []int{0, 2, 1, 3, 4}},    // a channel shuffle: whole rows
		{[]int{3, 5, 2, 4}, []int{0, 2, 1, 3}},          // heads: whole rows
		{[]int{2, 2, 96, 24, 24}, []int{0, 2, 1, 3, 4}}, // rows split between 4 threads
	}
	for _, c := range cases {
		out := make([]int, len(c.perm))
		for d, p := range c.perm {
			out[d] = c.shape[p]
		}
		for _, dt := range mvAllTypes {
			vals := mvRandFor(rng, dt, tensor.NumElements(c.shape))
			want := mvNaive(vals, c.shape, out, 0, func(oc []int) []int {
				ic := make([]int, len(oc))
				for d, p := range c.perm {
					ic[p] = oc[d]
				}
				return ic
			})
			x := testTensor(dt, c.shape, vals)
			var y *tensor.Tensor
			parallel.With(4, func() { y = mvPermute(nil, x, x.Shape, c.perm) })
			checkTensor(t, fmt.Sprintf("%v %v perm %v", dt, c.shape, c.perm), y, out, want, tolExact)
		}
	}
}

// TestGatherAxesFill checks the axis-map walk with fill entries in inner
// and outer axes against a direct evaluation of the definition.
func TestGatherAxesFill(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	src := mvRandInts(rng, 12, 50)
	maps := mvAxisMaps{{8, -1, 0, 4}, {3, 2, -1, 0, 1}}
	want := make([]float64, 0, 20)
	for _, a := range maps[0] {
		for _, b := range maps[1] {
			if a < 0 || b < 0 {
				want = append(want, 99)
			} else {
				want = append(want, src[a+b])
			}
		}
	}
	for _, dt := range []graph.DType{graph.Float32, graph.Int64, graph.String} {
		x := testTensor(dt, []int{12}, src)
		fill := mvElems(testTensor(dt, []int{1}, []float64{99}))
		y := tensor.New(dt, 4, 5)
		mvElems(y).gatherAxes(mvElems(x), maps, fill)
		checkTensor(t, dt.String(), y, []int{4, 5}, want, tolExact)
	}
}

func TestMergeAxes(t *testing.T) {
	// [2,3,4] read contiguously is one axis of 24; a transposed [4,3]
	// view of a [3,4] matrix has nothing to merge; size-1 axes vanish.
	cases := []struct{ shape, strides, wantShape, wantStrides []int }{
		{[]int{2, 3, 4}, []int{12, 4, 1}, []int{24}, []int{1}},
		{[]int{4, 3}, []int{1, 4}, []int{4, 3}, []int{1, 4}},
		{[]int{1, 5, 1}, []int{5, 1, 1}, []int{5}, []int{1}},
		{[]int{2, 3, 4}, []int{4, 8, 1}, []int{2, 3, 4}, []int{4, 8, 1}},
	}
	for _, c := range cases {
		sh, st := mvMergeAxes(c.shape, c.strides)
		if !slices.Equal(sh, c.wantShape) || !slices.Equal(st, c.wantStrides) {
			t.Errorf("merge %v/%v = %v/%v, want %v/%v", c.shape, c.strides, sh, st, c.wantShape, c.wantStrides)
		}
	}
}

func TestIndexInputsRejectFloats(t *testing.T) {
	if _, err := intValues(tensor.Float32(2), "indices"); err == nil {
		t.Fatal("float indices accepted")
	}
	v, err := intValues(&tensor.Tensor{DType: graph.Int32, Shape: []int{2}, Data: []int32{-3, 7}}, "x")
	if err != nil || !slices.Equal(v, []int64{-3, 7}) {
		t.Fatalf("int32 indices read as %v, %v", v, err)
	}
	if err := mvCheckShape([]int{1 << 20, 1 << 20}); err == nil {
		t.Fatal("a shape of 2^40 elements passed the size check")
	}
}

// TestGatherAxesMergesRows checks the axis-map walk on random maps of a
// [3, 4, 5, 6] source, and of a larger one under 4 threads, against a direct evaluation of the definition:
// axes taken whole or as contiguous ranges (which join the rows they
// step over), stepped or reversed ranges (which do not), and holes.
func TestGatherAxesMergesRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	gatherAxesRandomMaps(t, rng, []int{3, 4, 5, 6}, 300)
	// Large enough for the rows to be split between 4 threads.
	parallel.With(4, func() { gatherAxesRandomMaps(t, rng, []int{40, 30, 24, 36}, 20) })
}

func gatherAxesRandomMaps(t *testing.T, rng *rand.Rand, shape []int, trials int) {
	t.Helper()
	strides := tensor.Strides(shape)
	src := mvRandInts(rng, tensor.NumElements(shape), 1000)
	for trial := range trials {
		maps := make(mvAxisMaps, len(shape))
		out := make([]int, len(shape))
		for d, n := range shape {
			first := rng.IntN(n)
			count := 1 + rng.IntN(n-first)
			switch rng.IntN(5) {
			case 0, 1: // whole
				maps[d] = mvStrided(n, 0, strides[d])
			case 2: // a contiguous range
				maps[d] = mvStrided(count, first*strides[d], strides[d])
			case 3: // reversed
				maps[d] = mvStrided(count, (first+count-1)*strides[d], -strides[d])
			default: // a range with a hole
				maps[d] = mvStrided(count, first*strides[d], strides[d])
				maps[d][rng.IntN(count)] = -1
			}
			out[d] = len(maps[d])
		}
		want := make([]float64, 0, tensor.NumElements(out))
		for a := range out[0] {
			for b := range out[1] {
				for c := range out[2] {
					for e := range out[3] {
						offs := []int{maps[0][a], maps[1][b], maps[2][c], maps[3][e]}
						sum, hole := 0, false
						for _, o := range offs {
							hole = hole || o < 0
							sum += o
						}
						if hole {
							want = append(want, -1)
						} else {
							want = append(want, src[sum])
						}
					}
				}
			}
		}
		for _, dt := range []graph.DType{graph.Float32, graph.Int64} {
			x := testTensor(dt, shape, src)
			fill := mvElems(testTensor(dt, []int{1}, []float64{-1}))
			y := tensor.New(dt, out...)
			mvElems(y).gatherAxes(mvElems(x), maps, fill)
			checkTensor(t, fmt.Sprintf("trial %d %v maps %v", trial, dt, maps), y, out, want, tolExact)
		}
	}
}
