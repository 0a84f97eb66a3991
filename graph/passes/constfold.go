package passes

import (
	"slices"

	"github.com/onnxkit/onnxkit/graph"
)

// maxFoldElements bounds the size of every tensor FoldConstants reads or
// makes: it folds shape computations, not data.
const maxFoldElements = 1 << 12

// FoldConstants returns a copy of m in which nodes that compute a constant
// from constants are replaced by initializers holding the result; m is not
// changed. It is meant for the shape subgraphs that exporters such as
// PyTorch emit, and evaluates only:
//
//	Constant                      -> its value, whatever its type
//	Shape                         of an input whose shape InferTypes knows fully (start/end from opset 15)
//	Cast                          int32 <-> int64
//	Unsqueeze, Squeeze, Concat,
//	Gather, Slice                 on int32 or int64 tensors
//	Add, Sub, Mul, Div            on int32 or int64 tensors, with broadcasting; Div truncates
//
// Constants are initializers that are not also graph inputs (a caller may
// override those), Constant outputs and results folded before. Integer
// tensors of more than 4096 elements, sparse constants, other operators,
// and inputs the operator would reject (an index out of range, a division
// by zero) are left for the engine.
func FoldConstants(m *graph.Model) (*graph.Model, error) {
	c, err := cloneModel(m)
	if err != nil {
		return nil, err
	}
	g := c.Graph
	order, err := graph.TopoSort(g)
	if err != nil {
		return nil, err
	}
	// Node errors only leave some types unknown, and so some Shape nodes
	// unfolded; the model's validity is not this pass's business.
	types, _ := graph.InferTypes(c)
	x := newIndex(g)
	folded := map[*graph.Node]bool{}
	for _, n := range order {
		if len(n.Outputs) != 1 || n.Outputs[0] == "" {
			continue
		}
		t := evaluate(n, opset(c, n), x, types)
		if t == nil {
			continue
		}
		t.Name = n.Outputs[0]
		g.Initializers = append(g.Initializers, t)
		x.constants[t.Name] = t
		folded[n] = true
	}
	removeNodes(g, folded)
	return c, nil
}

// evaluate returns the value of n when it is an operator FoldConstants
// handles with constant inputs, and nil otherwise.
func evaluate(n *graph.Node, opset int64, x *index, types map[string]*graph.Type) *graph.Tensor {
	if n.Domain != graph.DefaultDomain && n.Domain != "ai.onnx" {
		return nil
	}
	switch n.OpType {
	case "Constant":
		t := constantNodeValue(n)
		if t == nil {
			return nil
		}
		c := *t
		c.Dims = slices.Clone(t.Dims)
		return &c
	case "Shape":
		return foldShape(n, opset, types)
	}
	in := make([]*intTensor, len(n.Inputs))
	for i, name := range n.Inputs {
		if name == "" {
			continue
		}
		if in[i] = intsOf(x.constValue(name)); in[i] == nil {
			return nil
		}
	}
	if len(in) == 0 || in[0] == nil {
		return nil
	}
	var out *intTensor
	switch n.OpType {
	case "Cast":
		out = foldCast(n, in[0])
	case "Unsqueeze", "Squeeze":
		axes, ok := axesOf(n, opset, in)
		if !ok {
			return nil
		}
		if n.OpType == "Unsqueeze" {
			out = unsqueeze(in[0], axes)
		} else {
			out = squeeze(in[0], axes)
		}
	case "Concat":
		out = foldConcat(n, in)
	case "Gather":
		out = foldGather(n, in)
	case "Slice":
		out = foldSlice(n, opset, in)
	case "Add", "Sub", "Mul", "Div":
		if len(in) == 2 && in[1] != nil {
			out = arith(n.OpType, in[0], in[1])
		}
	}
	if out == nil {
		return nil
	}
	return out.tensor()
}

// constValue returns the value of name when it is a constant initializer
// or the output of a Constant node, and nil otherwise.
func (x *index) constValue(name string) *graph.Tensor {
	if t := x.constants[name]; t != nil {
		return t
	}
	if p := x.producer[name]; p != nil && isDefault(p, "Constant") {
		return constantNodeValue(p)
	}
	return nil
}

