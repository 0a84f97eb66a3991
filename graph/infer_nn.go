package graph

import (
	"strings"
)

// Shape functions of the reductions, normalizations, recurrent networks,
// attention and the other neural-network operators.

// inferReduce: the input with the reduced axes set to 1 (keepdims, the
// default) or removed. Axes come from the attribute before opset 18
// (ReduceSum: 13) and from input 1 after; none means all of them, or
// none at all with noop_with_empty_axes.
func inferReduce(c *inferCtx) ([]*Type, error) {
	since := int64(18)
	if c.node.OpType == "ReduceSum" {
		since = 13
	}
	axes, ok, err := c.axesOf("axes", 1, since)
	if err != nil {
		return nil, err
	}
	ints, err := c.node.Declared().IntList("keepdims", "noop_with_empty_axes")
	if err != nil {
		return nil, err
	}
	keep, noop := ints[0], ints[1]
	x, err := c.shaped(0, 0)
	if err != nil || x == nil {
		return typeOnly(c, 0), err
	}
	r := len(x.Shape)
	if !ok {
		if keep != 0 {
			return []*Type{TensorType(x.DType, unknownShape(r))}, nil
		}
		return []*Type{TensorType(x.DType, nil)}, nil
	}
	if len(axes) == 0 && noop != 0 {
		return []*Type{x}, nil
	}
	reduce := make([]bool, r)
	if len(axes) == 0 {
		for i := range reduce {
			reduce[i] = true
		}
	} else {
		ax, err := c.normAxes("axes", axes, r)
		if err != nil {
			return nil, err
		}
		for _, a := range ax {
			reduce[a] = true
		}
	}
	out := Shape{}
	for i, d := range x.Shape {
		switch {
		case !reduce[i]:
			out = append(out, d)
		case keep != 0:
			out = append(out, Fixed(1))
		}
	}
	return []*Type{TensorType(x.DType, out)}, nil
}

// inferArgReduce: ArgMax, ArgMin: int64, the input with axis set to 1
// (keepdims) or removed.
func inferArgReduce(c *inferCtx) ([]*Type, error) {
	ints, err := c.node.Declared().IntList("axis", "keepdims")
	if err != nil {
		return nil, err
	}
	axis, keep := ints[0], ints[1]
	x, err := c.shaped(0, 0)
	if err != nil {
		return nil, err
	}
	if x == nil {
		return []*Type{TensorType(Int64, nil)}, nil
	}
	a, err := c.normAxis("axis", axis, len(x.Shape), false)
	if err != nil {
		return nil, err
	}
	out := append(Shape{}, x.Shape[:a]...)
	if keep != 0 {
		out = append(out, Fixed(1))
	}
	out = append(out, x.Shape[a+1:]...)
	return []*Type{TensorType(Int64, out)}, nil
}

// inferLayerNorm: Y like X; Mean and InvStdDev are X with the dimensions
// from axis (default -1) on set to 1, of stash_type (float32).
func inferLayerNorm(c *inferCtx) ([]*Type, error) {
	axis, err := c.node.Declared().Int("axis")
	if err != nil {
		return nil, err
	}
	stash, err := c.dtypeAttr("stash_type", Float32)
	if err != nil {
		return nil, err
	}
	x, err := c.shaped(0, 0)
	if err != nil || x == nil {
		return []*Type{c.input(0)}, err
	}
	a, err := c.normAxis("axis", axis, len(x.Shape), false)
	if err != nil {
		return nil, err
	}
	stat := append(Shape{}, x.Shape...)
	for i := a; i < len(stat); i++ {
		stat[i] = Fixed(1)
	}
	return []*Type{x, TensorType(stash, stat), TensorType(stash, stat)}, nil
}

