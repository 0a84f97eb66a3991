package native

import (
	"slices"

	"github.com/onnxkit/onnxkit/native/ops"
)

// foldChannelScales pairs every Mul step whose output one step alone
// reads, as its first input, with that step when its op, and its fused
// op if it has one, can read the product in place
// (ops.ChannelScaleFolder: a Conv, whose 1x1 products scale each input
// channel as they pack it). In runs that record nothing and keep not
// the Mul's output, when the Mul's inputs are a float32 feature map and
// its per-channel gate, in either order (ops.ChannelGate), the Mul does
// not run, and the reader reads both of its inputs. The
// squeeze-and-excitation blocks of MobileNet V3 and EfficientNet (the
// map times its gate, then the 1x1 projection) then never store the
// scaled map. Call it after fuseActivations and foldNormalizations.
func (p *Program) foldChannelScales() {
	producerOf, readers := p.producersAndReaders(true)
	for mi := range p.steps {
		m := &p.steps[mi]
		if _, ok := m.op.(ops.ChannelScaleFolder); !ok || m.lean != nil || m.absorbedBy != nil || m.folds[0] != nil ||
			len(m.inputs) == 0 {
			continue
		}
		dst := m.inputs[0]
		if dst < 0 || readers[dst] != 1 || p.keep[dst] || producerOf[dst] < 0 {
			continue
		}
		t := &p.steps[producerOf[dst]]
		if !ops.IsMul(t.op) || t.fused != nil || t.lean != nil || t.absorbedBy != nil || t.foldedInto != nil ||
			t.outFold != nil || t.folds != [2]*transposeFold{} || len(t.inputs) != 2 || slices.Contains(t.inputs, -1) ||
			len(t.outputs) != 1 || t.outputs[0] != dst {
			continue
		}
		f := &transposeFold{src: t.inputs[0], dst: dst, gate: t.inputs[1], gated: true}
		fold := func(op ops.Op, inputs []int) (ops.Op, []int, bool) {
			sf, ok := op.(ops.ChannelScaleFolder)
			if !ok {
				return nil, nil, false
			}
			folded := sf.FoldChannelScale()
			if folded == nil {
				return nil, nil, false
			}
			inputs = append(slices.Clone(inputs), f.gate)
			inputs[0] = f.src
			return folded, inputs, true
		}
		if !p.addFold(m, 0, f, fold) {
			continue
		}
		t.foldedInto = f
		for _, slot := range t.inputs {
			p.lastUse[slot] = max(p.lastUse[slot], mi)
			m.reads = append(m.reads, slot)
		}
	}
}
