package graph

import (
	"errors"
	"maps"
	"slices"
)

// InferTypes infers the type of every value of m's main graph from the
// types of its inputs and initializers, and returns them by name: graph
// inputs, initializers and node outputs. Shapes may hold symbolic
// dimensions: a batch dimension "N" of the input stays "N" through the
// network, and a product of symbols is written "12*N".
//
// Every operator of the default domain that the native engine registers
// has a shape function (KnownShapeOps lists them), as have the engine's
// operators of ai.onnx.ml, ai.onnx.preview and the training domain; an operator without one, or in
// another domain, leaves its outputs at the type declared in the graph's
// value_info or outputs, or unknown (absent from the map) when none is
// declared. A declared type also fills in the dimensions that inference
// leaves unknown.
//
// Like ONNX's infer_shapes(data_prop=True), inference follows the values
// of small integer tensors through the ops that compute shapes (Shape,
// Gather, Slice, Concat, Unsqueeze, Squeeze, Reshape, Expand, Range,
// ConstantOfShape, Cast, Where, the comparisons and the arithmetic ops),
// so that a Reshape whose shape an exporter computes from Shape(x) gets
// its output's shape. Of the initializers, only those not also listed as
// graph inputs (which a caller may override) count as constants. The
// subgraphs of If, Loop, Scan and SequenceMap are inferred in the scope of
// their node; If whose condition is known takes that branch's types. A
// call of one of m's functions is inferred through the function's body.
// Sizes known only at run time, such as the count NonZero finds, are
// fresh symbols "unk__1", "unk__2" and so on.
//
// Problems with nodes (bad attributes, input shapes an operator cannot
// take) come back as *NodeError values joined in the error; inference goes
// on past them with those nodes' outputs unknown, so the map is always
// complete as far as inference could go. A cycle is returned as a
// *CycleError with a nil map.
func InferTypes(m *Model) (map[string]*Type, error) {
	st, err := inferModel(m)
	if st == nil {
		return nil, err
	}
	return st.types, err
}

// InferTypesAndInts returns InferTypes' types and, with them, the
// values of the small integer tensors of m's main graph (rank 0 or 1,
// at most 64 elements) that its data propagation knows in full,
// whatever the graph inputs: the shape arithmetic that exporters compute
// from Shape(x) when the dimensions it reads are fixed, though others
// (the batch) may be symbolic. Constant values and initializers that are
// not graph inputs are among them. The error is InferTypes'.
func InferTypesAndInts(m *Model) (map[string]*Type, map[string][]int64, error) {
	st, err := inferModel(m)
	if st == nil {
		return nil, nil, err
	}
	ints := make(map[string][]int64)
	for name, t := range st.types {
		if t == nil || t.Kind != TensorKind || t.DType != Int64 && t.DType != Int32 {
			continue
		}
		d := st.data[name]
		if d == nil {
			if k := st.consts[name]; k != nil {
				d = tensorData(k)
			}
		}
		if v, ok := d.ints(); ok && d != nil {
			ints[name] = v
		}
	}
	return st.types, ints, err
}

// inferModel infers the types and followed integer values of m's main
// graph, as InferTypes describes: nil and the error for a cycle.
func inferModel(m *Model) (*inferState, error) {
	if m == nil || m.Graph == nil {
		return nil, errors.New("graph: model has no graph")
	}
	// A call of a model-local function is inferred through its body.
	inferred := m
	if len(m.Functions) > 0 {
		if inl, _, err := InlineFunctions(m, func(*Node) bool { return true }); err == nil {
			inferred = inl
		}
	}
	st, errs, err := inferGraphState(inferred, inferred.Graph, nil)
	if err != nil {
		return nil, err
	}
	if inferred != m {
		// Keep m's own values, not those of the inlined bodies.
		own := make(map[string]bool)
		collectNames(m.Graph, own)
		for name := range st.types {
			if !own[name] {
				delete(st.types, name)
				delete(st.data, name)
			}
		}
	}
	return st, errors.Join(errs...)
}

// KnownShapeOps returns the default-domain op types that InferTypes has a
// shape function for, sorted.
func KnownShapeOps() []string { return slices.Sorted(maps.Keys(shapeFuncs)) }

// inferGraph infers the types of g's values. errs are the nodes' problems;
// err is a cycle. outer, for a subgraph, is the state of the graph around
// it, whose values the subgraph sees.
func inferGraph(m *Model, g *Graph, outer *inferState) (types map[string]*Type, errs []error, err error) {
	st, errs, err := inferGraphState(m, g, outer)
	if st == nil {
		return nil, errs, err
	}
	return st.types, errs, err
}

