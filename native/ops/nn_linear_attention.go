package ops

// LinearAttention (opset 27): attention with a recurrent state, as in
// linear-attention, gated and delta-rule (DeltaNet, Gated DeltaNet)
// layers. Shapes (3-D, heads packed in the last axis):
//
//	query [B, T, Hq*dk], key [B, T, Hkv*dk], value [B, T, Hkv*dv],
//	past_state [B, Hkv, dk, dv] (optional, zeros),
//	decay [B, T, Hkv] or [B, T, Hkv*dk] (log-space gate, optional),
//	beta [B, T, Hkv] or [B, T, 1] (optional)
//	->  output [B, T, Hq*dv], present_state [B, Hkv, dk, dv]
//
// For each kv head, step by step, with G = exp(decay_t) (per head, or per
// row of the state for a per-key-dim decay):
//
//	linear:       S = S + k v^T
//	gated:        S = G S + k v^T
//	delta:        S = S + k (beta (v - S^T k))^T
//	gated_delta:  S = G S;  S = S + k (beta (v - S^T k))^T   (default)
//
// and output_t = scale * S^T q_t for each query head, query head h
// reading kv head h / (Hq/Hkv). scale defaults to 1/sqrt(dk).
// Attributes: q_num_heads, kv_num_heads, update_rule, scale.

