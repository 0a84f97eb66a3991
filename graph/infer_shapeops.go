package graph

import "math"

// Shape functions of the operators that move data without computing on
// it: Shape, Gather, Slice, Squeeze, Expand and the like. Those that
// build shapes follow small integer values (infer_data.go).

// axesOf reads a list of axes from the attribute attr before opset
// inputSince and from input i after; ok is false when it is given as an
// input whose value is not known. nil with ok means not given.
func (c *inferCtx) axesOf(attr string, i int, inputSince int64) (axes []int64, ok bool, err error) {
	if c.opset < inputSince {
		axes, err = c.node.Declared().Ints(attr)
		return axes, true, err
	}
	if c.node.Input(i) == "" {
		return nil, true, nil
	}
	axes, ok = c.ints(i)
	if ok && axes == nil {
		axes = []int64{}
	}
	return axes, ok, nil
}

// axesAttrOrAll returns the node's axes attribute normalized against
// rank r, or every axis in order when the node has none.
func (c *inferCtx) axesAttrOrAll(r int) ([]int, error) {
	var (
		axes []int64
		err  error
	)
	if at := c.node.Declared(); at.Declares("axes") { // not Upsample
		axes, err = at.Ints("axes")
	}
	if err != nil || axes == nil {
		ax := make([]int, r)
		for i := range ax {
			ax[i] = i
		}
		return ax, err
	}
	return c.normAxes("axes", axes, r)
}

// normAxes normalizes every axis against rank r and rejects repeats.
func (c *inferCtx) normAxes(attr string, axes []int64, r int) ([]int, error) {
	out := make([]int, len(axes))
	seen := make(map[int]bool)
	for i, a := range axes {
		n, err := c.normAxis(attr, a, r, false)
		if err != nil {
			return nil, err
		}
		if seen[n] {
			return nil, c.attrErrorf(attr, "axis %d repeats in %v", a, axes)
		}
		seen[n] = true
		out[i] = n
	}
	return out, nil
}

// unknownRank returns a shape of r unknown dimensions.
func unknownShape(r int) Shape {
	s := make(Shape, r)
	for i := range s {
		s[i] = UnknownDim()
	}
	return s
}

// inferShape: int64 [end-start] holding the input's dimensions, start and
// end (opset 15) clamped to the rank.
func inferShape(c *inferCtx) ([]*Type, error) {
	x, err := c.tensor(0)
	if err != nil || x == nil {
		return nil, err
	}
	if x.Shape == nil {
		return []*Type{TensorType(Int64, Shape{UnknownDim()})}, nil
	}
	start, end, err := ShapeRange(c.node, len(x.Shape))
	if err != nil {
		return nil, err
	}
	c.setData(dataOfShape(x.Shape[start:end]))
	return []*Type{TensorType(Int64, Dims(int64(end-start)))}, nil
}

// ShapeRange returns the axes [start, end) of an input of rank r whose
// dimensions Shape node n outputs: from opset 15 those its attributes
// start (default 0) and end (the rank when absent) give, negative ones
// counting from the end, both clamped into [0, r] and end at least
// start; before, all of them. n comes from AtOpset.
func ShapeRange(n *Node, r int) (start, end int, err error) {
	if n.opset < 15 {
		return 0, r, nil
	}
	clamp := func(v int64) int {
		if v < 0 {
			v += int64(r)
		}
		return int(min(max(v, 0), int64(r)))
	}
	at := n.Declared()
	s, err := at.Int("start")
	if err != nil {
		return 0, 0, err
	}
	e, err := at.IntOr("end", int64(r))
	if err != nil {
		return 0, 0, err
	}
	start, end = clamp(s), clamp(e)
	return start, max(end, start), nil
}

// inferSize: an int64 scalar, the input's number of elements.
func inferSize(c *inferCtx) ([]*Type, error) {
	if x, _ := c.shaped(0, 0); x != nil {
		c.setData(symInts{dimInt(productOf(x.Shape).dim())})
	}
	return []*Type{TensorType(Int64, Shape{})}, nil
}