// inferRecurrent: RNN, GRU and LSTM. X [seq, batch, input] (layout 0)
// or [batch, seq, input] (layout 1) gives Y [seq, dirs, batch, hidden]
// (layout 1: [batch, seq, dirs, hidden]) and Y_h, Y_c [dirs, batch, hidden]
// (layout 1: [batch, dirs, hidden]).
func inferRecurrent(c *inferCtx) ([]*Type, error) {
	hidden, err := c.node.Declared().IntOr("hidden_size", -1)
	if err != nil {
		return nil, err
	}
	dir, err := c.node.Declared().String("direction")
	if err != nil {
		return nil, err
	}
	layout, err := c.node.Declared().Int("layout")
	if err != nil {
		return nil, err
	}
	dirs := int64(1)
	switch dir {
	case "forward", "reverse":
	case "bidirectional":
		dirs = 2
	default:
		return nil, c.attrErrorf("direction", "unknown value %q", dir)
	}
	x, err := c.shaped(0, 3)
	if err != nil || x == nil {
		return nil, err
	}
	if len(x.Shape) != 3 {
		return nil, c.errorf("input %s, want rank 3", x.Shape)
	}
	seq, batch := x.Shape[0], x.Shape[1]
	if layout != 0 {
		seq, batch = batch, seq
	}
	h := UnknownDim()
	if hidden > 0 {
		h = Fixed(hidden)
	} else if r, _ := c.shaped(2, 3); r != nil {
		h = r.Shape[2]
	}
	d := Fixed(dirs)
	y := Shape{seq, d, batch, h}
	state := Shape{d, batch, h}
	if layout != 0 {
		y = Shape{batch, seq, d, h}
		state = Shape{batch, d, h}
	}
	return []*Type{TensorType(x.DType, y), TensorType(x.DType, state), TensorType(x.DType, state)}, nil
}

// inferAttention: the opset-23 Attention. Q [B, q_heads, S, head] (or
// [B, S, q_heads*head] in 3-D) with V [B, kv_heads, L, v_head] gives Y
// [B, q_heads, S, v_head] (3-D: [B, S, q_heads*v_head]); present_key and
// present_value are the past ones grown by L; qk_matmul_output is
// [B, q_heads, S, total].
func inferAttention(c *inferCtx) ([]*Type, error) {
	q, err := c.shaped(0, 3)
	if err != nil || q == nil {
		return nil, err
	}
	k, err := c.shaped(1, 3)
	if err != nil {
		return nil, err
	}
	v, err := c.shaped(2, 3)
	if err != nil {
		return nil, err
	}
	y := append(Shape{}, q.Shape...)
	outs := []*Type{TensorType(q.DType, y)}
	if v == nil || k == nil {
		y[len(y)-1] = UnknownDim()
		return outs, nil
	}
	ints, err := c.node.Declared().IntList("q_num_heads", "kv_num_heads")
	if err != nil {
		return nil, err
	}
	qHeads, kvHeads := ints[0], ints[1]
	switch len(q.Shape) {
	case 4:
		y[3] = v.Shape[len(v.Shape)-1]
	case 3:
		if len(v.Shape) == 4 {
			y[2] = intMul(dimInt(v.Shape[3]), knownInt(qHeads)).dim()
		} else if kvHeads > 0 {
			y[2] = intMul(intDiv(dimInt(v.Shape[2]), knownInt(kvHeads)), knownInt(qHeads)).dim()
		}
	default:
		return nil, c.errorf("Q %s, want rank 3 or 4", q.Shape)
	}
	// present_key, present_value: [B, kv_heads, past+L, head].
	kvLen := func(t *Type) Dim {
		if len(t.Shape) == 4 {
			return t.Shape[2]
		}
		return t.Shape[1]
	}
	present := func(cur *Type, pastAt int) *Type {
		past, _ := c.shaped(pastAt, 4)
		if past == nil || len(past.Shape) != 4 {
			return nil
		}
		s := append(Shape{}, past.Shape...)
		s[2] = intAdd(dimInt(past.Shape[2]), dimInt(kvLen(cur))).dim()
		return TensorType(cur.DType, s)
	}
	outs = append(outs, present(k, 4), present(v, 5))
	// qk_matmul_output: [B, q_heads, S, past+L].
	total := kvLen(k)
	if past, _ := c.shaped(4, 4); past != nil && len(past.Shape) == 4 {
		total = intAdd(dimInt(past.Shape[2]), dimInt(total)).dim()
	}
	heads, seq := Fixed(qHeads), q.Shape[1]
	if len(q.Shape) == 4 {
		heads, seq = q.Shape[1], q.Shape[2]
	} else if qHeads <= 0 {
		heads = UnknownDim()
	}
	outs = append(outs, TensorType(q.DType, Shape{q.Shape[0], heads, seq, total}))
	return outs, nil
}

