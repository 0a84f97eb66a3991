package graph

// Shape functions of the control-flow, sequence and optional operators,
// and of the training domain's optimizers. Subgraphs (If's branches,
// Loop's and Scan's bodies) are inferred in the scope of the node: their
// inputs have the declared types, and the outer graph's values are seen.

// The operators with subgraphs join the table here: their shape functions
// infer the subgraph, which refers back to the table.
func init() {
	shapeFuncs["If"] = inferIf
	shapeFuncs["Loop"] = inferLoop
	shapeFuncs["Scan"] = inferScan
	shapeFuncs["SequenceMap"] = inferSequenceMap
}

// subgraphOutputs infers the types of g's outputs, given the types of
// its inputs where g does not declare them with a shape. Problems inside
// the subgraph leave its outputs at their declared types.
func (c *inferCtx) subgraphOutputs(g *Graph, inputs []*Type) []*Type {
	if g == nil {
		return nil
	}
	sub := &Graph{Name: g.Name, Inputs: make([]*Value, len(g.Inputs)), Outputs: g.Outputs,
		ValueInfo: g.ValueInfo, Initializers: g.Initializers, Nodes: g.Nodes}
	for i, v := range g.Inputs {
		t := v.Type
		if i < len(inputs) && inputs[i] != nil {
			if t == nil || t.Kind == UnknownKind {
				t = inputs[i]
			} else {
				t = refineType(t, inputs[i])
			}
		}
		sub.Inputs[i] = &Value{Name: v.Name, Type: t}
	}
	types, _, err := inferGraph(c.state.model, sub, c.state)
	out := make([]*Type, len(g.Outputs))
	for i, v := range g.Outputs {
		if err == nil {
			out[i] = types[v.Name] // refined by the declared type
		} else {
			out[i] = v.Type
		}
	}
	return out
}

// mergeTypes is the type both a and b have: a dimension they disagree
// on is unknown, as is the shape when their ranks differ. nil when the
// kinds or element types differ or either is unknown.
func mergeTypes(a, b *Type) *Type {
	if a == nil || b == nil || a.Kind != b.Kind {
		return nil
	}
	switch a.Kind {
	case TensorKind, SparseTensorKind:
		if a.DType != b.DType {
			return nil
		}
		t := &Type{Kind: a.Kind, DType: a.DType}
		if a.Shape != nil && b.Shape != nil && len(a.Shape) == len(b.Shape) {
			t.Shape = make(Shape, len(a.Shape))
			for i := range a.Shape {
				if sameDim(a.Shape[i], b.Shape[i]) {
					t.Shape[i] = a.Shape[i]
				} else {
					t.Shape[i] = UnknownDim()
				}
			}
		}
		return t
	case SequenceKind, OptionalKind:
		if e := mergeTypes(a.Elem, b.Elem); e != nil {
			return &Type{Kind: a.Kind, Elem: e}
		}
	}
	return nil
}

// inferIf: the outputs of the branch the condition picks, when it is
// known; else what both branches agree on.
func inferIf(c *inferCtx) ([]*Type, error) {
	then, err := c.node.Declared().Graph("then_branch")
	if err != nil {
		return nil, err
	}
	els, err := c.node.Declared().Graph("else_branch")
	if err != nil {
		return nil, err
	}
	if then == nil || els == nil {
		return nil, c.errorf("needs both then_branch and else_branch")
	}
	// A condition that inference knows (as the function bodies of newer
	// operators compute from shapes) chooses the branch.
	if v := c.data(0); len(v) == 1 && v[0].Known {
		if v[0].N != 0 {
			return c.subgraphOutputs(then, nil), nil
		}
		return c.subgraphOutputs(els, nil), nil
	}
	a, b := c.subgraphOutputs(then, nil), c.subgraphOutputs(els, nil)
	if len(a) != len(b) {
		return nil, c.errorf("then_branch has %d outputs, else_branch %d", len(a), len(b))
	}
	out := make([]*Type, len(a))
	for i := range a {
		out[i] = mergeTypes(a[i], b[i])
	}
	return out, nil
}

