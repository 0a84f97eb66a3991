package passes

import (
	"fmt"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
)

// SliceMatMulWeights returns a copy of m in which a MatMul by constant
// weights whose output only Slices and Splits of column ranges read
// computes each range by itself:
//
//	Slice(MatMul(x, w) [+ b], s, e, axes -1)  ->  MatMul(x, w[:, s:e]) [+ b[s:e]]
//	Split(MatMul(x, w) [+ b], axis -1)        ->  one such product per output
//
// w a float32 initializer [K, N], b (optional, the Add's other operand,
// either order) a float32 initializer [N], the Slices' starts and ends
// of one element, their axes the last one and their steps 1, and the
// Splits' sizes, values that type inference knows (graph.InferTypesAndInts:
// exporters compute them from the product's shape, whose last
// dimension is fixed whatever the batch). A Shape of the product that
// computes nothing but those bounds goes away with the readers.
// PyTorch's MultiheadAttention projects queries, keys and values with
// one such product, [tokens, batch, 3E], and slices it in three copies
// of E columns (GPT-2's attention splits it); split, each projection
// writes its own output, which the heads' Reshape and Transpose read in
// place, and no copy runs. Each
// output element is the same dot product of a row of x and a column of
// w, and the bias Add still follows each product. Equal slices of
// weights shared by several products are made once. m is not changed.
func SliceMatMulWeights(m *graph.Model) (*graph.Model, error) {
	c, err := cloneModel(m)
	if err != nil {
		return nil, err
	}
	g := c.Graph
	x := newIndex(c, g)
	if !slices.ContainsFunc(g.Nodes, x.readsProduct) {
		return c, nil // spares the type inference below
	}
	u := newNames(g)
	types, known, _ := graph.InferTypesAndInts(c)
	made := map[string]string{} // "name[s:e]" of a sliced initializer -> its name
	for _, n := range slices.Clone(g.Nodes) {
		p := x.slicedProduct(n, types, known)
		if p == nil {
			continue
		}
		sliced := func(src *graph.Tensor, rows, cols, s, e int) string {
			key := fmt.Sprintf("%s[%d:%d]", src.Name, s, e)
			if name, ok := made[key]; ok {
				return name
			}
			d := src.Data.([]float32)
			out := make([]float32, 0, rows*(e-s))
			for r := range rows {
				out = append(out, d[r*cols+s:r*cols+e]...)
			}
			dims := []int64{int64(rows), int64(e - s)}
			if rows == 1 {
				dims = dims[1:]
			}
			t := &graph.Tensor{Name: u.fresh(fmt.Sprintf("%s_%d_%d", src.Name, s, e)), DType: graph.Float32, Dims: dims, Data: out}
			g.Initializers = append(g.Initializers, t)
			x.constants[t.Name] = t
			made[key] = t.Name
			return t.Name
		}
		drop := map[*graph.Node]bool{n: true}
		if p.add != nil {
			drop[p.add] = true
		}
		for _, d := range p.bounds {
			drop[d] = true
		}
		for _, r := range p.readers {
			var replacement []*graph.Node
			for _, pc := range r.pieces {
				mm := &graph.Node{Name: u.fresh(r.node.Name + "/MatMul"), OpType: "MatMul", Domain: n.Domain,
					Inputs: []string{p.x, sliced(p.w, p.k, p.n, pc.start, pc.end)}, Outputs: []string{pc.out}}
				replacement = append(replacement, mm)
				if p.add != nil {
					mm.Outputs[0] = u.fresh(pc.out + "_unbiased")
					replacement = append(replacement, &graph.Node{Name: u.fresh(r.node.Name + "/Add"), OpType: "Add", Domain: p.add.Domain,
						Inputs: []string{mm.Outputs[0], sliced(p.bias, 1, p.n, pc.start, pc.end)}, Outputs: []string{pc.out}})
				}
			}
			at := slices.Index(g.Nodes, r.node)
			g.Nodes = slices.Insert(slices.Delete(g.Nodes, at, at+1), at, replacement...)
			x.remove(r.node)
			for _, mm := range replacement {
				x.add(mm)
			}
		}
		for _, v := range []string{n.Outputs[0], p.sliced} {
			dropValueInfo(g, v)
		}
		removeNodes(g, drop)
		for d := range drop {
			x.remove(d)
		}
	}
	return c, nil
}