// inferEinsum: the output's subscripts, each the size of the input
// dimension that carries it; without "->", the letters seen once, in
// alphabetical order, after the broadcast ellipsis dimensions.
func inferEinsum(c *inferCtx) ([]*Type, error) {
	eq, err := c.node.Declared().String("equation")
	if err != nil {
		return nil, err
	}
	eq = strings.ReplaceAll(eq, " ", "")
	lhs, rhs, explicit := strings.Cut(eq, "->")
	terms := strings.Split(lhs, ",")
	if len(terms) != len(c.node.Inputs) {
		return nil, c.attrErrorf("equation", "%q has %d operands for %d inputs", eq, len(terms), len(c.node.Inputs))
	}
	sizes := map[rune]Dim{}
	count := map[rune]int{}
	var ellipsis Shape
	var dtype DType
	for i, term := range terms {
		t, err := c.shaped(i, 0)
		if err != nil || t == nil {
			return typeOnly(c, 0), err
		}
		dtype = t.DType
		letters := strings.Replace(term, "...", ".", 1)
		nLetters := len(letters)
		hasEllipsis := strings.Contains(letters, ".")
		if hasEllipsis {
			nLetters--
		}
		if !hasEllipsis && nLetters != len(t.Shape) || nLetters > len(t.Shape) {
			return nil, c.attrErrorf("equation", "operand %q does not fit input %d %s", term, i, t.Shape)
		}
		ell := len(t.Shape) - nLetters
		j := 0
		for _, r := range letters {
			if r == '.' {
				b, ok := broadcastShapes(ellipsis, t.Shape[j:j+ell])
				if !ok {
					return nil, c.attrErrorf("equation", "ellipsis dimensions %s and %s do not broadcast", ellipsis, t.Shape[j:j+ell])
				}
				ellipsis = b
				j += ell
				continue
			}
			d := t.Shape[j]
			if old, ok := sizes[r]; ok {
				if b, ok := broadcastDim(old, d); ok {
					d = b
				} else {
					return nil, c.attrErrorf("equation", "%q has sizes %s and %s", r, old, d)
				}
			}
			sizes[r] = d
			count[r]++
			j++
		}
	}
	var out Shape
	if explicit {
		for _, r := range strings.Replace(rhs, "...", ".", 1) {
			if r == '.' {
				out = append(out, ellipsis...)
				continue
			}
			d, ok := sizes[r]
			if !ok {
				return nil, c.attrErrorf("equation", "output subscript %q is in no operand", r)
			}
			out = append(out, d)
		}
	} else {
		out = append(Shape{}, ellipsis...)
		for r := 'A'; r <= 'z'; r++ {
			if count[r] == 1 {
				out = append(out, sizes[r])
			}
		}
	}
	if out == nil {
		out = Shape{}
	}
	return []*Type{TensorType(dtype, out)}, nil
}

// inferQuantize: QuantizeLinear: y like x, of y_zero_point's type (or
// output_dtype, else uint8).
func inferQuantize(c *inferCtx) ([]*Type, error) {
	x, err := c.tensor(0)
	if err != nil || x == nil {
		return nil, err
	}
	d := Uint8
	if zp, _ := c.tensor(2); zp != nil {
		d = zp.DType
	} else if d, err = c.dtypeAttr("output_dtype", Uint8); err != nil {
		return nil, err
	}
	return []*Type{TensorType(d, x.Shape)}, nil
}

// inferDequantize: y like x, of x_scale's type (or output_dtype).
func inferDequantize(c *inferCtx) ([]*Type, error) {
	x, err := c.tensor(0)
	if err != nil || x == nil {
		return nil, err
	}
	d := Float32
	if s, _ := c.tensor(1); s != nil {
		d = s.DType
	}
	if c.node.HasAttr("output_dtype") {
		if d, err = c.dtypeAttr("output_dtype", d); err != nil {
			return nil, err
		}
	}
	return []*Type{TensorType(d, x.Shape)}, nil
}

// inferDynamicQuantize: y uint8 like x, y_scale float32 and
// y_zero_point uint8 scalars.
func inferDynamicQuantize(c *inferCtx) ([]*Type, error) {
	x, err := c.tensor(0)
	if err != nil || x == nil {
		return nil, err
	}
	return []*Type{TensorType(Uint8, x.Shape), TensorType(Float32, Shape{}), TensorType(Uint8, Shape{})}, nil
}

// withDType gives f's output 0 element type d (ConvInteger: int32).
func withDType(f shapeFunc, d func(c *inferCtx) DType) shapeFunc {
	return func(c *inferCtx) ([]*Type, error) {
		out, err := f(c)
		if err != nil || len(out) == 0 || out[0] == nil {
			return out, err
		}
		return []*Type{TensorType(d(c), out[0].Shape)}, nil
	}
}

