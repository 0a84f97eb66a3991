package ort

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// TestReadProfile reads a trace of three runs in ONNX Runtime's format,
// leaving out the first.
func TestReadProfile(t *testing.T) {
	const trace = `[
{"cat":"Session","name":"session_initialization","ts":0,"dur":500,"args":{}},
{"cat":"Session","name":"model_run","ts":1000,"dur":100,"args":{}},
{"cat":"Node","name":"conv_kernel_time","ts":1001,"dur":70,"args":{"op_name":"Conv"}},
{"cat":"Node","name":"relu_kernel_time","ts":1072,"dur":20,"args":{"op_name":"Relu"}},
{"cat":"Session","name":"model_run","ts":2000,"dur":100,"args":{}},
{"cat":"Node","name":"conv_fence_before","ts":2000,"dur":1,"args":{"op_name":"Conv"}},
{"cat":"Node","name":"conv_kernel_time","ts":2001,"dur":40,"args":{"op_name":"Conv"}},
{"cat":"Node","name":"relu_kernel_time","ts":2042,"dur":5,"args":{"op_name":"Relu"}},
{"cat":"Session","name":"model_run","ts":3000,"dur":100,"args":{}},
{"cat":"Node","name":"conv_kernel_time","ts":3001,"dur":42,"args":{"op_name":"Conv"}},
{"cat":"Node","name":"relu_kernel_time","ts":3044,"dur":6,"args":{"op_name":"Relu"}}
]`
	path := filepath.Join(t.TempDir(), "trace.json")
	if err := os.WriteFile(path, []byte(trace), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := ReadProfile(path, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := &Profile{Runs: 2, Nodes: []NodeTime{
		{Node: "conv", Op: "Conv", Time: 82 * time.Microsecond},
		{Node: "relu", Op: "Relu", Time: 11 * time.Microsecond},
	}}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("ReadProfile = %+v, want %+v", p, want)
	}
	if _, err := ReadProfile(path, 3); err == nil || !strings.Contains(err.Error(), "3 run(s)") {
		t.Errorf("leaving out all 3 runs: err = %v, want one that counts them", err)
	}
	if err := os.WriteFile(path, []byte(`{"cat":`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadProfile(path, 0); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("a truncated trace: err = %v, want one naming the file", err)
	}
}

// TestProfiling has ONNX Runtime time the nodes of a model it runs as
// given, and reads the trace back: one row per node of the graph, with
// the graph's names and operators.
func TestProfiling(t *testing.T) {
	loadORT(t)
	rng := rand.New(rand.NewPCG(7, 8))
	m, data := denseModel(t, rng)
	dir := t.TempDir()
	s, err := OpenBytes(data, Options{Level: LevelDisabled, ProfilePrefix: filepath.Join(dir, "dense")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in := map[string]*tensor.Tensor{"x": random(rng, graph.Float32, 4096, 16)}
	for range 4 {
		if _, err := s.Run(in); err != nil {
			t.Fatal(err)
		}
	}
	path, err := s.EndProfiling()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(path, filepath.Join(dir, "dense")) {
		t.Errorf("the trace is %s, want it under the prefix %s", path, filepath.Join(dir, "dense"))
	}
	p, err := ReadProfile(path, 1)
	if err != nil {
		t.Fatal(err)
	}
	if p.Runs != 3 {
		t.Errorf("%d runs counted, want 3", p.Runs)
	}
	if len(p.Nodes) != len(m.Graph.Nodes) {
		t.Fatalf("%d nodes timed, want the graph's %d: %+v", len(p.Nodes), len(m.Graph.Nodes), p.Nodes)
	}
	for i, n := range m.Graph.Nodes {
		if p.Nodes[i].Node != n.Name || p.Nodes[i].Op != n.OpType {
			t.Errorf("node %d timed as %s (%s), want %s (%s)", i, p.Nodes[i].Node, p.Nodes[i].Op, n.Name, n.OpType)
		}
	}
	if p.Nodes[0].Time <= 0 {
		t.Errorf("the MatMul of 4096 rows took %v over 3 runs", p.Nodes[0].Time)
	}

	unprofiled, err := OpenBytes(data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer unprofiled.Close()
	if _, err := unprofiled.EndProfiling(); err == nil {
		t.Error("EndProfiling of a session without ProfilePrefix: no error")
	}
}
