package native

import (
	"slices"

	"github.com/onnxkit/onnxkit/native/ops"
)

// foldNormalizations pairs every inference BatchNormalization step (its
// Relu fused into it, or no activation), whose output one step alone
// reads, as its first input, with that step when its op, and its fused
// op if it has one, can read the normalization's input through the
// normalization in place (ops.NormalizationFolder: a Conv, whose 1x1
// products map each input channel as they pack it). In runs that record
// nothing and keep neither the normalization's output nor its Relu's,
// on float32 input, the normalization (and the Relu it absorbed) does
// not run, and the reader reads its input and its four parameters.
// Pre-activation networks (DenseNet's BatchNormalization, Relu, 1x1
// Conv) then never store the normalized tensor. Call it after
// fuseActivations.
func (p *Program) foldNormalizations() {
	producerOf, readers := p.producersAndReaders(false)
	fusedAt := map[*fusion]int{} // the step of each fusion's producer
	for i, s := range p.steps {
		if s.fused != nil {
			fusedAt[s.fused] = i
		}
	}
	for mi := range p.steps {
		m := &p.steps[mi]
		if _, ok := m.op.(ops.NormalizationFolder); !ok || m.lean != nil || m.absorbedBy != nil || m.folds[0] != nil ||
			len(m.inputs) == 0 {
			continue
		}
		dst := m.inputs[0]
		if dst < 0 || readers[dst] != 1 || p.keep[dst] || producerOf[dst] < 0 {
			continue
		}
		ti := producerOf[dst]
		if fu := p.steps[ti].absorbedBy; fu != nil {
			// A Relu fused into its producer, the normalization.
			ti = fusedAt[fu]
		}
		t := &p.steps[ti]
		norm, ok := p.normalizationOf(t, dst)
		if !ok || t.lean != nil || t.absorbedBy != nil || t.foldedInto != nil || t.outFold != nil || t.folds != [2]*transposeFold{} {
			continue
		}
		f := &transposeFold{src: t.inputs[0], dst: dst}
		var absorbed []int // the Relu steps of the normalization's fusion
		if t.fused != nil {
			f.via = t.fused.via
			for ai := range p.steps {
				if p.steps[ai].absorbedBy == t.fused {
					absorbed = append(absorbed, ai)
				}
			}
		}
		stats := t.inputs[1:5]
		fold := func(op ops.Op, inputs []int) (ops.Op, []int, bool) {
			nf, ok := op.(ops.NormalizationFolder)
			if !ok {
				return nil, nil, false
			}
			folded := nf.FoldNormalization(norm)
			if folded == nil {
				return nil, nil, false
			}
			inputs = append(slices.Clone(inputs), stats...)
			inputs[0] = f.src
			return folded, inputs, true
		}
		if !p.addFold(m, 0, f, fold) {
			continue
		}
		t.foldedInto = f
		for _, ai := range absorbed {
			p.steps[ai].foldedInto = f
		}
		for _, slot := range t.inputs {
			p.lastUse[slot] = max(p.lastUse[slot], mi)
			m.reads = append(m.reads, slot)
		}
	}
}

// normalizationOf returns the normalization the step t computes, whose
// output (or fused Relu's) is the slot out, and whether it computes one
// a reader can fold: an inference BatchNormalization of five inputs
// and one output, with no fusion or with its Relu alone fused.
func (p *Program) normalizationOf(t *step, out int) (ops.Normalization, bool) {
	if len(t.inputs) != 5 || slices.Contains(t.inputs, -1) || len(t.outputs) == 0 ||
		slices.ContainsFunc(t.outputs[1:], func(slot int) bool { return slot >= 0 }) {
		return ops.Normalization{}, false
	}
	if t.fused == nil {
		n, ok := ops.NormalizationOf(t.op)
		return n, ok && t.outputs[0] == out
	}
	n, ok := ops.NormalizationOf(t.fused.op)
	return n, ok && n.Relu && len(t.fused.inputs) == 5 && len(t.fused.outputs) == 1 && t.fused.outputs[0] == out &&
		len(t.fused.via) > 0
}
