package ops

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// sqRun builds op (with attrs) at opset and runs it on in, returning
// its outputs and error.
func sqRun(t *testing.T, op string, opset int64, in []*tensor.Tensor, attrs ...*graph.Attr) ([]*tensor.Tensor, error) {
	t.Helper()
	return buildOp(t, testNode(op, attrs...), opset).Forward(&Context{}, in)
}

// sqRandom returns a float32 tensor of standard normal values drawn
// from a generator seeded with seed.
func sqRandom(seed uint64, shape ...int) *tensor.Tensor {
	rng := rand.New(rand.NewPCG(seed, 7))
	return testTensor(graph.Float32, shape, randomNormal(rng, tensor.NumElements(shape)))
}

// sqAt3 reads x[i][j][k] of a rank-3 float32 tensor by its strides.
func sqAt3(x *tensor.Tensor, i, j, k int) float32 {
	return x.F32()[(i*x.Shape[1]+j)*x.Shape[2]+k]
}

func TestSplitToSequenceMatchesIndexing(t *testing.T) {
	x := sqRandom(1, 3, 5, 4)
	for _, c := range []struct {
		name     string
		split    *tensor.Tensor
		keepdims int64
		sizes    []int
		squeezed bool
	}{
		{"sizes", int64s(2, 3), 1, []int{2, 3}, false},
		{"scalar chunk", int64Scalar(2), 1, []int{2, 2, 1}, false},
		{"ones kept", nil, 1, []int{1, 1, 1, 1, 1}, false},
		{"ones squeezed", nil, 0, []int{1, 1, 1, 1, 1}, true},
	} {
		seq := runNode(t, testNode("SplitToSequence", graph.IntAttr("axis", -2), graph.IntAttr("keepdims", c.keepdims)), 11, []*tensor.Tensor{x, c.split}...)[0]
		if seq.Kind != tensor.Sequence || len(seq.Elems) != len(c.sizes) {
			t.Fatalf("%s: got %v, want %d pieces", c.name, seq, len(c.sizes))
		}
		off := 0
		for p, size := range c.sizes {
			piece := seq.Elems[p]
			want := []int{3, size, 4}
			if c.squeezed {
				want = []int{3, 4}
			}
			if !slices.Equal(piece.Shape, want) {
				t.Fatalf("%s: piece %d has shape %v, want %v", c.name, p, piece.Shape, want)
			}
			view := piece.Reshaped(3, size, 4)
			for i := range 3 {
				for j := range size {
					for k := range 4 {
						if got, want := sqAt3(view, i, j, k), sqAt3(x, i, off+j, k); got != want {
							t.Fatalf("%s: piece %d [%d,%d,%d] = %v, want x[%d,%d,%d] = %v", c.name, p, i, j, k, got, i, off+j, k, want)
						}
					}
				}
			}
			off += size
		}
		if c.squeezed {
			continue
		}
		back := runNode(t, testNode("ConcatFromSequence", graph.IntAttr("axis", 1)), 11, []*tensor.Tensor{seq}...)[0]
		if !slices.Equal(back.Shape, x.Shape) || !slices.Equal(back.F32(), x.F32()) {
			t.Fatalf("%s: ConcatFromSequence did not give x back", c.name)
		}
	}
}

func TestConcatFromSequenceNewAxisStacks(t *testing.T) {
	a, b := sqRandom(2, 2, 3), sqRandom(3, 2, 3)
	seq := runNode(t, testNode("SequenceConstruct"), 11, []*tensor.Tensor{a, b}...)[0]
	for _, axis := range []int64{0, 1, 2, -1} {
		got := runNode(t, testNode("ConcatFromSequence", graph.IntAttr("axis", axis), graph.IntAttr("new_axis", 1)), 11, []*tensor.Tensor{seq}...)[0]
		ax := int(axis)
		if ax < 0 {
			ax += 3
		}
		wantShape := slices.Insert([]int{2, 3}, ax, 2)
		if !slices.Equal(got.Shape, wantShape) {
			t.Fatalf("axis %d: shape %v, want %v", axis, got.Shape, wantShape)
		}
		// Naive reference: out[idx] = parts[idx[ax]][idx without ax].
		for flat := range got.Len() {
			idx := make([]int, 3)
			rem := flat
			for d := 2; d >= 0; d-- {
				idx[d] = rem % wantShape[d]
				rem /= wantShape[d]
			}
			part := []*tensor.Tensor{a, b}[idx[ax]]
			rest := slices.Delete(slices.Clone(idx), ax, ax+1)
			if want := part.F32()[rest[0]*3+rest[1]]; got.F32()[flat] != want {
				t.Fatalf("axis %d: element %v is %v, want %v", axis, idx, got.F32()[flat], want)
			}
		}
	}
}

