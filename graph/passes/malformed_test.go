package passes

import (
	"testing"

	"github.com/onnxkit/onnxkit/graph"
)

// Malformed models make no pass panic: each either leaves the bad node
// alone, for the engine or Validate to report, or returns an error.
func TestPassesOnMalformedModels(t *testing.T) {
	f32 := func(dims []int64, n int) *graph.Tensor {
		return &graph.Tensor{DType: graph.Float32, Dims: dims, Data: make([]float32, n)}
	}
	bn := func(c int64, n int) []*graph.Tensor {
		return []*graph.Tensor{f32([]int64{c}, n), f32([]int64{c}, n), f32([]int64{c}, n), f32([]int64{c}, n)}
	}
	cases := []struct {
		name  string
		inits []*graph.Tensor
		nodes []*graph.Node
	}{
		{"BN with empty statistics after a Conv with an empty weight",
			append([]*graph.Tensor{f32([]int64{0, 0, 3, 3}, 0)}, bn(0, 0)...),
			[]*graph.Node{
				{Name: "conv", OpType: "Conv", Inputs: []string{"x", "i0"}, Outputs: []string{"c"}},
				{Name: "bn", OpType: "BatchNormalization", Inputs: []string{"c", "i1", "i2", "i3", "i4"}, Outputs: []string{"y"}},
			}},
		{"BN with empty statistics before a Conv whose weight has a zero dimension",
			append(bn(0, 0), f32([]int64{3, 0, 1, 1}, 0)),
			[]*graph.Node{
				{Name: "bn", OpType: "BatchNormalization", Inputs: []string{"x", "i0", "i1", "i2", "i3"}, Outputs: []string{"b"}},
				{Name: "conv", OpType: "Conv", Inputs: []string{"b", "i4"}, Outputs: []string{"y"}},
			}},
		{"BN before a Conv with group 0",
			append(bn(2, 2), f32([]int64{2, 1, 1, 1}, 2)),
			[]*graph.Node{
				{Name: "bn", OpType: "BatchNormalization", Inputs: []string{"x", "i0", "i1", "i2", "i3"}, Outputs: []string{"b"}},
				{Name: "conv", OpType: "Conv", Inputs: []string{"b", "i4"}, Outputs: []string{"y"}, Attrs: []*graph.Attr{graph.IntAttr("group", 0)}},
			}},
		{"BN statistics shorter than their dimensions",
			append([]*graph.Tensor{f32([]int64{2, 3}, 6)}, bn(3, 1)...),
			[]*graph.Node{
				{Name: "fc", OpType: "Gemm", Inputs: []string{"x", "i0"}, Outputs: []string{"g"}},
				{Name: "bn", OpType: "BatchNormalization", Inputs: []string{"g", "i1", "i2", "i3", "i4"}, Outputs: []string{"y"}},
			}},
		{"BN with too few inputs", nil,
			[]*graph.Node{{Name: "bn", OpType: "BatchNormalization", Inputs: []string{"x"}, Outputs: []string{"y"}}}},
		{"Slice with step 0 and data shorter than its dimensions",
			[]*graph.Tensor{ints64([]int64{4}, 1, 2), ints64([]int64{1}, 0), ints64([]int64{1}, 2), ints64([]int64{1}, 0), ints64([]int64{1}, 0)},
			[]*graph.Node{
				{Name: "s1", OpType: "Slice", Inputs: []string{"i0", "i1", "i2"}, Outputs: []string{"a"}},
				{Name: "s2", OpType: "Slice", Inputs: []string{"i1", "i1", "i2", "i3", "i4"}, Outputs: []string{"y"}},
			}},
		{"Gather, Concat and Unsqueeze with bad axes",
			[]*graph.Tensor{ints64([]int64{2}, 1, 2), ints64(nil, 5)},
			[]*graph.Node{
				{Name: "g", OpType: "Gather", Inputs: []string{"i0", "i1"}, Outputs: []string{"a"}, Attrs: []*graph.Attr{graph.IntAttr("axis", 3)}},
				{Name: "c", OpType: "Concat", Inputs: []string{"i0", "i1"}, Outputs: []string{"b"}, Attrs: []*graph.Attr{graph.IntAttr("axis", 0)}},
				{Name: "u", OpType: "Unsqueeze", Inputs: []string{"i0", "i1"}, Outputs: []string{"y"}},
			}},
		{"Constant with two values, Dropout and Identity without inputs", nil,
			[]*graph.Node{
				{Name: "k", OpType: "Constant", Outputs: []string{"k"}, Attrs: []*graph.Attr{graph.IntAttr("value_int", 1), graph.FloatAttr("value_float", 1)}},
				{Name: "d", OpType: "Dropout", Outputs: []string{"d", "mask"}},
				{Name: "i", OpType: "Identity", Outputs: []string{"y"}},
			}},
	}
	passes := map[string]func(*graph.Model) (*graph.Model, error){
		"StripDropout": StripDropout, "StripIdentity": StripIdentity, "FoldConstants": FoldConstants,
		"FoldBatchNorm": FoldBatchNorm, "EliminateDeadCode": EliminateDeadCode,
	}
	for _, tc := range cases {
		for name, pass := range passes {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				g := &graph.Graph{Name: "g", Nodes: tc.nodes,
					Inputs:  []*graph.Value{{Name: "x", Type: graph.TensorType(graph.Float32, graph.Dims(2, 2, 1, 1))}},
					Outputs: []*graph.Value{{Name: "y"}, {Name: "mask"}}}
				for i, init := range tc.inits {
					c := *init
					c.Name = "i" + string(rune('0'+i))
					g.Initializers = append(g.Initializers, &c)
				}
				m := &graph.Model{Opsets: []graph.OpsetID{opset17}, Graph: g}
				before := takeSnapshot(m)
				if _, err := pass(m); err != nil {
					t.Logf("%s: %v", name, err)
				}
				before.checkUnchanged(t, m)
			})
		}
	}
	for name, pass := range passes {
		if _, err := pass(nil); err == nil {
			t.Errorf("%s(nil): no error", name)
		}
	}
}