func int32Out(*inferCtx) DType { return Int32 }

// zeroPointDType is the type of input i, uint8 when unknown.
func zeroPointDType(i int) func(c *inferCtx) DType {
	return func(c *inferCtx) DType {
		if t := c.input(i); t != nil && t.Kind == TensorKind {
			return t.DType
		}
		return Uint8
	}
}

// mixedInputs lets a shape function of float inputs read the integer
// inputs of ConvInteger and MatMulInteger, whose two operands may differ
// in type, by looking at the inputs at the given positions only.
func mixedInputs(f shapeFunc, at ...int) shapeFunc {
	return func(c *inferCtx) ([]*Type, error) {
		sub := &inferCtx{node: c.node, opset: c.opset, state: c.state}
		var inputs []string
		for k, i := range at {
			t := c.input(i)
			if t != nil && k > 0 && t.Kind == TensorKind && sub.in[0] != nil {
				t = TensorType(sub.in[0].DType, t.Shape)
			}
			sub.in = append(sub.in, t)
			sub.consts = append(sub.consts, c.constant(i))
			sub.vals = append(sub.vals, c.data(i))
			inputs = append(inputs, c.node.Input(i))
		}
		node := *c.node
		node.Inputs = inputs
		sub.node = &node
		return f(sub)
	}
}

// inferDet: the input without its last two dimensions, which must be
// equal.
func inferDet(c *inferCtx) ([]*Type, error) {
	x, err := c.shaped(0, 2)
	if err != nil || x == nil {
		return typeOnly(c, 0), err
	}
	r := len(x.Shape)
	if conflict(x.Shape[r-1], x.Shape[r-2]) {
		return nil, c.errorf("input %s holds no square matrices", x.Shape)
	}
	return []*Type{TensorType(x.DType, append(Shape{}, x.Shape[:r-2]...))}, nil
}

// inferMaxUnpool: output_shape when given, else each spatial dimension
// (in-1)*stride + kernel - pads.
func inferMaxUnpool(c *inferCtx) ([]*Type, error) {
	x, err := c.shaped(0, 3)
	if err != nil || x == nil {
		return typeOnly(c, 0), err
	}
	if c.node.Input(2) != "" {
		if v := c.data(2); v != nil {
			return []*Type{TensorType(x.DType, shapeOfData(v))}, nil
		}
		return []*Type{TensorType(x.DType, unknownShape(len(x.Shape)))}, nil
	}
	kernel, err := c.node.Declared().Ints("kernel_shape")
	if err != nil {
		return nil, err
	}
	spatial := len(x.Shape) - 2
	if len(kernel) != spatial {
		return nil, c.attrErrorf("kernel_shape", "has %d values, want %d", len(kernel), spatial)
	}
	win, err := c.readWindow(kernel, false)
	if err != nil {
		return nil, err
	}
	out := Shape{x.Shape[0], x.Shape[1]}
	for i := range spatial {
		d := x.Shape[2+i]
		if !d.Known() {
			out = append(out, UnknownDim())
			continue
		}
		out = append(out, Fixed((d.Size-1)*win.strides[i]+kernel[i]-win.pads[i]-win.pads[i+spatial]))
	}
	return []*Type{TensorType(x.DType, out)}, nil
}

// inferRoiAlign: [num_rois, C, output_height, output_width].
func inferRoiAlign(c *inferCtx) ([]*Type, error) {
	ints, err := c.node.Declared().IntList("output_height", "output_width")
	if err != nil {
		return nil, err
	}
	h, w := ints[0], ints[1]
	x, err := c.shaped(0, 4)
	if err != nil || x == nil {
		return typeOnly(c, 0), err
	}
	rois := UnknownDim()
	if r, _ := c.shaped(1, 2); r != nil {
		rois = r.Shape[0]
	} else if b, _ := c.shaped(2, 1); b != nil {
		rois = b.Shape[0]
	}
	return []*Type{TensorType(x.DType, Shape{rois, x.Shape[1], Fixed(h), Fixed(w)})}, nil
}

