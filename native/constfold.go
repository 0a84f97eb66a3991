package native

import (
	"github.com/onnxkit/onnxkit/native/ops"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// maxFoldedElements bounds the elements of a value that compilation
// computes once and keeps in the plan: shape arithmetic and scalars fold,
// where a large Constant (weights that an exporter left as a node) or an
// Expand of one stays a step, so that the plan does not hold a second
// copy of it.
const maxFoldedElements = 1 << 16

// unfoldable are the operators whose outputs depend on more than their
// inputs and attributes: the run's random sources and training mode.
var unfoldable = map[string]bool{
	"RandomUniform": true, "RandomNormal": true, "RandomUniformLike": true, "RandomNormalLike": true,
	"Bernoulli": true, "Multinomial": true, "Dropout": true, "BatchNormalization": true,
}

// foldConstants computes, once, the steps whose every input is the
// output of such a step: Constant nodes and the arithmetic exporters
// build on them. Runs that record nothing skip those steps and read
// their outputs from p.precomputed, which they share: the values are the
// plan's, read-only, and their buffers are never recycled (constBuffers).
// The values are those the steps compute in such a run, bitwise (the
// same ops on the same inputs, in inference mode). Recording runs still
// run every step, so that their tapes and gradients are as before.
//
// Initializers do not fold: a run's caller may give other values for
// them, and training changes them. Nor do steps that fuse, that run
// subgraphs, that draw random numbers or depend on training mode, that
// fail (the run then reports the error as before), or whose outputs are
// not tensors of at most maxFoldedElements elements.
func (p *Program) foldConstants() {
	known := make([]*tensor.Tensor, len(p.names))
	for i := range p.steps {
		s := &p.steps[i]
		if !foldable(s) {
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
		s.precomputed = true
		for j, slot := range s.outputs {
			if slot < 0 {
				continue
			}
			known[slot] = out[j]
			p.precomputed = append(p.precomputed, slotValue{slot: slot, value: out[j]})
			if buf := bufferOf(out[j]); buf != nil {
				p.constBuffers[buf] = true
			}
		}
	}
}
