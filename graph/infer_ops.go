package graph

// Shape functions of the standard operators, one each. Attribute defaults
// are the ONNX ones. Shape legend: N batch, C channels, M output channels,
// D1..Dn spatial dimensions.

// shapeFuncs maps a default-domain op type to its shape function.
var shapeFuncs = map[string]shapeFunc{
	"Abs":                       sameAsInput,
	"Acos":                      sameAsInput,
	"Acosh":                     sameAsInput,
	"Add":                       inferArith(intAdd),
	"AffineGrid":                inferAffineGrid,
	"And":                       inferLogical,
	"ArgMax":                    inferArgReduce,
	"ArgMin":                    inferArgReduce,
	"Asin":                      sameAsInput,
	"Asinh":                     sameAsInput,
	"Atan":                      sameAsInput,
	"Atanh":                     sameAsInput,
	"Attention":                 inferAttention,
	"AveragePool":               inferPool,
	"BatchNormalization":        inferBatchNorm,
	"Bernoulli":                 inferRandomLike,
	"BitCast":                   inferBitCast,
	"BitShift":                  inferBroadcast,
	"BitwiseAnd":                inferBroadcast,
	"BitwiseNot":                sameAsInput,
	"BitwiseOr":                 inferBroadcast,
	"BitwiseXor":                inferBroadcast,
	"BlackmanWindow":            inferWindow,
	"Cast":                      inferCast,
	"CastLike":                  inferCastLike,
	"CausalConvWithState":       inferCausalConv,
	"Ceil":                      sameAsInput,
	"Celu":                      sameAsInput,
	"CenterCropPad":             inferCenterCropPad,
	"Clip":                      inferClip,
	"Col2Im":                    inferCol2Im,
	"Compress":                  inferCompress,
	"Concat":                    inferConcat,
	"ConcatFromSequence":        inferConcatFromSequence,
	"Constant":                  inferConstant,
	"ConstantOfShape":           inferConstantOfShape,
	"Conv":                      inferConv,
	"ConvInteger":               withDType(mixedInputs(inferConv, 0, 1), int32Out),
	"ConvTranspose":             inferConvTranspose,
	"Cos":                       sameAsInput,
	"Cosh":                      sameAsInput,
	"CumProd":                   sameAsInput,
	"CumSum":                    sameAsInput,
	"DFT":                       inferDFT,
	"DeformConv":                inferDeformConv,
	"DepthToSpace":              inferDepthToSpace(true),
	"DequantizeLinear":          inferDequantize,
	"Det":                       inferDet,
	"Div":                       inferArith(intDiv),
	"Dropout":                   inferDropout,
	"DynamicQuantizeLinear":     inferDynamicQuantize,
	"Einsum":                    inferEinsum,
	"Elu":                       sameAsInput,
	"Equal":                     inferCompare(func(r int) bool { return r == 0 }),
	"Erf":                       sameAsInput,
	"Exp":                       sameAsInput,
	"Expand":                    inferExpand,
	"EyeLike":                   inferEyeLike,
	"Flatten":                   inferFlatten,
	"Floor":                     sameAsInput,
	"GRU":                       inferRecurrent,
	"Gather":                    inferGather,
	"GatherElements":            inferGatherElements,
	"GatherND":                  inferGatherND,
	"Gelu":                      sameAsInput,
	"Gemm":                      inferGemm,
	"GlobalAveragePool":         inferGlobalPool,
	"GlobalLpPool":              inferGlobalPool,
	"GlobalMaxPool":             inferGlobalPool,
	"Greater":                   inferCompare(func(r int) bool { return r > 0 }),
	"GreaterOrEqual":            inferCompare(func(r int) bool { return r >= 0 }),
	"GridSample":                inferGridSample,
	"GroupNormalization":        sameAsInput,
	"HammingWindow":             inferWindow,
	"HannWindow":                inferWindow,
	"HardSigmoid":               sameAsInput,
	"HardSwish":                 sameAsInput,
	"Hardmax":                   inferSoftmax,
	"Identity":                  inferIdentity,
	"ImageDecoder":              inferImageDecoder,
	"InstanceNormalization":     sameAsInput,
	"IsInf":                     unaryTo(Bool),
	"IsNaN":                     unaryTo(Bool),
	"LRN":                       inferLRN,
	"LSTM":                      inferRecurrent,
	"LayerNormalization":        inferLayerNorm,
	"LeakyRelu":                 sameAsInput,
	"Less":                      inferCompare(func(r int) bool { return r < 0 }),
	"LessOrEqual":               inferCompare(func(r int) bool { return r <= 0 }),
	"LinearAttention":           inferLinearAttention,
	"Log":                       sameAsInput,
	"LogSoftmax":                inferSoftmax,
	"LpNormalization":           sameAsInput,
	"LpPool":                    inferPool,
	"MatMul":                    inferMatMul,
	"MatMulInteger":             withDType(mixedInputs(inferMatMul, 0, 1), int32Out),
	"Max":                       inferVariadic,
	"MaxPool":                   inferPool,
	"MaxUnpool":                 inferMaxUnpool,
	"Mean":                      inferVariadic,
	"MeanVarianceNormalization": sameAsInput,
	"MelWeightMatrix":           inferMelWeightMatrix,
	"Min":                       inferVariadic,
	"Mish":                      sameAsInput,
	"Mod":                       inferArith(intMod),
	"Mul":                       inferArith(intMul),
	"Multinomial":               inferMultinomial,
	"Neg":                       inferNeg,
	"NegativeLogLikelihoodLoss": inferNLLLoss,
	"NonMaxSuppression":         inferNMS,
	"NonZero":                   inferNonZero,
	"Not":                       sameAsInput,
	"OneHot":                    inferOneHot,
	"Optional":                  inferOptional,
	"OptionalGetElement":        inferOptionalGetElement,
	"OptionalHasElement":        inferOptionalHasElement,
	"Or":                        inferLogical,
	"PRelu":                     inferPRelu,
	"Pad":                       inferPad,
	"Pow":                       inferPow,
	"QLinearConv":               withDType(mixedInputs(inferConv, 0, 3, 8), zeroPointDType(7)),
	"QLinearMatMul":             withDType(mixedInputs(inferMatMul, 0, 3), zeroPointDType(7)),
	"QuantizeLinear":            inferQuantize,
	"RMSNormalization":          inferLayerNorm,
	"RNN":                       inferRecurrent,
	"RandomNormal":              inferRandom,
	"RandomNormalLike":          inferRandomLike,
	"RandomUniform":             inferRandom,
	"RandomUniformLike":         inferRandomLike,
	"Range":                     inferRange,
	"Reciprocal":                sameAsInput,
	"ReduceL1":                  inferReduce,
	"ReduceL2":                  inferReduce,
	"ReduceLogSum":              inferReduce,
	"ReduceLogSumExp":           inferReduce,
	"ReduceMax":                 inferReduce,
	"ReduceMean":                inferReduce,
	"ReduceMin":                 inferReduce,
	"ReduceProd":                inferReduce,
	"ReduceSum":                 inferReduce,
	"ReduceSumSquare":           inferReduce,
	"RegexFullMatch":            unaryTo(Bool),
	"Relu":                      sameAsInput,
	"Reshape":                   inferReshape,
	"Resize":                    inferResize,
	"ReverseSequence":           sameAsInput,
	"RoiAlign":                  inferRoiAlign,
	"RotaryEmbedding":           sameAsInput,
	"Round":                     sameAsInput,
	"STFT":                      inferSTFT,
	"Scatter":                   sameAsInput,
	"ScatterElements":           sameAsInput,
	"ScatterND":                 sameAsInput,
	"Selu":                      sameAsInput,
	"SequenceAt":                inferSequenceAt,
	"SequenceConstruct":         inferSequenceConstruct,
	"SequenceEmpty":             inferSequenceEmpty,
	"SequenceErase":             sameAsInput,
	"SequenceInsert":            inferSequenceInsert,
	"SequenceLength":            inferSequenceLength,
	"Shape":                     inferShape,
	"Shrink":                    sameAsInput,
	"Sigmoid":                   sameAsInput,
	"Sign":                      sameAsInput,
	"Sin":                       sameAsInput,
	"Sinh":                      sameAsInput,
	"Size":                      inferSize,
	"Slice":                     inferSlice,
	"Softmax":                   inferSoftmax,
	"SoftmaxCrossEntropyLoss":   inferSoftmaxCrossEntropy,
	"Softplus":                  sameAsInput,
	"Softsign":                  sameAsInput,
	"SpaceToDepth":              inferDepthToSpace(false),
	"Split":                     inferSplit,
	"SplitToSequence":           inferSplitToSequence,
	"Sqrt":                      sameAsInput,
	"Squeeze":                   inferSqueeze,
	"StringConcat":              inferBroadcast,
	"StringNormalizer":          inferStringNormalizer,
	"StringSplit":               inferStringSplit,
	"Sub":                       inferArith(intSub),
	"Sum":                       inferVariadic,
	"SwiGLU":                    inferBroadcast,
	"Swish":                     sameAsInput,
	"Tan":                       sameAsInput,
	"Tanh":                      sameAsInput,
	"TensorScatter":             sameAsInput,
	"TfIdfVectorizer":           inferTfIdf,
	"ThresholdedRelu":           sameAsInput,
	"Tile":                      inferTile,
	"TopK":                      inferTopK,
	"Transpose":                 inferTranspose,
	"Trilu":                     sameAsInput,
	"Unique":                    inferUnique,
	"Unsqueeze":                 inferUnsqueeze,
	"Upsample":                  inferResize,
	"Where":                     inferWhere,
	"Xor":                       inferLogical,
}

