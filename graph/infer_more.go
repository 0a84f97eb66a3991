package graph

// Shape functions of the newer and rarer operators: bit casts, Lp pooling
// and normalization, image and string operators, and the traditional
// machine-learning operators of ai.onnx.ml that the engine runs.

// inferBitCast: the input's shape with the element type of attribute to,
// which has the input's width.
func inferBitCast(c *inferCtx) ([]*Type, error) {
	to, err := c.dtypeAttr("to", Undefined)
	if err != nil {
		return nil, err
	}
	x, err := c.tensor(0)
	if err != nil || x == nil {
		return nil, err
	}
	return []*Type{TensorType(to, x.Shape)}, nil
}

// inferAffineGrid: theta [N, 2, 3] and size [N, C, H, W] give the grid
// [N, H, W, 2]; theta [N, 3, 4] and size [N, C, D, H, W] give
// [N, D, H, W, 3].
func inferAffineGrid(c *inferCtx) ([]*Type, error) {
	theta, err := c.tensor(0)
	if err != nil || theta == nil {
		return nil, err
	}
	size := c.data(1)
	if size == nil {
		return []*Type{TensorType(theta.DType, nil)}, nil
	}
	if len(size) != 4 && len(size) != 5 {
		return nil, c.errorf("size has %d values, want 4 or 5", len(size))
	}
	out := Shape{size[0].dim()}
	for _, e := range size[2:] {
		out = append(out, e.dim())
	}
	out = append(out, Fixed(int64(len(size)-2)))
	return []*Type{TensorType(theta.DType, out)}, nil
}

// inferCenterCropPad: the input with the given axes (all by default) cut
// or padded to the sizes of the shape input.
func inferCenterCropPad(c *inferCtx) ([]*Type, error) {
	x, err := c.shaped(0, 0)
	if err != nil || x == nil {
		return typeOnly(c, 0), err
	}
	r := len(x.Shape)
	ax, err := c.axesAttrOrAll(r)
	if err != nil {
		return nil, err
	}
	v := c.data(1)
	if v == nil {
		return []*Type{TensorType(x.DType, unknownShape(r))}, nil
	}
	if len(v) != len(ax) {
		return nil, c.errorf("shape has %d values for %d axes", len(v), len(ax))
	}
	out := append(Shape{}, x.Shape...)
	for i, a := range ax {
		out[a] = v[i].dim()
	}
	return []*Type{TensorType(x.DType, out)}, nil
}

// inferCol2Im: input [N, C*prod(block_shape), L] gives [N, C,
// image_shape...].
func inferCol2Im(c *inferCtx) ([]*Type, error) {
	x, err := c.shaped(0, 3)
	if err != nil || x == nil {
		return typeOnly(c, 0), err
	}
	image, block := c.data(1), c.data(2)
	if image == nil {
		return []*Type{TensorType(x.DType, nil)}, nil
	}
	ch := symInt{}
	if block != nil {
		prod := knownInt(1)
		for _, b := range block {
			prod = intMul(prod, b)
		}
		ch = intDiv(dimInt(x.Shape[1]), prod)
	}
	out := Shape{x.Shape[0], ch.dim()}
	for _, e := range image {
		out = append(out, e.dim())
	}
	return []*Type{TensorType(x.DType, out)}, nil
}

// inferDeformConv: X [N, C, D...], W [M, C/group, k...] and offset
// [N, offsets, O...] give [N, M, O...].
func inferDeformConv(c *inferCtx) ([]*Type, error) {
	x, err := c.shaped(0, 3)
	if err != nil || x == nil {
		return typeOnly(c, 0), err
	}
	out := Shape{x.Shape[0], UnknownDim()}
	if w, _ := c.shaped(1, 3); w != nil {
		out[1] = w.Shape[0]
	}
	off, err := c.shaped(2, 3)
	if err != nil {
		return nil, err
	}
	if off == nil || len(off.Shape) != len(x.Shape) {
		return []*Type{TensorType(x.DType, append(out, unknownShape(len(x.Shape)-2)...))}, nil
	}
	return []*Type{TensorType(x.DType, append(out, off.Shape[2:]...))}, nil
}

// inferImageDecoder: uint8 [H, W, C] with C 3 (RGB, BGR) or 1
// (Grayscale); the image's size is known only at run time.
func inferImageDecoder(c *inferCtx) ([]*Type, error) {
	format, err := c.node.Declared().String("pixel_format")
	if err != nil {
		return nil, err
	}
	ch := int64(3)
	switch format {
	case "RGB", "BGR":
	case "Grayscale":
		ch = 1
	default:
		return nil, c.attrErrorf("pixel_format", "unknown value %q", format)
	}
	return []*Type{TensorType(Uint8, Shape{c.freshDim(), c.freshDim(), Fixed(ch)})}, nil
}

// inferStringSplit: Y [X..., most splits] of strings and Z [X...] the
// number of substrings, int64; the most splits is known only at run time.
func inferStringSplit(c *inferCtx) ([]*Type, error) {
	x, err := c.shaped(0, 0)
	if err != nil || x == nil {
		return []*Type{TensorType(String, nil), TensorType(Int64, nil)}, err
	}
	y := append(append(Shape{}, x.Shape...), c.freshDim())
	return []*Type{TensorType(String, y), TensorType(Int64, x.Shape)}, nil
}