// inferGraphState is inferGraph, returning the whole state of inference
// at the end of g: the types and the followed integer values.
func inferGraphState(m *Model, g *Graph, outer *inferState) (st *inferState, errs []error, err error) {
	order, err := TopoSort(g)
	if err != nil {
		return nil, nil, err
	}
	types := make(map[string]*Type)
	st = &inferState{model: m, types: types, data: make(map[string]symInts), consts: make(map[string]*Tensor)}
	if outer != nil {
		maps.Copy(types, outer.types)
		maps.Copy(st.data, outer.data)
		maps.Copy(st.consts, outer.consts)
		st.fresh = outer.fresh
		defer func() { outer.fresh = st.fresh }()
	}
	declared := make(map[string]*Type)
	for _, vs := range [][]*Value{g.ValueInfo, g.Outputs} {
		for _, v := range vs {
			if v.Type != nil {
				declared[v.Name] = v.Type
			}
		}
	}
	// An initializer that is also a graph input can be overridden by the
	// caller, so only the others are constants.
	consts := st.consts
	for _, t := range g.Initializers {
		types[t.Name] = initializerType(t)
		consts[t.Name] = t
	}
	for _, v := range g.Inputs {
		delete(consts, v.Name)
		delete(st.data, v.Name)
		if v.Type != nil && (v.Type.Kind != TensorKind || v.Type.Shape != nil || types[v.Name] == nil) {
			types[v.Name] = v.Type
		}
	}

	for _, n := range order {
		// An attribute the operator does not have is a problem of the
		// node's, which ONNX's checker rejects, but inference goes on.
		if err := CheckAttrs(n, domainOpset(m, n)); err != nil {
			errs = append(errs, err)
		}
		outs, data, err := st.inferNode(m, n, types, consts)
		if err != nil {
			var ne *NodeError
			if !errors.As(err, &ne) {
				err = &NodeError{Node: n.Name, Op: n.OpType, Err: err}
			}
			errs = append(errs, err)
			outs = nil
		}
		for i, name := range n.Outputs {
			if name == "" {
				continue
			}
			var t *Type
			if i < len(outs) {
				t = outs[i]
			}
			if t = refineType(t, declared[name]); t != nil {
				types[name] = t
			}
		}
		if data != nil && len(n.Outputs) > 0 && n.Outputs[0] != "" {
			st.data[n.Outputs[0]] = data
		}
		if err == nil && n.OpType == "Constant" && isDefaultDomain(n.Domain) && len(n.Outputs) > 0 {
			if t, _ := ConstantValue(n); t != nil {
				consts[n.Outputs[0]] = t
			}
		}
	}
	return st, errs, nil
}

// refineType is the inferred type t with what the declared type adds:
// declared dimensions where t's are unknown. A shape that inference
// leaves unknown stays unknown: the declared one may hold for some runs
// only (a sequence of tensors of several ranks). Either may be nil.
func refineType(t, declared *Type) *Type {
	switch {
	case t == nil:
		return declared
	case declared == nil || declared.Kind != t.Kind:
		return t
	}
	switch t.Kind {
	case TensorKind, SparseTensorKind:
		if declared.DType != t.DType && declared.DType != Undefined {
			return t
		}
		if t.Shape == nil || len(declared.Shape) != len(t.Shape) {
			return t
		}
		out := *t
		out.Shape = append(Shape{}, t.Shape...)
		for i, d := range out.Shape {
			if !d.Known() && d.Param == "" {
				out.Shape[i] = declared.Shape[i]
			}
		}
		return &out
	case SequenceKind, OptionalKind:
		if e := refineType(t.Elem, declared.Elem); e != t.Elem {
			return &Type{Kind: t.Kind, Elem: e}
		}
	}
	return t
}

// inferState is what inference keeps across the nodes of a graph.
type inferState struct {
	model  *Model
	types  map[string]*Type   // the values inferred so far
	consts map[string]*Tensor // the constant values
	// data holds the known elements of small integer values (see
	// inferCtx.data), by name.
	data map[string]symInts
	// fresh counts the symbols made for sizes known only at run time.
	fresh int
}