// readsProduct reports whether n is a Slice or Split of the output of a
// MatMul, or of an Add of one: a candidate reader of a slicedProduct.
func (x *index) readsProduct(n *graph.Node) bool {
	if !isDefault(n, "Slice") && !isDefault(n, "Split") || len(n.Inputs) == 0 {
		return false
	}
	p := x.producer[n.Inputs[0]]
	if p != nil && isDefault(p, "Add") {
		for _, in := range p.Inputs {
			if q := x.producer[in]; q != nil && isDefault(q, "MatMul") {
				return true
			}
		}
	}
	return p != nil && isDefault(p, "MatMul")
}

// slicedProduct is a MatMul by constant weights, and the bias Add after
// it, that only column Slices and Splits read (see SliceMatMulWeights).
type slicedProduct struct {
	x       string        // the MatMul's first operand
	w, bias *graph.Tensor // the weights [k, n] and the bias [n] (nil for none)
	k, n    int
	add     *graph.Node // the bias Add, nil for none
	sliced  string      // the value the Slices and Splits read
	readers []columnReader
	// bounds are the Shapes of the product and the nodes computing
	// from them only the readers' bounds, which go away with the
	// readers.
	bounds []*graph.Node
}

// columnReader is a Slice or Split node and the column ranges of its
// outputs.
type columnReader struct {
	node   *graph.Node
	pieces []columnPiece
}

// columnPiece is an output of a columnReader: columns [start, end) of
// the product.
type columnPiece struct {
	out        string
	start, end int
}

// slicedProduct returns MatMul n as a slicedProduct, or nil when it is
// not one. types and known are InferTypes' and InferTypesAndInts' results.
func (x *index) slicedProduct(n *graph.Node, types map[string]*graph.Type, known map[string][]int64) *slicedProduct {
	if !isDefault(n, "MatMul") || len(n.Inputs) != 2 || len(n.Outputs) != 1 || n.Outputs[0] == "" {
		return nil
	}
	w, _, ok := x.constFloats(n.Inputs[1])
	if !ok || len(w.Dims) != 2 || w.Dims[0] < 1 || w.Dims[1] < 1 || x.fusionConst(n.Inputs[0]) != nil {
		return nil
	}
	p := &slicedProduct{x: n.Inputs[0], w: w, k: int(w.Dims[0]), n: int(w.Dims[1]), sliced: n.Outputs[0]}
	if add, other := x.plainAdd(n.Outputs[0]); add != nil {
		b, _, ok := x.constFloats(other)
		if !ok || len(b.Dims) != 1 || int(b.Dims[0]) != p.n {
			return nil
		}
		p.add, p.bias, p.sliced = add, b, add.Outputs[0]
	}
	t := types[p.sliced]
	if t == nil || t.Kind != graph.TensorKind || t.Shape == nil || x.output[p.sliced] {
		return nil
	}
	rank := int64(len(t.Shape))
	readers := x.readers[p.sliced]
	if len(readers) == 0 || x.uses[p.sliced] != len(readers) {
		return nil
	}
	var shapes []*graph.Node
	sinks := map[*graph.Node]bool{}
	for _, r := range readers {
		var pieces []columnPiece
		switch {
		case isDefault(r, "Shape") && len(subgraphs(r)) == 0:
			shapes = append(shapes, r)
			continue
		case isDefault(r, "Split"):
			pieces = x.splitColumns(r, p.sliced, rank, p.n, known)
		default:
			if cols, ok := x.columnRange(r, p.sliced, rank, p.n, known); ok {
				pieces = []columnPiece{{r.Outputs[0], cols[0], cols[1]}}
			}
		}
		if pieces == nil {
			return nil
		}
		p.readers = append(p.readers, columnReader{r, pieces})
		sinks[r] = true
	}
	if len(p.readers) == 0 {
		return nil
	}
	for _, sh := range shapes {
		closure, ok := x.boundsOnly(sh, sinks)
		if !ok {
			return nil
		}
		p.bounds = append(p.bounds, closure...)
	}
	return p
}

// maxBoundNodes bounds the nodes boundsOnly follows from a Shape.
const maxBoundNodes = 64

// boundsOnly returns Shape node sh and the nodes that compute from its
// output, and reports whether all their values are read, besides by
// each other, only as other inputs than the first of the nodes in sinks
// (the Slices' bounds), and are no graph outputs: exporters compute
// attention's Slice bounds from the product's shape, which goes away
// with the Slices.
func (x *index) boundsOnly(sh *graph.Node, sinks map[*graph.Node]bool) ([]*graph.Node, bool) {
	seen := map[*graph.Node]bool{sh: true}
	queue := []*graph.Node{sh}
	for i := 0; i < len(queue); i++ {
		for _, o := range queue[i].Outputs {
			if o == "" {
				continue
			}
			if x.output[o] {
				return nil, false
			}
			for _, r := range x.readers[o] {
				switch {
				case sinks[r]:
					if r.Inputs[0] == o || !slices.Contains(r.Inputs, o) {
						return nil, false
					}
				case seen[r]:
				case len(subgraphs(r)) > 0 || len(seen) >= maxBoundNodes:
					return nil, false
				default:
					seen[r] = true
					queue = append(queue, r)
				}
			}
		}
	}
	return queue, true
}

