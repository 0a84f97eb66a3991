package ops

// FlexAttention (ai.onnx.preview opset 1): scaled dot-product attention
// whose scores and probabilities pass through optional subgraphs.
//
//	Q [B, Hq, L, E], K [B, Hkv, S, E], V [B, Hkv, S, Ev]  ->  Y [B, Hq, L, Ev]
//
// scores = scale * Q K^T (query head h reading kv head h / (Hq/Hkv)),
// scale defaulting to 1/sqrt(E); attribute score_mod, a graph from the
// scores [B, Hq, L, S] to new scores, then softmax over S; attribute
// prob_mod, a graph from the probabilities to new ones; Y = probs V.
// The scores and probabilities are rounded to the inputs' type before
// each subgraph sees them; the rest is computed in float64.

import (
	"fmt"
	"math"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// nnFlexAttentionOps is the operator table of nn_flex_attention.go (see registry.go).
var nnFlexAttentionOps = []Entry{
	{Domain: previewDomain, OpType: "FlexAttention", Since: []int64{1}, Scoped: newFlexAttention},
}

// flexAttention is FlexAttention.
type flexAttention struct {
	scale             float64 // 0: 1/sqrt(E)
	scoreMod, probMod Subgraph
	captures          []string
}

func newFlexAttention(n *graph.Node, _ int64, scope Scope) (Op, error) {
	o := &flexAttention{}
	s, err := n.Declared().Float("scale")
	if err != nil {
		return nil, err
	}
	o.scale = float64(s)
	var subs []Subgraph
	for _, a := range []struct {
		name string
		dst  *Subgraph
	}{{"score_mod", &o.scoreMod}, {"prob_mod", &o.probMod}} {
		if !n.HasAttr(a.name) {
			continue
		}
		if scope == nil {
			return nil, fmt.Errorf("attribute %s: the subgraph needs a program to compile in", a.name)
		}
		_, sub, err := cfBody(n, a.name, scope)
		if err != nil {
			return nil, err
		}
		*a.dst = sub
		subs = append(subs, sub)
	}
	o.captures = cfCaptures(subs...)
	return o, nil
}

// Captures lists the enclosing values the subgraphs read.
func (o *flexAttention) Captures() []string { return o.captures }

// flexMod runs a score or probability subgraph on x, [B, H, L, S] values,
// rounded to dt, and returns its output in float64.
func flexMod(ctx *Context, sub Subgraph, x []float64, dt graph.DType, shape []int, what string) ([]float64, error) {
	if sub == nil {
		return x, nil
	}
	out, err := sub.Run(ctx, []*tensor.Tensor{float64sToDType(x, dt, shape)})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if len(out) != 1 || out[0] == nil || out[0].Len() != len(x) {
		return nil, fmt.Errorf("%s gave %d outputs, want one of shape %v", what, len(out), shape)
	}
	return floatValues(out[0], what)
}

// Forward computes the attention.
func (o *flexAttention) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 3, 3); err != nil {
		return nil, err
	}
	q, k, v := in[0], in[1], in[2]
	if !isFloatDType(q.DType) || q.Rank() != 4 || k.Rank() != 4 || v.Rank() != 4 {
		return nil, fmt.Errorf("inputs Q %v, K %v and V %v: want floating-point [B, H, length, size]", q, k, v)
	}
	b, hq, l, e := q.Shape[0], q.Shape[1], q.Shape[2], q.Shape[3]
	hkv, s, ev := k.Shape[1], k.Shape[2], v.Shape[3]
	if k.Shape[0] != b || v.Shape[0] != b || k.Shape[3] != e || v.Shape[1] != hkv || v.Shape[2] != s || hkv == 0 || hq%hkv != 0 {
		return nil, fmt.Errorf("inputs Q %v, K %v and V %v do not fit one another", q.Shape, k.Shape, v.Shape)
	}
	scoreShape := []int{b, hq, l, s}
	if err := ctx.checkOutput(graph.Float64, scoreShape); err != nil {
		return nil, err
	}
	qv, err := floatValues(q, "Q")
	if err != nil {
		return nil, err
	}
	kv, err := floatValues(k, "K")
	if err != nil {
		return nil, err
	}
	vv, err := floatValues(v, "V")
	if err != nil {
		return nil, err
	}
	scale := o.scale
	if scale == 0 {
		scale = 1 / math.Sqrt(float64(e))
	}
	group := hq / hkv
	scores := make([]float64, b*hq*l*s)
	for bi := range b {
		for h := range hq {
			kh := bi*hkv + h/group
			for i := range l {
				qrow := qv[((bi*hq+h)*l+i)*e:][:e]
				for j := range s {
					krow := kv[(kh*s+j)*e:][:e]
					sum := 0.0
					for x := range e {
						sum += qrow[x] * krow[x]
					}
					scores[((bi*hq+h)*l+i)*s+j] = scale * sum
				}
			}
		}
	}
	if scores, err = flexMod(ctx, o.scoreMod, scores, q.DType, scoreShape, "score_mod"); err != nil {
		return nil, err
	}
	for r := range b * hq * l {
		row := scores[r*s : (r+1)*s]
		peak := math.Inf(-1)
		for _, x := range row {
			peak = math.Max(peak, x)
		}
		sum := 0.0
		for j, x := range row {
			row[j] = math.Exp(x - peak)
			sum += row[j]
		}
		for j := range row {
			row[j] /= sum
		}
	}
	probs, err := flexMod(ctx, o.probMod, scores, q.DType, scoreShape, "prob_mod")
	if err != nil {
		return nil, err
	}
	y := make([]float64, b*hq*l*ev)
	for bi := range b {
		for h := range hq {
			kh := bi*hkv + h/group
			for i := range l {
				p := probs[((bi*hq+h)*l+i)*s:][:s]
				dst := y[((bi*hq+h)*l+i)*ev:][:ev]
				for j, w := range p {
					vrow := vv[(kh*s+j)*ev:][:ev]
					for x := range ev {
						dst[x] += w * vrow[x]
					}
				}
			}
		}
	}
	return []*tensor.Tensor{float64sToDType(y, q.DType, []int{b, hq, l, ev})}, nil
}