// inferGather: data [d0..dr-1] along axis with indices [i...] ->
// [d0..d(axis-1), i..., d(axis+1)..].
func inferGather(c *inferCtx) ([]*Type, error) {
	axis, err := c.node.Declared().Int("axis")
	if err != nil {
		return nil, err
	}
	x, err := c.shaped(0, 1)
	if err != nil || x == nil {
		return typeOnly(c, 0), err
	}
	idx, err := c.shaped(1, 0)
	if err != nil || idx == nil {
		return []*Type{TensorType(x.DType, nil)}, err
	}
	a, err := c.normAxis("axis", axis, len(x.Shape), false)
	if err != nil {
		return nil, err
	}
	out := append(append(append(Shape{}, x.Shape[:a]...), idx.Shape...), x.Shape[a+1:]...)
	if v, at := c.data(0), c.data(1); v != nil && at != nil && len(x.Shape) == 1 {
		got := make(symInts, len(at))
		for i, e := range at {
			switch {
			case !e.Known:
			case e.N >= 0 && e.N < int64(len(v)):
				got[i] = v[e.N]
			case e.N < 0 && e.N >= -int64(len(v)):
				got[i] = v[int64(len(v))+e.N]
			default:
				return nil, c.errorf("index %d out of range for %d elements", e.N, len(v))
			}
		}
		c.setData(got)
	}
	return []*Type{TensorType(x.DType, out)}, nil
}

// typeOnly returns input i's element type with an unknown shape, nil
// when input i is unknown.
func typeOnly(c *inferCtx, i int) []*Type {
	if t := c.input(i); t != nil && t.Kind == TensorKind {
		return []*Type{TensorType(t.DType, nil)}
	}
	return nil
}

// inferGatherElements: the shape of indices, the type of data.
func inferGatherElements(c *inferCtx) ([]*Type, error) {
	x, err := c.tensor(0)
	if err != nil || x == nil {
		return nil, err
	}
	idx, err := c.tensor(1)
	if err != nil || idx == nil {
		return typeOnly(c, 0), err
	}
	return []*Type{TensorType(x.DType, idx.Shape)}, nil
}

// inferGatherND: data [b..., d...], indices [b..., i..., k] ->
// [b..., i..., d(b+k)..].
func inferGatherND(c *inferCtx) ([]*Type, error) {
	b, err := c.node.Declared().Int("batch_dims")
	if err != nil {
		return nil, err
	}
	x, err := c.shaped(0, 1)
	if err != nil || x == nil {
		return typeOnly(c, 0), err
	}
	idx, err := c.shaped(1, 1)
	if err != nil || idx == nil || !idx.Shape[len(idx.Shape)-1].Known() {
		return []*Type{TensorType(x.DType, nil)}, err
	}
	k := idx.Shape[len(idx.Shape)-1].Size
	if b < 0 || b+k > int64(len(x.Shape)) || b >= int64(len(idx.Shape)) {
		return nil, c.errorf("indices %s with batch_dims %d do not index data %s", idx.Shape, b, x.Shape)
	}
	out := append(append(Shape{}, idx.Shape[:len(idx.Shape)-1]...), x.Shape[b+k:]...)
	return []*Type{TensorType(x.DType, out)}, nil
}

