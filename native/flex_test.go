package native

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// TestFlexAttentionScoreMod runs FlexAttention with grouped query heads
// and a score_mod subgraph that doubles the scores, against a float64
// recomputation of softmax(2 * Q K^T / sqrt(E)) V.
func TestFlexAttentionScoreMod(t *testing.T) {
	b, hq, hkv, l, s, e, ev := 1, 2, 1, 3, 5, 4, 2
	two, err := graph.NewTensor(graph.Float32)
	if err != nil {
		t.Fatal(err)
	}
	two.Name = "two"
	two.Data.([]float32)[0] = 2
	scoreMod := &graph.Graph{
		Name:         "double",
		Inputs:       []*graph.Value{{Name: "scores", Type: graph.TensorType(graph.Float32, nil)}},
		Outputs:      []*graph.Value{{Name: "scaled", Type: graph.TensorType(graph.Float32, nil)}},
		Initializers: []*graph.Tensor{two},
		Nodes:        []*graph.Node{{OpType: "Mul", Inputs: []string{"scores", "two"}, Outputs: []string{"scaled"}}},
	}
	m := &graph.Model{
		IRVersion: 10,
		Opsets:    []graph.OpsetID{{Domain: "", Version: 26}, {Domain: "ai.onnx.preview", Version: 1}},
		Graph: &graph.Graph{
			Name: "g",
			Inputs: []*graph.Value{
				{Name: "Q", Type: graph.TensorType(graph.Float32, graph.Dims(int64(b), int64(hq), int64(l), int64(e)))},
				{Name: "K", Type: graph.TensorType(graph.Float32, graph.Dims(int64(b), int64(hkv), int64(s), int64(e)))},
				{Name: "V", Type: graph.TensorType(graph.Float32, graph.Dims(int64(b), int64(hkv), int64(s), int64(ev)))},
			},
			Outputs: []*graph.Value{{Name: "Y", Type: graph.TensorType(graph.Float32, graph.Dims(int64(b), int64(hq), int64(l), int64(ev)))}},
			Nodes: []*graph.Node{{Name: "flex", OpType: "FlexAttention", Domain: "ai.onnx.preview", Inputs: []string{"Q", "K", "V"}, Outputs: []string{"Y"},
				Attrs: []*graph.Attr{{Name: "score_mod", Kind: graph.AttrGraph, Graph: scoreMod}}}},
		},
	}
	prog, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(15, 16))
	random := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(2*r.Float64() - 1)
		}
		return v
	}
	qv, kv, vv := random(b*hq*l*e), random(b*hkv*s*e), random(b*hkv*s*ev)
	out, err := prog.Run(map[string]*tensor.Tensor{
		"Q": tensor.FromFloat32(qv, b, hq, l, e), "K": tensor.FromFloat32(kv, b, hkv, s, e), "V": tensor.FromFloat32(vv, b, hkv, s, ev)})
	if err != nil {
		t.Fatal(err)
	}
	got := out["Y"].F32()
	for h := range hq {
		for i := range l {
			w := make([]float64, s)
			sum := 0.0
			for j := range s {
				dot := 0.0
				for x := range e {
					dot += float64(qv[(h*l+i)*e+x]) * float64(kv[j*e+x])
				}
				w[j] = math.Exp(2 * dot / math.Sqrt(float64(e)))
				sum += w[j]
			}
			for x := range ev {
				want := 0.0
				for j := range s {
					want += w[j] / sum * float64(vv[j*ev+x])
				}
				if g := float64(got[(h*l+i)*ev+x]); math.Abs(g-want) > 1e-6+1e-5*math.Abs(want) {
					t.Errorf("Y[0, %d, %d, %d] = %v, want %v", h, i, x, g, want)
				}
			}
		}
	}
}
