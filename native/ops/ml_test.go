package ops

import (
	"math"
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

func mlNode(opType string, attrs ...*graph.Attr) *graph.Node {
	n := testNode(opType, attrs...)
	n.Domain = mlDomain
	return n
}

// TestLabelEncoder maps int64 keys to strings with the default default,
// and float keys (NaN among them) to int64s with a given default.
func TestLabelEncoder(t *testing.T) {
	n := mlNode("LabelEncoder", graph.IntsAttr("keys_int64s", 7, -3), graph.StringsAttr("values_strings", "seven", "minus three"))
	x := &tensor.Tensor{DType: graph.Int64, Shape: []int{2, 2}, Data: []int64{-3, 7, 0, 7}}
	got := runNode(t, n, 2, x)[0]
	if want := []string{"minus three", "seven", "_Unused", "seven"}; !slices.Equal(got.Data.([]string), want) || !slices.Equal(got.Shape, []int{2, 2}) {
		t.Errorf("got %v %q, want [2 2] %q", got.Shape, got.Data, want)
	}
	nan := float32(math.NaN())
	n = mlNode("LabelEncoder", graph.FloatsAttr("keys_floats", 0.5, nan), graph.IntsAttr("values_int64s", 1, 2), graph.IntAttr("default_int64", 9))
	got = runNode(t, n, 2, float32s([]int{3}, nan, 0.25, 0.5))[0]
	if want := []int64{2, 9, 1}; !slices.Equal(got.Data.([]int64), want) {
		t.Errorf("float keys: got %v, want %v", got.Data, want)
	}
	wantErr(t, "key type", runNodeErr(t, n, 2, x), "keys are float32")
}

// TestArrayFeatureExtractor picks columns, and makes a 1-D input a row.
func TestArrayFeatureExtractor(t *testing.T) {
	x := float32s([]int{2, 3}, 1, 2, 3, 4, 5, 6)
	got := runNode(t, mlNode("ArrayFeatureExtractor"), 1, x, int64s(2, 0))[0]
	checkTensor(t, "2-D", got, []int{2, 2}, []float64{3, 1, 6, 4}, tolExact)
	got = runNode(t, mlNode("ArrayFeatureExtractor"), 1, float32s([]int{3}, 7, 8, 9), int64s(1))[0]
	checkTensor(t, "1-D", got, []int{1, 1}, []float64{8}, tolExact)
	wantErr(t, "range", runNodeErr(t, mlNode("ArrayFeatureExtractor"), 1, x, int64s(3)), "out of range")
}

// TestBinarizer thresholds integers and floats.
func TestBinarizer(t *testing.T) {
	got := runNode(t, mlNode("Binarizer", graph.FloatAttr("threshold", 1.5)), 1, float32s([]int{4}, -1, 1.5, 1.6, 3))[0]
	checkTensor(t, "float", got, []int{4}, []float64{0, 0, 1, 1}, tolExact)
}

// TestTreeEnsembleAverageLogistic averages two one-split trees and maps
// the result through the logistic function, against values worked by
// hand: tree 0 gives target 0 weight 2 when x0 < 1, else target 1 weight
// 4; tree 1 gives target 0 weight 6 when x1 >= 0 (or x1 is NaN), else
// target 0 weight -2.
func TestTreeEnsembleAverageLogistic(t *testing.T) {
	modes := &graph.Tensor{DType: graph.Uint8, Dims: []int64{2}, Data: []uint8{1, 2}}
	splits := &graph.Tensor{DType: graph.Float32, Dims: []int64{2}, Data: []float32{1, 0}}
	weights := &graph.Tensor{DType: graph.Float32, Dims: []int64{4}, Data: []float32{2, 4, 6, -2}}
	n := mlNode("TreeEnsemble",
		&graph.Attr{Name: "nodes_modes", Kind: graph.AttrTensor, Tensor: modes},
		&graph.Attr{Name: "nodes_splits", Kind: graph.AttrTensor, Tensor: splits},
		&graph.Attr{Name: "leaf_weights", Kind: graph.AttrTensor, Tensor: weights},
		graph.IntsAttr("nodes_featureids", 0, 1), graph.IntsAttr("nodes_truenodeids", 0, 2), graph.IntsAttr("nodes_falsenodeids", 1, 3),
		graph.IntsAttr("nodes_trueleafs", 1, 1), graph.IntsAttr("nodes_falseleafs", 1, 1), graph.IntsAttr("nodes_missing_value_tracks_true", 0, 1),
		graph.IntsAttr("leaf_targetids", 0, 1, 0, 0), graph.IntsAttr("tree_roots", 0, 1), graph.IntAttr("n_targets", 2),
		graph.IntAttr("aggregate_function", 0), graph.IntAttr("post_transform", 3))
	x := float32s([]int{3, 2}, 0, 5, 3, -1, 0.5, float32(math.NaN()))
	logistic := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	want := []float64{
		logistic((2 + 6) / 2.0), logistic(0),
		logistic(-2 / 2.0), logistic(4 / 2.0),
		logistic((2 + 6) / 2.0), logistic(0),
	}
	checkTensor(t, "TreeEnsemble", runNode(t, n, 5, x)[0], []int{3, 2}, want, tolF32)
}
