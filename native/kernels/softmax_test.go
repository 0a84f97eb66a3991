package kernels

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/parallel"
)

// Tolerances for Softmax and LogSoftmax.
var (
	// Forward: exponentials in float32 within a few ULPs (vec.Exp), sums
	// and logarithms in float64: a few float32 roundings.
	tolSoftmax = tolerance{Abs: 1e-7, Rel: 1e-6}
	// Gradients: smooth with derivatives of order one; eps = 1e-2.
	tolSoftmaxGrad = tolerance{Abs: 1e-4, Rel: 2e-3}
)

var softmaxCases = []SoftmaxParams{
	{Outer: 4, Axis: 5, Inner: 1},   // last axis, and the old 2-D coercion of any axis
	{Outer: 2, Axis: 3, Inner: 6},   // middle axis of [2, 3, 6] (opset 13)
	{Outer: 1, Axis: 7, Inner: 3},   // first axis
	{Outer: 3, Axis: 1, Inner: 2},   // a single element along the axis
	{Outer: 3, Axis: 100, Inner: 1}, // longer rows, through vec's vector loops
	{Outer: 2, Axis: 37, Inner: 5},  // odd lengths, gathered
	// Blocks of columns: a full block and a partial one; YOLOv8's DFL
	// softmax over 16 bins of [1, 16, 4, 8400] at a smaller size.
	{Outer: 2, Axis: 6, Inner: 300},
	{Outer: 1, Axis: 16, Inner: 4 * 70},
}

func TestSoftmax(t *testing.T) {
	leveltest.Run(t, testSoftmax)
	if err := (&SoftmaxParams{Outer: 1, Axis: 0, Inner: 1}).Validate(); err == nil ||
		!strings.Contains(err.Error(), "Axis: must be at least 1") {
		t.Errorf("Validate with Axis 0: %v", err)
	}
}

// testSoftmax checks the four kernels against float64 recomputations and
// finite differences at the CPU level in force.
func testSoftmax(t *testing.T) {
	rng := newRNG(71)
	for _, p := range softmaxCases {
		t.Run(fmt.Sprintf("%d_%d_%d", p.Outer, p.Axis, p.Inner), func(t *testing.T) {
			n := p.Outer * p.Axis * p.Inner
			x := uniform(rng, n, -3, 3)
			x[0] += 500 // large logits must neither overflow nor swamp the others
			wantSoft, wantLog := make([]float64, n), make([]float64, n)
			for o := 0; o < p.Outer; o++ {
				for in := 0; in < p.Inner; in++ {
					at := func(k int) int { return (o*p.Axis+k)*p.Inner + in }
					m := math.Inf(-1)
					for k := 0; k < p.Axis; k++ {
						m = math.Max(m, float64(x[at(k)]))
					}
					var sum float64
					for k := 0; k < p.Axis; k++ {
						sum += math.Exp(float64(x[at(k)]) - m)
					}
					for k := 0; k < p.Axis; k++ {
						wantSoft[at(k)] = math.Exp(float64(x[at(k)])-m) / sum
						wantLog[at(k)] = float64(x[at(k)]) - m - math.Log(sum)
					}
				}
			}
			y := make([]float32, n)
			SoftmaxForward(&p, x, y)
			compare(t, "softmax", tolSoftmax, y, wantSoft)
			// In place (y is x, as MatMul's epilogue runs it), the
			// same results.
			in := append([]float32(nil), x...)
			SoftmaxForward(&p, in, in)
			identical(t, "softmax in place", in, y)
			LogSoftmaxForward(&p, x, y)
			compare(t, "log softmax", tolSoftmax, y, wantLog)

			x = uniform(rng, n, -3, 3)
			g := uniform(rng, n, -1, 1)
			dx := make([]float32, n)
			SoftmaxForward(&p, x, y)
			SoftmaxBackward(&p, y, g, dx)
			checkGradients(t, "Softmax", tolSoftmaxGrad, 1e-2, rng, g,
				func() []float32 { SoftmaxForward(&p, x, y); return y }, gradInput{"x", x, dx})
			dx = make([]float32, n)
			LogSoftmaxForward(&p, x, y)
			LogSoftmaxBackward(&p, y, g, dx)
			checkGradients(t, "LogSoftmax", tolSoftmaxGrad, 1e-2, rng, g,
				func() []float32 { LogSoftmaxForward(&p, x, y); return y }, gradInput{"x", x, dx})
		})
	}
}

// BenchmarkSoftmax runs SoftmaxForward at every CPU level, on one
// thread, on the shape of the BERT-like encoder's attention
// probabilities, 4 heads of 128 rows of 128 (ns/op over 65,536 is the
// time per element), and along the second axis of a detector's box
// distributions (ns/op over 537,600).
func BenchmarkSoftmax(b *testing.B) {
	defer parallel.SetThreads(parallel.Threads())
	parallel.SetThreads(1)
	for _, c := range []struct {
		name string
		p    SoftmaxParams
	}{
		{"rows", SoftmaxParams{Outer: 4 * 128, Axis: 128, Inner: 1}},
		// YOLOv8's DFL: Softmax along axis 1 of [1, 16, 4, 8400].
		{"columns", SoftmaxParams{Outer: 1, Axis: 16, Inner: 4 * 8400}},
	} {
		x := uniform(newRNG(3), c.p.Outer*c.p.Axis*c.p.Inner, -8, 8)
		y := make([]float32, len(x))
		b.Run(c.name, func(b *testing.B) {
			leveltest.Bench(b, func(b *testing.B) {
				for b.Loop() {
					SoftmaxForward(&c.p, x, y)
				}
			})
		})
	}
}