// sameAsInput: Y has the type of input 0 (element-wise unary ops, Identity).
func sameAsInput(c *inferCtx) ([]*Type, error) { return []*Type{c.input(0)}, nil }

// inferBroadcast: C = A op B with numpy broadcasting.
func inferBroadcast(c *inferCtx) ([]*Type, error) {
	a, err := c.tensor(0)
	if err != nil {
		return nil, err
	}
	b, err := c.tensor(1)
	if err != nil {
		return nil, err
	}
	if err := c.sameDType(a, b, 0, 1); err != nil {
		return nil, err
	}
	if a == nil || b == nil {
		return nil, nil
	}
	if a.Shape == nil || b.Shape == nil {
		return []*Type{TensorType(a.DType, nil)}, nil
	}
	s, ok := broadcastShapes(a.Shape, b.Shape)
	if !ok {
		return nil, c.errorf("shapes %s and %s do not broadcast", a.Shape, b.Shape)
	}
	return []*Type{TensorType(a.DType, s)}, nil
}

// window is the sliding window of a convolution or pooling over the
// spatial dimensions.
type window struct {
	kernel, strides, dilations, pads []int64
	autoPad                          string
	ceil                             bool
}

// readWindow reads strides, dilations, pads and auto_pad for n spatial
// dimensions around kernel.
func (c *inferCtx) readWindow(kernel []int64, dilations bool) (*window, error) {
	n := c.node
	k := len(kernel)
	w := &window{kernel: kernel}
	var err error
	if w.strides, err = n.Declared().IntsOr("strides", ones(k)); err != nil {
		return nil, err
	}
	w.dilations = ones(k)
	if dilations {
		if w.dilations, err = n.Declared().IntsOr("dilations", ones(k)); err != nil {
			return nil, err
		}
	}
	if w.pads, err = n.Declared().IntsOr("pads", make([]int64, 2*k)); err != nil {
		return nil, err
	}
	w.autoPad = "NOTSET" // MaxUnpool's pads are always explicit
	if n.Declared().Declares("auto_pad") {
		if w.autoPad, err = n.Declared().String("auto_pad"); err != nil {
			return nil, err
		}
	}
	for _, a := range []struct {
		name string
		v    []int64
		want int
		min  int64
	}{
		{"kernel_shape", w.kernel, k, 1},
		{"strides", w.strides, k, 1},
		{"dilations", w.dilations, k, 1},
		{"pads", w.pads, 2 * k, 0},
	} {
		if len(a.v) != a.want {
			return nil, c.attrErrorf(a.name, "has %d values, want %d", len(a.v), a.want)
		}
		for _, v := range a.v {
			if v < a.min {
				return nil, c.attrErrorf(a.name, "value %d is less than %d", v, a.min)
			}
		}
	}
	switch w.autoPad {
	case "NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER":
	default:
		return nil, c.attrErrorf("auto_pad", "unknown value %q", w.autoPad)
	}
	return w, nil
}