// inferLoop: body (iteration, condition, carried...) -> (condition,
// carried..., scanned...). The loop's outputs are the final carried
// values and the scanned values stacked along a new first axis.
func inferLoop(c *inferCtx) ([]*Type, error) {
	body, err := c.node.Declared().Graph("body")
	if err != nil {
		return nil, err
	}
	carried := max(len(c.node.Inputs)-2, 0)
	in := []*Type{TensorType(Int64, Shape{}), TensorType(Bool, Shape{})}
	for i := range carried {
		in = append(in, c.input(2+i))
	}
	outs := c.subgraphOutputs(body, in)
	if len(outs) < 1+carried {
		return nil, c.errorf("body has %d outputs, want at least %d", len(outs), 1+carried)
	}
	res := make([]*Type, 0, len(outs)-1)
	for i := range carried {
		// A carried value may change shape between iterations.
		res = append(res, mergeLoose(outs[1+i], c.input(2+i)))
	}
	for _, t := range outs[1+carried:] {
		if t == nil || t.Kind != TensorKind {
			res = append(res, nil)
			continue
		}
		var s Shape
		if t.Shape != nil {
			s = append(Shape{UnknownDim()}, t.Shape...)
		}
		res = append(res, TensorType(t.DType, s))
	}
	return res, nil
}

// mergeLoose merges a carried value's type after an iteration with its
// type before, keeping the former where the latter says nothing (no
// type, no shape, or a sequence of elements of no shape) or where the
// body changes the kind (an optional sequence in, a sequence out).
func mergeLoose(after, before *Type) *Type {
	switch {
	case before == nil || after == nil || before.Kind != after.Kind:
		return after
	case before.Kind == TensorKind && after.Kind == TensorKind && before.Shape == nil && before.DType == after.DType:
		return after
	case before.Kind == SequenceKind && after.Kind == SequenceKind:
		if e := mergeLoose(after.Elem, before.Elem); e != nil {
			return seqOf(e)
		}
		return nil
	}
	return mergeTypes(after, before)
}

// inferScan (opset 9 on): body (states..., scan elements...) ->
// (states..., scan output elements...); the node's scan outputs stack the
// elements along scan_output_axes (0) to the scanned length.
func inferScan(c *inferCtx) ([]*Type, error) {
	if c.opset < 9 {
		return inferScan8(c)
	}
	body, err := c.node.Declared().Graph("body")
	if err != nil {
		return nil, err
	}
	nScan, err := c.node.Declared().Int("num_scan_inputs")
	if err != nil {
		return nil, err
	}
	states := len(c.node.Inputs) - int(nScan)
	if nScan < 1 || states < 0 {
		return nil, c.attrErrorf("num_scan_inputs", "is %d for %d inputs", nScan, len(c.node.Inputs))
	}
	inAxes, err := c.node.Declared().IntsOr("scan_input_axes", make([]int64, nScan))
	if err != nil {
		return nil, err
	}
	var in []*Type
	for i := range states {
		in = append(in, c.input(i))
	}
	length := UnknownDim()
	for j := range int(nScan) {
		t, _ := c.shaped(states+j, 1)
		if t == nil || j >= len(inAxes) {
			in = append(in, nil)
			continue
		}
		a, err := c.normAxis("scan_input_axes", inAxes[j], len(t.Shape), false)
		if err != nil {
			return nil, err
		}
		if j == 0 {
			length = t.Shape[a]
		}
		elem := append(append(Shape{}, t.Shape[:a]...), t.Shape[a+1:]...)
		in = append(in, TensorType(t.DType, elem))
	}
	outs := c.subgraphOutputs(body, in)
	if len(outs) < states {
		return nil, c.errorf("body has %d outputs, want at least %d", len(outs), states)
	}
	res := append([]*Type{}, outs[:states]...)
	outAxes, err := c.node.Declared().IntsOr("scan_output_axes", make([]int64, len(outs)-states))
	if err != nil {
		return nil, err
	}
	for j, t := range outs[states:] {
		if t == nil || t.Kind != TensorKind || t.Shape == nil || j >= len(outAxes) {
			res = append(res, nil)
			continue
		}
		a, err := c.normAxis("scan_output_axes", outAxes[j], len(t.Shape)+1, false)
		if err != nil {
			return nil, err
		}
		s := append(append(append(Shape{}, t.Shape[:a]...), length), t.Shape[a:]...)
		res = append(res, TensorType(t.DType, s))
	}
	return res, nil
}