// splitColumns returns the pieces of Split node sp of value v, of rank
// rank, along its last axis of n columns, nil when sp is not such a
// Split or its sizes are not constants that add up to n: a constant
// input, the attribute before opset 13, or equal parts (num_outputs of
// them from opset 18, the last smaller when they do not divide n).
// Outputs with no name are left out.
func (x *index) splitColumns(sp *graph.Node, v string, rank int64, n int, known map[string][]int64) []columnPiece {
	if len(sp.Inputs) == 0 || sp.Inputs[0] != v || len(sp.Outputs) == 0 || slices.Contains(sp.Inputs[1:], v) {
		return nil
	}
	at := x.attrs(sp)
	axis, err := at.Int("axis")
	if err != nil || axis != -1 && axis != rank-1 {
		return nil
	}
	var sizes []int64
	switch {
	case len(sp.Inputs) > 1 && sp.Inputs[1] != "":
		d, ok := known[sp.Inputs[1]]
		if !ok {
			return nil
		}
		sizes = d
	case opset(x.m, sp) < 13 && sp.Attr("split") != nil:
		sizes = sp.Attr("split").Ints
	default:
		// Equal parts; from opset 18 num_outputs of them, the last
		// smaller when they do not divide n.
		parts := len(sp.Outputs)
		if a := sp.Attr("num_outputs"); a != nil {
			parts = int(a.Int)
		}
		if parts != len(sp.Outputs) || parts < 1 {
			return nil
		}
		size := (n + parts - 1) / parts
		if opset(x.m, sp) < 18 && n%parts != 0 {
			return nil
		}
		for i := range parts {
			sizes = append(sizes, int64(min(size, n-i*size)))
		}
	}
	if len(sizes) != len(sp.Outputs) {
		return nil
	}
	var pieces []columnPiece
	start := 0
	for i, size := range sizes {
		if size < 0 || int64(start)+size > int64(n) {
			return nil
		}
		end := start + int(size)
		if sp.Outputs[i] != "" {
			if size == 0 {
				return nil // an empty product: left to the Split
			}
			pieces = append(pieces, columnPiece{sp.Outputs[i], start, end})
		}
		start = end
	}
	if start != n || len(pieces) == 0 {
		return nil
	}
	return pieces
}

// columnRange returns the columns [start, end) of the last axis, of n
// columns, that Slice node sl takes from value v of rank rank, and
// whether sl is such a Slice: v its data input only, starts and ends of
// one element that type inference knows (known, InferTypesAndInts'), axes the
// last axis, steps 1 or absent, and a range not empty.
func (x *index) columnRange(sl *graph.Node, v string, rank int64, n int, known map[string][]int64) ([2]int, bool) {
	if !isDefault(sl, "Slice") || opset(x.m, sl) < 10 || len(sl.Inputs) < 4 || len(sl.Outputs) != 1 || sl.Outputs[0] == "" ||
		sl.Inputs[0] != v || slices.Contains(sl.Inputs[1:], v) {
		return [2]int{}, false
	}
	scalar := func(i int) (int64, bool) {
		if i >= len(sl.Inputs) || sl.Inputs[i] == "" {
			return 0, false
		}
		d, ok := known[sl.Inputs[i]]
		if !ok || len(d) != 1 {
			return 0, false
		}
		return d[0], true
	}
	start, ok1 := scalar(1)
	end, ok2 := scalar(2)
	axis, ok3 := scalar(3)
	if !ok1 || !ok2 || !ok3 || axis != -1 && axis != rank-1 {
		return [2]int{}, false
	}
	if len(sl.Inputs) > 4 && sl.Inputs[4] != "" {
		if step, ok := scalar(4); !ok || step != 1 {
			return [2]int{}, false
		}
	}
	clamp := func(i int64) int {
		if i < 0 {
			i += int64(n)
		}
		return int(min(max(i, 0), int64(n)))
	}
	s, e := clamp(start), clamp(end)
	return [2]int{s, e}, s < e
}
