package ops

import (
	"errors"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// TestBudgetCheckTensor checks the arithmetic: exact sizes at the limit,
// element sizes per type, no overflow for dimensions whose product wraps
// around an int64, and negative dimensions refused.
func TestBudgetCheckTensor(t *testing.T) {
	b := &Budget{MaxTensorBytes: 1 << 20}
	for _, c := range []struct {
		dt    graph.DType
		shape []int
		ok    bool
	}{
		{graph.Float32, []int{256, 1024}, true},                                    // exactly 1 MiB
		{graph.Float32, []int{256, 1025}, false},                                   // 4 bytes more
		{graph.Bool, []int{1 << 20}, true},                                         // 1 byte each
		{graph.Int64, []int{1<<17 + 1}, false},                                     // 8 bytes each
		{graph.Complex128, []int{1 << 16}, true},                                   // 16 bytes each
		{graph.String, []int{1<<16 + 1}, false},                                    // a 16-byte header each
		{graph.Float32, []int{0, 1 << 62}, true},                                   // empty
		{graph.Float32, []int{1 << 31, 1 << 31, 1 << 31, 1 << 31, 1 << 31}, false}, // 2^155 elements: wraps an int64
		{graph.Float32, []int{}, true},                                             // a scalar
	} {
		err := b.CheckTensor(c.dt, c.shape)
		var be *BudgetError
		if c.ok != (err == nil) || !c.ok && !errors.As(err, &be) {
			t.Errorf("%v%v: %v, want ok=%v", c.dt, c.shape, err, c.ok)
		}
	}
	if err := b.CheckTensor(graph.Float32, []int{3, -1}); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("a negative dimension: %v", err)
	}
	// The zero Budget and a nil one mean DefaultBudget.
	saved := DefaultBudget
	defer func() { DefaultBudget = saved }()
	DefaultBudget = Budget{MaxTensorBytes: 100, MaxRunBytes: 200}
	for _, b := range []*Budget{nil, {}} {
		if b.CheckTensor(graph.Uint8, []int{100}) != nil || b.CheckTensor(graph.Uint8, []int{101}) == nil ||
			b.CheckRun("x", 200) != nil || b.CheckRun("x", 201) == nil {
			t.Errorf("budget %v does not follow DefaultBudget", b)
		}
	}
	err := (&Budget{MaxTensorBytes: 4 << 30}).CheckTensor(graph.Float32, []int{100000, 100000})
	if err == nil || err.Error() != "output float32[100000 100000] needs 37.3 GiB, more than the budget's MaxTensorBytes of 4 GiB" {
		t.Errorf("message: %v", err)
	}
}

