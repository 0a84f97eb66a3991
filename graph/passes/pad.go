package passes

import (
	"slices"

	"github.com/onnxkit/onnxkit/graph"
)

// FoldPad returns a copy of m without the Pad nodes that a neighbour
// does better; m is not changed. A Pad that adds nothing (every pad 0)
// is bypassed, as an Identity is (PyTorch exports an AvgPool2d as a Pad
// of zeros and an AveragePool: each of DenseNet-121's three transitions
// copied its input for nothing, 0.24 ms a run on one thread). A Pad of
// zeros along the spatial axes only, whose output only a Conv reads (as
// its input X, with explicit pads), becomes that Conv's padding, and so
// for an AveragePool that counts the padding (count_include_pad 1, not in
// ceil mode); a Pad before a MaxPool pads with zeros where MaxPool's own
// padding never wins, and stays. Only constant-mode Pads with constant
// pads (an initializer or a Constant node) are rewritten, and the result
// is the same up to the order of the sums.
func FoldPad(m *graph.Model) (*graph.Model, error) {
	c, err := cloneModel(m)
	if err != nil {
		return nil, err
	}
	g := c.Graph
	x := newIndex(c, g)
	for _, n := range slices.Clone(g.Nodes) {
		if !isDefault(n, "Pad") || len(n.Inputs) == 0 || len(n.Outputs) != 1 || n.Outputs[0] == "" {
			continue
		}
		pads, ok := x.zeroPads(n)
		if !ok {
			continue
		}
		in, out := n.Inputs[0], n.Outputs[0]
		if allZero(pads) {
			x.remove(n)
			if !bypass(g, x, n, in, out) {
				x.add(n)
			}
			continue
		}
		r := x.soleReader(out) // which reads out in one input slot
		if r == nil || r.Inputs[0] != out {
			continue
		}
		folded, ok := x.foldedPads(r, pads)
		if !ok {
			continue
		}
		x.remove(n)
		x.remove(r)
		removeNodes(g, map[*graph.Node]bool{n: true})
		dropValueInfo(g, out)
		r.Inputs[0] = in
		setAttr(r, graph.IntsAttr("pads", folded...))
		x.add(r)
	}
	return c, nil
}

// zeroPads returns the pads of Pad node n, begins then ends of every
// axis as the operator lists them, when n pads with zeros in constant
// mode, its pads are constant and none is negative (a crop), and it
// names no axes (opset 18) unless it pads nothing.
func (x *index) zeroPads(n *graph.Node) ([]int64, bool) {
	at := x.attrs(n)
	if mode, err := at.String("mode"); err != nil || mode != "constant" {
		return nil, false
	}
	var pads []int64
	if opset(x.m, n) < 11 {
		p, err := at.Ints("pads")
		if value, verr := at.Float("value"); err != nil || verr != nil || value != 0 {
			return nil, false
		}
		pads = p
	} else {
		if len(n.Inputs) < 2 || n.Inputs[1] == "" {
			return nil, false
		}
		t := x.fusionConst(n.Inputs[1])
		if t == nil || t.DType != graph.Int64 {
			return nil, false
		}
		p, ok := t.Data.([]int64)
		if !ok || int64(len(p)) != t.NumElements() {
			return nil, false
		}
		pads = p
		if len(n.Inputs) > 2 && n.Inputs[2] != "" && !isZero(x.fusionConst(n.Inputs[2])) {
			return nil, false
		}
		if len(n.Inputs) > 3 && n.Inputs[3] != "" && !allZero(pads) {
			return nil, false
		}
	}
	if len(pads) == 0 || len(pads)%2 != 0 || slices.ContainsFunc(pads, func(p int64) bool { return p < 0 }) {
		return nil, false
	}
	return pads, true
}

// isZero reports whether t is a constant whose every element is zero.
func isZero(t *graph.Tensor) bool {
	if t == nil {
		return false
	}
	switch d := t.Data.(type) {
	case []float32:
		return allZero(d)
	case []float64:
		return allZero(d)
	case []int64:
		return allZero(d)
	case []int32:
		return allZero(d)
	}
	return false
}

// allZero reports whether every element of d is zero.
func allZero[T float32 | float64 | int64 | int32](d []T) bool {
	for _, v := range d {
		if v != 0 {
			return false
		}
	}
	return true
}

// foldedPads returns the pads attribute of r, a Conv or an AveragePool
// that counts its padding, that pads its input X as it did and also as
// pads (a Pad's, begins then ends of every axis, batch and channel
// included) did; false when r cannot take pads: another operator, an
// auto_pad, an AveragePool that does not count padding or is in ceil
// mode, pads along the batch or channel axis, or pads of another rank.
func (x *index) foldedPads(r *graph.Node, pads []int64) ([]int64, bool) {
	at := x.attrs(r)
	switch {
	case isDefault(r, "Conv"):
	case isDefault(r, "AveragePool"):
		include, err := at.Int("count_include_pad")
		ceil, cerr := at.Int("ceil_mode")
		if err != nil || cerr != nil || include != 1 || ceil != 0 {
			return nil, false
		}
	default:
		return nil, false
	}
	if autoPad, err := at.String("auto_pad"); err != nil || autoPad != "NOTSET" {
		return nil, false
	}
	rank := len(pads) / 2
	spatial := rank - 2
	if spatial < 1 || pads[0] != 0 || pads[1] != 0 || pads[rank] != 0 || pads[rank+1] != 0 {
		return nil, false
	}
	folded := make([]int64, 2*spatial)
	if at.Has("pads") {
		old, err := at.Ints("pads")
		if err != nil || len(old) != 2*spatial {
			return nil, false
		}
		copy(folded, old)
	}
	for i := range spatial {
		folded[i] += pads[2+i]
		folded[spatial+i] += pads[rank+2+i]
	}
	return folded, true
}
