package main

import (
	"math"
	"testing"

	"github.com/onnxkit/onnxkit/native/tensor"
)

func TestTopLabels(t *testing.T) {
	classes := []string{"daisy", "iris", "tulip"}
	// Row 0 is a distribution and is taken as is. Row 1 holds logits
	// (0, ln 3, 0): softmax gives (1, 3, 1)/5 = (0.2, 0.6, 0.2).
	out := tensor.FromFloat32([]float32{0.1, 0.2, 0.7, 0, float32(math.Log(3)), 0}, 2, 3)
	top := topLabels(out, classes, 2)
	if len(top) != 2 {
		t.Fatalf("%d rows, want 2", len(top))
	}
	want := [][]label{
		{{"tulip", 2, 0.7}, {"iris", 1, 0.2}},
		{{"iris", 1, 0.6}, {"daisy", 0, 0.2}}, // ties keep class order
	}
	const eps = 1e-6 // float32 inputs
	for r := range want {
		for i, w := range want[r] {
			g := top[r][i]
			if g.Class != w.Class || g.Index != w.Index || math.Abs(float64(g.Probability-w.Probability)) > eps {
				t.Errorf("row %d rank %d: got %+v, want %+v", r, i, g, w)
			}
		}
	}
	if topLabels(tensor.Float32(2, 4), classes, 2) != nil {
		t.Error("an output of 4 columns got labels for 3 classes")
	}
}

func TestNumberJSON(t *testing.T) {
	for _, tc := range []struct {
		n    number
		want string
	}{{1.5, "1.5"}, {number(math.NaN()), `"NaN"`}, {number(math.Inf(-1)), `"-Inf"`}} {
		b, err := tc.n.MarshalJSON()
		if err != nil || string(b) != tc.want {
			t.Errorf("%g: %s, %v; want %s", float64(tc.n), b, err, tc.want)
		}
	}
}
