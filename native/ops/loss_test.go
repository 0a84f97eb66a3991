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
	x := xtF32s([]int{2, 3}, -1, -2, -3, -0.5, -1.5, -2.5)
	target := xtI64s(2, 0)
	w := xtF32s([]int{3}, 1, 2, 3)
	for _, c := range []struct {
		reduction string
		shape     []int
		want      []float64
	}{
		{"none", []int{2}, []float64{9, 0.5}},
		{"sum", []int{}, []float64{9.5}},
		{"mean", []int{}, []float64{2.375}},
	} {
		n := xtNode("NegativeLogLikelihoodLoss", graph.StringAttr("reduction", c.reduction))
		got := xtRun(t, n, 13, x, target, w)
		xtCheck(t, c.reduction, got[0], c.shape, c.want, xtF32)
	}
	// ignore_index 2 drops the first element: mean = 0.5/1.
	n := xtNode("NegativeLogLikelihoodLoss", graph.IntAttr("ignore_index", 2))
	xtCheck(t, "ignored", xtRun(t, n, 13, x, target, w)[0], []int{}, []float64{0.5}, xtF32)
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
					x := xtRandom(rng, graph.Float64, tensor.NumElements(shape))
					labels := make([]int64, tensor.NumElements(tShape))
					for i := range labels {
						labels[i] = int64(rng.IntN(c + 1)) // c is the ignored label
					}
					var w []float64
					in := []*tensor.Tensor{xtTensor(dt, shape, x), {DType: graph.Int64, Shape: tShape, Data: labels}}
					if weighted {
						w = make([]float64, c)
						for i := range w {
							w[i] = 0.1 + rng.Float64()
						}
						in = append(in, xtTensor(dt, []int{c}, w))
					}
					tol := xtF64
					if dt == graph.Float32 {
						tol = xtF32
					}
					attrs := []*graph.Attr{graph.StringAttr("reduction", reduction), graph.IntAttr("ignore_index", int64(c))}
					inner := tensor.NumElements(shape[2:])
					at := func(n, k, d int) float64 { return x[(n*c+k)*inner+d] }
					want := trLossRef(at, shape, labels, w, reduction, int64(c), true)
					got := xtRun(t, xtNode("NegativeLogLikelihoodLoss", attrs...), 13, in...)
					xtClose(t, "NLL "+reduction, xtValues(t, got[0]), want, tol)

					// Softmax written directly as exp(x)/sum(exp(x)).
					logp := func(n, k, d int) float64 {
						s := 0.0
						for j := 0; j < c; j++ {
							s += math.Exp(at(n, j, d))
						}
						return math.Log(math.Exp(at(n, k, d)) / s)
					}
					want = trLossRef(logp, shape, labels, w, reduction, int64(c), true)
					got = xtRun(t, xtNode("SoftmaxCrossEntropyLoss", attrs...), 13, in...)
					xtClose(t, "SCE "+reduction, xtValues(t, got[0]), want, tol)
					wantLogp := make([]float64, len(x))
					for i := range wantLogp {
						n, k, d := i/(c*inner), i/inner%c, i%inner
						wantLogp[i] = logp(n, k, d)
					}
					xtCheck(t, "SCE log_prob", got[1], shape, wantLogp, tol)
				}
			}
		}
	}
}

func TestLossErrors(t *testing.T) {
	x := xtF32s([]int{2, 3}, 1, 2, 3, 4, 5, 6)
	n := xtNode("NegativeLogLikelihoodLoss")
	xtWantErr(t, "label out of range", xtRunErr(n, 13, x, xtI64s(0, 3)), "outside [0, 3)")
	xtWantErr(t, "negative label", xtRunErr(n, 13, x, xtI64s(-1, 0)), "outside")
	xtWantErr(t, "target shape", xtRunErr(n, 13, x, xtI64s(0, 1, 2)), "does not fit")
	xtWantErr(t, "weight shape", xtRunErr(n, 13, x, xtI64s(0, 1), xtF32s([]int{2}, 1, 1)), "weight")
	xtWantErr(t, "float target", xtRunErr(n, 13, x, xtF32s([]int{2}, 0, 1)), "int32 or int64")
	xtWantErr(t, "rank 1 scores", xtRunErr(xtNode("SoftmaxCrossEntropyLoss"), 13, xtF32s([]int{3}, 1, 2, 3), xtI64s(0)), "rank")
	_, err := Build(xtNode("SoftmaxCrossEntropyLoss", graph.StringAttr("reduction", "max")), 13)
	xtWantErr(t, "bad reduction", err, "reduction")
}

// trFiniteDiffTol bounds central differences with step 1e-6 on float64
// losses against analytic gradients.
var trFiniteDiffTol = xtTolerance{abs: 1e-6, rel: 1e-5}

func TestLossBackwardFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(40, 41))
	const step = 1e-6
	shape := []int{3, 4, 2}
	tShape := []int{3, 2}
	for _, opType := range []string{"NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss"} {
		for _, reduction := range []string{"none", "sum", "mean"} {
			x := xtRandom(rng, graph.Float64, 24)
			labels := make([]int64, 6)
			for i := range labels {
				labels[i] = int64(rng.IntN(5)) // 4 is ignored
			}
			w := []float64{0.5, 1, 1.5, 2}
			node := xtNode(opType, graph.StringAttr("reduction", reduction), graph.IntAttr("ignore_index", 4))
			op, err := Build(node, 13)
			if err != nil {
				t.Fatal(err)
			}
			in := []*tensor.Tensor{xtTensor(graph.Float64, shape, x), {DType: graph.Int64, Shape: tShape, Data: labels}, xtTensor(graph.Float64, []int{4}, w)}
			out, err := op.Forward(&Context{}, in)
			if err != nil {
				t.Fatal(err)
			}
			// The objective is sum(u * loss) + sum(v * log_prob) with random u, v.
			u := xtRandom(rng, graph.Float64, out[0].Len())
			gradOut := []*tensor.Tensor{xtTensor(graph.Float64, out[0].Shape, u)}
			var v []float64
			if len(out) > 1 {
				v = xtRandom(rng, graph.Float64, out[1].Len())
				gradOut = append(gradOut, xtTensor(graph.Float64, shape, v))
			}
			objective := func() float64 {
				o, err := op.Forward(&Context{}, in)
				if err != nil {
					t.Fatal(err)
				}
				s := 0.0
				for i, val := range xtValues(t, o[0]) {
					s += u[i] * val
				}
				for i := range v {
					s += v[i] * xtValues(t, o[1])[i]
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
			xtCheck(t, opType+" "+reduction+" gradient", grads[0], shape, num, trFiniteDiffTol)
		}
	}
}
