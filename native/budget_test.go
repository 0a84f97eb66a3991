package native

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/ops"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// withBudget sets ops.DefaultBudget for the duration of a test.
func withBudget(t *testing.T, b ops.Budget) {
	saved := ops.DefaultBudget
	ops.DefaultBudget = b
	t.Cleanup(func() { ops.DefaultBudget = saved })
}

// allocatedDuring returns the bytes the Go heap handed out while f ran.
func allocatedDuring(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// compileOne compiles a graph of the single node n over inputs.
func compileOne(t *testing.T, n *graph.Node, inputs ...*graph.Value) *Program {
	t.Helper()
	g := &graph.Graph{Name: "g", Inputs: inputs, Nodes: []*graph.Node{n}, Outputs: []*graph.Value{{Name: n.Outputs[0]}}}
	p, err := Compile(sgModel(g))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBroadcastOutputsOverBudgetAreRefused runs Add, MatMul and Where
// whose outputs would have 10^10 to 10^12 elements, from inputs of at
// most 4 MB, and wants an error naming the node and the operator, with
// next to nothing allocated.
func TestBroadcastOutputsOverBudgetAreRefused(t *testing.T) {
	const n = 100000 // 10^5
	cases := []struct {
		name   string
		node   *graph.Node
		inputs map[string]*tensor.Tensor
	}{
		{"Add 10^10", sgNode("Add", []string{"a", "b"}, "big_add"),
			map[string]*tensor.Tensor{"a": tensor.Float32(n, 1), "b": tensor.Float32(1, n)}},
		{"Add 10^12", sgNode("Add", []string{"a", "b"}, "big_add"),
			map[string]*tensor.Tensor{"a": tensor.Float32(10*n, 1), "b": tensor.Float32(1, 10*n)}},
		{"MatMul 10^10", sgNode("MatMul", []string{"a", "b"}, "big_matmul"),
			map[string]*tensor.Tensor{"a": tensor.Float32(n, 1), "b": tensor.Float32(1, n)}},
		{"MatMul batch 10^12", sgNode("MatMul", []string{"a", "b"}, "big_matmul"),
			map[string]*tensor.Tensor{"a": tensor.Float32(n, 1, 1, 1), "b": tensor.Float32(n, 1, 100)}},
		{"MatMul of 10^9 1x1 matrices", sgNode("MatMul", []string{"a", "b"}, "big_matmul"),
			map[string]*tensor.Tensor{"a": tensor.Float32(31623, 1, 1, 1), "b": tensor.Float32(1, 31623, 1, 1)}},
		{"Where 10^12", sgNode("Where", []string{"c", "a", "b"}, "big_where"),
			map[string]*tensor.Tensor{"c": tensor.New(graph.Bool, n, 1, 1), "a": tensor.Float32(1, n, 1), "b": tensor.Float32(1, 1, 100)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var inputs []*graph.Value
			for _, name := range c.node.Inputs {
				v := c.inputs[name]
				dims := make([]int64, len(v.Shape))
				for i, d := range v.Shape {
					dims[i] = int64(d)
				}
				inputs = append(inputs, sgVal(name, v.DType, dims...))
			}
			p := compileOne(t, c.node, inputs...)
			var err error
			start := time.Now()
			alloc := allocatedDuring(func() { _, err = p.Run(c.inputs) })
			var be *ops.BudgetError
			if !errors.As(err, &be) {
				t.Fatalf("got %v, want a budget error", err)
			}
			if msg := err.Error(); !strings.Contains(msg, c.node.Name) || !strings.Contains(msg, c.node.OpType) || !strings.Contains(msg, "MaxTensorBytes") {
				t.Errorf("error %q does not name the node, the operator and the limit", msg)
			}
			if alloc > 4<<20 {
				t.Errorf("the refused run allocated %d bytes, want at most 4 MiB", alloc)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("the refusal took %v", d)
			}
		})
	}
}

// TestBudgetBoundsGeneratedOutputs checks the operators that make a large
// output from a shape input or attribute: refused over the budget, and
// within it, allocating little beyond the output itself (no index table
// of 8 bytes per element).
func TestBudgetBoundsGeneratedOutputs(t *testing.T) {
	withBudget(t, ops.Budget{MaxTensorBytes: 64 << 20})
	shapeIn := func(dims ...int64) *tensor.Tensor {
		return &tensor.Tensor{DType: graph.Int64, Shape: []int{len(dims)}, Data: dims}
	}
	cases := []struct {
		name  string
		node  *graph.Node
		x     *tensor.Tensor
		shape []int64
	}{
		{"ConstantOfShape", sgNode("ConstantOfShape", []string{"s"}, "y"), nil, []int64{1 << 30}},
		{"Expand", sgNode("Expand", []string{"x", "s"}, "y"), tensor.Float32(1), []int64{1 << 15, 1 << 15}},
		{"Tile", sgNode("Tile", []string{"x", "s"}, "y"), tensor.Float32(2, 2), []int64{1 << 14, 1 << 14}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vals := []*graph.Value{sgVal("s", graph.Int64, int64(len(c.shape)))}
			in := map[string]*tensor.Tensor{"s": shapeIn(c.shape...)}
			if c.x != nil {
				vals = append([]*graph.Value{sgVal("x", graph.Float32, int64(c.x.Shape[0]))}, vals...)
				if len(c.x.Shape) == 2 {
					vals[0] = sgVal("x", graph.Float32, 2, 2)
				}
				in["x"] = c.x
			}
			p := compileOne(t, c.node, vals...)
			var err error
			alloc := allocatedDuring(func() { _, err = p.Run(in) })
			var be *ops.BudgetError
			if !errors.As(err, &be) || !strings.Contains(err.Error(), c.node.OpType) {
				t.Fatalf("got %v, want a budget error naming %s", err, c.node.OpType)
			}
			if alloc > 4<<20 {
				t.Errorf("the refused run allocated %d bytes", alloc)
			}
		})
	}
	// Within the budget, ConstantOfShape's 2^24 float32 (64 MiB) cost
	// the output and no more: an index table would add 128 MiB.
	p := compileOne(t, sgNode("ConstantOfShape", []string{"s"}, "y"), sgVal("s", graph.Int64, 1))
	var out map[string]*tensor.Tensor
	var err error
	const elems = 1 << 24
	alloc := allocatedDuring(func() { out, err = p.Run(map[string]*tensor.Tensor{"s": shapeIn(elems)}) })
	if err != nil {
		t.Fatal(err)
	}
	if got := out["y"].Len(); got != elems {
		t.Fatalf("%d elements, want %d", got, elems)
	}
	if alloc > 4*elems+(4<<20) {
		t.Errorf("ConstantOfShape of %d float32 allocated %d bytes, want about %d", elems, alloc, 4*elems)
	}
}

// TestLoopScanOutputsAreBounded runs a Loop of 10^12 iterations, and one
// whose condition stays true, each with a scan output of 4 KiB per
// iteration: the run budget stops them with an error instead of letting
// memory grow.
func TestLoopScanOutputsAreBounded(t *testing.T) {
	withBudget(t, ops.Budget{MaxRunBytes: 16 << 20})
	// body(i, cond, v) -> (cond, v, Identity(v))
	body := &graph.Graph{Name: "body",
		Inputs: []*graph.Value{sgVal("i", graph.Int64), sgVal("c", graph.Bool), sgVal("v", graph.Float32, 1024)},
		Nodes: []*graph.Node{sgNode("Identity", []string{"c"}, "c_out"), sgNode("Identity", []string{"v"}, "v_out"),
			sgNode("Identity", []string{"v"}, "scan")},
		Outputs: []*graph.Value{{Name: "c_out"}, {Name: "v_out"}, sgVal("scan", graph.Float32, 1024)}}
	for _, tc := range []struct {
		name  string
		trips string
	}{{"trip count 10^12", "m"}, {"condition always true", ""}} {
		t.Run(tc.name, func(t *testing.T) {
			loop := &graph.Node{Name: "endless", OpType: "Loop", Inputs: []string{tc.trips, "cond", "v0"},
				Outputs: []string{"v_final", "stacked"}, Attrs: []*graph.Attr{graph.GraphAttr("body", body)}}
			g := &graph.Graph{Name: "g",
				Inputs: []*graph.Value{sgVal("m", graph.Int64), sgVal("cond", graph.Bool), sgVal("v0", graph.Float32, 1024)},
				Nodes:  []*graph.Node{loop}, Outputs: []*graph.Value{{Name: "stacked"}}}
			p, err := Compile(sgModel(g))
			if err != nil {
				t.Fatal(err)
			}
			in := map[string]*tensor.Tensor{
				"m":    {DType: graph.Int64, Shape: []int{}, Data: []int64{1e12}},
				"cond": {DType: graph.Bool, Shape: []int{}, Data: []bool{true}},
				"v0":   tensor.Float32(1024),
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err = p.Run(in)
			runtime.ReadMemStats(&after)
			var be *ops.BudgetError
			if !errors.As(err, &be) || be.Field != "MaxRunBytes" || !strings.Contains(err.Error(), "endless") {
				t.Fatalf("got %v, want a MaxRunBytes error naming the Loop", err)
			}
			if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 64<<20 {
				t.Errorf("the heap grew by %d bytes, the budget is 16 MiB", grew)
			}
		})
	}
}