// inferSlice: each sliced axis keeps the elements start, start+step, ...
// before end, with negative starts and ends counted from the end and both
// clamped (attributes before opset 10, inputs after).
func inferSlice(c *inferCtx) ([]*Type, error) {
	x, err := c.shaped(0, 0)
	if err != nil || x == nil {
		return typeOnly(c, 0), err
	}
	r := len(x.Shape)
	var starts, ends, axes, steps []int64
	known := true
	if c.opset < 10 {
		if starts, err = c.node.Declared().Ints("starts"); err != nil {
			return nil, err
		}
		if ends, err = c.node.Declared().Ints("ends"); err != nil {
			return nil, err
		}
		if axes, err = c.node.Declared().Ints("axes"); err != nil {
			return nil, err
		}
	} else {
		var ok1, ok2, ok3, ok4 bool
		starts, ok1 = c.ints(1)
		ends, ok2 = c.ints(2)
		axes, ok3, _ = c.axesOf("", 3, 0)
		steps, ok4 = c.ints(4)
		if c.node.Input(4) == "" {
			ok4, steps = true, nil
		}
		if !ok3 {
			return []*Type{TensorType(x.DType, unknownShape(r))}, nil
		}
		known = ok1 && ok2 && ok4
		if !known {
			n := -1
			if s, _ := c.shaped(1, 1); s != nil && s.Shape[0].Known() {
				n = int(s.Shape[0].Size)
			}
			if axes == nil && n >= 0 {
				axes = make([]int64, n)
				for i := range axes {
					axes[i] = int64(i)
				}
			}
			if axes == nil {
				return []*Type{TensorType(x.DType, unknownShape(r))}, nil
			}
		}
	}
	if known && len(ends) != len(starts) {
		return nil, c.errorf("starts %v and ends %v differ in length", starts, ends)
	}
	if axes == nil {
		for i := range starts {
			axes = append(axes, int64(i))
		}
	}
	if known && (len(axes) != len(starts) || steps != nil && len(steps) != len(starts)) {
		return nil, c.errorf("starts %v, ends %v, axes %v and steps %v differ in length", starts, ends, axes, steps)
	}
	ax, err := c.normAxes("axes", axes, r)
	if err != nil {
		return nil, err
	}
	out := append(Shape{}, x.Shape...)
	var sliceData func(symInts) symInts
	for i, a := range ax {
		if !known {
			out[a] = UnknownDim()
			continue
		}
		step := int64(1)
		if steps != nil {
			step = steps[i]
		}
		if step == 0 {
			return nil, c.errorf("step 0 on axis %d", a)
		}
		d := x.Shape[a]
		if !d.Known() {
			// Only the whole axis keeps a symbolic size.
			if step == 1 && starts[i] == 0 && ends[i] >= math.MaxInt32 {
				continue
			}
			out[a] = UnknownDim()
			continue
		}
		begin, count := sliceRange(starts[i], ends[i], step, d.Size)
		out[a] = Fixed(count)
		if r == 1 {
			sliceData = func(v symInts) symInts {
				if int64(len(v)) != d.Size {
					return nil
				}
				got := make(symInts, count)
				for j := range got {
					got[j] = v[begin+int64(j)*step]
				}
				return got
			}
		}
	}
	if sliceData != nil && c.data(0) != nil {
		c.setData(sliceData(c.data(0)))
	} else if r == 1 && known && len(ax) == 0 {
		c.setData(c.data(0))
	}
	return []*Type{TensorType(x.DType, out)}, nil
}

// sliceRange is the first index and the number of elements that slicing
// [start:end:step] keeps of an axis of size n.
func sliceRange(start, end, step, n int64) (begin, count int64) {
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	if step > 0 {
		start = min(max(start, 0), n)
		end = min(max(end, 0), n)
		if end <= start {
			return start, 0
		}
		return start, (end - start + step - 1) / step
	}
	start = min(max(start, -1), n-1)
	end = min(max(end, -1), n-1)
	if start <= end {
		return start, 0
	}
	return start, (start - end - step - 1) / -step
}

// inferSqueeze: the input without the given axes (attribute before opset
// 13, input after), each of which must be 1; without axes, every
// dimension of size 1 goes.
func inferSqueeze(c *inferCtx) ([]*Type, error) {
	axes, ok, err := c.axesOf("axes", 1, 13)
	if err != nil {
		return nil, err
	}
	x, err := c.shaped(0, 0)
	if err != nil || x == nil {
		return typeOnly(c, 0), err
	}
	if !ok {
		return []*Type{TensorType(x.DType, nil)}, nil
	}
	drop := make(map[int]bool)
	if len(axes) == 0 {
		for i, d := range x.Shape {
			if !d.Known() {
				return []*Type{TensorType(x.DType, nil)}, nil
			}
			drop[i] = d.Size == 1
		}
	} else {
		ax, err := c.normAxes("axes", axes, len(x.Shape))
		if err != nil {
			return nil, err
		}
		for _, a := range ax {
			if d := x.Shape[a]; d.Known() && d.Size != 1 {
				return nil, c.errorf("cannot squeeze axis %d of size %d", a, d.Size)
			}
			drop[a] = true
		}
	}
	out := Shape{}
	for i, d := range x.Shape {
		if !drop[i] {
			out = append(out, d)
		}
	}
	c.setData(c.data(0))
	return []*Type{TensorType(x.DType, out)}, nil
}