func ones(n int) []int64 {
	s := make([]int64, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

// outDim is the size of spatial output dimension i for input size in.
func (w *window) outDim(c *inferCtx, in Dim, i int) (Dim, error) {
	if !in.Known() {
		return UnknownDim(), nil
	}
	k := (w.kernel[i]-1)*w.dilations[i] + 1 // effective kernel extent
	s := w.strides[i]
	var out int64
	switch w.autoPad {
	case "SAME_UPPER", "SAME_LOWER":
		out = (in.Size + s - 1) / s
	case "VALID":
		if in.Size < k {
			return Dim{}, c.errorf("kernel extent %d exceeds input size %d on spatial axis %d", k, in.Size, i)
		}
		out = (in.Size-k)/s + 1
	default:
		begin := w.pads[i]
		span := in.Size + begin + w.pads[i+len(w.kernel)] - k
		if span < 0 {
			return Dim{}, c.errorf("kernel extent %d exceeds padded input size %d on spatial axis %d", k, span+k, i)
		}
		if w.ceil {
			out = (span+s-1)/s + 1
			// A window that would start in the end padding is dropped.
			if (out-1)*s >= in.Size+begin {
				out--
			}
		} else {
			out = span/s + 1
		}
	}
	return Fixed(out), nil
}

// convInputs reads what Conv and ConvTranspose share: the input X and
// weight W (rank at least 3, same element type; nil when unknown) and the
// group attribute (at least 1).
func (c *inferCtx) convInputs() (x, w *Type, group int64, err error) {
	if x, err = c.shaped(0, 3); err != nil {
		return nil, nil, 0, err
	}
	if w, err = c.shaped(1, 3); err != nil {
		return nil, nil, 0, err
	}
	if err = c.sameDType(x, w, 0, 1); err != nil {
		return nil, nil, 0, err
	}
	if group, err = c.node.Declared().Int("group"); err != nil {
		return nil, nil, 0, err
	}
	if group < 1 {
		return nil, nil, 0, c.attrErrorf("group", "is %d, want at least 1", group)
	}
	return x, w, group, nil
}

// inferConv: X [N,C,D1..Dn], W [M,C/group,k1..kn], B [M] -> Y [N,M,O1..On].
func inferConv(c *inferCtx) ([]*Type, error) {
	n := c.node
	x, w, group, err := c.convInputs()
	if err != nil {
		return nil, err
	}
	if x == nil {
		return nil, nil
	}
	spatial := len(x.Shape) - 2
	if w != nil && len(w.Shape) != len(x.Shape) {
		return nil, c.errorf("weight rank %d differs from input rank %d", len(w.Shape), len(x.Shape))
	}
	kernel, err := n.Declared().Ints("kernel_shape")
	if err != nil {
		return nil, err
	}
	if kernel == nil && w != nil {
		if sizes, ok := w.Shape[2:].Sizes(); ok {
			kernel = sizes
		}
	}
	out := make(Shape, 0, len(x.Shape))
	out = append(out, x.Shape[0], UnknownDim())
	if w != nil {
		m, cg := w.Shape[0], w.Shape[1]
		out[1] = m
		if x.Shape[1].Known() && cg.Known() && x.Shape[1].Size != cg.Size*group {
			return nil, c.errorf("input has %d channels but weight %s with group %d takes %d",
				x.Shape[1].Size, w.Shape, group, cg.Size*group)
		}
		if m.Known() && m.Size%group != 0 {
			return nil, c.errorf("%d output channels do not divide into %d groups", m.Size, group)
		}
		if kernel != nil && len(kernel) == spatial {
			for i, k := range kernel {
				if conflict(w.Shape[2+i], Fixed(k)) {
					return nil, c.attrErrorf("kernel_shape", "%v disagrees with weight shape %s", kernel, w.Shape)
				}
			}
		}
	}
	if b, err := c.shaped(2, 1); err != nil {
		return nil, err
	} else if b != nil && (len(b.Shape) != 1 || conflict(b.Shape[0], out[1])) {
		return nil, c.errorf("bias shape %s, want [%s]", b.Shape, out[1])
	}
	if kernel == nil {
		for range spatial {
			out = append(out, UnknownDim())
		}
		return []*Type{TensorType(x.DType, out)}, nil
	}
	if len(kernel) != spatial {
		return nil, c.attrErrorf("kernel_shape", "has %d values, want %d", len(kernel), spatial)
	}
	win, err := c.readWindow(kernel, true)
	if err != nil {
		return nil, err
	}
	for i := range spatial {
		d, err := win.outDim(c, x.Shape[2+i], i)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return []*Type{TensorType(x.DType, out)}, nil
}

// inferConvTranspose: X [N,C,D1..Dn], W [C,M/group,k1..kn] -> Y [N,M,O1..On]
// with Oi = stride*(Di-1) + output_padding + (ki-1)*dilation + 1 - pads,
// Di*stride under SAME auto_pad, or output_shape when given.
func inferConvTranspose(c *inferCtx) ([]*Type, error) {
	n := c.node
	x, w, group, err := c.convInputs()
	if err != nil {
		return nil, err
	}
	if x == nil || w == nil {
		return nil, nil
	}
	if len(w.Shape) != len(x.Shape) {
		return nil, c.errorf("weight rank %d differs from input rank %d", len(w.Shape), len(x.Shape))
	}
	if conflict(x.Shape[1], w.Shape[0]) {
		return nil, c.errorf("input has %s channels but weight %s takes %s", x.Shape[1], w.Shape, w.Shape[0])
	}
	spatial := len(x.Shape) - 2
	m := UnknownDim()
	if w.Shape[1].Known() {
		m = Fixed(w.Shape[1].Size * group)
	}
	out := Shape{x.Shape[0], m}
	kernel, err := n.Declared().Ints("kernel_shape")
	if err != nil {
		return nil, err
	}
	if kernel == nil {
		sizes, ok := w.Shape[2:].Sizes()
		if !ok {
			for range spatial {
				out = append(out, UnknownDim())
			}
			return []*Type{TensorType(x.DType, out)}, nil
		}
		kernel = sizes
	}
	if len(kernel) != spatial {
		return nil, c.attrErrorf("kernel_shape", "has %d values, want %d", len(kernel), spatial)
	}
	win, err := c.readWindow(kernel, true)
	if err != nil {
		return nil, err
	}
	outPad, err := n.Declared().IntsOr("output_padding", make([]int64, spatial))
	if err != nil {
		return nil, err
	}
	if len(outPad) != spatial {
		return nil, c.attrErrorf("output_padding", "has %d values, want %d", len(outPad), spatial)
	}
	shape, err := n.Declared().Ints("output_shape")
	if err != nil {
		return nil, err
	}
	if shape != nil {
		if len(shape) != spatial {
			return nil, c.attrErrorf("output_shape", "has %d values, want %d", len(shape), spatial)
		}
		for _, d := range shape {
			out = append(out, Fixed(d))
		}
		return []*Type{TensorType(x.DType, out)}, nil
	}
	for i := range spatial {
		in := x.Shape[2+i]
		if !in.Known() {
			out = append(out, UnknownDim())
			continue
		}
		s := win.strides[i]
		var o int64
		switch win.autoPad {
		case "SAME_UPPER", "SAME_LOWER":
			o = in.Size * s
		default:
			pads := win.pads[i] + win.pads[i+spatial]
			if win.autoPad == "VALID" {
				pads = 0
			}
			o = s*(in.Size-1) + outPad[i] + (kernel[i]-1)*win.dilations[i] + 1 - pads
		}
		if o < 1 {
			return nil, c.errorf("output size %d on spatial axis %d", o, i)
		}
		out = append(out, Fixed(o))
	}
	return []*Type{TensorType(x.DType, out)}, nil
}

// inferPool: X [N,C,D1..Dn] -> Y [N,C,O1..On] (and MaxPool's Indices,
// int64 of the same shape).
func inferPool(c *inferCtx) ([]*Type, error) {
	n := c.node
	kernel, err := n.Declared().Ints("kernel_shape")
	if err != nil {
		return nil, err
	}
	if kernel == nil {
		return nil, c.attrErrorf("kernel_shape", "is required")
	}
	x, err := c.shaped(0, 3)
	if err != nil || x == nil {
		return nil, err
	}
	spatial := len(x.Shape) - 2
	if len(kernel) != spatial {
		return nil, c.attrErrorf("kernel_shape", "has %d values, want %d for input %s", len(kernel), spatial, x.Shape)
	}
	// MaxPool has dilations since opset 10, AveragePool since 19, LpPool
	// since 18.
	dil := n.OpType == "MaxPool" && c.opset >= 10 || n.OpType == "AveragePool" && c.opset >= 19 ||
		n.OpType == "LpPool" && c.opset >= 18
	win, err := c.readWindow(kernel, dil)
	if err != nil {
		return nil, err
	}
	ceil, err := n.Declared().Int("ceil_mode")
	if err != nil {
		return nil, err
	}
	win.ceil = ceil != 0
	out := Shape{x.Shape[0], x.Shape[1]}
	for i := range spatial {
		d, err := win.outDim(c, x.Shape[2+i], i)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return []*Type{TensorType(x.DType, out), TensorType(Int64, out)}, nil
}

// inferGlobalPool: X [N,C,D1..Dn] -> Y [N,C,1..1].
func inferGlobalPool(c *inferCtx) ([]*Type, error) {
	x, err := c.shaped(0, 2)
	if err != nil || x == nil {
		return []*Type{c.input(0)}, err
	}
	out := Shape{x.Shape[0], x.Shape[1]}
	for range len(x.Shape) - 2 {
		out = append(out, Fixed(1))
	}
	return []*Type{TensorType(x.DType, out)}, nil
}

// inferBatchNorm: X [N,C,...], scale, B, mean, var [C] -> Y like X; the
// optional running or saved mean and variance outputs are [C].
func inferBatchNorm(c *inferCtx) ([]*Type, error) {
	x, err := c.shaped(0, 2)
	if err != nil {
		return nil, err
	}
	if x == nil {
		return []*Type{c.input(0)}, nil
	}
	ch := x.Shape[1]
	for i, name := range []string{"scale", "B", "mean", "var"} {
		p, err := c.shaped(1+i, 0)
		if err != nil {
			return nil, err
		}
		if p != nil && (len(p.Shape) != 1 || conflict(p.Shape[0], ch)) {
			return nil, c.errorf("%s shape %s, want [%s] for input %s", name, p.Shape, ch, x.Shape)
		}
		if p != nil {
			ch = unify(ch, p.Shape[0])
		}
	}
	stat := TensorType(x.DType, Shape{ch})
	return []*Type{x, stat, stat, stat, stat}, nil
}

// inferLRN: Y like X; size is required.
func inferLRN(c *inferCtx) ([]*Type, error) {
	size, err := c.node.Declared().Int("size")
	if err != nil {
		return nil, err
	}
	if size < 1 {
		return nil, c.attrErrorf("size", "is required and must be positive")
	}
	return sameAsInput(c)
}

// inferFlatten: X [d0..dr-1] -> [d0*..*d(axis-1), d(axis)*..*d(r-1)].
func inferFlatten(c *inferCtx) ([]*Type, error) {
	axis, err := c.node.Declared().Int("axis")
	if err != nil {
		return nil, err
	}
	x, err := c.shaped(0, 0)
	if err != nil || x == nil {
		return nil, err
	}
	a, err := c.normAxis("axis", axis, len(x.Shape), true)
	if err != nil {
		return nil, err
	}
	out := Shape{productOf(x.Shape[:a]).dim(), productOf(x.Shape[a:]).dim()}
	return []*Type{TensorType(x.DType, out)}, nil
}

// inferReshape: data, shape (a constant int64 tensor; the attribute before
// opset 5) -> reshaped. A 0 copies the input dimension (unless allowzero),
// a -1 takes what is left.
func inferReshape(c *inferCtx) ([]*Type, error) {
	n := c.node
	x, err := c.tensor(0)
	if err != nil || x == nil {
		return nil, err
	}
	var target symInts
	if c.opset < 5 {
		shape, err := n.Declared().Ints("shape")
		if err != nil {
			return nil, err
		}
		for _, v := range shape {
			target = append(target, knownInt(v))
		}
	} else if target = c.data(1); target == nil {
		// Unknown values: the rank is the shape input's length, if known.
		if s, _ := c.shaped(1, 0); s != nil && len(s.Shape) == 1 && s.Shape[0].Known() {
			return []*Type{TensorType(x.DType, unknownShape(int(s.Shape[0].Size)))}, nil
		}
		return []*Type{TensorType(x.DType, nil)}, nil
	}
	allowZero, err := n.Declared().Int("allowzero")
	if err != nil {
		return nil, err
	}
	out := make(Shape, len(target))
	free := -1
	for i, e := range target {
		v := e.N
		switch {
		case !e.Known:
			out[i] = e.dim()
		case v == -1:
			if free >= 0 {
				return nil, c.errorf("shape %v has more than one -1", shapeOfData(target))
			}
			free = i
		case v == 0 && allowZero == 0:
			if x.Shape == nil {
				out[i] = UnknownDim()
				continue
			}
			if i >= len(x.Shape) {
				return nil, c.errorf("shape %v copies dimension %d of input %s, which has none", shapeOfData(target), i, x.Shape)
			}
			out[i] = x.Shape[i]
		case v < 0:
			return nil, c.errorf("shape %v has negative size %d", shapeOfData(target), v)
		default:
			out[i] = Fixed(v)
		}
	}
	if len(out) <= 1 {
		c.setData(c.data(0))
	}
	if x.Shape == nil {
		if free >= 0 {
			out[free] = UnknownDim()
		}
		return []*Type{TensorType(x.DType, out)}, nil
	}
	in := productOf(x.Shape)
	rest := make(Shape, 0, len(out))
	for i, d := range out {
		if i != free {
			rest = append(rest, d)
		}
	}
	have := productOf(rest)
	if free < 0 {
		if !in.unknown && !have.unknown && len(in.symbols) == 0 && len(have.symbols) == 0 && in.known != have.known {
			return nil, c.errorf("cannot reshape %s (%d elements) to %s", x.Shape, in.known, out)
		}
		return []*Type{TensorType(x.DType, out)}, nil
	}
	exact := !in.unknown && !have.unknown && len(in.symbols) == 0 && len(have.symbols) == 0
	if exact && (have.known == 0 || in.known%have.known != 0) {
		return nil, c.errorf("cannot reshape %s (%d elements) to %s", x.Shape, in.known, out)
	}
	out[free] = quotient(in, have)
	return []*Type{TensorType(x.DType, out)}, nil
}

// quotient is num/den as a dimension, cancelling symbols: N*256*6*6 over
// N gives 9216.
func quotient(num, den product) Dim {
	if num.unknown || den.unknown || den.known == 0 || num.known%den.known != 0 {
		return UnknownDim()
	}
	left := product{known: num.known / den.known, symbols: map[string]int{}}
	for s, k := range num.symbols {
		left.symbols[s] = k
	}
	for s, k := range den.symbols {
		if left.symbols[s] < k {
			return UnknownDim()
		}
		left.symbols[s] -= k
		if left.symbols[s] == 0 {
			delete(left.symbols, s)
		}
	}
	return left.dim()
}

// inferGemm: A [M,K] (or [K,M] with transA), B [K,N] (or [N,K] with
// transB), C broadcastable to [M,N] -> Y [M,N].
func inferGemm(c *inferCtx) ([]*Type, error) {
	ints, err := c.node.Declared().IntList("transA", "transB")
	if err != nil {
		return nil, err
	}
	transA, transB := ints[0], ints[1]
	a, b, err := c.operands(0)
	if a == nil || b == nil || err != nil {
		return nil, err
	}
	if len(a.Shape) != 2 || len(b.Shape) != 2 {
		return nil, c.errorf("inputs %s and %s, want two matrices", a.Shape, b.Shape)
	}
	m, ka := a.Shape[0], a.Shape[1]
	if transA != 0 {
		m, ka = ka, m
	}
	kb, nn := b.Shape[0], b.Shape[1]
	if transB != 0 {
		kb, nn = nn, kb
	}
	if conflict(ka, kb) {
		return nil, c.errorf("A %s (transA=%d) and B %s (transB=%d) disagree on K", a.Shape, transA, b.Shape, transB)
	}
	out := Shape{m, nn}
	if cc, err := c.shaped(2, 0); err != nil {
		return nil, err
	} else if cc != nil {
		if len(cc.Shape) > 2 {
			return nil, c.errorf("C shape %s does not broadcast to %s", cc.Shape, out)
		}
		if s, ok := broadcastShapes(out, cc.Shape); !ok || conflict(s[0], m) || conflict(s[1], nn) {
			return nil, c.errorf("C shape %s does not broadcast to %s", cc.Shape, out)
		}
	}
	return []*Type{TensorType(a.DType, out)}, nil
}

// inferMatMul: numpy matmul. A [...,M,K] x B [...,K,N] -> [...,M,N] with the
// batch dimensions broadcast; a 1-D A is a row [1,K] and a 1-D B a column
// [K,1], and the added dimension is dropped from the result.
func inferMatMul(c *inferCtx) ([]*Type, error) {
	a, b, err := c.operands(1)
	if a == nil || b == nil || err != nil {
		return nil, err
	}
	as, bs := a.Shape, b.Shape
	if len(as) == 1 {
		as = Shape{Fixed(1), as[0]}
	}
	if len(bs) == 1 {
		bs = Shape{bs[0], Fixed(1)}
	}
	if conflict(as[len(as)-1], bs[len(bs)-2]) {
		return nil, c.errorf("shapes %s and %s disagree on K", a.Shape, b.Shape)
	}
	batch, ok := broadcastShapes(as[:len(as)-2], bs[:len(bs)-2])
	if !ok {
		return nil, c.errorf("batch dimensions of %s and %s do not broadcast", a.Shape, b.Shape)
	}
	out := append(Shape{}, batch...)
	if len(a.Shape) > 1 {
		out = append(out, as[len(as)-2])
	}
	if len(b.Shape) > 1 {
		out = append(out, bs[len(bs)-1])
	}
	return []*Type{TensorType(a.DType, out)}, nil
}

// inferDropout: output like data; the mask has its shape and is bool from
// opset 10 on (of the data type before).
func inferDropout(c *inferCtx) ([]*Type, error) {
	x, err := c.tensor(0)
	if err != nil || x == nil {
		return nil, err
	}
	mask := TensorType(Bool, x.Shape)
	if c.opset < 10 {
		mask.DType = x.DType
	}
	return []*Type{x, mask}, nil
}

// inferSoftmax: output like input; axis (default 1 before opset 13, -1
// from 13) must be in range.
func inferSoftmax(c *inferCtx) ([]*Type, error) {
	axis, err := c.node.Declared().Int("axis")
	if err != nil {
		return nil, err
	}
	x, err := c.shaped(0, 0)
	if err != nil {
		return nil, err
	}
	if x != nil {
		if _, err := c.normAxis("axis", axis, len(x.Shape), false); err != nil {
			return nil, err
		}
	}
	return sameAsInput(c)
}

// inferConcat: inputs agree on all dimensions but axis, along which their
// sizes add up.
func inferConcat(c *inferCtx) ([]*Type, error) {
	n := c.node
	axis, err := n.Declared().IntOr("axis", 1) // required from opset 4
	if err != nil {
		return nil, err
	}
	var out Shape
	var dtype DType
	var first int
	complete := true
	for i := range n.Inputs {
		t, err := c.tensor(i)
		if err != nil {
			return nil, err
		}
		if t == nil || t.Shape == nil {
			complete = false
			continue
		}
		if out == nil {
			out, dtype, first = append(Shape{}, t.Shape...), t.DType, i
			continue
		}
		if err := c.sameDType(c.input(first), t, first, i); err != nil {
			return nil, err
		}
		if len(t.Shape) != len(out) {
			return nil, c.errorf("input %d has rank %d, input %d rank %d", i, len(t.Shape), first, len(out))
		}
		a, err := c.normAxis("axis", axis, len(out), false)
		if err != nil {
			return nil, err
		}
		for d := range out {
			switch {
			case d == a && out[d].Known() && t.Shape[d].Known():
				out[d] = Fixed(out[d].Size + t.Shape[d].Size)
			case d == a:
				out[d] = UnknownDim()
			case conflict(out[d], t.Shape[d]):
				return nil, c.errorf("input %d shape %s and input %d shape %s differ off axis %d", first, c.input(first).Shape, i, t.Shape, a)
			default:
				out[d] = unify(out[d], t.Shape[d])
			}
		}
	}
	if out == nil {
		return nil, nil
	}
	a, err := c.normAxis("axis", axis, len(out), false)
	if err != nil {
		return nil, err
	}
	if !complete {
		out[a] = UnknownDim()
	}
	if len(out) == 1 {
		var v symInts
		for i := range n.Inputs {
			d := c.data(i)
			if d == nil {
				v = nil
				break
			}
			v = append(v, d...)
		}
		c.setData(v)
	}
	return []*Type{TensorType(dtype, out)}, nil
}

// inferTranspose: output dimension i is input dimension perm[i]; perm
// defaults to reversing the dimensions.
func inferTranspose(c *inferCtx) ([]*Type, error) {
	perm, err := c.node.Declared().Ints("perm")
	if err != nil {
		return nil, err
	}
	x, err := c.shaped(0, 0)
	if err != nil || x == nil {
		return []*Type{c.input(0)}, err
	}
	r := len(x.Shape)
	if perm == nil {
		for i := r - 1; i >= 0; i-- {
			perm = append(perm, int64(i))
		}
	}
	if len(perm) != r {
		return nil, c.attrErrorf("perm", "%v has %d entries for rank %d", perm, len(perm), r)
	}
	seen := make([]bool, r)
	out := make(Shape, r)
	for i, p := range perm {
		if p < 0 || p >= int64(r) || seen[p] {
			return nil, c.attrErrorf("perm", "%v is not a permutation of 0..%d", perm, r-1)
		}
		seen[p] = true
		out[i] = x.Shape[p]
	}
	return []*Type{TensorType(x.DType, out)}, nil
}

// inferConstant: the type of the value attribute.
func inferConstant(c *inferCtx) ([]*Type, error) {
	t, err := ConstantValue(c.node)
	if err != nil || t == nil {
		return nil, err
	}
	return []*Type{initializerType(t)}, nil
}