// TestOperatorsCheckTheBudget runs every operator whose output size comes
// from input values, attributes or the product of input sizes, with an
// output of about 1 MiB from small inputs: refused under a 64 KiB budget
// with a *BudgetError, and run under a 16 MiB one (so the check is on the
// output, not something else).
func TestOperatorsCheckTheBudget(t *testing.T) {
	const n = 512 // outputs of n*n float32 = 1 MiB
	ints := func(v ...int64) *tensor.Tensor {
		return &tensor.Tensor{DType: graph.Int64, Shape: []int{len(v)}, Data: v}
	}
	scalar := func(v int64) *tensor.Tensor {
		return &tensor.Tensor{DType: graph.Int64, Shape: []int{}, Data: []int64{v}}
	}
	f32 := tensor.Float32
	boolT := &tensor.Tensor{DType: graph.Bool, Shape: []int{n, 1}, Data: make([]bool, n)}
	cases := []struct {
		node *graph.Node
		in   []*tensor.Tensor
	}{
		{testNode("Add"), []*tensor.Tensor{f32(n, 1), f32(1, n)}},
		{testNode("Less"), []*tensor.Tensor{f32(4*n, 1), f32(1, n)}}, // bool output: 2 MiB
		{testNode("Where"), []*tensor.Tensor{boolT, f32(1, n), f32(1, 1)}},
		{testNode("Sum"), []*tensor.Tensor{f32(n, 1), f32(1, n), f32(1, 1)}},
		{testNode("Pow"), []*tensor.Tensor{f32(n, 1), f32(1, n)}},
		{testNode("MatMul"), []*tensor.Tensor{f32(n, 1), f32(1, n)}},
		{testNode("Gemm"), []*tensor.Tensor{f32(n, 1), f32(1, n)}},
		{testNode("Concat", graph.IntAttr("axis", 0)), []*tensor.Tensor{f32(n/4, n), f32(n/4, n), f32(n/4, n), f32(n/4, n)}},
		{testNode("Gather", graph.IntAttr("axis", 0)), []*tensor.Tensor{f32(1, n), &tensor.Tensor{DType: graph.Int64, Shape: []int{n}, Data: make([]int64, n)}}},
		{testNode("OneHot"), []*tensor.Tensor{ints(make([]int64, n)...), scalar(n), f32(2)}},
		{testNode("Expand"), []*tensor.Tensor{f32(1, 1), ints(n, n)}},
		{testNode("Tile"), []*tensor.Tensor{f32(1, 1), ints(n, n)}},
		{testNode("Pad"), []*tensor.Tensor{f32(1, 1), ints(0, 0, n-1, n-1)}},
		{testNode("ConstantOfShape"), []*tensor.Tensor{ints(n, n)}},
		{testNode("Range"), []*tensor.Tensor{float32Scalar(0), float32Scalar(n * n), float32Scalar(1)}},
		{testNode("Resize", graph.StringAttr("mode", "nearest")), []*tensor.Tensor{f32(1, 1, 1, 1), nil, nil, ints(1, 1, n, n)}},
		{testNode("Conv", graph.IntsAttr("pads", n, n, n, n)), []*tensor.Tensor{f32(1, 1, 1, 1), f32(1, 1, 1, 1)}},
		{testNode("MaxPool", graph.IntsAttr("kernel_shape", 1, 1), graph.IntsAttr("strides", 1, 1)), []*tensor.Tensor{f32(1, n, n/4, 1)}},
		{testNode("ConvTranspose", graph.IntsAttr("strides", n, n)), []*tensor.Tensor{f32(1, 1, 2, 2), f32(1, 1, 1, 1)}},
		{testNode("RandomNormal", graph.IntsAttr("shape", n, n), graph.FloatAttr("seed", 1)), nil},
		{testNode("GridSample"), []*tensor.Tensor{f32(1, n, 1, 1), f32(1, 1, n/2, 2)}},
	}
	for _, c := range cases {
		op := buildOp(t, c.node, 17)
		small := &Context{Budget: &Budget{MaxTensorBytes: 64 << 10}}
		_, err := op.Forward(small, c.in)
		var be *BudgetError
		if !errors.As(err, &be) {
			t.Errorf("%s under 64 KiB: %v, want a budget error", c.node.OpType, err)
		}
		large := &Context{Budget: &Budget{MaxTensorBytes: 16 << 20}}
		if _, err := op.Forward(large, c.in); err != nil {
			t.Errorf("%s under 16 MiB: %v", c.node.OpType, err)
		}
	}
}

// TestSequenceInsertChecksTheRunBudget grows a sequence past MaxRunBytes.
func TestSequenceInsertChecksTheRunBudget(t *testing.T) {
	op := buildOp(t, testNode("SequenceInsert"), 17)
	ctx := &Context{Budget: &Budget{MaxRunBytes: 1 << 20}}
	seq := tensor.NewSequence(graph.Float32, nil)
	for i := 0; ; i++ {
		out, err := op.Forward(ctx, []*tensor.Tensor{seq, tensor.Float32(16 << 10)}) // 64 KiB each
		if err != nil {
			var be *BudgetError
			if !errors.As(err, &be) || be.Field != "MaxRunBytes" {
				t.Fatalf("insert %d: %v, want a MaxRunBytes error", i, err)
			}
			if i != 15 { // 16 elements of 64 KiB and their headers pass 1 MiB
				t.Errorf("refused at insert %d, want 15", i)
			}
			return
		}
		seq = out[0]
		if i > 100 {
			t.Fatal("100 inserts of 64 KiB under a 1 MiB budget")
		}
	}
}
