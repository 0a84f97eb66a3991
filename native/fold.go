package native

import (
	"slices"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/ops"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// transposeFold is a Transpose step whose output only one step reads,
// with an op that can read the Transpose's input in place instead
// (ops.TransposeFolder: a MatMul, fed attention's heads): in runs that
// record nothing and keep not the Transpose's output, on float32 input,
// the Transpose does not run, and the reader reads its input.
//
// A normalization read through in place (foldNormalizations) is such a
// fold too: src is the normalization's input, dst its output (or its
// fused Relu's), which the reader reads through the normalization. So
// is a Mul by a per-channel gate read through in place
// (foldChannelScales): src and gate are the Mul's inputs, dst its
// output, and the Mul is skipped only when they are a map and its gate.
type transposeFold struct {
	src, dst int // the Transpose's input and output slots
	// gated says that the skipped step is a Mul of src by gate, skipped
	// only when one is a feature map and the other its per-channel gate
	// (ops.ChannelGate).
	gated bool
	gate  int
	// via are the other values that the skipped steps would have
	// produced (a normalization's output, read by its fused Relu): a
	// run that keeps one runs them.
	via []int
}

// skips reports whether the Transpose of f (nil for none) is to be
// skipped in a run that keeps keep and records or not, given the run's
// values.
func (f *transposeFold) skips(values []*tensor.Tensor, keep []bool, record bool) bool {
	if f == nil || record || keep[f.dst] || slices.ContainsFunc(f.via, func(v int) bool { return keep[v] }) {
		return false
	}
	x := values[f.src]
	if f.gated {
		g := values[f.gate]
		_, ok := ops.ChannelGate(x, g)
		if !ok {
			_, ok = ops.ChannelGate(g, x)
		}
		return ok
	}
	return x != nil && x.Kind == tensor.Dense && x.DType == graph.Float32
}

// skipped reports whether the Transpose of f (nil for none), whose step
// came before, was skipped: its input has a value and its output none.
func (f *transposeFold) skipped(values []*tensor.Tensor) bool {
	return f != nil && values[f.dst] == nil && values[f.src] != nil
}

// writes reports whether the step of f.src's producer, given the values
// of its input slots, is to write f.dst, the Transpose's output, in
// place of f.src in a run that keeps keep and records or not: on float32
// inputs of two axes or more.
func (f *transposeFold) writes(values []*tensor.Tensor, inputs []int, keep []bool, record bool) bool {
	if f == nil || record || keep[f.src] || len(inputs) < 2 {
		return false
	}
	for _, slot := range inputs[:2] {
		if slot < 0 {
			return false
		}
		x := values[slot]
		if x == nil || x.Kind != tensor.Dense || x.DType != graph.Float32 || x.Rank() < 2 {
			return false
		}
	}
	return true
}

// written reports whether the Transpose of f (nil for none) had its
// output written by the step before it: its output has a value and its
// input none.
func (f *transposeFold) written(values []*tensor.Tensor) bool {
	return f != nil && values[f.src] == nil && values[f.dst] != nil
}

// foldedStep is the op of a step that reads inputs through Transposes in
// place, and its input slots, for one set of skipped Transposes; fused
// and fusedInputs are those of the step's fusion. outputs, when not nil,
// are its output slots (the Transpose's output it writes).
type foldedStep struct {
	op, fused           ops.Op
	inputs, fusedInputs []int
	outputs             []int
}

// foldOutputTransposes pairs every Transpose step with an explicit perm,
// that reads the one output of a step no fusion extends and nothing else
// reads, with that step when its op can write the Transpose's output in
// place of its own (ops.TransposeFolder): the step gets the variants of
// its op that do, for each set of its skipped input Transposes. A
// Transpose whose reader reads its input in place (foldTransposes, which
// must run first) keeps that fold.
func (p *Program) foldOutputTransposes() {
	producerOf, readers := p.producersAndReaders(true)
	for ti := range p.steps {
		t := &p.steps[ti]
		perm, ok := ops.TransposePerm(t.op)
		if !ok || t.foldedInto != nil || len(t.inputs) != 1 || len(t.outputs) != 1 || t.outputs[0] < 0 {
			continue
		}
		v := t.inputs[0]
		if v < 0 || readers[v] != 1 || p.keep[v] || producerOf[v] < 0 {
			continue
		}
		m := &p.steps[producerOf[v]]
		if _, ok := m.op.(ops.TransposeFolder); !ok || m.fused != nil || m.lean != nil || m.absorbedBy != nil ||
			len(m.outputs) != 1 || m.outputs[0] != v || m.outFold != nil {
			continue
		}
		var variants [4]foldedStep
		valid := true
		for mask := range variants {
			base := foldedStep{op: m.op, inputs: m.inputs}
			if mask != 0 {
				if m.folded == nil {
					continue
				}
				base = m.folded[mask]
			}
			if base.op == nil {
				continue // no such set of input folds
			}
			f, _ := base.op.(ops.TransposeFolder)
			var op ops.Op
			if f != nil {
				op = f.FoldOutputTranspose(perm)
			}
			if op == nil {
				valid = false
				break
			}
			variants[mask] = foldedStep{op: op, inputs: base.inputs, outputs: []int{t.outputs[0]}}
		}
		if !valid {
			continue
		}
		fold := &transposeFold{src: v, dst: t.outputs[0]}
		m.outFold, m.outFolded, t.writtenBy = fold, &variants, fold
	}
}

// foldTransposes pairs every Transpose step with an explicit perm whose
// output one step alone reads, as its first or second input, with that
// step when its op (and its fused op, if it has one) can read the
// Transpose's input in place: each such step gets the variants of its
// op for each set of skipped Transposes. Call it after fuseActivations.
func (p *Program) foldTransposes() {
	producerOf, readers := p.producersAndReaders(false)
	for mi := range p.steps {
		m := &p.steps[mi]
		if _, ok := m.op.(ops.TransposeFolder); !ok || m.lean != nil || m.absorbedBy != nil {
			continue
		}
		for i := 0; i < 2 && i < len(m.inputs); i++ {
			dst := m.inputs[i]
			if dst < 0 || readers[dst] != 1 || p.keep[dst] || producerOf[dst] < 0 {
				continue
			}
			ti := producerOf[dst]
			t := &p.steps[ti]
			perm, ok := ops.TransposePerm(t.op)
			if !ok || len(t.inputs) != 1 || t.inputs[0] < 0 || t.fused != nil || t.absorbedBy != nil {
				continue
			}
			if p.addFold(m, i, &transposeFold{src: t.inputs[0], dst: dst}, transposeFolder(i, perm, t.inputs[0])) {
				t.foldedInto = m.folds[i]
				p.lastUse[t.inputs[0]] = max(p.lastUse[t.inputs[0]], mi)
				m.reads = append(m.reads, t.inputs[0])
			}
		}
	}
}

// folder returns the variant of op, with input slots inputs, that reads
// one of its inputs in place through the step a fold skips, and the
// variant's input slots, or false when op cannot.
type folder func(op ops.Op, inputs []int) (ops.Op, []int, bool)

// transposeFolder is the folder of input i read through a Transpose by
// perm of the value in slot src.
func transposeFolder(i int, perm []int, src int) folder {
	return func(op ops.Op, inputs []int) (ops.Op, []int, bool) {
		f, ok := op.(ops.TransposeFolder)
		if !ok {
			return nil, nil, false
		}
		folded := f.FoldTranspose(i, perm)
		if folded == nil {
			return nil, nil, false
		}
		inputs = slices.Clone(inputs)
		inputs[i] = src
		return folded, inputs, true
	}
}

// addFold gives m the fold f of its input i, which fold gives the
// variants of its ops for, and reports whether its ops can read the
// skipped step's input in place.
func (p *Program) addFold(m *step, i int, f *transposeFold, fold folder) bool {
	var folded [4]foldedStep
	if m.folded != nil {
		folded = *m.folded
	}
	folds := m.folds
	folds[i] = f
	for mask := 1; mask < len(folded); mask++ {
		if mask&(1<<i) == 0 || folds[1-i] == nil && mask != 1<<i {
			continue
		}
		// The variant with input i folded: from the one without it, or
		// from the plain op when that is the only other fold.
		prev := mask &^ (1 << i)
		base := foldedStep{op: m.op, inputs: m.inputs}
		if m.fused != nil {
			base.fused, base.fusedInputs = m.fused.op, m.fused.inputs
		}
		if prev != 0 {
			base = folded[prev]
		}
		v, ok := foldInput(base, fold)
		if !ok {
			return false
		}
		folded[mask] = v
	}
	m.folds, m.folded = folds, &folded
	return true
}

// foldInput returns the variant of v that fold gives, and whether its
// ops can.
func foldInput(v foldedStep, fold folder) (foldedStep, bool) {
	var out foldedStep
	var ok bool
	if out.op, out.inputs, ok = fold(v.op, v.inputs); !ok {
		return out, false
	}
	if v.fused != nil {
		if out.fused, out.fusedInputs, ok = fold(v.fused, v.fusedInputs); !ok {
			return out, false
		}
	}
	return out, true
}

// foldedInputs returns the input slots of s for the set mask of its
// skipped input Transposes.
func (s *step) foldedInputs(mask int) []int {
	if mask == 0 {
		return s.inputs
	}
	return s.folded[mask].inputs
}

// foldMask returns the set of s's inputs (bit i for input i) whose
// Transposes were skipped in this run.
func (s *step) foldMask(values []*tensor.Tensor) int {
	mask := 0
	for i, f := range s.folds {
		if f.skipped(values) {
			mask |= 1 << i
		}
	}
	return mask
}

// producersAndReaders returns, for every value slot, the step that
// produces it (-1 for none: inputs, initializers) and how many times the
// steps read it (inputs and subgraph captures, and with foldReads also
// the values that folded steps read in place of a skipped one).
func (p *Program) producersAndReaders(foldReads bool) (producerOf, readers []int) {
	producerOf = make([]int, len(p.names))
	readers = make([]int, len(p.names))
	for i := range producerOf {
		producerOf[i] = -1
	}
	for i, s := range p.steps {
		for _, slot := range s.outputs {
			if slot >= 0 {
				producerOf[slot] = i
			}
		}
		read := slices.Concat(s.inputs, s.captureSlots)
		if foldReads {
			read = append(read, s.reads...)
		}
		for _, slot := range read {
			if slot >= 0 {
				readers[slot]++
			}
		}
	}
	return producerOf, readers
}