// inferUnsqueeze: the input with dimensions of size 1 inserted at the
// given axes of the output (attribute before opset 13, input after).
func inferUnsqueeze(c *inferCtx) ([]*Type, error) {
	axes, ok, err := c.axesOf("axes", 1, 13)
	if err != nil {
		return nil, err
	}
	x, err := c.shaped(0, 0)
	if err != nil || x == nil {
		return typeOnly(c, 0), err
	}
	if !ok {
		return []*Type{TensorType(x.DType, nil)}, nil
	}
	r := len(x.Shape) + len(axes)
	ax, err := c.normAxes("axes", axes, r)
	if err != nil {
		return nil, err
	}
	ones := make(map[int]bool)
	for _, a := range ax {
		ones[a] = true
	}
	out := make(Shape, 0, r)
	rest := x.Shape
	for i := range r {
		if ones[i] {
			out = append(out, Fixed(1))
		} else {
			out, rest = append(out, rest[0]), rest[1:]
		}
	}
	c.setData(c.data(0))
	return []*Type{TensorType(x.DType, out)}, nil
}

// inferExpand: the input broadcast with the shape input.
func inferExpand(c *inferCtx) ([]*Type, error) {
	x, err := c.tensor(0)
	if err != nil || x == nil {
		return nil, err
	}
	v := c.data(1)
	if x.Shape == nil {
		return []*Type{TensorType(x.DType, nil)}, nil
	}
	var want Shape
	if v != nil {
		want = shapeOfData(v)
	} else if s, _ := c.shaped(1, 1); s != nil && s.Shape[0].Known() {
		// Unknown sizes, each 1 or the input's size where it is not 1.
		want = unknownShape(int(s.Shape[0].Size))
	} else {
		return []*Type{TensorType(x.DType, nil)}, nil
	}
	out, ok := broadcastShapes(x.Shape, want)
	if !ok {
		return nil, c.errorf("input shape %s does not broadcast to %s", x.Shape, want)
	}
	if len(out) == 1 && len(x.Shape) <= 1 && out[0].Known() {
		if in := c.data(0); len(in) == 1 {
			got := make(symInts, out[0].Size)
			for i := range got {
				got[i] = in[0]
			}
			c.setData(got)
		} else if len(in) == int(out[0].Size) {
			c.setData(in)
		}
	}
	return []*Type{TensorType(x.DType, out)}, nil
}

// inferRange: 1-D, of start's type, with max(ceil((limit-start)/delta), 0)
// elements.
func inferRange(c *inferCtx) ([]*Type, error) {
	st, err := c.tensor(0)
	if err != nil || st == nil {
		return nil, err
	}
	start, limit, delta := c.data(0), c.data(1), c.data(2)
	n := UnknownDim()
	if len(start) == 1 && len(limit) == 1 && len(delta) == 1 {
		s, l, d := start[0], limit[0], delta[0]
		switch {
		case s.Known && l.Known && d.Known && d.N != 0:
			count := max((l.N-s.N+d.N-sign(d.N))/d.N, 0)
			n = Fixed(count)
			if count <= maxDataElems {
				v := make(symInts, count)
				for i := range v {
					v[i] = knownInt(s.N + int64(i)*d.N)
				}
				c.setData(v)
			}
		case s.isZero() && d.isOne():
			n = l.dim()
		}
	} else if k0, k1, k2 := c.constant(0), c.constant(1), c.constant(2); k0 != nil && k1 != nil && k2 != nil {
		s, l, d, ok := floatScalars(k0, k1, k2)
		if ok && d != 0 {
			n = Fixed(max(int64(math.Ceil((l-s)/d)), 0))
		}
	}
	return []*Type{TensorType(st.DType, Shape{n})}, nil
}

func sign(n int64) int64 {
	if n < 0 {
		return -1
	}
	return 1
}

// floatScalars reads three one-element floating-point tensors.
func floatScalars(ts ...*Tensor) (a, b, c float64, ok bool) {
	var v []float64
	for _, t := range ts {
		f, ok := t.floats()
		if !ok || len(f) != 1 {
			return 0, 0, 0, false
		}
		v = append(v, f[0])
	}
	return v[0], v[1], v[2], true
}