// inferScan8: Scan before opset 9 has a batch axis first:
// (sequence_lens, states [B,...], scan inputs [B, seq, ...]) ->
// (states [B,...], scan outputs [B, seq, ...]); the body sees one batch
// element and one step.
func inferScan8(c *inferCtx) ([]*Type, error) {
	body, err := c.node.Declared().Graph("body")
	if err != nil {
		return nil, err
	}
	nScan, err := c.node.Declared().Int("num_scan_inputs")
	if err != nil {
		return nil, err
	}
	states := len(c.node.Inputs) - 1 - int(nScan)
	if nScan < 1 || states < 0 {
		return nil, c.attrErrorf("num_scan_inputs", "is %d for %d inputs", nScan, len(c.node.Inputs))
	}
	batch, length := UnknownDim(), UnknownDim()
	var in []*Type
	for i := 1; i < len(c.node.Inputs); i++ {
		skip := 1
		if i > states {
			skip = 2
		}
		t, _ := c.shaped(i, skip)
		if t == nil {
			in = append(in, nil)
			continue
		}
		if i == 1 {
			batch = t.Shape[0]
		}
		if i == states+1 {
			length = t.Shape[1]
		}
		in = append(in, TensorType(t.DType, append(Shape{}, t.Shape[skip:]...)))
	}
	outs := c.subgraphOutputs(body, in)
	res := make([]*Type, len(outs))
	for i, t := range outs {
		if t == nil || t.Kind != TensorKind || t.Shape == nil {
			continue
		}
		prefix := Shape{batch}
		if i >= states {
			prefix = Shape{batch, length}
		}
		res[i] = TensorType(t.DType, append(prefix, t.Shape...))
	}
	return res, nil
}

// seqOf is the type of a sequence of elem.
func seqOf(elem *Type) *Type {
	if elem == nil {
		return nil
	}
	return &Type{Kind: SequenceKind, Elem: elem}
}

// inferSequenceEmpty: a sequence of tensors of dtype (float32).
func inferSequenceEmpty(c *inferCtx) ([]*Type, error) {
	d, err := c.dtypeAttr("dtype", Float32)
	if err != nil {
		return nil, err
	}
	return []*Type{seqOf(TensorType(d, nil))}, nil
}

// inferSequenceConstruct: a sequence of the inputs' merged type.
func inferSequenceConstruct(c *inferCtx) ([]*Type, error) {
	var elem *Type
	for i := range c.node.Inputs {
		t := c.input(i)
		if i == 0 {
			elem = t
		} else {
			elem = mergeTypes(elem, t)
		}
	}
	return []*Type{seqOf(elem)}, nil
}

// elemOf returns the element type of sequence (or optional) input i, nil
// when unknown.
func (c *inferCtx) elemOf(i int) *Type {
	if t := c.input(i); t != nil && (t.Kind == SequenceKind || t.Kind == OptionalKind) {
		return t.Elem
	}
	return nil
}

// inferSequenceInsert: the input sequence, its element type merged with
// the inserted tensor's.
func inferSequenceInsert(c *inferCtx) ([]*Type, error) {
	return []*Type{seqOf(mergeTypes(c.elemOf(0), c.input(1)))}, nil
}

// inferSequenceAt: the sequence's element type.
func inferSequenceAt(c *inferCtx) ([]*Type, error) { return []*Type{c.elemOf(0)}, nil }

// inferSequenceLength: an int64 scalar.
func inferSequenceLength(c *inferCtx) ([]*Type, error) {
	return []*Type{TensorType(Int64, Shape{})}, nil
}

// inferSplitToSequence: a sequence of the input's pieces along axis;
// without split, pieces of size 1, squeezed away unless keepdims.
func inferSplitToSequence(c *inferCtx) ([]*Type, error) {
	ints, err := c.node.Declared().IntList("axis", "keepdims")
	if err != nil {
		return nil, err
	}
	axis, keep := ints[0], ints[1]
	x, err := c.shaped(0, 1)
	if err != nil || x == nil {
		return []*Type{seqOf(typeOnlyOne(c, 0))}, err
	}
	a, err := c.normAxis("axis", axis, len(x.Shape), false)
	if err != nil {
		return nil, err
	}
	s := append(Shape{}, x.Shape...)
	switch {
	case c.node.Input(1) != "":
		s[a] = UnknownDim()
		if v := c.data(1); len(v) == 1 && v[0].Known && v[0].N > 0 && x.Shape[a].Known() && x.Shape[a].Size%v[0].N == 0 {
			s[a] = Fixed(v[0].N)
		}
	case keep != 0:
		s[a] = Fixed(1)
	default:
		s = append(s[:a], s[a+1:]...)
	}
	return []*Type{seqOf(TensorType(x.DType, s))}, nil
}

