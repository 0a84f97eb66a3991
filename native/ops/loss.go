package ops

// Loss operators: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss
// (opset 12; opset 13 only widened their type lists).
//
//	input/scores [N, C, D1, ..., Dk] (k >= 0)   target [N, D1, ..., Dk] int32/int64
//	weight [C] (optional)
//	loss: [N, D1, ..., Dk] for reduction "none", a scalar otherwise
//	log_prob (SoftmaxCrossEntropyLoss only, optional): like scores
//
// Per element, with t = target[n, d...]:
//
//	l[n, d...] = -input[n, t, d...] * w[t]    (w = 1 without weight)
//
// and l = 0, w = 0 where t equals ignore_index. "sum" adds the l, "mean"
// (the default) divides that sum by the sum of the w[t] (the element
// count without weights or ignored targets). SoftmaxCrossEntropyLoss
// applies the same to log_prob = log(softmax(scores, axis 1)).
//
// Backward: with g the incoming gradient of each l (the output's gradient
// itself for "none", broadcast for "sum", divided by the weight sum for
// "mean"), dL/dinput[n, t, d...] = -w[t] g; SoftmaxCrossEntropyLoss adds
// the gradient of log_prob to that as p and returns p - softmax * sum_c p.
// target and weight receive no gradient.

import (
	"fmt"
	"math"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// lossReduction is the reduction attribute of the loss operators.
type lossReduction int

const (
	lossMean lossReduction = iota
	lossSum
	lossNone
)

// lossAttrs are the attributes both loss operators share.
type lossAttrs struct {
	reduction   lossReduction
	ignoreIndex int64
	hasIgnore   bool
}

// lossOps is the operator table of loss.go (see registry.go).
var lossOps = []Entry{
	{OpType: "NegativeLogLikelihoodLoss", Since: []int64{12}, Build: newNLLLoss},
	{OpType: "SoftmaxCrossEntropyLoss", Since: []int64{12}, Build: newSoftmaxCrossEntropy},
}

func decodeLossAttrs(n *graph.Node) (lossAttrs, error) {
	var a lossAttrs
	r, err := n.Declared().String("reduction")
	if err != nil {
		return a, err
	}
	switch r {
	case "mean":
		a.reduction = lossMean
	case "sum":
		a.reduction = lossSum
	case "none":
		a.reduction = lossNone
	default:
		return a, attrError(n, "reduction", "is %q, want none, sum or mean", r)
	}
	a.hasIgnore = n.HasAttr("ignore_index")
	if a.ignoreIndex, err = n.Declared().Int("ignore_index"); err != nil {
		return a, err
	}
	return a, nil
}

// nllLoss is NegativeLogLikelihoodLoss.
type nllLoss struct{ lossAttrs }

func newNLLLoss(n *graph.Node, _ int64) (Op, error) {
	a, err := decodeLossAttrs(n)
	if err != nil {
		return nil, err
	}
	return &nllLoss{a}, nil
}

func (o *nllLoss) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	terms, _, err := o.terms(in, false)
	if err != nil {
		return nil, err
	}
	loss, shape := o.reduce(terms)
	return []*tensor.Tensor{float64sToDType(loss, in[0].DType, shape)}, nil
}

func (o *nllLoss) Backward(_ *Context, in, _, gradOut []*tensor.Tensor) ([]*tensor.Tensor, error) {
	terms, _, err := o.terms(in, false)
	if err != nil {
		return nil, err
	}
	gx, err := o.logProbGrad(terms, gradOut[0])
	if err != nil {
		return nil, err
	}
	return []*tensor.Tensor{float64sToDType(gx, in[0].DType, in[0].Shape), nil, nil}, nil
}

// softmaxCrossEntropy is SoftmaxCrossEntropyLoss.
type softmaxCrossEntropy struct{ lossAttrs }

func newSoftmaxCrossEntropy(n *graph.Node, _ int64) (Op, error) {
	a, err := decodeLossAttrs(n)
	if err != nil {
		return nil, err
	}
	return &softmaxCrossEntropy{a}, nil
}

func (o *softmaxCrossEntropy) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	terms, logProb, err := o.terms(in, true)
	if err != nil {
		return nil, err
	}
	loss, shape := o.reduce(terms)
	return []*tensor.Tensor{
		float64sToDType(loss, in[0].DType, shape),
		float64sToDType(logProb, in[0].DType, in[0].Shape),
	}, nil
}

func (o *softmaxCrossEntropy) Backward(_ *Context, in, _, gradOut []*tensor.Tensor) ([]*tensor.Tensor, error) {
	terms, logProb, err := o.terms(in, true)
	if err != nil {
		return nil, err
	}
	gp, err := o.logProbGrad(terms, gradOut[0])
	if err != nil {
		return nil, err
	}
	if len(gradOut) > 1 && gradOut[1] != nil {
		extra, err := floatValues(gradOut[1], "log_prob gradient")
		if err != nil {
			return nil, err
		}
		if len(extra) != len(gp) {
			return nil, fmt.Errorf("log_prob gradient %v does not match scores %v", gradOut[1].Shape, in[0].Shape)
		}
		for i, v := range extra {
			gp[i] += v
		}
	}
	// Through log_softmax over axis 1: dx = gp - softmax * sum_c gp.
	c, inner := terms.c, terms.inner
	for b := 0; b < len(gp)/(c*inner); b++ {
		for d := 0; d < inner; d++ {
			base := b*c*inner + d
			sum := 0.0
			for k := 0; k < c; k++ {
				sum += gp[base+k*inner]
			}
			for k := 0; k < c; k++ {
				gp[base+k*inner] -= math.Exp(logProb[base+k*inner]) * sum
			}
		}
	}
	return []*tensor.Tensor{float64sToDType(gp, in[0].DType, in[0].Shape), nil, nil}, nil
}