// inferGridSample: X [N, C, D...] sampled at grid [N, O..., r] gives
// [N, C, O...].
func inferGridSample(c *inferCtx) ([]*Type, error) {
	x, err := c.shaped(0, 3)
	if err != nil || x == nil {
		return typeOnly(c, 0), err
	}
	grid, err := c.shaped(1, 3)
	if err != nil || grid == nil {
		return []*Type{TensorType(x.DType, unknownShape(len(x.Shape)))}, err
	}
	out := append(Shape{x.Shape[0], x.Shape[1]}, grid.Shape[1:len(grid.Shape)-1]...)
	return []*Type{TensorType(x.DType, out)}, nil
}

// inferNMS: NonMaxSuppression's selected_indices, int64 [count, 3] with
// the count known only at run time.
func inferNMS(c *inferCtx) ([]*Type, error) {
	return []*Type{TensorType(Int64, Shape{c.freshDim(), Fixed(3)})}, nil
}

// inferNLLLoss: with reduction none, input [N, C, d...] gives [N, d...];
// otherwise a scalar.
func inferNLLLoss(c *inferCtx) ([]*Type, error) {
	red, err := c.node.Declared().String("reduction")
	if err != nil {
		return nil, err
	}
	x, err := c.shaped(0, 1)
	if err != nil || x == nil {
		return typeOnly(c, 0), err
	}
	out := Shape{}
	if red == "none" {
		if len(x.Shape) < 2 {
			return nil, c.errorf("input %s, want rank at least 2", x.Shape)
		}
		out = append(Shape{x.Shape[0]}, x.Shape[2:]...)
	}
	return []*Type{TensorType(x.DType, out)}, nil
}

// inferSoftmaxCrossEntropy: the loss like NegativeLogLikelihoodLoss's;
// log_prob like the scores.
func inferSoftmaxCrossEntropy(c *inferCtx) ([]*Type, error) {
	out, err := inferNLLLoss(c)
	if err != nil || len(out) == 0 {
		return out, err
	}
	return []*Type{out[0], c.input(0)}, nil
}

// inferDFT: the signal [batch, n..., 1 or 2] with the last dimension 2
// (complex) and the transformed axis dft_length long, or n/2+1 when
// onesided. An inverse onesided transform takes the half spectrum to a
// real signal (last dimension 1) of dft_length, or 2*(n-1), samples. The
// axis is an attribute (default 1) before opset 20 and input 2 (default
// -2) after.
func inferDFT(c *inferCtx) ([]*Type, error) {
	ints, err := c.node.Declared().IntList("onesided", "inverse")
	if err != nil {
		return nil, err
	}
	onesided, inverse := ints[0], ints[1]
	x, err := c.shaped(0, 2)
	if err != nil || x == nil {
		return typeOnly(c, 0), err
	}
	r := len(x.Shape)
	var axis int64
	if c.opset < 20 {
		if axis, err = c.node.Declared().Int("axis"); err != nil {
			return nil, err
		}
	} else if c.node.Input(2) == "" {
		axis = -2
	} else if v := c.data(2); len(v) == 1 && v[0].Known {
		axis = v[0].N
	} else {
		return []*Type{TensorType(x.DType, unknownShape(r))}, nil
	}
	a, err := c.normAxis("axis", axis, r, false)
	if err != nil {
		return nil, err
	}
	if a == r-1 {
		return nil, c.errorf("axis %d is the real/imaginary axis of input %s", axis, x.Shape)
	}
	out := append(Shape{}, x.Shape...)
	out[r-1] = Fixed(2)
	length := c.node.Input(1) != ""
	if length {
		if v := c.data(1); len(v) == 1 {
			out[a] = v[0].dim()
		} else {
			out[a] = UnknownDim()
		}
	}
	if onesided != 0 && inverse != 0 {
		out[r-1] = Fixed(1)
		if !length {
			out[a] = intMul(intSub(dimInt(out[a]), knownInt(1)), knownInt(2)).dim()
		}
		return []*Type{TensorType(x.DType, out)}, nil
	}
	if onesided != 0 {
		out[a] = intAdd(intDiv(dimInt(out[a]), knownInt(2)), knownInt(1)).dim()
	}
	return []*Type{TensorType(x.DType, out)}, nil
}