// inferConstantOfShape: the shape the input holds, of the value
// attribute's type (float32 by default).
func inferConstantOfShape(c *inferCtx) ([]*Type, error) {
	dtype := Float32
	var fill symInts
	if c.node.HasAttr("value") {
		t, err := c.node.Declared().Tensor("value")
		if err != nil {
			return nil, err
		}
		if t.NumElements() != 1 {
			return nil, c.attrErrorf("value", "has %d elements, want 1", t.NumElements())
		}
		dtype, fill = t.DType, tensorData(t)
	} else {
		fill = symInts{knownInt(0)}
	}
	v := c.data(0)
	if v == nil {
		if s, _ := c.shaped(0, 1); s != nil && s.Shape[0].Known() {
			return []*Type{TensorType(dtype, unknownShape(int(s.Shape[0].Size)))}, nil
		}
		return []*Type{TensorType(dtype, nil)}, nil
	}
	for _, e := range v {
		if e.Known && e.N < 0 {
			return nil, c.errorf("shape %v has a negative size", shapeOfData(v))
		}
	}
	out := shapeOfData(v)
	if len(out) <= 1 && fill != nil {
		n := int64(1)
		if len(out) == 1 {
			n = out[0].Size
		}
		if n >= 0 && n <= maxDataElems {
			got := make(symInts, n)
			for i := range got {
				got[i] = fill[0]
			}
			c.setData(got)
		}
	}
	return []*Type{TensorType(dtype, out)}, nil
}

// inferTile: output dimension i is input dimension i times repeats[i].
func inferTile(c *inferCtx) ([]*Type, error) {
	x, err := c.shaped(0, 0)
	if err != nil || x == nil {
		return typeOnly(c, 0), err
	}
	reps := c.data(1)
	if reps == nil {
		return []*Type{TensorType(x.DType, unknownShape(len(x.Shape)))}, nil
	}
	if len(reps) != len(x.Shape) {
		return nil, c.errorf("repeats has %d values for input %s", len(reps), x.Shape)
	}
	out := make(Shape, len(x.Shape))
	for i, d := range x.Shape {
		out[i] = intMul(dimInt(d), reps[i]).dim()
	}
	return []*Type{TensorType(x.DType, out)}, nil
}

// inferPad: dimension i grows by pads[i] at the start and pads[i+r] at
// the end (of the given axes from opset 18).
func inferPad(c *inferCtx) ([]*Type, error) {
	x, err := c.shaped(0, 0)
	if err != nil || x == nil {
		return typeOnly(c, 0), err
	}
	r := len(x.Shape)
	var pads []int64
	if c.opset < 11 {
		if pads, err = c.node.Declared().Ints("pads"); err != nil {
			return nil, err
		}
		if pads == nil {
			if pads, err = c.node.Declared().Ints("paddings"); err != nil {
				return nil, err
			}
		}
	} else {
		var ok bool
		if pads, ok = c.ints(1); !ok {
			return []*Type{TensorType(x.DType, unknownShape(r))}, nil
		}
	}
	axes := make([]int, r)
	for i := range axes {
		axes[i] = i
	}
	if c.opset >= 18 && c.node.Input(3) != "" {
		a, ok := c.ints(3)
		if !ok {
			return []*Type{TensorType(x.DType, unknownShape(r))}, nil
		}
		if axes, err = c.normAxes("axes", a, r); err != nil {
			return nil, err
		}
	}
	if len(pads) != 2*len(axes) {
		return nil, c.errorf("pads %v has %d values, want %d for input %s", pads, len(pads), 2*len(axes), x.Shape)
	}
	out := append(Shape{}, x.Shape...)
	for i, a := range axes {
		grow := pads[i] + pads[i+len(axes)]
		d := out[a]
		switch {
		case grow == 0:
		case d.Known():
			if d.Size+grow < 0 {
				return nil, c.errorf("pads %v shrink axis %d of size %d below zero", pads, a, d.Size)
			}
			out[a] = Fixed(d.Size + grow)
		default:
			out[a] = UnknownDim()
		}
	}
	return []*Type{TensorType(x.DType, out)}, nil
}