// inferNode runs n's shape function, if it has one, and returns its
// outputs' types and output 0's data when known.
func (st *inferState) inferNode(m *Model, n *Node, types map[string]*Type, consts map[string]*Tensor) ([]*Type, symInts, error) {
	f := shapeFuncsOf(n.Domain)[n.OpType]
	if f == nil {
		return nil, nil, nil
	}
	opset, _ := m.OpsetVersion(DefaultDomain)
	c := &inferCtx{node: n.AtOpset(domainOpset(m, n)), opset: opset, state: st}
	for _, name := range n.Inputs {
		var t *Type
		var k *Tensor
		var d symInts
		if name != "" {
			t, k, d = types[name], consts[name], st.data[name]
			if d == nil && k != nil {
				d = tensorData(k)
			}
			if d == nil && t != nil && t.Kind == TensorKind && len(t.Shape) == 1 && t.Shape[0].Known() && t.Shape[0].Size == 0 {
				d = symInts{} // an empty tensor's value is known
			}
		}
		c.in = append(c.in, t)
		c.consts = append(c.consts, k)
		c.vals = append(c.vals, d)
	}
	outs, err := f(c)
	return outs, c.out, err
}

// NodeAttrs returns the reader of the attributes of n, one of m's nodes,
// at the version m imports n's domain at.
func (m *Model) NodeAttrs(n *Node) AttrReader { return ReadAttrs(n, domainOpset(m, n)) }

// domainOpset returns the version at which m imports n's domain, which
// n's attributes follow. A model that does not import the domain (or no
// model) gets the newest version known.
func domainOpset(m *Model, n *Node) int64 {
	if m == nil {
		return max(latestOpset[canonicalDomain(n.Domain)], 1)
	}
	if v, ok := m.OpsetVersion(n.Domain); ok {
		return v
	}
	return max(latestOpset[canonicalDomain(n.Domain)], 1)
}

// shapeFuncsOf returns the shape functions of domain's operators, nil for
// a domain without any.
func shapeFuncsOf(domain string) map[string]shapeFunc {
	switch {
	case isDefaultDomain(domain):
		return shapeFuncs
	case domain == TrainingDomain:
		return trainingShapeFuncs
	case domain == MLDomain:
		return mlShapeFuncs
	case domain == "ai.onnx.preview":
		return previewShapeFuncs
	}
	return nil
}

// ShapeOps returns, sorted, the op types of domain ("" or "ai.onnx" for
// the default domain) that InferTypes has a shape function for.
func ShapeOps(domain string) []string { return slices.Sorted(maps.Keys(shapeFuncsOf(domain))) }

func isDefaultDomain(d string) bool { return d == DefaultDomain || d == "ai.onnx" }

// initializerType is the type of a constant tensor.
func initializerType(t *Tensor) *Type { return TensorType(t.DType, Dims(t.Dims...)) }

// inferCtx is what a shape function sees of one node.
type inferCtx struct {
	node   *Node
	opset  int64     // version of the default domain the model imports
	in     []*Type   // per input; nil when absent or unknown
	consts []*Tensor // per input; the value when it is a constant
	// vals are, per input, the elements of a small integer tensor of rank
	// 0 or 1 when they are known, each a known size or a symbol: the
	// output of Shape, and what exporters compute from it. nil when not
	// known.
	vals  []symInts
	out   symInts // output 0's elements, when the shape function knows them
	state *inferState
}

// shapeFunc gives the types of a node's outputs, in order; a nil entry is
// an unknown type.
type shapeFunc func(c *inferCtx) ([]*Type, error)

// input returns the type of input i, nil when absent or unknown.
func (c *inferCtx) input(i int) *Type {
	if i < len(c.in) {
		return c.in[i]
	}
	return nil
}

// tensor returns the type of input i, which must be a tensor; nil when it
// is absent or unknown.
func (c *inferCtx) tensor(i int) (*Type, error) {
	t := c.input(i)
	if t == nil || t.Kind == UnknownKind {
		return nil, nil
	}
	if t.Kind != TensorKind {
		return nil, c.errorf("input %d (%q) is %s, want a tensor", i, c.node.Input(i), t)
	}
	return t, nil
}

// shaped returns the type of input i when it is a tensor of known rank;
// nil otherwise. When want > 0 the rank must be at least want.
func (c *inferCtx) shaped(i, want int) (*Type, error) {
	t, err := c.tensor(i)
	if t == nil || err != nil || t.Shape == nil {
		return nil, err
	}
	if len(t.Shape) < want {
		return nil, c.errorf("input %d (%q) has rank %d, want at least %d", i, c.node.Input(i), len(t.Shape), want)
	}
	return t, nil
}

// constant returns the constant value of input i, or nil.
func (c *inferCtx) constant(i int) *Tensor {
	if i < len(c.consts) {
		return c.consts[i]
	}
	return nil
}

func (c *inferCtx) errorf(format string, args ...any) *NodeError {
	return c.node.errorf("", format, args...)
}

func (c *inferCtx) attrErrorf(attr, format string, args ...any) *NodeError {
	return c.node.errorf(attr, format, args...)
}

