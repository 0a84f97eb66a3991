package ops

// CausalConvWithState (opset 27), the depthwise causal convolution of
// state-space and hybrid language models, with its rolling state:
//
//	input [B, C, L], weight [C, 1, K], bias [C] (optional),
//	past_state [B, C, K-1] (optional, zeros)
//	->  output [B, C, L], present_state [B, C, K-1]
//
// The padded signal is past_state followed by input along the time axis;
// output[b, c, t] = bias[c] + sum_k weight[c, 0, k] * padded[b, c, t+k],
// then attribute activation: "none" (default), or "silu" (alias "swish"),
// y * sigmoid(y), applied to the convolution rounded to the input's type.
// present_state is the last K-1 steps of the padded signal.

import (
	"fmt"
	"math"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// nnCausalconvOps is the operator table of nn_causalconv.go (see registry.go).
var nnCausalconvOps = []Entry{
	{OpType: "CausalConvWithState", Since: []int64{27}, Build: newCausalConvWithState},
}

// causalConvWithState is CausalConvWithState.
type causalConvWithState struct{ silu bool }

func newCausalConvWithState(n *graph.Node, _ int64) (Op, error) {
	act, err := n.Declared().String("activation")
	if err != nil {
		return nil, err
	}
	switch act {
	case "none", "silu", "swish":
	default:
		return nil, attrError(n, "activation", "is %q, want none, silu or swish", act)
	}
	return &causalConvWithState{silu: act != "none"}, nil
}

// Forward convolves and returns the output and the new state.
func (o *causalConvWithState) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 2, 4); err != nil {
		return nil, err
	}
	x, w := in[0], in[1]
	if !isFloatDType(x.DType) || x.Rank() != 3 {
		return nil, fmt.Errorf("input is %v, want a floating-point [B, C, L]", x)
	}
	b, c, l := x.Shape[0], x.Shape[1], x.Shape[2]
	if w.Rank() != 3 || w.Shape[0] != c || w.Shape[1] != 1 || w.Shape[2] < 1 {
		return nil, fmt.Errorf("weight %v: want [%d, 1, K]", w.Shape, c)
	}
	k := w.Shape[2]
	xv, err := floatValues(x, "input")
	if err != nil {
		return nil, err
	}
	wv, err := floatValues(w, "weight")
	if err != nil {
		return nil, err
	}
	var bias, past []float64
	if t := optionalInput(in, 2); t != nil {
		if t.Len() != c {
			return nil, fmt.Errorf("bias %v: want [%d]", t.Shape, c)
		}
		if bias, err = floatValues(t, "bias"); err != nil {
			return nil, err
		}
	}
	if t := optionalInput(in, 3); t != nil {
		if t.Rank() != 3 || t.Shape[0] != b || t.Shape[1] != c || t.Shape[2] != k-1 {
			return nil, fmt.Errorf("past_state %v: want [%d, %d, %d]", t.Shape, b, c, k-1)
		}
		if past, err = floatValues(t, "past_state"); err != nil {
			return nil, err
		}
	}
	span := l + k - 1
	padded := make([]float64, span)
	y := make([]float64, b*c*l)
	state := make([]float64, b*c*(k-1))
	for bc := range b * c {
		clear(padded)
		if past != nil {
			copy(padded, past[bc*(k-1):(bc+1)*(k-1)])
		}
		copy(padded[k-1:], xv[bc*l:(bc+1)*l])
		ch := bc % c
		for t := range l {
			sum := 0.0
			if bias != nil {
				sum = bias[ch]
			}
			for j := range k {
				sum += wv[ch*k+j] * padded[t+j]
			}
			y[bc*l+t] = sum
		}
		copy(state[bc*(k-1):], padded[span-(k-1):])
	}
	out := float64sToDType(y, x.DType, x.Shape)
	if o.silu {
		// The activation reads the convolution as the input's type holds it.
		rounded, err := out.Float64s()
		if err != nil {
			return nil, err
		}
		for i, v := range rounded {
			rounded[i] = v / (1 + math.Exp(-v))
		}
		out = float64sToDType(rounded, x.DType, x.Shape)
	}
	return []*tensor.Tensor{out, float64sToDType(state, x.DType, []int{b, c, k - 1})}, nil
}