// inferSplit: the input cut along axis into the sizes split gives
// (attribute before opset 13, input after), or into equal parts, one per
// output (num_outputs from opset 18, the last part smaller).
func inferSplit(c *inferCtx) ([]*Type, error) {
	axis, err := c.node.Declared().Int("axis")
	if err != nil {
		return nil, err
	}
	x, err := c.shaped(0, 1)
	if err != nil || x == nil {
		t := typeOnly(c, 0)
		if t == nil {
			return nil, err
		}
		out := make([]*Type, len(c.node.Outputs))
		for i := range out {
			out[i] = t[0]
		}
		return out, err
	}
	a, err := c.normAxis("axis", axis, len(x.Shape), false)
	if err != nil {
		return nil, err
	}
	nout := len(c.node.Outputs)
	var split []int64
	ok := true
	if c.opset < 13 {
		split, err = c.node.Declared().Ints("split")
		if err != nil {
			return nil, err
		}
		if split == nil && c.node.Input(1) != "" {
			split, ok = c.ints(1)
		}
	} else if c.node.Input(1) != "" {
		split, ok = c.ints(1)
	}
	d := x.Shape[a]
	sizes := make([]Dim, nout)
	switch {
	case !ok:
		for i := range sizes {
			sizes[i] = UnknownDim()
		}
	case split != nil:
		if len(split) != nout {
			return nil, c.errorf("split %v has %d values for %d outputs", split, len(split), nout)
		}
		var sum int64
		for i, s := range split {
			sizes[i] = Fixed(s)
			sum += s
		}
		if d.Known() && sum != d.Size {
			return nil, c.errorf("split %v adds up to %d, not axis %d's size %d", split, sum, a, d.Size)
		}
	case d.Known():
		// Equal parts, the last smaller when num_outputs does not divide.
		part := (d.Size + int64(nout) - 1) / int64(nout)
		if !c.node.HasAttr("num_outputs") && d.Size%int64(nout) != 0 {
			return nil, c.errorf("axis %d of size %d does not split into %d equal parts", a, d.Size, nout)
		}
		left := d.Size
		for i := range sizes {
			sizes[i] = Fixed(min(part, left))
			left -= min(part, left)
		}
	default:
		for i := range sizes {
			sizes[i] = intDiv(dimInt(d), knownInt(int64(nout))).dim()
		}
	}
	out := make([]*Type, nout)
	for i := range out {
		s := append(Shape{}, x.Shape...)
		s[a] = sizes[i]
		out[i] = TensorType(x.DType, s)
	}
	return out, nil
}

// inferNonZero: int64 [rank, count] with count known only at run time.
func inferNonZero(c *inferCtx) ([]*Type, error) {
	x, err := c.shaped(0, 0)
	if err != nil {
		return nil, err
	}
	r := UnknownDim()
	if x != nil {
		r = Fixed(int64(len(x.Shape)))
	}
	return []*Type{TensorType(Int64, Shape{r, c.freshDim()})}, nil
}

// inferCompress: the selected slices along axis, their count known only at
// run time; without axis, the selected elements of the flattened input.
func inferCompress(c *inferCtx) ([]*Type, error) {
	x, err := c.shaped(0, 0)
	if err != nil || x == nil {
		return typeOnly(c, 0), err
	}
	if !c.node.HasAttr("axis") {
		return []*Type{TensorType(x.DType, Shape{c.freshDim()})}, nil
	}
	axis, err := c.node.Declared().Int("axis")
	if err != nil {
		return nil, err
	}
	a, err := c.normAxis("axis", axis, len(x.Shape), false)
	if err != nil {
		return nil, err
	}
	out := append(Shape{}, x.Shape...)
	out[a] = c.freshDim()
	return []*Type{TensorType(x.DType, out)}, nil
}

// inferOneHot: the indices' shape with depth inserted at axis, of the
// values' type.
func inferOneHot(c *inferCtx) ([]*Type, error) {
	axis, err := c.node.Declared().Int("axis")
	if err != nil {
		return nil, err
	}
	vals, err := c.tensor(2)
	if err != nil || vals == nil {
		return nil, err
	}
	idx, err := c.shaped(0, 0)
	if err != nil || idx == nil {
		return []*Type{TensorType(vals.DType, nil)}, err
	}
	depth := UnknownDim()
	if v := c.data(1); len(v) == 1 {
		depth = v[0].dim()
	} else if k := c.constant(1); k != nil {
		if f, _, _, ok := floatScalars(k, k, k); ok {
			depth = Fixed(int64(f))
		}
	}
	a, err := c.normAxis("axis", axis, len(idx.Shape)+1, false)
	if err != nil {
		return nil, err
	}
	out := append(append(append(Shape{}, idx.Shape[:a]...), depth), idx.Shape[a:]...)
	return []*Type{TensorType(vals.DType, out)}, nil
}

