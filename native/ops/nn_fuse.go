package ops

import (
	"fmt"
	"math"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/graph/passes"
	"github.com/onnxkit/onnxkit/native/kernels"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// Variants of operators for inference runs, which keep nothing for a
// backward pass. The executor picks them; the model is not changed.

// Epilogue is what a fused op does to its first output before storing
// it, in this order: add a bias along the last axis, add a residual of
// the output's shape, apply an activation. The bias and the residual
// are extra inputs after the op's own, in that order.
type Epilogue struct {
	// Scale, when not nil, multiplies or divides the output by a
	// scalar first (MatMul only).
	Scale          *kernels.Scale
	Bias, Residual bool
	Act            kernels.Activation
}

// EpilogueFuser is an Op that can apply an epilogue to its first output
// as it stores it, as Conv, Gemm and MatMul do: the nodes that read the
// output (a bias Add, a residual Add, an activation) then cost no pass
// over memory of their own.
type EpilogueFuser interface {
	Op
	// FuseEpilogue returns the op followed by e, or nil when it cannot
	// apply e. On float32 the fused op computes bitwise what the op and
	// the nodes of e compute. Only a fused Relu alone keeps the op's
	// Backward; the others are for runs that record nothing.
	FuseEpilogue(e Epilogue) Op
}

// TransposeFolder is an Op that can read an input through a Transpose,
// in place, instead of the Transpose's output (MatMul, whose operands
// are attention's heads split by Transposes): the Transpose then need
// not run.
type TransposeFolder interface {
	Op
	// FoldTranspose returns the op given, as input i, the input of a
	// Transpose by perm rather than its output, or nil when it cannot
	// read that transpose in place. On float32 the folded op computes
	// what the Transpose and the op compute, to rounding; it has no
	// Backward.
	FoldTranspose(i int, perm []int) Op
	// FoldOutputTranspose returns the op writing, in place of its
	// output, the output's Transpose by perm, or nil when it cannot.
	// The folded op takes inputs of two axes or more.
	FoldOutputTranspose(perm []int) Op
}

// TransposePerm returns the permutation of a Transpose op whose perm
// attribute is explicit, and whether op is one.
func TransposePerm(op Op) ([]int, bool) {
	t, ok := op.(transposeOp)
	return t.perm, ok && t.perm != nil
}

// Leaner is an Op with a cheaper variant for runs that keep nothing for
// Backward: MaxPool without Indices need not record where each maximum
// was.
type Leaner interface {
	Op
	// Lean returns the variant, with the same outputs, or the op itself
	// when it has none.
	Lean() Op
}

// fusibleActivations maps the activations graph/passes recognises to the
// kernels' epilogues.
var fusibleActivations = map[passes.ActivationKind]kernels.ActivationKind{
	passes.ActRelu:        kernels.ActRelu,
	passes.ActClip:        kernels.ActClip,
	passes.ActLeakyRelu:   kernels.ActLeakyRelu,
	passes.ActHardSigmoid: kernels.ActHardSigmoid,
	passes.ActHardSwish:   kernels.ActHardSwish,
	passes.ActSigmoid:     kernels.ActSigmoid,
	passes.ActTanh:        kernels.ActTanh,
	passes.ActSiLU:        kernels.ActSiLU,
	passes.ActGelu:        kernels.ActGelu,
	passes.ActErfGelu:     kernels.ActErfGelu,
	passes.ActSoftmax:     kernels.ActSoftmax,
}

// FusionCapabilities returns what the engine fuses, for
// passes.FuseActivations: every elementwise activation of
// fusibleActivations into Conv, Gemm, MatMul and BatchNormalization
// (pre-activation networks normalize, then activate), Softmax along the last
// axis into MatMul (whose epilogues see whole rows), the residual Add
// into Conv and MatMul, and the scale and the bias Add into MatMul
// (EpilogueFuser).
func FusionCapabilities() passes.Capabilities {
	kinds := make([]passes.ActivationKind, 0, len(fusibleActivations))
	for k := range fusibleActivations {
		if k != passes.ActSoftmax {
			kinds = append(kinds, k)
		}
	}
	return passes.Capabilities{
		Activations: map[string][]passes.ActivationKind{"Conv": kinds, "Gemm": kinds, "MatMul": append(slices.Clone(kinds), passes.ActSoftmax),
			"BatchNormalization": kinds},
		Bias:     map[string]bool{"MatMul": true},
		Scale:    map[string]bool{"MatMul": true},
		Residual: map[string]bool{"Conv": true, "MatMul": true},
	}
}

// KernelScale returns the epilogue's scale for s (nil for nil). A
// division by a power of two becomes the multiplication by its inverse,
// which rounds every quotient the same (both are the exact value,
// rounded once) and costs a fraction of a division: attention's scores
// divided by 8.
func KernelScale(s *passes.Scale) *kernels.Scale {
	if s == nil {
		return nil
	}
	if inv := 1 / float64(s.By); s.Divide && exactInverse(s.By) {
		return &kernels.Scale{By: float32(inv)}
	}
	return &kernels.Scale{By: s.By, Divide: s.Divide}
}

// exactInverse reports whether v is a power of two whose inverse is a
// normal float32, so that x/v and x*(1/v) are the same float32 for
// every x.
func exactInverse(v float32) bool {
	frac, exp := math.Frexp(float64(v))
	return frac == 0.5 && exp >= -125 && exp <= 127
}

// KernelActivation returns the epilogue that computes a; the identity
// for a Kind of 0 (no activation). It reports false for an activation
// the kernels do not have.
func KernelActivation(a passes.Activation) (kernels.Activation, bool) {
	if a.Kind == 0 {
		return kernels.Activation{}, true
	}
	k, ok := fusibleActivations[a.Kind]
	return kernels.Activation{Kind: k, Alpha: a.Alpha, Beta: a.Beta}, ok
}

// epilogueInputs splits the inputs of an op fused with e into the op's
// own, the bias and the residual (nil when e has none).
func epilogueInputs(e Epilogue, in []*tensor.Tensor) (own []*tensor.Tensor, bias, residual *tensor.Tensor, err error) {
	extra := 0
	if e.Bias {
		extra++
	}
	if e.Residual {
		extra++
	}
	if len(in) < extra {
		return nil, nil, nil, fmt.Errorf("a fused op with %d epilogue inputs got %d inputs", extra, len(in))
	}
	own, rest := in[:len(in)-extra], in[len(in)-extra:]
	if e.Bias {
		bias, rest = rest[0], rest[1:]
	}
	if e.Residual {
		residual = rest[0]
	}
	return own, bias, residual, nil
}

// residualFallback returns act(y + r) for a residual r whose shape is
// not y's, which the epilogues do not add: through the Add op, with its
// broadcasting and errors, then the activation, as the unfused nodes.
func residualFallback(ctx *Context, y, r *tensor.Tensor, act kernels.Activation) ([]*tensor.Tensor, error) {
	out, err := (&arith{kind: arithAdd}).Forward(ctx, []*tensor.Tensor{y, r})
	if err != nil {
		return nil, err
	}
	if out[0].DType != graph.Float32 {
		return nil, fmt.Errorf("residual sum of type %v, want float32", out[0].DType)
	}
	if act.Kind == kernels.ActIdentity {
		return out, nil
	}
	v := out[0].F32()
	if act.Kind == kernels.ActSoftmax { // by rows of the last axis
		n := 1
		if r := len(out[0].Shape); r > 0 {
			n = out[0].Shape[r-1]
		}
		if n == 0 {
			return out, nil
		}
		parallel.For(len(v)/n, max(1, ewGrain/(16*n)), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				act.Apply(v[i*n:(i+1)*n], v[i*n:(i+1)*n])
			}
		})
		return out, nil
	}
	parallel.For(len(v), ewGrain/16, func(lo, hi int) { act.Apply(v[lo:hi], v[lo:hi]) })
	return out, nil
}

// sameShape reports whether the residual r has y's shape and type.
func sameShape(r *tensor.Tensor, shape []int) bool {
	return r != nil && r.Kind == tensor.Dense && r.DType == graph.Float32 && slices.Equal(r.Shape, shape)
}
