package passes

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/internal/passtest"
)

// intEvaluator is a fake Evaluator for the tests of what FoldConstants
// hands over and keeps: it computes Add and Sub of two int64 tensors of
// one shape, answers Cast with a float32 tensor (a result FoldConstants
// must not keep), and refuses everything else. The engine's evaluator
// is tested in native (passes_constfold_test.go).
type intEvaluator struct {
	calls *[]string // when not nil, collects "op@opset" per call
}

func (e intEvaluator) Evaluate(n *graph.Node, opset int64, in []*graph.Tensor) ([]*graph.Tensor, error) {
	if e.calls != nil {
		*e.calls = append(*e.calls, fmt.Sprintf("%s@%d", n.OpType, opset))
	}
	switch n.OpType {
	case "Cast":
		return []*graph.Tensor{{DType: graph.Float32, Dims: []int64{1}, Data: []float32{1}}}, nil
	case "Add", "Sub":
	default:
		return nil, errors.New("not evaluated by the fake")
	}
	if len(in) != 2 || !slices.Equal(in[0].Dims, in[1].Dims) {
		return nil, errors.New("the fake adds tensors of one shape only")
	}
	a, b := in[0].Data.([]int64), in[1].Data.([]int64)
	v := make([]int64, len(a))
	for i := range v {
		if n.OpType == "Add" {
			v[i] = a[i] + b[i]
		} else {
			v[i] = a[i] - b[i]
		}
	}
	return []*graph.Tensor{passtest.Ints64(slices.Clone(in[0].Dims), v...)}, nil
}

func TestFoldConstants(t *testing.T) {
	// c adds an int64 constant initializer.
	c := func(b *graph.Builder, name string, dims []int64, v ...int64) string {
		return b.Initializer(name, passtest.Ints64(dims, v...))
	}
	cases := []struct {
		name  string
		opset int64
		build func(b *graph.Builder) string
		// want is the hand-worked result, nil when the node stays.
		want *graph.Tensor
		// calls lists the nodes handed to the evaluator.
		calls []string
	}{
		{"Constant value_ints", 17, func(b *graph.Builder) string {
			return b.Node("Constant", "k", nil, graph.IntsAttr("value_ints", 4, -1))
		}, passtest.Ints64([]int64{2}, 4, -1), nil},
		{"Constant float value", 17, func(b *graph.Builder) string {
			return b.Node("Constant", "k", nil, graph.TensorAttr("value", &graph.Tensor{DType: graph.Float32, Dims: []int64{2}, Data: []float32{0.5, -2}}))
		}, &graph.Tensor{DType: graph.Float32, Dims: []int64{2}, Data: []float32{0.5, -2}}, nil},
		{"Shape of a static input", 17, func(b *graph.Builder) string {
			x := b.Input("x", graph.Float32, graph.Fixed(2), graph.Fixed(3), graph.Fixed(4), graph.Fixed(5))
			return b.Node("Shape", "s", []string{x})
		}, passtest.Ints64([]int64{4}, 2, 3, 4, 5), nil},
		{"Shape with start 1 and end -1", 17, func(b *graph.Builder) string {
			x := b.Input("x", graph.Float32, graph.Fixed(2), graph.Fixed(3), graph.Fixed(4), graph.Fixed(5))
			return b.Node("Shape", "s", []string{x}, graph.IntAttr("start", 1), graph.IntAttr("end", -1))
		}, passtest.Ints64([]int64{2}, 3, 4), nil},
		{"Shape before opset 15 ignores start", 13, func(b *graph.Builder) string {
			x := b.Input("x", graph.Float32, graph.Fixed(2), graph.Fixed(3))
			return b.Node("Shape", "s", []string{x})
		}, passtest.Ints64([]int64{2}, 2, 3), nil},
		{"Shape of a symbolic input: left", 17, func(b *graph.Builder) string {
			x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(3))
			return b.Node("Shape", "s", []string{x})
		}, nil, nil},
		{"Add of constants and a Constant output, opset 14", 14, func(b *graph.Builder) string {
			k := b.Node("Constant", "k", nil, graph.IntsAttr("value_ints", 10, 20))
			return b.Node("Add", "add", []string{c(b, "a", []int64{2}, 1, 2), k})
		}, passtest.Ints64([]int64{2}, 11, 22), []string{"Add@14"}},
		{"a chain folds through results folded before", 17, func(b *graph.Builder) string {
			s := b.Node("Add", "add", []string{c(b, "a", []int64{2}, 1, 2), c(b, "b", []int64{2}, 3, 4)})
			return b.Node("Sub", "sub", []string{s, c(b, "c", []int64{2}, 1, 1)})
		}, passtest.Ints64([]int64{2}, 3, 5), []string{"Add@17", "Sub@17"}},
		{"an int32 result is kept", 17, func(b *graph.Builder) string {
			return b.Node("Mul", "mul", []string{b.Initializer("a", passtest.Ints32([]int64{1}, 3)), b.Initializer("b", passtest.Ints32([]int64{1}, 5))})
		}, nil, []string{"Mul@17"}}, // the fake refuses Mul: left
		{"a float result: left", 17, func(b *graph.Builder) string {
			return b.Node("Cast", "cast", []string{c(b, "a", []int64{1}, 3)}, graph.IntAttr("to", int64(graph.Float32)))
		}, nil, []string{"Cast@17"}},
		{"a float input: not offered", 17, func(b *graph.Builder) string {
			f := b.Initializer("a", &graph.Tensor{DType: graph.Float32, Dims: []int64{1}, Data: []float32{1}})
			return b.Node("Add", "add", []string{f, f})
		}, nil, nil},
		{"more than 4096 elements: not offered", 17, func(b *graph.Builder) string {
			big := make([]int64, 5000)
			return b.Node("Add", "add", []string{c(b, "a", []int64{5000}, big...), c(b, "b", []int64{5000}, big...)})
		}, nil, nil},
		{"an operator outside the shape computations: not offered", 17, func(b *graph.Builder) string {
			return b.Node("Neg", "neg", []string{c(b, "a", []int64{1}, 3)})
		}, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := graph.NewBuilder("g", graph.OpsetID{Version: tc.opset})
			out := tc.build(b)
			b.Output(out, nil)
			m := passtest.MustModel(t, b)
			before := passtest.TakeSnapshot(m)
			var calls []string
			got, err := FoldConstants(m, intEvaluator{&calls})
			if err != nil {
				t.Fatalf("FoldConstants: %v", err)
			}
			before.CheckUnchanged(t, m)
			passtest.CheckValid(t, got)
			if !slices.Equal(calls, tc.calls) {
				t.Errorf("evaluated %q, want %q", calls, tc.calls)
			}
			passtest.CheckFolded(t, m, got, out, tc.want)
		})
	}
}

