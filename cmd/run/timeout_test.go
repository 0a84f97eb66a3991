package main

import (
	"strings"
	"testing"
	"time"

	"github.com/onnxkit/onnxkit/graph"
)

// endlessLoopModel is a Loop with no trip count whose condition stays
// true, adding a scan output every iteration: without a deadline, a run
// never ends. It has no graph inputs.
func endlessLoopModel(t *testing.T) *graph.Model {
	t.Helper()
	scalar := func(name string, d graph.DType, dims ...graph.Dim) *graph.Value {
		return &graph.Value{Name: name, Type: graph.TensorType(d, dims)}
	}
	body := &graph.Graph{Name: "body",
		Inputs: []*graph.Value{scalar("i", graph.Int64), scalar("cond_in", graph.Bool), scalar("s", graph.Float32, graph.Fixed(1))},
		Nodes: []*graph.Node{
			{Name: "cond", OpType: "Identity", Inputs: []string{"cond_in"}, Outputs: []string{"cond_out"}},
			{Name: "add", OpType: "Add", Inputs: []string{"s", "one"}, Outputs: []string{"s_next"}},
			{Name: "scan", OpType: "Identity", Inputs: []string{"s"}, Outputs: []string{"scan"}},
		},
		Outputs: []*graph.Value{scalar("cond_out", graph.Bool), scalar("s_next", graph.Float32, graph.Fixed(1)),
			scalar("scan", graph.Float32, graph.Fixed(1))}}
	b := graph.NewBuilder("endless", graph.OpsetID{Version: 17})
	c := b.Initializer("c", &graph.Tensor{DType: graph.Bool, Data: []bool{true}})
	s0 := b.Initializer("s0", &graph.Tensor{DType: graph.Float32, Dims: []int64{1}, Data: []float32{0}})
	b.Initializer("one", &graph.Tensor{DType: graph.Float32, Dims: []int64{1}, Data: []float32{1}})
	outs := b.NodeN("Loop", "loop", []string{"", c, s0}, 2, graph.GraphAttr("body", body))
	b.Output(outs[0], nil)
	b.Output(outs[1], nil)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestTimeout runs a model that never ends under --timeout: run stops
// soon after the deadline with an error that names the flag (issue 16,
// item 4).
func TestTimeout(t *testing.T) {
	path := writeModel(t, endlessLoopModel(t))
	start := time.Now()
	code, _, stderr := runCmd(t, "--timeout", "200ms", path)
	if code != exitFailure || !strings.Contains(stderr, "--timeout 200ms") {
		t.Fatalf("exit %d, stderr %q: want a failure naming --timeout", code, stderr)
	}
	if late := time.Since(start); late > 10*time.Second {
		t.Fatalf("run stopped %v after its start, for a timeout of 200ms", late)
	}
	if code, _, stderr := runCmd(t, "--timeout", "-1s", path); code != exitUsage || !strings.Contains(stderr, "--timeout") {
		t.Fatalf("--timeout -1s: exit %d, stderr %q: want a usage error", code, stderr)
	}
}