func TestSequenceEditing(t *testing.T) {
	// Elements are told apart by their one value.
	e := func(v float32) *tensor.Tensor { return tensor.FromFloat32([]float32{v}, 1) }
	values := func(seq *tensor.Tensor) []float32 {
		var out []float32
		for _, el := range seq.Elems {
			out = append(out, el.F32()[0])
		}
		return out
	}
	seq := runNode(t, testNode("SequenceEmpty"), 11, nil...)[0]
	if seq.Kind != tensor.Sequence || seq.DType != graph.Float32 || len(seq.Elems) != 0 {
		t.Fatalf("SequenceEmpty gave %v, want an empty float32 sequence", seq)
	}
	seq = runNode(t, testNode("SequenceInsert"), 11, []*tensor.Tensor{seq, e(1)}...)[0]                  // [1]
	seq = runNode(t, testNode("SequenceInsert"), 11, []*tensor.Tensor{seq, e(2), int64Scalar(0)}...)[0]  // [2 1]
	seq = runNode(t, testNode("SequenceInsert"), 11, []*tensor.Tensor{seq, e(3), int64Scalar(-1)}...)[0] // [2 3 1]
	seq = runNode(t, testNode("SequenceInsert"), 11, []*tensor.Tensor{seq, e(4), int64Scalar(3)}...)[0]  // [2 3 1 4]
	if got := values(seq); !slices.Equal(got, []float32{2, 3, 1, 4}) {
		t.Fatalf("after inserts: %v, want [2 3 1 4]", got)
	}
	erased := runNode(t, testNode("SequenceErase"), 11, []*tensor.Tensor{seq, int64Scalar(-3)}...)[0] // drops 3
	erased = runNode(t, testNode("SequenceErase"), 11, []*tensor.Tensor{erased}...)[0]                // drops the last, 4
	if got := values(erased); !slices.Equal(got, []float32{2, 1}) {
		t.Fatalf("after erases: %v, want [2 1]", got)
	}
	if got := values(seq); !slices.Equal(got, []float32{2, 3, 1, 4}) {
		t.Fatalf("erasing changed the input sequence: %v", got)
	}
	at := runNode(t, testNode("SequenceAt"), 11, []*tensor.Tensor{seq, int64Scalar(-1)}...)[0]
	if at.F32()[0] != 4 {
		t.Fatalf("SequenceAt -1 = %v, want 4", at.F32())
	}
	at.F32()[0] = 99
	if seq.Elems[3].F32()[0] != 4 {
		t.Fatal("SequenceAt shares its result with the sequence")
	}
	n := runNode(t, testNode("SequenceLength"), 11, []*tensor.Tensor{seq}...)[0]
	if n.Rank() != 0 || n.Data.([]int64)[0] != 4 {
		t.Fatalf("SequenceLength = %v %v, want the int64 scalar 4", n, n.Data)
	}
	x := e(5)
	built := runNode(t, testNode("SequenceConstruct"), 11, []*tensor.Tensor{x, e(6)}...)[0]
	x.F32()[0] = 0
	if got := values(built); !slices.Equal(got, []float32{5, 6}) {
		t.Fatalf("SequenceConstruct shares its inputs: %v, want [5 6]", got)
	}
}

func TestSequenceErrors(t *testing.T) {
	f := tensor.FromFloat32([]float32{1}, 1)
	seq := tensor.NewSequence(graph.Float32, []*tensor.Tensor{f})
	empty := tensor.NewSequence(graph.Float32, nil)
	for _, c := range []struct {
		op    string
		in    []*tensor.Tensor
		attrs []*graph.Attr
		want  string
	}{
		{"SequenceAt", []*tensor.Tensor{seq, int64Scalar(1)}, nil, "out of range"},
		{"SequenceAt", []*tensor.Tensor{seq, int64Scalar(-2)}, nil, "out of range"},
		{"SequenceAt", []*tensor.Tensor{f, int64Scalar(0)}, nil, "want a sequence"},
		{"SequenceInsert", []*tensor.Tensor{seq, int64s(1)}, nil, "cannot insert"},
		{"SequenceInsert", []*tensor.Tensor{seq, f, int64Scalar(2)}, nil, "out of range"},
		{"SequenceErase", []*tensor.Tensor{empty}, nil, "empty"},
		{"SequenceConstruct", []*tensor.Tensor{f, int64s(1)}, nil, "one element type"},
		{"ConcatFromSequence", []*tensor.Tensor{empty}, []*graph.Attr{graph.IntAttr("axis", 0)}, "empty"},
		{"ConcatFromSequence", []*tensor.Tensor{seq}, []*graph.Attr{graph.IntAttr("axis", 1)}, "out of range"},
		{"SplitToSequence", []*tensor.Tensor{sqRandom(1, 4), int64s(1, 2)}, nil, "adds up"},
		{"SplitToSequence", []*tensor.Tensor{sqRandom(1, 4), int64Scalar(0)}, nil, "positive"},
		{"SequenceLength", []*tensor.Tensor{f}, nil, "want a sequence"},
	} {
		_, err := sqRun(t, c.op, 11, c.in, c.attrs...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s(%v): error %v, want one mentioning %q", c.op, c.in, err, c.want)
		}
	}
	if _, err := Build(&graph.Node{OpType: "ConcatFromSequence"}, 11); err == nil || !strings.Contains(err.Error(), "axis") {
		t.Errorf("ConcatFromSequence without axis: %v, want an error naming the attribute", err)
	}
}