// Without an evaluator only Constant and Shape nodes fold.
func TestFoldConstantsWithoutEvaluator(t *testing.T) {
	b := graph.NewBuilder("g", passtest.Opset17)
	x := b.Input("x", graph.Float32, graph.Fixed(2), graph.Fixed(3))
	s := b.Node("Shape", "shape", []string{x})
	k := b.Node("Constant", "k", nil, graph.IntsAttr("value_ints", 1, 1))
	b.Output(b.Node("Add", "add", []string{s, k}), nil)
	got, err := FoldConstants(passtest.MustModel(t, b), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Graph.Nodes) != 1 || got.Graph.Nodes[0].OpType != "Add" {
		t.Errorf("nodes left: %s; want the Add alone", passtest.Describe(got))
	}
	if s := got.Graph.Initializer("shape"); s == nil || fmt.Sprint(s.Data) != "[2 3]" {
		t.Errorf("shape folded to %v, want [2 3]", s)
	}
}

// An initializer that is also a graph input may be overridden by the
// caller, so it is no constant.
func TestFoldConstantsLeavesOverridableInitializers(t *testing.T) {
	b := graph.NewBuilder("g", passtest.Opset17)
	a := b.Initializer("a", passtest.Ints64([]int64{1}, 3))
	b.Output(b.Node("Add", "add", []string{a, a}), nil)
	m := passtest.MustModel(t, b)
	m.Graph.Inputs = append(m.Graph.Inputs, &graph.Value{Name: a, Type: graph.TensorType(graph.Int64, graph.Dims(1))})
	var calls []string
	got, err := FoldConstants(m, intEvaluator{&calls})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 0 || len(got.Graph.Nodes) != 1 {
		t.Errorf("evaluated %q and left %d nodes; want the Add left unevaluated", calls, len(got.Graph.Nodes))
	}
}