// sameDType checks that inputs i and j, when known, have one element type.
func (c *inferCtx) sameDType(a, b *Type, i, j int) error {
	if a != nil && b != nil && a.DType != Undefined && b.DType != Undefined && a.DType != b.DType {
		return c.errorf("input %d (%q) is %s but input %d (%q) is %s",
			i, c.node.Input(i), a.DType, j, c.node.Input(j), b.DType)
	}
	return nil
}

// Dimension arithmetic. A known size is exact; a symbol stands for one
// unknown size wherever it appears; an unnamed unknown dimension is
// unrelated to every other.

// sameDim reports whether a and b are certainly the same size.
func sameDim(a, b Dim) bool {
	if a.Known() || b.Known() {
		return a.Known() && b.Known() && a.Size == b.Size
	}
	return a.Param != "" && a.Param == b.Param
}

// conflict reports whether a and b are certainly different sizes.
func conflict(a, b Dim) bool { return a.Known() && b.Known() && a.Size != b.Size }

// unify returns the dimension that two dimensions required to be equal
// have: the known one if either is known.
func unify(a, b Dim) Dim {
	if a.Known() || a.Param != "" && !b.Known() {
		return a
	}
	return b
}

// broadcastDim is the numpy broadcast of two dimensions.
func broadcastDim(a, b Dim) (Dim, bool) {
	switch {
	case a.Known() && a.Size == 1:
		return b, true
	case b.Known() && b.Size == 1:
		return a, true
	case conflict(a, b):
		return Dim{}, false
	case a.Known():
		return a, true // b is unknown but must be a.Size or 1
	case b.Known():
		return b, true
	case sameDim(a, b):
		return a, true
	}
	return UnknownDim(), true // either could be 1
}

// broadcastShapes is the numpy broadcast of two shapes.
func broadcastShapes(a, b Shape) (Shape, bool) {
	if len(a) < len(b) {
		a, b = b, a
	}
	out := make(Shape, len(a))
	off := len(a) - len(b)
	copy(out, a[:off])
	for i := range b {
		d, ok := broadcastDim(a[off+i], b[i])
		if !ok {
			return nil, false
		}
		out[off+i] = d
	}
	return out, true
}

// product is the number of elements of a shape's dims, split into a known
// factor and the symbols; unknown reports an unnamed unknown dimension.
type product struct {
	known   int64
	symbols map[string]int
	unknown bool
}

// normAxis maps axis in [-r, r) (or [-r, r] when inclusive) to [0, r).
func (c *inferCtx) normAxis(attr string, axis int64, r int, inclusive bool) (int, error) {
	hi := int64(r)
	if !inclusive {
		hi--
	}
	if axis < -int64(r) || axis > hi {
		return 0, c.attrErrorf(attr, "axis %d out of range for rank %d", axis, r)
	}
	if axis < 0 {
		axis += int64(r)
	}
	return int(axis), nil
}

// ConstantValue returns the tensor that Constant node n produces, from its
// first value attribute (value, value_float(s), value_int(s),
// value_string(s)); nil, nil when it has none of them (a sparse_value),
// and an error when that attribute has the wrong kind.
func ConstantValue(n *Node) (*Tensor, error) {
	for _, a := range n.Attrs {
		switch a.Name {
		case "value":
			return n.AttrTensor("value")
		case "value_float":
			v, err := n.AttrFloat(a.Name, 0)
			return &Tensor{DType: Float32, Data: []float32{v}}, err
		case "value_floats":
			v, err := n.AttrFloats(a.Name, nil)
			return &Tensor{DType: Float32, Dims: []int64{int64(len(v))}, Data: v}, err
		case "value_int":
			v, err := n.AttrInt(a.Name, 0)
			return &Tensor{DType: Int64, Data: []int64{v}}, err
		case "value_ints":
			v, err := n.AttrInts(a.Name, nil)
			return &Tensor{DType: Int64, Dims: []int64{int64(len(v))}, Data: v}, err
		case "value_string":
			v, err := n.AttrString(a.Name, "")
			return &Tensor{DType: String, Data: []string{v}}, err
		case "value_strings":
			v, err := n.AttrStrings(a.Name, nil)
			return &Tensor{DType: String, Dims: []int64{int64(len(v))}, Data: v}, err
		}
	}
	return nil, nil
}

// operands returns inputs 0 and 1 of a product, each of rank at least
// want, when both are known, checked to have one element type.
func (c *inferCtx) operands(want int) (a, b *Type, err error) {
	if a, err = c.shaped(0, want); err != nil {
		return nil, nil, err
	}
	if b, err = c.shaped(1, want); err != nil {
		return nil, nil, err
	}
	if err := c.sameDType(a, b, 0, 1); err != nil {
		return nil, nil, err
	}
	return a, b, nil
}