// inferSTFT: signal [batch, length, 1 or 2] -> [batch, frames, bins, 2]
// with frames = (length - frame_length)/frame_step + 1 and bins
// frame_length (frame_length/2+1 when onesided).
func inferSTFT(c *inferCtx) ([]*Type, error) {
	onesided, err := c.node.Declared().Int("onesided")
	if err != nil {
		return nil, err
	}
	x, err := c.shaped(0, 3)
	if err != nil || x == nil {
		return typeOnly(c, 0), err
	}
	length := UnknownDim()
	if v := c.data(3); len(v) == 1 {
		length = v[0].dim()
	} else if w, _ := c.shaped(2, 1); w != nil {
		length = w.Shape[0]
	}
	frames := UnknownDim()
	if v := c.data(1); len(v) == 1 && v[0].Known && v[0].N > 0 && length.Known() && x.Shape[1].Known() {
		frames = Fixed((x.Shape[1].Size-length.Size)/v[0].N + 1)
	}
	bins := dimInt(length)
	if onesided != 0 {
		bins = intAdd(intDiv(bins, knownInt(2)), knownInt(1))
	}
	return []*Type{TensorType(x.DType, Shape{x.Shape[0], frames, bins.dim(), Fixed(2)})}, nil
}

// inferWindow: the window functions: 1-D of the size input's value, of
// output_datatype (float32).
func inferWindow(c *inferCtx) ([]*Type, error) {
	d, err := c.dtypeAttr("output_datatype", Float32)
	if err != nil {
		return nil, err
	}
	n := UnknownDim()
	if v := c.data(0); len(v) == 1 {
		n = v[0].dim()
	}
	return []*Type{TensorType(d, Shape{n})}, nil
}

// inferMelWeightMatrix: [dft_length/2+1, num_mel_bins] of
// output_datatype (float32).
func inferMelWeightMatrix(c *inferCtx) ([]*Type, error) {
	d, err := c.dtypeAttr("output_datatype", Float32)
	if err != nil {
		return nil, err
	}
	bins, dft := UnknownDim(), UnknownDim()
	if v := c.data(0); len(v) == 1 {
		bins = v[0].dim()
	}
	if v := c.data(1); len(v) == 1 {
		dft = intAdd(intDiv(v[0], knownInt(2)), knownInt(1)).dim()
	}
	return []*Type{TensorType(d, Shape{dft, bins})}, nil
}

// inferRandom: RandomNormal, RandomUniform: the shape attribute (which
// they require), of dtype.
func inferRandom(c *inferCtx) ([]*Type, error) {
	d, err := c.dtypeAttr("dtype", Float32)
	if err != nil {
		return nil, err
	}
	shape, err := c.node.Declared().Ints("shape")
	if err != nil {
		return nil, err
	}
	return []*Type{TensorType(d, Dims(shape...))}, nil
}

// inferRandomLike: RandomNormalLike, RandomUniformLike, Bernoulli: the
// input's shape, of dtype (the input's by default).
func inferRandomLike(c *inferCtx) ([]*Type, error) {
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

// inferMultinomial: [batch, sample_size] of dtype (int32).
func inferMultinomial(c *inferCtx) ([]*Type, error) {
	d, err := c.dtypeAttr("dtype", Int32)
	if err != nil {
		return nil, err
	}
	n, err := c.node.Declared().Int("sample_size")
	if err != nil {
		return nil, err
	}
	batch := UnknownDim()
	if x, _ := c.shaped(0, 2); x != nil {
		batch = x.Shape[0]
	}
	return []*Type{TensorType(d, Shape{batch, Fixed(n)})}, nil
}

// inferTfIdf: float32 [C] -> [max index + 1], [N, C] -> [N, max index + 1].
func inferTfIdf(c *inferCtx) ([]*Type, error) {
	idx, err := c.node.Declared().Ints("ngram_indexes")
	if err != nil {
		return nil, err
	}
	width := int64(0)
	for _, i := range idx {
		width = max(width, i+1)
	}
	x, err := c.shaped(0, 1)
	if err != nil || x == nil {
		return []*Type{TensorType(Float32, nil)}, err
	}
	out := Shape{Fixed(width)}
	if len(x.Shape) == 2 {
		out = Shape{x.Shape[0], Fixed(width)}
	}
	return []*Type{TensorType(Float32, out)}, nil
}

// inferStringNormalizer: strings [C] or [1, C]; stop words may drop
// some, so C becomes a run-time size unless none are given.
func inferStringNormalizer(c *inferCtx) ([]*Type, error) {
	x, err := c.shaped(0, 1)
	if err != nil || x == nil {
		return []*Type{TensorType(String, nil)}, err
	}
	if !c.node.HasAttr("stopwords") {
		return []*Type{x}, nil
	}
	out := append(Shape{}, x.Shape...)
	out[len(out)-1] = c.freshDim()
	return []*Type{TensorType(String, out)}, nil
}
