package ops

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// mvPadReference maps coordinate x (negative before the start) of an axis
// of size n to the coordinate it copies, or -1 for the constant: reflect
// bounces x off the edges until it is inside, wrap moves it by n.
func mvPadReference(x, n int, mode string) int {
	switch {
	case x >= 0 && x < n:
		return x
	case mode == "constant":
		return -1
	case mode == "edge":
		return min(max(x, 0), n-1)
	case mode == "wrap":
		for x < 0 {
			x += n
		}
		for x >= n {
			x -= n
		}
		return x
	}
	if n == 1 {
		return 0
	}
	for x < 0 || x >= n {
		if x < 0 {
			x = -x
		}
		if x >= n {
			x = 2*(n-1) - x
		}
	}
	return x
}

func TestPadAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	shape := []int{3, 4}
	for trial := range 60 {
		mode := []string{"constant", "reflect", "edge", "wrap"}[trial%4]
		dt := []graph.DType{graph.Float32, graph.Int32, graph.String, graph.Float16}[trial/4%4]
		vals := mvRandFor(rng, dt, 12)
		pads := make([]int64, 4)
		for i := range pads {
			pads[i] = int64(rng.IntN(9) - 2) // crops up to 2, pads up to 6 (beyond the size)
		}
		out := []int{3 + int(pads[0]+pads[2]), 4 + int(pads[1]+pads[3])}
		const fill = 7
		want := mvNaive(vals, shape, out, fill, func(c []int) []int {
			r, col := mvPadReference(c[0]-int(pads[0]), 3, mode), mvPadReference(c[1]-int(pads[1]), 4, mode)
			if r < 0 || col < 0 {
				return nil
			}
			return []int{r, col}
		})
		what := fmt.Sprintf("%v %s pads %v", dt, mode, pads)
		x := testTensor(dt, shape, vals)
		y := runNode(t, testNode("Pad", graph.StringAttr("mode", mode)), 19, x, int64s(pads...), testTensor(dt, []int{}, []float64{fill}))[0]
		checkTensor(t, what, y, out, want, tolExact)
	}
}

// TestPadSpecExamples runs the examples of the operator's documentation.
func TestPadSpecExamples(t *testing.T) {
	data := []float64{1.0, 1.2, 2.3, 3.4, 4.5, 5.7}
	x := testTensor(graph.Float64, []int{3, 2}, data)
	cases := []struct {
		mode string
		pads []int64
		want []float64
	}{
		{"constant", []int64{0, 2, 0, 0}, []float64{0, 0, 1.0, 1.2, 0, 0, 2.3, 3.4, 0, 0, 4.5, 5.7}},
		{"reflect", []int64{0, 2, 0, 0}, []float64{1.0, 1.2, 1.0, 1.2, 2.3, 3.4, 2.3, 3.4, 4.5, 5.7, 4.5, 5.7}},
		{"edge", []int64{0, 2, 0, 0}, []float64{1.0, 1.0, 1.0, 1.2, 2.3, 2.3, 2.3, 3.4, 4.5, 4.5, 4.5, 5.7}},
		// wrap, pads [2, 1, 1, 1]: rows 1 2 | 0 1 2 | 0, columns 1 | 0 1 | 0.
		{"wrap", []int64{2, 1, 1, 1}, []float64{
			3.4, 2.3, 3.4, 2.3, 5.7, 4.5, 5.7, 4.5, 1.2, 1.0, 1.2, 1.0,
			3.4, 2.3, 3.4, 2.3, 5.7, 4.5, 5.7, 4.5, 1.2, 1.0, 1.2, 1.0}},
	}
	for _, c := range cases {
		y := runNode(t, testNode("Pad", graph.StringAttr("mode", c.mode)), 19, x, int64s(c.pads...))[0]
		checkTensor(t, c.mode, y, []int{3 + int(c.pads[0]+c.pads[2]), 2 + int(c.pads[1]+c.pads[3])}, c.want, tolExact)
	}
}

func TestPadVersions(t *testing.T) {
	x := testTensor(graph.Float32, []int{1, 2}, []float64{1, 2})
	// Opset 1 (paddings) and 2 (pads): attributes, value as the fill.
	want := []float64{9, 1, 2, 9, 9} // one before, two after on axis 1
	n := testNode("Pad", graph.IntsAttr("paddings", 0, 1, 0, 2), graph.FloatAttr("value", 9))
	checkTensor(t, "Pad-1", runNode(t, n, 1, x)[0], []int{1, 5}, want, tolExact)
	n = testNode("Pad", graph.IntsAttr("pads", 0, 1, 0, 2), graph.FloatAttr("value", 9))
	checkTensor(t, "Pad-2", runNode(t, n, 2, x)[0], []int{1, 5}, want, tolExact)
	// Opset 11: inputs, fill 0 by default.
	checkTensor(t, "Pad-11", runNode(t, testNode("Pad"), 11, x, int64s(0, 1, 0, 2))[0], []int{1, 5}, []float64{0, 1, 2, 0, 0}, tolExact)
	// Opset 18: the pads apply to the listed axes only.
	y := runNode(t, testNode("Pad", graph.StringAttr("mode", "edge")), 18, x, int64s(1, 2), nil, int64s(-1))[0]
	checkTensor(t, "Pad-18 axes", y, []int{1, 5}, []float64{1, 1, 2, 2, 2}, tolExact)
	// wrap is not a mode before 19.
	if _, err := Build(testNode("Pad", graph.StringAttr("mode", "wrap")), 18); err == nil {
		t.Error("Pad-18 accepted wrap")
	}
	runNodeErr(t, testNode("Pad"), 13, x, int64s(0, 1))
	runNodeErr(t, testNode("Pad"), 13, x, int64s(0, -3, 0, 0))
	runNodeErr(t, testNode("Pad", graph.StringAttr("mode", "reflect")), 13, tensor.Float32(0, 2), int64s(1, 0, 0, 0))
}