// constantNodeValue returns the value of Constant node n, or nil when it
// has no single dense value attribute of the right kind.
func constantNodeValue(n *graph.Node) *graph.Tensor {
	if len(n.Attrs) != 1 {
		return nil
	}
	a := n.Attrs[0]
	switch {
	case a.Name == "value" && a.Kind == graph.AttrTensor && a.Tensor != nil:
		return a.Tensor
	case a.Name == "value_float" && a.Kind == graph.AttrFloat:
		return &graph.Tensor{DType: graph.Float32, Data: []float32{a.Float}}
	case a.Name == "value_floats" && a.Kind == graph.AttrFloats:
		return &graph.Tensor{DType: graph.Float32, Dims: []int64{int64(len(a.Floats))}, Data: slices.Clone(a.Floats)}
	case a.Name == "value_int" && a.Kind == graph.AttrInt:
		return &graph.Tensor{DType: graph.Int64, Data: []int64{a.Int}}
	case a.Name == "value_ints" && a.Kind == graph.AttrInts:
		return &graph.Tensor{DType: graph.Int64, Dims: []int64{int64(len(a.Ints))}, Data: slices.Clone(a.Ints)}
	case a.Name == "value_string" && a.Kind == graph.AttrString:
		return &graph.Tensor{DType: graph.String, Data: []string{a.String}}
	case a.Name == "value_strings" && a.Kind == graph.AttrStrings:
		return &graph.Tensor{DType: graph.String, Dims: []int64{int64(len(a.Strings))}, Data: slices.Clone(a.Strings)}
	}
	return nil
}

// intTensor is a small int32 or int64 tensor with its elements widened to
// int64.
type intTensor struct {
	dtype graph.DType
	dims  []int64
	v     []int64
}

// elements returns the number of elements of dims, and false when a
// dimension is negative or the count exceeds maxFoldElements.
func elements(dims []int64) (int, bool) {
	n := int64(1)
	for _, d := range dims {
		if d < 0 || (d > 0 && n > maxFoldElements/d) {
			return 0, false
		}
		n *= d
	}
	return int(n), true
}

// intsOf returns t as an intTensor, or nil when it is not a well-formed
// int32 or int64 tensor of at most maxFoldElements elements.
func intsOf(t *graph.Tensor) *intTensor {
	if t == nil {
		return nil
	}
	n, ok := elements(t.Dims)
	if !ok {
		return nil
	}
	out := &intTensor{dtype: t.DType, dims: slices.Clone(t.Dims)}
	switch d := t.Data.(type) {
	case []int64:
		if t.DType != graph.Int64 || len(d) != n {
			return nil
		}
		out.v = slices.Clone(d)
	case []int32:
		if t.DType != graph.Int32 || len(d) != n {
			return nil
		}
		out.v = make([]int64, n)
		for i, e := range d {
			out.v[i] = int64(e)
		}
	default:
		return nil
	}
	return out
}

// tensor converts t back to an IR tensor of its element type; int32
// results wrap as a C cast does.
func (t *intTensor) tensor() *graph.Tensor {
	out := &graph.Tensor{DType: t.dtype, Dims: slices.Clone(t.dims)}
	if t.dtype == graph.Int32 {
		d := make([]int32, len(t.v))
		for i, e := range t.v {
			d[i] = int32(e)
		}
		out.Data = d
	} else {
		out.Data = slices.Clone(t.v)
	}
	return out
}

// normAxis maps axis in [-r, r) to [0, r), and reports false when it is
// out of range.
func normAxis(axis int64, r int) (int, bool) {
	if axis < -int64(r) || axis >= int64(r) {
		return 0, false
	}
	if axis < 0 {
		axis += int64(r)
	}
	return int(axis), true
}

func foldShape(n *graph.Node, opset int64, types map[string]*graph.Type) *graph.Tensor {
	t := types[n.Input(0)]
	if t == nil || t.Kind != graph.TensorKind || t.Shape == nil {
		return nil
	}
	dims, ok := t.Shape.Sizes()
	if !ok {
		return nil
	}
	r := int64(len(dims))
	start, end := int64(0), r
	if opset >= 15 {
		var err1, err2 error
		start, err1 = n.AttrInt("start", 0)
		end, err2 = n.AttrInt("end", r)
		if err1 != nil || err2 != nil {
			return nil
		}
	}
	clamp := func(i int64) int64 {
		if i < 0 {
			i += r
		}
		return min(max(i, 0), r)
	}
	start, end = clamp(start), clamp(end)
	v := []int64{}
	if start < end {
		v = slices.Clone(dims[start:end])
	}
	return &graph.Tensor{DType: graph.Int64, Dims: []int64{int64(len(v))}, Data: v}
}

func foldCast(n *graph.Node, in *intTensor) *intTensor {
	to, err := n.AttrInt("to", 0)
	if err != nil || (graph.DType(to) != graph.Int64 && graph.DType(to) != graph.Int32) {
		return nil
	}
	out := &intTensor{dtype: graph.DType(to), dims: in.dims, v: in.v}
	if out.dtype == graph.Int32 {
		for i, e := range out.v {
			out.v[i] = int64(int32(e))
		}
	}
	return out
}