// logSoftmaxAxis1 returns log(softmax(x)) over axis 1 of shape [N, C, ...].
func logSoftmaxAxis1(x []float64, shape []int) []float64 {
	outer, c, inner := splitAtAxis(shape, 1)
	out := make([]float64, len(x))
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			base := o*c*inner + i
			hi := math.Inf(-1)
			for k := 0; k < c; k++ {
				hi = math.Max(hi, x[base+k*inner])
			}
			sum := 0.0
			for k := 0; k < c; k++ {
				sum += math.Exp(x[base+k*inner] - hi)
			}
			logSum := hi + math.Log(sum)
			for k := 0; k < c; k++ {
				out[base+k*inner] = x[base+k*inner] - logSum
			}
		}
	}
	return out
}

// nllTerms are the per-element parts of a loss over log-probabilities
// [N, C, D...]: l and the weight w[t] of each target (0 where ignored).
type nllTerms struct {
	loss, weight []float64
	labels       []int64
	c, inner     int
	targetShape  []int
}

// terms checks the inputs (input or scores, target, weight) and computes
// the per-element loss; with softmax set the input holds scores and the
// log-probabilities are returned too.
func (a lossAttrs) terms(in []*tensor.Tensor, softmax bool) (*nllTerms, []float64, error) {
	if err := checkArity(in, 2, -1); err != nil {
		return nil, nil, err
	}
	x, target, weight := in[0], in[1], optionalInput(in, 2)
	shape := x.Shape
	if len(shape) < 2 {
		return nil, nil, fmt.Errorf("input %v: want rank at least 2 [N, C, ...]", shape)
	}
	logProb, err := floatValues(x, "input")
	if err != nil {
		return nil, nil, err
	}
	if softmax {
		logProb = logSoftmaxAxis1(logProb, shape)
	}
	t := &nllTerms{c: shape[1], inner: tensor.NumElements(shape[2:])}
	t.targetShape = append([]int{shape[0]}, shape[2:]...)
	if !slices.Equal(target.Shape, t.targetShape) {
		return nil, nil, fmt.Errorf("target %v does not fit input %v: want %v", target.Shape, shape, t.targetShape)
	}
	if t.labels, err = intValues(target, "target"); err != nil {
		return nil, nil, err
	}
	var w []float64
	if weight != nil {
		if weight.Rank() != 1 || weight.Shape[0] != t.c {
			return nil, nil, fmt.Errorf("weight %v: want [%d]", weight.Shape, t.c)
		}
		if w, err = floatValues(weight, "weight"); err != nil {
			return nil, nil, err
		}
	}
	t.loss = make([]float64, len(t.labels))
	t.weight = make([]float64, len(t.labels))
	for i, label := range t.labels {
		if a.hasIgnore && label == a.ignoreIndex {
			continue
		}
		if label < 0 || label >= int64(t.c) {
			return nil, nil, fmt.Errorf("target %d at %d is outside [0, %d) and not ignore_index", label, i, t.c)
		}
		t.weight[i] = 1
		if w != nil {
			t.weight[i] = w[label]
		}
		b, d := i/t.inner, i%t.inner
		t.loss[i] = -logProb[(b*t.c+int(label))*t.inner+d] * t.weight[i]
	}
	return t, logProb, nil
}

// reduce applies the reduction to the per-element losses, returning the
// loss and its shape.
func (a lossAttrs) reduce(t *nllTerms) ([]float64, []int) {
	switch a.reduction {
	case lossNone:
		return t.loss, t.targetShape
	case lossSum:
		return []float64{sumFloat64s(t.loss)}, []int{}
	}
	return []float64{sumFloat64s(t.loss) / sumFloat64s(t.weight)}, []int{}
}

// logProbGrad returns the gradient with respect to the log-probabilities
// [N, C, D...] given that of the loss output.
func (a lossAttrs) logProbGrad(t *nllTerms, gradLoss *tensor.Tensor) ([]float64, error) {
	g, err := floatValues(gradLoss, "loss gradient")
	if err != nil {
		return nil, err
	}
	perElement := func(i int) float64 { return g[0] }
	switch a.reduction {
	case lossNone:
		if len(g) != len(t.loss) {
			return nil, fmt.Errorf("loss gradient %v does not match loss %v", gradLoss.Shape, t.targetShape)
		}
		perElement = func(i int) float64 { return g[i] }
	case lossMean:
		scale := 1 / sumFloat64s(t.weight)
		perElement = func(int) float64 { return g[0] * scale }
	}
	if a.reduction != lossNone && len(g) != 1 {
		return nil, fmt.Errorf("loss gradient %v: want a scalar", gradLoss.Shape)
	}
	out := make([]float64, len(t.labels)*t.c)
	for i, label := range t.labels {
		if t.weight[i] == 0 {
			continue
		}
		b, d := i/t.inner, i%t.inner
		out[(b*t.c+int(label))*t.inner+d] = -t.weight[i] * perElement(i)
	}
	return out, nil
}

// sumFloat64s adds v up.
func sumFloat64s(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}