import (
	"fmt"
	"math"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// nnLinearAttentionOps is the operator table of nn_linear_attention.go (see registry.go).
var nnLinearAttentionOps = []Entry{
	{OpType: "LinearAttention", Since: []int64{27}, Build: newLinearAttention},
}

// linearAttention is LinearAttention.
type linearAttention struct {
	qHeads, kvHeads int
	gated, delta    bool
	scale           float64 // 0: 1/sqrt(dk)
}

func newLinearAttention(n *graph.Node, _ int64) (Op, error) {
	ints, err := n.Declared().IntList("q_num_heads", "kv_num_heads")
	if err != nil {
		return nil, err
	}
	q, kv := ints[0], ints[1]
	if q < 1 || kv < 1 || q%kv != 0 {
		return nil, attrError(n, "q_num_heads", "q_num_heads %d and kv_num_heads %d: want positive counts, the first a multiple of the second", q, kv)
	}
	rule, err := n.Declared().String("update_rule")
	if err != nil {
		return nil, err
	}
	o := &linearAttention{qHeads: int(q), kvHeads: int(kv)}
	switch rule {
	case "linear":
	case "gated":
		o.gated = true
	case "delta":
		o.delta = true
	case "gated_delta":
		o.gated, o.delta = true, true
	default:
		return nil, attrError(n, "update_rule", "is %q, want linear, gated, delta or gated_delta", rule)
	}
	s, err := n.Declared().Float("scale")
	if err != nil {
		return nil, err
	}
	o.scale = float64(s)
	return o, nil
}

// Forward runs the recurrence over the sequence.
func (o *linearAttention) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 3, 6); err != nil {
		return nil, err
	}
	q, k, v := in[0], in[1], in[2]
	if !isFloatDType(q.DType) || q.Rank() != 3 || k.Rank() != 3 || v.Rank() != 3 {
		return nil, fmt.Errorf("query %v, key %v and value %v: want floating-point [B, T, heads*size]", q, k, v)
	}
	b, t := q.Shape[0], q.Shape[1]
	if k.Shape[0] != b || v.Shape[0] != b || k.Shape[1] != t || v.Shape[1] != t ||
		q.Shape[2]%o.qHeads != 0 || k.Shape[2]%o.kvHeads != 0 || v.Shape[2]%o.kvHeads != 0 ||
		q.Shape[2]/o.qHeads != k.Shape[2]/o.kvHeads {
		return nil, fmt.Errorf("query %v, key %v and value %v do not fit %d query and %d kv heads", q.Shape, k.Shape, v.Shape, o.qHeads, o.kvHeads)
	}
	dk, dv := k.Shape[2]/o.kvHeads, v.Shape[2]/o.kvHeads
	qv, err := floatValues(q, "query")
	if err != nil {
		return nil, err
	}
	kvals, err := floatValues(k, "key")
	if err != nil {
		return nil, err
	}
	vv, err := floatValues(v, "value")
	if err != nil {
		return nil, err
	}
	state := make([]float64, b*o.kvHeads*dk*dv)
	if p := optionalInput(in, 3); p != nil {
		if p.Len() != len(state) {
			return nil, fmt.Errorf("past_state %v: want [%d, %d, %d, %d]", p.Shape, b, o.kvHeads, dk, dv)
		}
		if state, err = floatValues(p, "past_state"); err != nil {
			return nil, err
		}
		state = append([]float64(nil), state...)
	}
	decay, decayWidth, err := o.perToken(optionalInput(in, 4), "decay", b, t, []int{o.kvHeads, o.kvHeads * dk})
	if err != nil {
		return nil, err
	}
	beta, betaWidth, err := o.perToken(optionalInput(in, 5), "beta", b, t, []int{o.kvHeads, 1})
	if err != nil {
		return nil, err
	}
	scale := o.scale
	if scale == 0 {
		scale = 1 / math.Sqrt(float64(dk))
	}
	group := o.qHeads / o.kvHeads
	out := make([]float64, b*t*o.qHeads*dv)
	pred := make([]float64, dv)
	for bi := range b {
		for step := range t {
			row := bi*t + step
			for h := range o.kvHeads {
				s := state[(bi*o.kvHeads+h)*dk*dv : (bi*o.kvHeads+h+1)*dk*dv]
				kk := kvals[row*o.kvHeads*dk+h*dk : row*o.kvHeads*dk+(h+1)*dk]
				vk := vv[row*o.kvHeads*dv+h*dv : row*o.kvHeads*dv+(h+1)*dv]
				if o.gated && decay != nil {
					for i := range dk {
						g := decay[row*decayWidth+h]
						if decayWidth != o.kvHeads {
							g = decay[row*decayWidth+h*dk+i]
						}
						e := math.Exp(g)
						for j := range dv {
							s[i*dv+j] *= e
						}
					}
				}
				if o.delta {
					bt := 1.0
					if beta != nil {
						bt = beta[row*betaWidth+min(h, betaWidth-1)]
					}
					for j := range dv {
						sum := 0.0
						for i := range dk {
							sum += s[i*dv+j] * kk[i]
						}
						pred[j] = bt * (vk[j] - sum)
					}
				} else {
					copy(pred, vk)
				}
				for i := range dk {
					for j := range dv {
						s[i*dv+j] += kk[i] * pred[j]
					}
				}
				for g := range group {
					qh := h*group + g
					qq := qv[row*o.qHeads*dk+qh*dk : row*o.qHeads*dk+(qh+1)*dk]
					dst := out[row*o.qHeads*dv+qh*dv : row*o.qHeads*dv+(qh+1)*dv]
					for j := range dv {
						sum := 0.0
						for i := range dk {
							sum += s[i*dv+j] * qq[i]
						}
						dst[j] = scale * sum
					}
				}
			}
		}
	}
	return []*tensor.Tensor{
		float64sToDType(out, q.DType, []int{b, t, o.qHeads * dv}),
		float64sToDType(state, q.DType, []int{b, o.kvHeads, dk, dv}),
	}, nil
}

// perToken reads an optional [B, T, width] input, width one of widths.
func (o *linearAttention) perToken(x *tensor.Tensor, name string, b, t int, widths []int) ([]float64, int, error) {
	if x == nil {
		return nil, 0, nil
	}
	if x.Rank() != 3 || x.Shape[0] != b || x.Shape[1] != t {
		return nil, 0, fmt.Errorf("%s %v: want [%d, %d, %v]", name, x.Shape, b, t, widths)
	}
	w := x.Shape[2]
	if w != widths[0] && w != widths[1] {
		return nil, 0, fmt.Errorf("%s %v: want a last axis of %d or %d", name, x.Shape, widths[0], widths[1])
	}
	vals, err := floatValues(x, name)
	return vals, w, err
}