// mlShapeFuncs are the shape functions of the ai.onnx.ml domain.
var mlShapeFuncs = map[string]shapeFunc{
	"ArrayFeatureExtractor": inferArrayFeatureExtractor,
	"Binarizer":             sameAsInput,
	"LabelEncoder":          inferLabelEncoder,
	"TreeEnsemble":          inferTreeEnsemble,
}

// inferArrayFeatureExtractor: X [..., C] and indices Y [k] give
// [..., k]; a 1-D X gives [1, k].
func inferArrayFeatureExtractor(c *inferCtx) ([]*Type, error) {
	x, err := c.shaped(0, 1)
	if err != nil || x == nil {
		return typeOnly(c, 0), err
	}
	k := UnknownDim()
	if y, _ := c.shaped(1, 0); y != nil {
		k = productOf(y.Shape).dim()
	}
	out := append(Shape{}, x.Shape[:len(x.Shape)-1]...)
	if len(out) == 0 {
		out = Shape{Fixed(1)}
	}
	return []*Type{TensorType(x.DType, append(out, k))}, nil
}

// inferLabelEncoder: X's shape, of the type of the values attribute
// (values_strings, values_int64s, values_floats or values_tensor).
func inferLabelEncoder(c *inferCtx) ([]*Type, error) {
	x, err := c.tensor(0)
	if err != nil || x == nil {
		return nil, err
	}
	var d DType
	switch {
	case c.node.HasAttr("values_strings"):
		d = String
	case c.node.HasAttr("values_int64s"):
		d = Int64
	case c.node.HasAttr("values_floats"):
		d = Float32
	case c.node.HasAttr("values_tensor"):
		t, err := c.node.Declared().Tensor("values_tensor")
		if err != nil {
			return nil, err
		}
		d = t.DType
	default:
		return nil, c.errorf("has no values_* attribute")
	}
	return []*Type{TensorType(d, x.Shape)}, nil
}

// inferCausalConv: CausalConvWithState: input [B, C, L] and weight
// [C, 1, K] give output [B, C, L] and present_state [B, C, K-1].
func inferCausalConv(c *inferCtx) ([]*Type, error) {
	x, err := c.shaped(0, 3)
	if err != nil || x == nil {
		return typeOnly(c, 0), err
	}
	state := Shape{x.Shape[0], x.Shape[1], UnknownDim()}
	if w, _ := c.shaped(1, 3); w != nil {
		state[2] = intSub(dimInt(w.Shape[2]), knownInt(1)).dim()
	}
	return []*Type{x, TensorType(x.DType, state)}, nil
}

// inferLinearAttention: query [B, T, Hq*dk], key [B, T, Hkv*dk] and value
// [B, T, Hkv*dv] give output [B, T, Hq*dv] and present_state
// [B, Hkv, dk, dv].
func inferLinearAttention(c *inferCtx) ([]*Type, error) {
	q, err := c.shaped(0, 3)
	if err != nil || q == nil {
		return typeOnly(c, 0), err
	}
	ints, err := c.node.Declared().IntList("q_num_heads", "kv_num_heads")
	if err != nil {
		return nil, err
	}
	qHeads, kvHeads := ints[0], ints[1]
	k, _ := c.shaped(1, 3)
	v, _ := c.shaped(2, 3)
	out := Shape{q.Shape[0], q.Shape[1], UnknownDim()}
	state := Shape{q.Shape[0], UnknownDim(), UnknownDim(), UnknownDim()}
	if kvHeads > 0 {
		state[1] = Fixed(kvHeads)
		if k != nil {
			state[2] = intDiv(dimInt(k.Shape[2]), knownInt(kvHeads)).dim()
		}
		if v != nil {
			dv := intDiv(dimInt(v.Shape[2]), knownInt(kvHeads))
			state[3] = dv.dim()
			if qHeads > 0 {
				out[2] = intMul(dv, knownInt(qHeads)).dim()
			}
		}
	}
	return []*Type{TensorType(q.DType, out), TensorType(q.DType, state)}, nil
}

// inferTreeEnsemble: X [N, F] gives [N, n_targets], of X's type.
func inferTreeEnsemble(c *inferCtx) ([]*Type, error) {
	targets, err := c.node.Declared().Int("n_targets")
	if err != nil {
		return nil, err
	}
	x, err := c.shaped(0, 1)
	if err != nil || x == nil {
		return typeOnly(c, 0), err
	}
	n := Fixed(1)
	if len(x.Shape) == 2 {
		n = x.Shape[0]
	}
	t := UnknownDim()
	if targets > 0 {
		t = Fixed(targets)
	}
	return []*Type{TensorType(x.DType, Shape{n, t})}, nil
}

// previewShapeFuncs are the shape functions of the ai.onnx.preview
// domain.
var previewShapeFuncs = map[string]shapeFunc{
	"FlexAttention": inferFlexAttention,
}

// inferFlexAttention: Q [B, Hq, L, E] and V [B, Hkv, S, Ev] give
// Y [B, Hq, L, Ev].
func inferFlexAttention(c *inferCtx) ([]*Type, error) {
	q, err := c.shaped(0, 4)
	if err != nil || q == nil {
		return typeOnly(c, 0), err
	}
	out := append(Shape{}, q.Shape...)
	out[3] = UnknownDim()
	if v, _ := c.shaped(2, 4); v != nil && len(v.Shape) == 4 {
		out[3] = v.Shape[3]
	}
	return []*Type{TensorType(q.DType, out)}, nil
}
