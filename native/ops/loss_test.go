package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

func TestNLLLossHandWorked(t *testing.T) {
	// input [[-1 -2 -3] [-0.5 -1.5 -2.5]], target [2 0], weight [1 2 3]:
	// l0 = -(-3)*3 = 9, l1 = -(-0.5)*1 = 0.5; sum 9.5; weights 3+1 = 4,
	// mean 9.5/4 = 2.375.
	x := float32s([]int{2, 3}, -1, -2, -3, -0.5, -1.5, -2.5)
	target := int64s(2, 0)
	w := float32s([]int{3}, 1, 2, 3)
	for _, c := range []struct {
		reduction string
		shape     []int
		want      []float64
	}{
		{"none", []int{2}, []float64{9, 0.5}},
		{"sum", []int{}, []float64{9.5}},
		{"mean", []int{}, []float64{2.375}},
	} {
		n := testNode("NegativeLogLikelihoodLoss", graph.StringAttr("reduction", c.reduction))
		got := runNode(t, n, 13, x, target, w)
		checkTensor(t, c.reduction, got[0], c.shape, c.want, tolF32)
	}
	// ignore_index 2 drops the first element: mean = 0.5/1.
	n := testNode("NegativeLogLikelihoodLoss", graph.IntAttr("ignore_index", 2))
	checkTensor(t, "ignored", runNode(t, n, 13, x, target, w)[0], []int{}, []float64{0.5}, tolF32)
}

// trLossRef is the loss of the ONNX definition written out per element:
// logp(n, c, d) reads the log-probability at flat position (n, c, d).
func trLossRef(logp func(n, c, d int) float64, shape []int, labels []int64, w []float64, reduction string, ignore int64, hasIgnore bool) []float64 {
	inner := tensor.NumElements(shape[2:])
	var per []float64
	sum, wsum := 0.0, 0.0
	for n := 0; n < shape[0]; n++ {
		for d := 0; d < inner; d++ {
			t := labels[n*inner+d]
			l, wt := 0.0, 0.0
			if !hasIgnore || t != ignore {
				wt = 1
				if w != nil {
					wt = w[t]
				}
				l = -wt * logp(n, int(t), d)
			}
			per = append(per, l)
			sum += l
			wsum += wt
		}
	}
	switch reduction {
	case "none":
		return per
	case "sum":
		return []float64{sum}
	}
	return []float64{sum / wsum}
}

func TestLossesRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 13))
	for _, shape := range [][]int{{5, 4}, {3, 4, 2}, {2, 3, 2, 3}, {2, 3, 1, 2, 2, 1, 2}} {
		for _, reduction := range []string{"none", "sum", "mean"} {
			for _, weighted := range []bool{false, true} {
				for _, dt := range []graph.DType{graph.Float32, graph.Float64} {
					c := shape[1]
					tShape := append([]int{shape[0]}, shape[2:]...)
					x := randomFor(rng, graph.Float64, tensor.NumElements(shape))
					labels := make([]int64, tensor.NumElements(tShape))
					for i := range labels {
						labels[i] = int64(rng.IntN(c + 1)) // c is the ignored label
					}
					var w []float64
					in := []*tensor.Tensor{testTensor(dt, shape, x), {DType: graph.Int64, Shape: tShape, Data: labels}}
					if weighted {
						w = make([]float64, c)
						for i := range w {
							w[i] = 0.1 + rng.Float64()
						}
						in = append(in, testTensor(dt, []int{c}, w))
					}
					tol := tolF64
					if dt == graph.Float32 {
						tol = tolF32
					}
					attrs := []*graph.Attr{graph.StringAttr("reduction", reduction), graph.IntAttr("ignore_index", int64(c))}
					inner := tensor.NumElements(shape[2:])
					at := func(n, k, d int) float64 { return x[(n*c+k)*inner+d] }
					want := trLossRef(at, shape, labels, w, reduction, int64(c), true)
					got := runNode(t, testNode("NegativeLogLikelihoodLoss", attrs...), 13, in...)
					checkClose(t, "NLL "+reduction, testValues(t, got[0]), want, tol)

					// Softmax written directly as exp(x)/sum(exp(x)).
					logp := func(n, k, d int) float64 {
						s := 0.0
						for j := 0; j < c; j++ {
							s += math.Exp(at(n, j, d))
						}
						return math.Log(math.Exp(at(n, k, d)) / s)
					}
					want = trLossRef(logp, shape, labels, w, reduction, int64(c), true)
					got = runNode(t, testNode("SoftmaxCrossEntropyLoss", attrs...), 13, in...)
					checkClose(t, "SCE "+reduction, testValues(t, got[0]), want, tol)
					wantLogp := make([]float64, len(x))
					for i := range wantLogp {
						n, k, d := i/(c*inner), i/inner%c, i%inner
						wantLogp[i] = logp(n, k, d)
					}
					checkTensor(t, "SCE log_prob", got[1], shape, wantLogp, tol)
				}
			}
		}
	}
}

