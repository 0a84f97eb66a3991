package native

import (
	"github.com/onnxkit/onnxkit/native/ops"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// maxFoldedElements bounds the elements of a value that compilation
// computes once and keeps in the plan: shape arithmetic and scalars fold,
// where a large computed value (an Expand of a constant, say) stays a
// step, so that the plan does not hold a second copy of its input. A
// Constant's value, which its op holds anyway, folds at any size.
const maxFoldedElements = 1 << 16

// unfoldable are the operators whose outputs depend on more than their
// inputs and attributes: the run's random sources and training mode.
var unfoldable = map[string]bool{
	"RandomUniform": true, "RandomNormal": true, "RandomUniformLike": true, "RandomNormalLike": true,
	"Bernoulli": true, "Multinomial": true, "Dropout": true, "BatchNormalization": true,
}

// foldConstants computes, once, the steps whose every input is the
// output of such a step: Constant nodes and the arithmetic exporters
// build on them. It is the project's one constant folding (graph/passes
// evaluates no operator), so a Session folds the same values at every
// optimisation level, and the nodes keep their names (cmd/run
// --bisect). Runs that record nothing skip those steps and read their
// outputs from p.precomputed, which they share: the values are the
// plan's, read-only, and their buffers are never recycled (constBuffers).
// The values are those the steps compute in such a run, bitwise (the
// same ops on the same inputs, in inference mode). Recording runs still
// run every step, so that their tapes and gradients are as before.
//
// The folded values count as the plan's constants (constAt): ops may
// prepare forms of them (packed weights), as of initializers, which
// matters for the weights some exporters leave in Constant nodes.
//
// Initializers do not fold: a run's caller may give other values for
// them, and training changes them. Nor do steps that fuse, that run
// subgraphs, that draw random numbers or depend on training mode, that
// fail (the run then reports the error as before), or whose outputs are
// not tensors of at most maxFoldedElements elements (but for a
// Constant's).
func (p *Program) foldConstants() {
	known := make([]*tensor.Tensor, len(p.names))
	for i := range p.steps {
		s := &p.steps[i]
		if !foldable(s) {
			continue
		}
		if value, ok := ops.ConstantTensor(s.op); ok && len(s.outputs) == 1 && s.outputs[0] >= 0 && value.Kind == tensor.Dense {
			p.precompute(s, known, []*tensor.Tensor{value})
			continue
		}
		in := make([]*tensor.Tensor, len(s.inputs))
		ready := true
		for j, slot := range s.inputs {
			if slot >= 0 {
				in[j] = known[slot]
				ready = ready && in[j] != nil
			}
		}
		if !ready {
			s.memo = newStepMemo(s)
			continue
		}
		ctx := &ops.Context{}
		out, err := s.op.Forward(ctx, in)
		if err != nil || len(out) < len(s.outputs) || len(ctx.Updates) > 0 {
			s.memo = newStepMemo(s)
			continue
		}
		fits := true
		for j, slot := range s.outputs {
			t := out[j]
			fits = fits && (slot < 0 || t != nil && t.Kind == tensor.Dense && t.Len() <= maxFoldedElements)
		}
		if !fits {
			s.memo = newStepMemo(s)
			continue
		}
		p.precompute(s, known, out)
	}
}

// precompute makes out the values of s's outputs in the plan: s is
// skipped by runs that record nothing, which read out from
// p.precomputed, and known, the values folded so far by slot, gets out.
func (p *Program) precompute(s *step, known, out []*tensor.Tensor) {
	s.precomputed = true
	for j, slot := range s.outputs {
		if slot < 0 {
			continue
		}
		known[slot] = out[j]
		p.constAt[slot] = out[j]
		p.precomputed = append(p.precomputed, slotValue{slot: slot, value: out[j]})
		if buf := bufferOf(out[j]); buf != nil {
			p.constBuffers[buf] = true
		}
	}
}