// inferTopK: Values and Indices (int64), the input with axis cut to K
// (the attribute k before opset 10, input 1 after).
func inferTopK(c *inferCtx) ([]*Type, error) {
	axis, err := c.node.Declared().Int("axis")
	if err != nil {
		return nil, err
	}
	x, err := c.shaped(0, 1)
	if err != nil || x == nil {
		return nil, err
	}
	a, err := c.normAxis("axis", axis, len(x.Shape), false)
	if err != nil {
		return nil, err
	}
	k := UnknownDim()
	if c.opset < 10 {
		n, err := c.node.Declared().Int("k")
		if err != nil {
			return nil, err
		}
		k = Fixed(n)
	} else if v := c.data(1); len(v) == 1 {
		k = v[0].dim()
	}
	if k.Known() && x.Shape[a].Known() && k.Size > x.Shape[a].Size {
		return nil, c.errorf("k %d exceeds axis %d's size %d", k.Size, a, x.Shape[a].Size)
	}
	out := append(Shape{}, x.Shape...)
	out[a] = k
	return []*Type{TensorType(x.DType, out), TensorType(Int64, out)}, nil
}

// inferEyeLike: the input's shape, of type dtype (the input's by default).
func inferEyeLike(c *inferCtx) ([]*Type, error) {
	x, err := c.tensor(0)
	if err != nil || x == nil {
		return nil, err
	}
	d, err := c.dtypeAttr("dtype", x.DType)
	if err != nil {
		return nil, err
	}
	return []*Type{TensorType(d, x.Shape)}, nil
}

// dtypeAttr reads a data-type attribute: its declared default when it is
// absent, or absent when it has none or its default is 0 (undefined, as
// QuantizeLinear's output_dtype: the type comes from elsewhere).
func (c *inferCtx) dtypeAttr(name string, absent DType) (DType, error) {
	at := c.node.Declared()
	var (
		v   int64
		err error
	)
	if at.HasDefault(name) {
		v, err = at.Int(name)
	} else {
		v, err = at.IntOr(name, int64(absent))
	}
	if err != nil {
		return 0, err
	}
	if v == 0 && !at.Has(name) {
		return absent, nil
	}
	if d := DType(v); d.Valid() {
		return d, nil
	}
	return 0, c.attrErrorf(name, "%d is not a data type", v)
}

// inferDepthToSpace: [N, C, H, W] -> [N, C/(b*b), H*b, W*b];
// SpaceToDepth the reverse.
func inferDepthToSpace(toSpace bool) shapeFunc {
	return func(c *inferCtx) ([]*Type, error) {
		b, err := c.node.Declared().Int("blocksize")
		if err != nil {
			return nil, err
		}
		if b < 1 {
			return nil, c.attrErrorf("blocksize", "is %d, want at least 1", b)
		}
		x, err := c.shaped(0, 4)
		if err != nil || x == nil {
			return typeOnly(c, 0), err
		}
		if len(x.Shape) != 4 {
			return nil, c.errorf("input %s, want rank 4", x.Shape)
		}
		bb, bk := knownInt(b*b), knownInt(b)
		ch, h, w := dimInt(x.Shape[1]), dimInt(x.Shape[2]), dimInt(x.Shape[3])
		var out Shape
		if toSpace {
			out = Shape{x.Shape[0], intDiv(ch, bb).dim(), intMul(h, bk).dim(), intMul(w, bk).dim()}
		} else {
			out = Shape{x.Shape[0], intMul(ch, bb).dim(), intDiv(h, bk).dim(), intDiv(w, bk).dim()}
		}
		return []*Type{TensorType(x.DType, out)}, nil
	}
}