// axesOf returns the axes of Squeeze or Unsqueeze: the attribute before
// opset 13, the optional second input from 13. Absent axes are nil.
func axesOf(n *graph.Node, opset int64, in []*intTensor) ([]int64, bool) {
	if opset < 13 {
		axes, err := n.AttrInts("axes", nil)
		return axes, err == nil
	}
	if len(in) < 2 || in[1] == nil {
		return nil, true
	}
	return in[1].v, len(in[1].dims) == 1
}

func unsqueeze(in *intTensor, axes []int64) *intTensor {
	r := len(in.dims) + len(axes)
	if len(axes) == 0 {
		return nil
	}
	inserted := make([]bool, r)
	for _, a := range axes {
		i, ok := normAxis(a, r)
		if !ok || inserted[i] {
			return nil
		}
		inserted[i] = true
	}
	dims := make([]int64, 0, r)
	j := 0
	for i := range r {
		if inserted[i] {
			dims = append(dims, 1)
		} else {
			dims = append(dims, in.dims[j])
			j++
		}
	}
	return &intTensor{dtype: in.dtype, dims: dims, v: in.v}
}

func squeeze(in *intTensor, axes []int64) *intTensor {
	r := len(in.dims)
	drop := make([]bool, r)
	if axes == nil {
		for i, d := range in.dims {
			drop[i] = d == 1
		}
	}
	for _, a := range axes {
		i, ok := normAxis(a, r)
		if !ok || in.dims[i] != 1 {
			return nil
		}
		drop[i] = true
	}
	var dims []int64
	for i, d := range in.dims {
		if !drop[i] {
			dims = append(dims, d)
		}
	}
	return &intTensor{dtype: in.dtype, dims: dims, v: in.v}
}

func foldConcat(n *graph.Node, in []*intTensor) *intTensor {
	axisAttr, err := n.AttrInt("axis", 0)
	if err != nil || !n.HasAttr("axis") {
		return nil
	}
	first := in[0]
	r := len(first.dims)
	axis, ok := normAxis(axisAttr, r)
	if !ok {
		return nil
	}
	dims := slices.Clone(first.dims)
	dims[axis] = 0
	for _, t := range in {
		if t == nil || t.dtype != first.dtype || len(t.dims) != r {
			return nil
		}
		for i, d := range t.dims {
			if i != axis && d != first.dims[i] {
				return nil
			}
		}
		dims[axis] += t.dims[axis]
	}
	total, ok := elements(dims)
	if !ok {
		return nil
	}
	outer, _ := elements(dims[:axis])
	inner, _ := elements(dims[axis+1:])
	v := make([]int64, 0, total)
	for o := range outer {
		for _, t := range in {
			block := int(t.dims[axis]) * inner
			v = append(v, t.v[o*block:(o+1)*block]...)
		}
	}
	return &intTensor{dtype: first.dtype, dims: dims, v: v}
}

func foldGather(n *graph.Node, in []*intTensor) *intTensor {
	if len(in) != 2 || in[1] == nil {
		return nil
	}
	data, idx := in[0], in[1]
	axisAttr, err := n.AttrInt("axis", 0)
	if err != nil {
		return nil
	}
	axis, ok := normAxis(axisAttr, len(data.dims))
	if !ok {
		return nil
	}
	dims := slices.Concat(data.dims[:axis], idx.dims, data.dims[axis+1:])
	if _, ok := elements(dims); !ok {
		return nil
	}
	outer, _ := elements(data.dims[:axis])
	inner, _ := elements(data.dims[axis+1:])
	size := data.dims[axis]
	var v []int64
	for o := range outer {
		for _, i := range idx.v {
			if i < -size || i >= size {
				return nil
			}
			if i < 0 {
				i += size
			}
			start := (o*int(size) + int(i)) * inner
			v = append(v, data.v[start:start+inner]...)
		}
	}
	return &intTensor{dtype: data.dtype, dims: dims, v: v}
}

