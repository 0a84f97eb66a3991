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
