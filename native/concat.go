package native

import (
	"math"
	"slices"
	"sync/atomic"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/ops"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// In-place concatenation. A Concat of pieces that sit one after the
// other in its output (the axis is the first of more than one element:
// a channel concatenation at batch 1) costs nothing when the steps that
// compute the pieces write them there. In runs that record nothing, the
// Concat's output (its group's buffer) is taken from the pool when the
// first of its pieces is about to be computed, and each piece's step is
// offered its part of it as ops.Context.Into, which the op takes for its
// output by asking for a tensor of that shape; the Concat then copies
// only the pieces that are not in place (ops.placedPieces). Other
// Concats whose inputs are consecutive pieces of a group (DenseNet's
// concatenations of all the features so far, each a prefix of the
// block's last) get their part of the buffer as output the same way,
// and copy nothing either; a group whose Concat's output is a piece of
// another group lies in its place there (a chain of Concats, each of the
// one before and a new piece, in one buffer).
//
// At batch N > 1 a piece of a Concat along an axis after the images
// (channels) is strided in the output: its images lie a row of the
// output apart. A piece that only Concats along that axis and ops that
// take their input so (ops.ImagesApartReader: Conv) read (its place's
// apart) is then offered its view from its place in the first row to
// its place in the last, with the row's length as
// ops.Context.IntoStride: an op that can write its output's images
// apart (Conv by any algorithm, AveragePool, MaxPool without indices,
// Slice) takes it through Context.Images, every other op allocates its
// output, and the Concat copies it. A prefix of the group's inputs
// (DenseNet's) whose readers take it so is likewise its view, its
// images apart, which its Concat takes through Context.Images. The
// readers are those of a run that keeps nothing (step.plannedRead: the
// Conv into which DenseNet's BatchNormalization and Relu fold); a run
// whose ops differ (one that keeps the normalization's output) hands
// each op that does not take such a view a dense copy of it
// (runState.denseParts). The Concats that read a piece copy it from its
// strided view when it is not in place in their output
// (ops.ImagesApart); groups in another group's buffer are not placed at
// batch N > 1.
//
// The shapes come from the previous run of the group's Concat (they are
// not known before the pieces are computed): the first run, and a run
// whose shapes changed, plan nothing or plan wrong, and then copy, as the
// Concat checks every piece (bitwise the same result either way). Values
// that leave the run (graph outputs, Options.Keep), initializers, graph
// inputs, values computed at compile time and values that a Concat reads
// twice are not placed, nor is any value in a run that records, whose
// tape keeps every value. A step that does not take the part offered
// (its op allocates its output otherwise, or the shapes changed) leaves
// its piece to the Concat to copy. The root buffer (of a group in no
// other) is counted once in the run's arena for every value that lies in
// it, and once for the group until its Concat has run, so that it
// returns to the pool only once none of its parts is read any more.

// concatGroup is a Concat step whose inputs are written in place.
type concatGroup struct {
	id   int // index in Program.concatGroups
	axis int64
	// inputs are the Concat's input slots; out its output slot.
	inputs []int
	out    int
	// parent is, for a Concat whose output is a piece of another group's
	// Concat, its place there, where its own buffer lies; nil for none.
	// root is the group whose buffer holds the group's: its own id, or
	// that of its parent's root.
	parent *concatPlace
	root   int
	// last holds the shapes of the Concat's float32 inputs and output in
	// the last run that recorded nothing; nil before any.
	last atomic.Pointer[concatShapes]
}

// concatShapes are the shapes of a Concat's inputs and output in a run.
type concatShapes struct {
	in  [][]int
	out []int
}

// concatPlace is the part of a group's buffer that holds a value: that
// of the group's inputs first..first+count-1 (one for a piece, the range
// of another Concat's inputs, all for the group's Concat).
type concatPlace struct {
	group        *concatGroup
	first, count int
	// apart says that the value, a piece, may lie in the buffer with
	// its images apart (a Concat of more than one image along an axis
	// after the first): only Concats along the group's axis read it.
	apart bool
}

// groupRun is a run's state of a concatGroup.
type groupRun struct {
	// state: groupUntried until a step asks for a part, then
	// groupOpen with base, the buffer, or groupClosed.
	state int
	// ran: the group's Concat has run and ended its own count.
	ran bool
	// root is the concatGroup's root.
	root   int
	base   *tensor.Tensor
	shapes *concatShapes
	// offsets are the elements before each of the group's inputs in a
	// row of base (its blocks along the axis), and the row's length;
	// rows is the number of rows, more than one when the pieces' images
	// lie apart.
	offsets []int
	rows    int
	// views are the tensors handed out for the group's parts, by first
	// and count, kept from run to run while base's buffer and the shapes
	// stay the same.
	views     map[[2]int]*tensor.Tensor
	viewsBase *float32
	viewsOf   *concatShapes
}

const (
	groupUntried = iota
	groupOpen
	groupClosed
)

// planConcats finds the groups. Concats with more inputs are planned
// first, so that a Concat of a prefix of another's inputs becomes a part
// of the other's group. Call it after foldConstants.
func (p *Program) planConcats() {
	producerOf := make([]int, len(p.names))
	for i := range producerOf {
		producerOf[i] = -1
	}
	var concats []int
	for i, s := range p.steps {
		for _, slot := range s.outputs {
			if slot >= 0 {
				producerOf[slot] = i
			}
		}
		if _, ok := ops.ConcatAxis(s.op); ok && !s.precomputed && len(s.outputs) == 1 && s.outputs[0] >= 0 &&
			len(s.inputs) > 0 && !p.keep[s.outputs[0]] {
			concats = append(concats, i)
		}
	}
	slices.SortStableFunc(concats, func(a, b int) int { return len(p.steps[b].inputs) - len(p.steps[a].inputs) })
	apart := p.concatReaders()
	places := make([]*concatPlace, len(p.names))
	placeable := func(v int, inputs []int) bool {
		if v < 0 || p.keep[v] || p.constAt[v] != nil || p.viewAt[v] != nil || places[v] != nil ||
			producerOf[v] < 0 || p.steps[producerOf[v]].precomputed {
			return false
		}
		return once(v, inputs)
	}
	for _, ci := range concats {
		s := &p.steps[ci]
		axis, _ := ops.ConcatAxis(s.op)
		out := s.outputs[0]
		// parent is the place of the Concat's output as a piece of a
		// Concat planned before: its group then lies in that place.
		parent := places[out]
		if parent != nil && parent.count != 1 {
			continue
		}
		if parent == nil {
			if g := p.prefixGroup(places, s.inputs, axis); g != nil {
				first := places[s.inputs[0]].first
				places[out] = &concatPlace{group: g, first: first, count: len(s.inputs), apart: apart[out] == axis || apart[out] == apartOnly}
				continue
			}
		}
		if len(s.inputs) < 2 {
			continue
		}
		g := &concatGroup{id: len(p.concatGroups), axis: axis, inputs: s.inputs, out: out, parent: parent}
		pieces := 0
		for j, in := range s.inputs {
			switch {
			case placeable(in, s.inputs):
				places[in] = &concatPlace{group: g, first: j, count: 1, apart: apart[in] == axis || apart[in] == apartOnly}
				pieces++
			case in >= 0 && places[in] != nil && places[in].group.out == in && places[in].group.parent == nil && once(in, s.inputs):
				// The output of a Concat planned before: its group
				// lies in this one's.
				places[in].group.parent = &concatPlace{group: g, first: j, count: 1}
				pieces++
			}
		}
		if pieces == 0 {
			continue
		}
		places[out] = &concatPlace{group: g, first: 0, count: len(s.inputs)}
		s.concat = g
		p.concatGroups = append(p.concatGroups, g)
	}
	for _, g := range p.concatGroups {
		root := g
		for root.parent != nil {
			root = root.parent.group
		}
		g.root = root.id
	}
	if len(p.concatGroups) > 0 {
		p.concatPlaces = places
	}
}

// concatReaders returns, per slot, the axis attribute of the Concats
// that read the value, all along that axis (as the attribute says it: 1
// and -3 differ), where every other step that reads it takes it with
// its images apart (ops.ImagesApartReader); apartOnly for a value that
// only such other steps read; and notConcat for a value that another
// kind of step reads, Concats along different axes, or none.
func (p *Program) concatReaders() []int64 {
	axes := make([]int64, len(p.names))
	const unread = notConcat - 1
	for i := range axes {
		axes[i] = unread
	}
	for _, s := range p.steps {
		axis, ok := ops.ConcatAxis(s.op)
		if !ok || s.precomputed {
			axis = notConcat
		}
		op, inputs, runs := s.plannedRead()
		if !runs && !s.precomputed {
			continue
		}
		if s.precomputed {
			op, inputs = s.op, s.inputs
		}
		reader, _ := op.(ops.ImagesApartReader)
		for j, slot := range inputs {
			if slot >= 0 && axis == notConcat && !s.precomputed && reader != nil && reader.ReadsImagesApart(j) {
				if axes[slot] == unread {
					axes[slot] = apartOnly
				}
				continue
			}
			switch {
			case slot < 0 || axes[slot] == axis:
			case axes[slot] == unread || axes[slot] == apartOnly:
				axes[slot] = axis
			default:
				axes[slot] = notConcat
			}
		}
		// Subgraphs read their captures as they are. (The values that
		// folded steps read, s.reads, are among plannedRead's inputs.)
		for _, slot := range s.captureSlots {
			if slot >= 0 {
				axes[slot] = notConcat
			}
		}
	}
	for i, a := range axes {
		if a == unread {
			axes[i] = notConcat
		}
	}
	return axes
}

// plannedRead returns the op that computes step s in a run that records
// and keeps nothing, on float32 input, and the slots it reads: the
// fused op of a fusion, the variant of a step whose input Transposes or
// normalizations it reads in place, its lean op. runs is false for a
// step that another's op computes then (absorbed into a fusion, folded
// into its reader, written by the step before it).
func (s *step) plannedRead() (op ops.Op, inputs []int, runs bool) {
	if s.absorbedBy != nil || s.foldedInto != nil || s.writtenBy != nil {
		return nil, nil, false
	}
	mask := 0
	for k, f := range s.folds {
		if f != nil {
			mask |= 1 << k
		}
	}
	switch {
	case s.fused != nil && mask != 0:
		return s.folded[mask].fused, s.folded[mask].fusedInputs, true
	case s.fused != nil:
		return s.fused.op, s.fused.inputs, true
	case s.lean != nil:
		return s.lean, s.inputs, true
	case s.outFold != nil:
		return s.outFolded[mask].op, s.outFolded[mask].inputs, true
	case mask != 0:
		return s.folded[mask].op, s.folded[mask].inputs, true
	}
	return s.op, s.inputs, true
}

// notConcat is concatReaders' mark of a value that other steps than
// Concats and ops reading it with its images apart read; apartOnly its
// mark of a value that only the latter read.
const (
	notConcat = math.MinInt64 + 1
	apartOnly = math.MinInt64 + 2
)

// once reports whether v is one of inputs, once.
func once(v int, inputs []int) bool {
	n := 0
	for _, in := range inputs {
		if in == v {
			n++
		}
	}
	return n == 1
}

// prefixGroup returns the group whose pieces are inputs, consecutive and
// in order, and fewer than its Concat's, joined along the same axis; nil
// when there is none.
func (p *Program) prefixGroup(places []*concatPlace, inputs []int, axis int64) *concatGroup {
	if inputs[0] < 0 || places[inputs[0]] == nil || places[inputs[0]].count != 1 {
		return nil
	}
	g, first := places[inputs[0]].group, places[inputs[0]].first
	if g.axis != axis || first+len(inputs) > len(g.inputs) || len(inputs) >= len(g.inputs) {
		return nil
	}
	for k, in := range inputs {
		pl := places[max(in, 0)]
		if in < 0 || pl == nil || pl.group != g || pl.count != 1 || pl.first != first+k {
			return nil
		}
	}
	return g
}

// into returns the part of a group's buffer that the step filling
// outSlots is to write its one output into, or nil for none, and the
// elements from one of its images to the next when they lie apart (0
// when the part is whole: ops.Context.IntoStride).
func (p *Program) into(st *runState, outSlots []int, keep []bool) (*tensor.Tensor, int) {
	if p.concatPlaces == nil || st.groups == nil || len(outSlots) == 0 || outSlots[0] < 0 {
		return nil, 0
	}
	for _, slot := range outSlots[1:] {
		if slot >= 0 {
			return nil, 0
		}
	}
	slot := outSlots[0]
	pl := p.concatPlaces[slot]
	if pl == nil || keep[slot] {
		return nil, 0
	}
	v := st.part(pl, keep)
	if gr := &st.groups[pl.group.id]; v != nil && gr.rows > 1 && v != gr.base {
		return v, gr.offsets[len(gr.offsets)-1]
	}
	return v, 0
}

// part returns the view of st's buffer of pl's group that holds pl,
// taking the buffer from the pool, or from the group's place in its
// parent's buffer, if the run has none yet; nil when the group is closed
// in this run.
func (st *runState) part(pl *concatPlace, keep []bool) *tensor.Tensor {
	g := pl.group
	gr := &st.groups[g.id]
	if gr.state == groupUntried {
		gr.state, gr.ran = groupClosed, false
		shapes := g.last.Load()
		if shapes == nil || keep[g.out] {
			return nil
		}
		axis := int(g.axis)
		if axis < 0 {
			axis += len(shapes.out)
		}
		if axis < 0 || axis >= len(shapes.out) {
			return nil
		}
		// The pieces' images lie apart when there are several: only a
		// group with no parent, joined along the first axis after the
		// images, places them.
		gr.rows = tensor.NumElements(shapes.out[:axis])
		if gr.rows != 1 && (g.parent != nil || gr.rows != shapes.out[0]) {
			return nil
		}
		gr.offsets = append(gr.offsets[:0], 0)
		for _, shape := range shapes.in {
			gr.offsets = append(gr.offsets, gr.offsets[len(gr.offsets)-1]+tensor.NumElements(shape[min(axis, len(shape)):]))
		}
		if g.parent != nil {
			// The group lies in its place in the parent's buffer.
			base := st.part(g.parent, keep)
			if base == nil || !slices.Equal(base.Shape, shapes.out) {
				return nil
			}
			gr.base = base
		} else {
			gr.base = st.pool.Float32(shapes.out...)
			if gr.rows*gr.offsets[len(gr.offsets)-1] != gr.base.Len() {
				st.pool.Put(gr.base)
				gr.base = nil
				return nil
			}
			st.arena.Retain(bufferOf(gr.base)) // the group's own count
		}
		gr.shapes = shapes
		gr.state = groupOpen
		st.rootOf[bufferOf(gr.base)] = g.root
		if gr.viewsBase != bufferOf(gr.base) || gr.viewsOf != shapes {
			clear(gr.views)
			gr.viewsBase, gr.viewsOf = bufferOf(gr.base), shapes
		}
	}
	if gr.state != groupOpen {
		return nil
	}
	if pl.count == len(g.inputs) {
		return gr.base
	}
	key := [2]int{pl.first, pl.count}
	if v := gr.views[key]; v != nil {
		st.rootOf[bufferOf(v)] = g.root
		return v
	}
	lo, hi := gr.offsets[pl.first], gr.offsets[pl.first+pl.count]
	if lo == hi || gr.rows > 1 && !pl.apart {
		return nil
	}
	// A piece's images lie a row apart: its view runs from its place in
	// the first row to its place in the last.
	hi += (gr.rows - 1) * gr.offsets[len(gr.offsets)-1]
	shape := slices.Clone(gr.shapes.in[pl.first])
	axis := int(g.axis)
	if axis < 0 {
		axis += len(shape)
	}
	for _, in := range gr.shapes.in[pl.first+1 : pl.first+pl.count] {
		shape[axis] += in[axis]
	}
	v := &tensor.Tensor{DType: graph.Float32, Shape: shape, Data: gr.base.F32()[lo:hi:hi]}
	if gr.views == nil {
		gr.views = map[[2]int]*tensor.Tensor{}
	}
	gr.views[key] = v
	st.rootOf[bufferOf(v)] = g.root
	return v
}

// denseParts replaces in in, the inputs of op read from slots, each
// value that lies in a Concat's buffer with its images apart that op
// does not take so (ops.ImagesApartReader), by a copy with its images
// one after the other, and returns the copies, for the pool once op
// has run. The plan lends such views only to values that the ops of
// runs that keep nothing read so (concatReaders); a run that keeps a
// value in between (a normalization's output, which then runs rather
// than fold into its reader) reads them through these copies.
func (st *runState) denseParts(op ops.Op, slots []int, in []*tensor.Tensor, record bool) []*tensor.Tensor {
	if record || st.partOf == nil {
		return nil
	}
	var copies []*tensor.Tensor
	reader, _ := op.(ops.ImagesApartReader)
	for j, slot := range slots {
		if slot < 0 || st.partOf[slot] == 0 || ops.ImagesApart(in[j]) == 0 {
			continue
		}
		if reader != nil && reader.ReadsImagesApart(j) {
			continue
		}
		x := in[j]
		d := st.pool.Float32(x.Shape...)
		image, stride := tensor.NumElements(x.Shape[1:]), ops.ImagesApart(x)
		for n := range x.Shape[0] {
			copy(d.F32()[n*image:(n+1)*image], x.F32()[n*stride:])
		}
		in[j] = d
		copies = append(copies, d)
	}
	return copies
}

// holdPart counts a value of st that lies in the buffer of root group
// g.
func (st *runState) holdPart(slot, g int) {
	st.arena.Retain(bufferOf(st.groups[g].base))
	st.partOf[slot] = g + 1
}

// dropPart counts one value fewer in the buffer of root group g, and
// hands the buffer back to the pool when none is left: the groups that
// lie in it close.
func (st *runState) dropPart(g int) {
	base := st.groups[g].base
	if !st.arena.Release(bufferOf(base)) {
		return
	}
	for buf, id := range st.rootOf {
		if id == g {
			delete(st.rootOf, buf)
		}
	}
	for i := range st.groups {
		if gr := &st.groups[i]; gr.root == g {
			gr.base, gr.state = nil, groupClosed
		}
	}
	st.pool.Put(base)
}

// concatRan ends the group g's own count in its buffer, once its Concat
// has run on in, and keeps its shapes for the next runs. The buffer
// serves the group's later parts (a Concat of some of its pieces that
// runs after it) while a value still holds it. A group that lies in
// another's has no count of its own: its root's lasts longer.
func (st *runState) concatRan(g *concatGroup, in []*tensor.Tensor, out *tensor.Tensor) {
	if gr := &st.groups[g.id]; g.parent == nil && gr.state == groupOpen && !gr.ran {
		gr.ran = true
		st.dropPart(g.id)
	}
	if out == nil || out.DType != graph.Float32 || out.Kind != tensor.Dense {
		return
	}
	last := g.last.Load()
	same := last != nil && slices.Equal(last.out, out.Shape) && len(last.in) == len(in)
	for j := 0; same && j < len(in); j++ {
		same = slices.Equal(last.in[j], in[j].Shape)
	}
	if same {
		return
	}
	shapes := &concatShapes{in: make([][]int, len(in)), out: slices.Clone(out.Shape)}
	for j, x := range in {
		if x.DType != graph.Float32 || x.Kind != tensor.Dense {
			return
		}
		shapes.in[j] = slices.Clone(x.Shape)
	}
	g.last.Store(shapes)
}
