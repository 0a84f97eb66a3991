package native

// PlannedPeak returns the largest total size, in bytes, of the values
// that a Run of the program holds at once, given the size of each value
// by name (ok false for a value whose size is not known before the run,
// which counts as 0). A step's outputs count from the step on, until
// their last reader has run; the graph outputs and the values named in
// keep count to the end. Inputs and initializers, which exist before the
// run, and the values inside subgraphs (If, Loop and Scan bodies) do not
// count. Views (Reshape, Identity) count as copies and fused steps as
// unfused ones, so where every size is known this bounds the run's value
// memory from above.
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
	var live, peak int64
	for i, s := range p.steps {
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