// inferUnique: Y, indices, inverse_indices and counts; the number of
// unique values is known only at run time.
func inferUnique(c *inferCtx) ([]*Type, error) {
	x, err := c.shaped(0, 0)
	if err != nil || x == nil {
		return nil, err
	}
	count := c.freshDim()
	y := Shape{count}
	inverse := Shape{productOf(x.Shape).dim()}
	if c.node.HasAttr("axis") {
		axis, err := c.node.Declared().Int("axis")
		if err != nil {
			return nil, err
		}
		a, err := c.normAxis("axis", axis, len(x.Shape), false)
		if err != nil {
			return nil, err
		}
		y = append(Shape{}, x.Shape...)
		y[a] = count
		inverse = Shape{x.Shape[a]}
	}
	return []*Type{TensorType(x.DType, y), TensorType(Int64, Shape{count}),
		TensorType(Int64, inverse), TensorType(Int64, Shape{count})}, nil
}

// inferResize: each dimension scaled, floor(d*scale), or set to sizes
// (Resize from opset 11: X, roi, scales, sizes; opset 10 and Upsample 9:
// X, scales; Upsample before 9: the scales attribute).
func inferResize(c *inferCtx) ([]*Type, error) {
	x, err := c.shaped(0, 0)
	if err != nil || x == nil {
		return typeOnly(c, 0), err
	}
	r := len(x.Shape)
	ax, err := c.axesAttrOrAll(r)
	if err != nil {
		return nil, err
	}
	out := append(Shape{}, x.Shape...)
	scalesAt, sizesAt := 2, 3
	var scales []float32
	switch {
	case c.node.OpType == "Upsample" && c.opset < 9:
		if scales, err = c.node.Declared().Floats("scales"); err != nil {
			return nil, err
		}
	case c.node.OpType == "Upsample" || c.opset < 11:
		scalesAt, sizesAt = 1, -1
	}
	if sizesAt > 0 && c.node.Input(sizesAt) != "" {
		v := c.data(sizesAt)
		if v == nil {
			return []*Type{TensorType(x.DType, unknownShape(r))}, nil
		}
		if len(v) != len(ax) {
			return nil, c.errorf("sizes has %d values for %d axes", len(v), len(ax))
		}
		policy, err := c.node.Declared().String("keep_aspect_ratio_policy")
		if err != nil {
			return nil, err
		}
		if policy != "stretch" {
			return []*Type{TensorType(x.DType, unknownShape(r))}, nil
		}
		for i, a := range ax {
			out[a] = v[i].dim()
		}
		return []*Type{TensorType(x.DType, out)}, nil
	}
	if scales == nil {
		k := c.constant(scalesAt)
		if k == nil {
			return []*Type{TensorType(x.DType, unknownShape(r))}, nil
		}
		f, ok := k.Data.([]float32)
		if !ok {
			return nil, c.errorf("scales is %s, want float32", k.DType)
		}
		scales = f
	}
	if len(scales) != len(ax) {
		return nil, c.errorf("scales has %d values for %d axes", len(scales), len(ax))
	}
	// tf_crop_and_resize scales the extent roi_end - roi_start of each
	// axis (roi holds the starts, then the ends).
	extent := make([]float64, len(ax))
	for i := range extent {
		extent[i] = 1
	}
	if mode, _ := c.node.Declared().String("coordinate_transformation_mode"); mode == "tf_crop_and_resize" && sizesAt > 0 {
		roi, ok := c.constant(1).floats()
		if !ok || len(roi) != 2*len(ax) {
			return []*Type{TensorType(x.DType, unknownShape(r))}, nil
		}
		for i := range extent {
			extent[i] = roi[len(ax)+i] - roi[i]
		}
	}
	for i, a := range ax {
		switch d := out[a]; {
		case scales[i] == 1 && extent[i] == 1:
		case d.Known():
			out[a] = Fixed(int64(math.Floor(float64(d.Size) * extent[i] * float64(scales[i]))))
		default:
			out[a] = UnknownDim()
		}
	}
	return []*Type{TensorType(x.DType, out)}, nil
}

// floats returns the elements of a float32 or float64 tensor as float64;
// false for any other tensor or none.
func (t *Tensor) floats() ([]float64, bool) {
	if t == nil {
		return nil, false
	}
	switch d := t.Data.(type) {
	case []float32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out, true
	case []float64:
		return d, true
	}
	return nil, false
}
