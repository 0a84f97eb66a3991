package ops

import (
	"slices"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

func TestLoadSavedChecksTheType(t *testing.T) {
	ctx := &Context{}
	if _, ok, err := loadSaved[argmax](ctx); ok || err != nil {
		t.Errorf("nothing saved: ok %v, err %v; want false, nil", ok, err)
	}
	save(ctx, argmax{3, 1})
	if got, ok, err := loadSaved[argmax](ctx); !ok || err != nil || !slices.Equal(got, argmax{3, 1}) {
		t.Errorf("argmax saved: got %v, %v, %v; want [3 1], true, nil", got, ok, err)
	}
	_, ok, err := loadSaved[dropoutMask](ctx)
	if ok || err == nil || !strings.Contains(err.Error(), "ops.argmax") || !strings.Contains(err.Error(), "ops.dropoutMask") {
		t.Errorf("argmax read as a dropoutMask: ok %v, err %v; want an error naming both types", ok, err)
	}
}

// A Backward whose Forward saved nothing or saved another op's state
// returns an error, or for Dropout the identity, and never panics.
func TestBackwardWithoutTrainingForward(t *testing.T) {
	x := testTensor(graph.Float32, []int{1, 1, 4, 4}, make([]float64, 16))
	g := testTensor(graph.Float32, []int{1, 1, 2, 2}, []float64{1, 2, 3, 4})
	for _, n := range []*graph.Node{
		testNode("MaxPool", graph.IntsAttr("kernel_shape", 2, 2), graph.IntsAttr("strides", 2, 2)),
		testNode("LRN", graph.IntAttr("size", 3)),
		testNode("GlobalMaxPool"),
	} {
		op := buildOp(t, n, 13).(Differentiable)
		gy := g
		switch n.OpType {
		case "LRN":
			gy = x
		case "GlobalMaxPool":
			gy = testTensor(graph.Float32, []int{1, 1, 1, 1}, []float64{1})
		}
		for _, ctx := range []*Context{{}, {Saved: dropoutMask{true}}} {
			_, err := op.Backward(ctx, []*tensor.Tensor{x}, []*tensor.Tensor{gy}, []*tensor.Tensor{gy})
			if err == nil {
				t.Errorf("%s backward with saved %T: no error", n.OpType, ctx.Saved)
			}
		}
	}
	drop := buildOp(t, testNode("Dropout"), 13).(Differentiable)
	got, err := drop.Backward(&Context{}, []*tensor.Tensor{x}, []*tensor.Tensor{x}, []*tensor.Tensor{g})
	if err != nil || got[0] != g {
		t.Errorf("Dropout backward after an inference forward: %v, %v; want the upstream gradient", got, err)
	}
}