func typeOnlyOne(c *inferCtx, i int) *Type {
	if t := typeOnly(c, i); t != nil {
		return t[0]
	}
	return nil
}

// inferConcatFromSequence: the elements joined along axis (stacked on a
// new axis with new_axis), of a length known only at run time.
func inferConcatFromSequence(c *inferCtx) ([]*Type, error) {
	ints, err := c.node.Declared().IntList("axis", "new_axis")
	if err != nil {
		return nil, err
	}
	axis, newAxis := ints[0], ints[1]
	e := c.elemOf(0)
	if e == nil || e.Kind != TensorKind {
		return nil, nil
	}
	if e.Shape == nil {
		return []*Type{TensorType(e.DType, nil)}, nil
	}
	r := len(e.Shape)
	if newAxis != 0 {
		r++
	}
	a, err := c.normAxis("axis", axis, r, false)
	if err != nil {
		return nil, err
	}
	s := append(Shape{}, e.Shape...)
	if newAxis != 0 {
		s = append(append(append(Shape{}, e.Shape[:a]...), UnknownDim()), e.Shape[a:]...)
	} else {
		s[a] = UnknownDim()
	}
	return []*Type{TensorType(e.DType, s)}, nil
}

// inferSequenceMap: the body runs on the elements of the sequence inputs
// (and on the other inputs whole); each output is a sequence of the
// body's output.
func inferSequenceMap(c *inferCtx) ([]*Type, error) {
	body, err := c.node.Declared().Graph("body")
	if err != nil {
		return nil, err
	}
	var in []*Type
	for i := range c.node.Inputs {
		if e := c.elemOf(i); e != nil {
			in = append(in, e)
		} else {
			in = append(in, c.input(i))
		}
	}
	outs := c.subgraphOutputs(body, in)
	for i, t := range outs {
		outs[i] = seqOf(t)
	}
	return outs, nil
}

// inferOptional: an optional of the input's type, or of the type
// attribute when there is no input.
func inferOptional(c *inferCtx) ([]*Type, error) {
	t := c.input(0)
	if c.node.Input(0) == "" {
		if a := c.node.Attr("type"); a != nil && a.Kind == AttrType {
			t = a.Type
		}
	}
	if t == nil {
		return nil, nil
	}
	return []*Type{{Kind: OptionalKind, Elem: t}}, nil
}

// inferOptionalGetElement: the optional's element (a non-optional input
// passes through).
func inferOptionalGetElement(c *inferCtx) ([]*Type, error) {
	if t := c.input(0); t != nil && t.Kind != OptionalKind {
		return []*Type{t}, nil
	}
	return []*Type{c.elemOf(0)}, nil
}

// inferOptionalHasElement: a bool scalar.
func inferOptionalHasElement(c *inferCtx) ([]*Type, error) {
	return []*Type{TensorType(Bool, Shape{})}, nil
}

// trainingShapeFuncs are the shape functions of the
// ai.onnx.preview.training domain.
var trainingShapeFuncs = map[string]shapeFunc{
	"Adagrad":  inferOptimizer(2),
	"Momentum": inferOptimizer(2),
	"Adam":     inferOptimizer(3),
	"Gradient": inferGradient,
}

// inferGradient: the inputs are the values of the tensors that the
// attributes xs then zs name; output i, the gradient with respect to
// xs[i], has input i's type.
func inferGradient(c *inferCtx) ([]*Type, error) {
	out := make([]*Type, len(c.node.Outputs))
	for i := range out {
		out[i] = c.input(i)
	}
	return out, nil
}

// inferOptimizer: inputs R, T, then the tensors X1..Xn followed by blocks
// of per-tensor state; outputs, in blocks of n, are shaped like X1..Xn.
func inferOptimizer(blocks int) shapeFunc {
	return func(c *inferCtx) ([]*Type, error) {
		n := len(c.node.Outputs) / blocks
		out := make([]*Type, len(c.node.Outputs))
		for i := range out {
			if n > 0 {
				out[i] = c.input(2 + i%n)
			}
		}
		return out, nil
	}
}