func TestLossErrors(t *testing.T) {
	x := float32s([]int{2, 3}, 1, 2, 3, 4, 5, 6)
	n := testNode("NegativeLogLikelihoodLoss")
	wantErr(t, "label out of range", runNodeErr(t, n, 13, x, int64s(0, 3)), "outside [0, 3)")
	wantErr(t, "negative label", runNodeErr(t, n, 13, x, int64s(-1, 0)), "outside")
	wantErr(t, "target shape", runNodeErr(t, n, 13, x, int64s(0, 1, 2)), "does not fit")
	wantErr(t, "weight shape", runNodeErr(t, n, 13, x, int64s(0, 1), float32s([]int{2}, 1, 1)), "weight")
	wantErr(t, "float target", runNodeErr(t, n, 13, x, float32s([]int{2}, 0, 1)), "int32 or int64")
	wantErr(t, "rank 1 scores", runNodeErr(t, testNode("SoftmaxCrossEntropyLoss"), 13, float32s([]int{3}, 1, 2, 3), int64s(0)), "rank")
	_, err := Build(testNode("SoftmaxCrossEntropyLoss", graph.StringAttr("reduction", "max")), 13)
	wantErr(t, "bad reduction", err, "reduction")
}

// trFiniteDiffTol bounds central differences with step 1e-6 on float64
// losses against analytic gradients.
var trFiniteDiffTol = tolerance{abs: 1e-6, rel: 1e-5}

func TestLossBackwardFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(40, 41))
	const step = 1e-6
	shape := []int{3, 4, 2}
	tShape := []int{3, 2}
	for _, opType := range []string{"NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss"} {
		for _, reduction := range []string{"none", "sum", "mean"} {
			x := randomFor(rng, graph.Float64, 24)
			labels := make([]int64, 6)
			for i := range labels {
				labels[i] = int64(rng.IntN(5)) // 4 is ignored
			}
			w := []float64{0.5, 1, 1.5, 2}
			node := testNode(opType, graph.StringAttr("reduction", reduction), graph.IntAttr("ignore_index", 4))
			op, err := Build(node, 13)
			if err != nil {
				t.Fatal(err)
			}
			in := []*tensor.Tensor{testTensor(graph.Float64, shape, x), {DType: graph.Int64, Shape: tShape, Data: labels}, testTensor(graph.Float64, []int{4}, w)}
			out, err := op.Forward(&Context{}, in)
			if err != nil {
				t.Fatal(err)
			}
			// The objective is sum(u * loss) + sum(v * log_prob) with random u, v.
			u := randomFor(rng, graph.Float64, out[0].Len())
			gradOut := []*tensor.Tensor{testTensor(graph.Float64, out[0].Shape, u)}
			var v []float64
			if len(out) > 1 {
				v = randomFor(rng, graph.Float64, out[1].Len())
				gradOut = append(gradOut, testTensor(graph.Float64, shape, v))
			}
			objective := func() float64 {
				o, err := op.Forward(&Context{}, in)
				if err != nil {
					t.Fatal(err)
				}
				s := 0.0
				for i, val := range testValues(t, o[0]) {
					s += u[i] * val
				}
				for i := range v {
					s += v[i] * testValues(t, o[1])[i]
				}
				return s
			}
			grads, err := op.(Differentiable).Backward(&Context{}, in, out, gradOut)
			if err != nil {
				t.Fatal(err)
			}
			data := in[0].Data.([]float64)
			num := make([]float64, len(data))
			for i := range data {
				orig := data[i]
				data[i] = orig + step
				up := objective()
				data[i] = orig - step
				down := objective()
				data[i] = orig
				num[i] = (up - down) / (2 * step)
			}
			checkTensor(t, opType+" "+reduction+" gradient", grads[0], shape, num, trFiniteDiffTol)
		}
	}
}