// foldSlice evaluates Slice: starts, ends and axes are attributes before
// opset 10 and inputs (with steps) from 10.
func foldSlice(n *graph.Node, opset int64, in []*intTensor) *intTensor {
	data := in[0]
	r := len(data.dims)
	var starts, ends, axes, steps []int64
	if opset < 10 {
		var errs [3]error
		starts, errs[0] = n.AttrInts("starts", nil)
		ends, errs[1] = n.AttrInts("ends", nil)
		axes, errs[2] = n.AttrInts("axes", nil)
		if errs[0] != nil || errs[1] != nil || errs[2] != nil {
			return nil
		}
	} else {
		list := func(i int) ([]int64, bool) {
			if i >= len(in) || in[i] == nil {
				return nil, i > 2
			}
			return in[i].v, len(in[i].dims) == 1
		}
		var ok [4]bool
		starts, ok[0] = list(1)
		ends, ok[1] = list(2)
		axes, ok[2] = list(3)
		steps, ok[3] = list(4)
		if !ok[0] || !ok[1] || !ok[2] || !ok[3] {
			return nil
		}
	}
	if axes == nil {
		for i := range starts {
			axes = append(axes, int64(i))
		}
	}
	if steps == nil {
		steps = make([]int64, len(starts))
		for i := range steps {
			steps[i] = 1
		}
	}
	if len(ends) != len(starts) || len(axes) != len(starts) || len(steps) != len(starts) {
		return nil
	}
	begin := make([]int64, r)
	step := make([]int64, r)
	dims := slices.Clone(data.dims)
	for i := range step {
		step[i] = 1
	}
	seen := make([]bool, r)
	for i, a := range axes {
		ax, ok := normAxis(a, r)
		if !ok || seen[ax] || steps[i] == 0 {
			return nil
		}
		seen[ax] = true
		b, e, s := sliceRange(starts[i], ends[i], steps[i], data.dims[ax])
		begin[ax], step[ax], dims[ax] = b, s, max(0, (e-b+s-sign(s))/s)
	}
	total, ok := elements(dims)
	if !ok {
		return nil
	}
	inStrides := strides(data.dims)
	v := make([]int64, total)
	idx := make([]int64, r)
	for k := range v {
		off := int64(0)
		for d := range r {
			off += (begin[d] + idx[d]*step[d]) * inStrides[d]
		}
		v[k] = data.v[off]
		next(idx, dims)
	}
	return &intTensor{dtype: data.dtype, dims: dims, v: v}
}

// sliceRange clamps one axis's start and end for step s over a dimension
// of size d, as Slice specifies: negative values count from the end; for
// positive steps start and end are clamped to [0, d], for negative steps
// start to [0, d-1] and end to [-1, d-1].
func sliceRange(start, end, s, d int64) (int64, int64, int64) {
	if start < 0 {
		start += d
	}
	if end < 0 {
		end += d
	}
	if s > 0 {
		return min(max(start, 0), d), min(max(end, 0), d), s
	}
	return min(max(start, 0), d-1), min(max(end, -1), d-1), s
}

func sign(s int64) int64 {
	if s < 0 {
		return -1
	}
	return 1
}

// strides returns the row-major strides of dims.
func strides(dims []int64) []int64 {
	s := make([]int64, len(dims))
	acc := int64(1)
	for i := len(dims) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= dims[i]
	}
	return s
}

// next advances the multi-index idx over dims in row-major order.
func next(idx, dims []int64) {
	for d := len(idx) - 1; d >= 0; d-- {
		idx[d]++
		if idx[d] < dims[d] {
			return
		}
		idx[d] = 0
	}
}

// arith evaluates an elementwise Add, Sub, Mul or Div with numpy-style
// broadcasting, in int64; int32 results wrap when converted back. Div
// truncates towards zero; a zero divisor leaves the node to the engine.
func arith(op string, a, b *intTensor) *intTensor {
	if a.dtype != b.dtype {
		return nil
	}
	r := max(len(a.dims), len(b.dims))
	pad := func(t *intTensor) []int64 {
		return append(slices.Repeat([]int64{1}, r-len(t.dims)), t.dims...)
	}
	ad, bd := pad(a), pad(b)
	dims := make([]int64, r)
	for i := range dims {
		switch {
		case ad[i] == bd[i] || bd[i] == 1:
			dims[i] = ad[i]
		case ad[i] == 1:
			dims[i] = bd[i]
		default:
			return nil
		}
	}
	total, ok := elements(dims)
	if !ok {
		return nil
	}
	as, bs := strides(ad), strides(bd)
	for i := range dims {
		if ad[i] == 1 {
			as[i] = 0
		}
		if bd[i] == 1 {
			bs[i] = 0
		}
	}
	v := make([]int64, total)
	idx := make([]int64, r)
	for k := range v {
		var ai, bi int64
		for d := range r {
			ai += idx[d] * as[d]
			bi += idx[d] * bs[d]
		}
		x, y := a.v[ai], b.v[bi]
		switch op {
		case "Add":
			v[k] = x + y
		case "Sub":
			v[k] = x - y
		case "Mul":
			v[k] = x * y
		case "Div":
			if y == 0 {
				return nil
			}
			v[k] = x / y
		}
		next(idx, dims)
	}
	return &intTensor{dtype: a.dtype, dims: dims, v: v}
}
