package native

// PlannedPeak returns the largest total size, in bytes, of the values
// that a Run of the program holds at once, given the size of each value
// by name (ok false for a value whose size is not known before the run,
// which counts as 0). A step's outputs count from the step on, until
// their last reader has run; the graph outputs and the values named in
// keep count to the end. Inputs and initializers, which exist before the
// run, and the values inside subgraphs (If, Loop and Scan bodies) do not
// count. Views (Reshape, Identity) count as copies and fused steps as
// unfused ones, and the output of a Concat whose pieces are written in
// place (planConcats) counts from the step of the first of them, besides
// them, so where every size is known this bounds the run's value memory
// from above.
func (p *Program) PlannedPeak(size func(name string) (bytes int64, ok bool), keep ...string) int64 {
	kept := make([]bool, len(p.names))
	copy(kept, p.keep)
	for _, name := range keep {
		if slot := p.slotOf(name); slot >= 0 {
			kept[slot] = true
		}
	}
	bytes := make([]int64, len(p.names))
	for slot, name := range p.names {
		if n, ok := size(name); ok && n > 0 {
			bytes[slot] = n
		}
	}
	opens, closes := p.concatReservations(bytes)
	var live, peak int64
	for i, s := range p.steps {
		live += opens[i] - closes[i]
		for _, slot := range s.outputs {
			if slot >= 0 {
				live += bytes[slot]
			}
		}
		peak = max(peak, live)
		for _, slots := range [][]int{s.inputs, s.captureSlots, s.reads} {
			for _, slot := range slots {
				if slot >= 0 && !kept[slot] && p.lastUse[slot] == i {
					live -= bytes[slot]
					bytes[slot] = 0 // a value read twice by its last step frees once
				}
			}
		}
	}
	return peak
}

// concatReservations returns, by step, the bytes of the buffers of the
// in-place Concats (planConcats) that a run takes at the step, before
// the first of their pieces is computed, and those it no longer holds
// apart at the step, the Concat's own, which counts its output, given
// the size of each value by slot.
func (p *Program) concatReservations(bytes []int64) (opens, closes []int64) {
	opens, closes = make([]int64, len(p.steps)), make([]int64, len(p.steps))
	if p.concatPlaces == nil {
		return opens, closes
	}
	producer := make([]int, len(p.names))
	for i, s := range p.steps {
		for _, slot := range s.outputs {
			if slot >= 0 {
				producer[slot] = i
			}
		}
	}
	first := make([]int, len(p.concatGroups))
	for i := range first {
		first[i] = -1
	}
	for slot, pl := range p.concatPlaces {
		if pl == nil || pl.count != 1 {
			continue
		}
		if r := pl.group.root; first[r] < 0 || producer[slot] < first[r] {
			first[r] = producer[slot]
		}
	}
	for r, step := range first {
		if owner := producer[p.concatGroups[r].out]; step >= 0 && step < owner {
			opens[step] += bytes[p.concatGroups[r].out]
			closes[owner] += bytes[p.concatGroups[r].out]
		}
	}
	return opens, closes
}
