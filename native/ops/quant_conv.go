package ops

// Integer convolution and matrix product (opset 10):
//
//	ConvInteger    x, w int8/uint8, x_zero_point (scalar), w_zero_point (scalar or [M])
//	               y int32 = conv(x - x_zero_point, w - w_zero_point)
//	QLinearConv    x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale,
//	               y_zero_point, B (int32 [M], optional)
//	               y = saturate(round((conv(x - xz, w - wz) + B) * x_scale*w_scale/y_scale) + y_zero_point)
//	MatMulInteger  A, B int8/uint8, a_zero_point (scalar or per row [M]),
//	               b_zero_point (scalar or per column [N]); y int32 = (A - az) @ (B - bz)
//	QLinearMatMul  a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point
//	               y = saturate(round((a - az) @ (b - bz) * a_scale*b_scale/y_scale) + y_zero_point)
//
// The convolutions take Conv's attributes (auto_pad, dilations, group,
// kernel_shape, pads, strides) on any number of spatial axes; padding
// holds the zero point, which contributes nothing. The matrix products
// broadcast their batch dimensions as MatMul does. Requantization scales
// in float32, as the reference does, and rounds halves to even.

import (
	"fmt"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// quantConvOps is the operator table of quant_conv.go (see registry.go).
var quantConvOps = []Entry{
	{OpType: "ConvInteger", Since: []int64{10}, Build: newQuantConv(false)},
	{OpType: "QLinearConv", Since: []int64{10}, Build: newQuantConv(true)},
	{OpType: "MatMulInteger", Since: []int64{10}, Build: newQuantMatMul(false)},
	{OpType: "QLinearMatMul", Since: []int64{10}, Build: newQuantMatMul(true)},
}

// convAttrs are Conv's attributes, decoded once; absent lists are empty.
type convAttrs struct {
	autoPad                          string
	kernel, strides, pads, dilations []int64
	group                            int
}

func decodeConvAttrs(n *graph.Node) (*convAttrs, error) {
	a := &convAttrs{}
	var err error
	if a.autoPad, err = n.Declared().String("auto_pad"); err != nil {
		return nil, err
	}
	switch a.autoPad {
	case "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID":
	default:
		return nil, attrError(n, "auto_pad", "unknown mode %q", a.autoPad)
	}
	for _, l := range []struct {
		name string
		dst  *[]int64
		min  int64
	}{{"kernel_shape", &a.kernel, 1}, {"strides", &a.strides, 1}, {"pads", &a.pads, 0}, {"dilations", &a.dilations, 1}} {
		if *l.dst, err = n.Declared().Ints(l.name); err != nil {
			return nil, err
		}
		for _, v := range *l.dst {
			if v < l.min {
				return nil, attrError(n, l.name, "value %d is below %d", v, l.min)
			}
		}
	}
	g, err := n.Declared().Int("group")
	if err != nil {
		return nil, err
	}
	if g < 1 {
		return nil, attrError(n, "group", "is %d, want at least 1", g)
	}
	a.group = int(g)
	return a, nil
}

// convGeometry is a direct convolution's geometry for one input.
type convGeometry struct {
	n, c, m, cPerG, mPerG  int
	in, kern, out          []int
	inLen, kernLen, outLen int
	table                  []int // input position of (output, kernel) pair, or -1
}

// geometry resolves the attributes against x [N, C, D...] and w [M, C/group, K...].
func (a *convAttrs) geometry(xShape, wShape []int) (*convGeometry, error) {
	if len(xShape) < 3 || len(wShape) != len(xShape) {
		return nil, fmt.Errorf("input %v and weight %v: want [N, C, D...] and [M, C/group, K...]", xShape, wShape)
	}
	k := len(xShape) - 2
	g := &convGeometry{n: xShape[0], c: xShape[1], m: wShape[0], in: xShape[2:], kern: wShape[2:]}
	if g.c%a.group != 0 || g.m%a.group != 0 || wShape[1]*a.group != g.c {
		return nil, fmt.Errorf("weight %v with group %d does not fit %d input channels", wShape, a.group, g.c)
	}
	g.cPerG, g.mPerG = g.c/a.group, g.m/a.group
	if len(a.kernel) != 0 {
		kern, err := listOr("kernel_shape", a.kernel, k, 1)
		if err != nil {
			return nil, err
		}
		if !slices.Equal(kern, g.kern) {
			return nil, fmt.Errorf("attribute kernel_shape %v does not match weight %v", a.kernel, wShape)
		}
	}
	stride, err := listOr("strides", a.strides, k, 1)
	if err != nil {
		return nil, err
	}
	dil, err := listOr("dilations", a.dilations, k, 1)
	if err != nil {
		return nil, err
	}
	if len(a.pads) != 0 && len(a.pads) != 2*k {
		return nil, fmt.Errorf("attribute pads: %d values for %d spatial axes", len(a.pads), k)
	}
	begin := make([]int, k)
	g.out = make([]int, k)
	for i := 0; i < k; i++ {
		span := (g.kern[i]-1)*dil[i] + 1
		switch a.autoPad {
		case "SAME_UPPER", "SAME_LOWER":
			g.out[i] = (g.in[i] + stride[i] - 1) / stride[i]
			total := max(0, (g.out[i]-1)*stride[i]+span-g.in[i])
			begin[i] = total / 2
			if a.autoPad == "SAME_LOWER" {
				begin[i] = total - total/2
			}
		default:
			pb, pe := 0, 0
			if len(a.pads) != 0 && a.autoPad == "NOTSET" {
				pb, pe = int(a.pads[i]), int(a.pads[i+k])
			}
			begin[i] = pb
			g.out[i] = 0 // the window does not fit
			if padded := g.in[i] + pb + pe; padded >= span {
				g.out[i] = (padded-span)/stride[i] + 1
			}
		}
	}
	g.inLen, g.kernLen, g.outLen = tensor.NumElements(g.in), tensor.NumElements(g.kern), tensor.NumElements(g.out)
	if err := checkOutputSize(append([]int{g.n, g.m}, g.out...)...); err != nil {
		return nil, err
	}
	if err := checkOutputSize(g.outLen, g.kernLen); err != nil {
		return nil, fmt.Errorf("gather table: %w", err)
	}
	g.table = make([]int, g.outLen*g.kernLen)
	oc, kc := make([]int, k), make([]int, k)
	for o := 0; o < g.outLen; o++ {
		unflatten(o, g.out, oc)
		for j := 0; j < g.kernLen; j++ {
			unflatten(j, g.kern, kc)
			pos := 0
			for ax := 0; ax < k; ax++ {
				p := oc[ax]*stride[ax] - begin[ax] + kc[ax]*dil[ax]
				if p < 0 || p >= g.in[ax] {
					pos = -1
					break
				}
				pos = pos*g.in[ax] + p
			}
			g.table[o*g.kernLen+j] = pos
		}
	}
	return g, nil
}

// convInt64 convolves zero-point-free x and w, returning [N, M, O...].
func (g *convGeometry) convInt64(x, w []int64) []int64 {
	y := make([]int64, g.n*g.m*g.outLen)
	for n := 0; n < g.n; n++ {
		for m := 0; m < g.m; m++ {
			grp := m / g.mPerG
			yp := y[(n*g.m+m)*g.outLen : (n*g.m+m+1)*g.outLen]
			for c := 0; c < g.cPerG; c++ {
				ch := grp*g.cPerG + c
				xp := x[(n*g.c+ch)*g.inLen : (n*g.c+ch+1)*g.inLen]
				wp := w[(m*g.cPerG+c)*g.kernLen : (m*g.cPerG+c+1)*g.kernLen]
				for o := range yp {
					row := g.table[o*g.kernLen : (o+1)*g.kernLen]
					s := int64(0)
					for j, pos := range row {
						if pos >= 0 {
							s += xp[pos] * wp[j]
						}
					}
					yp[o] += s
				}
			}
		}
	}
	return y
}

// subtractZero returns v minus its zero point: one value, or one per
// block of inner elements along an axis of the given size.
func subtractZero(v, zero []int64, size, inner int) ([]int64, error) {
	out := make([]int64, len(v))
	switch len(zero) {
	case 0:
		copy(out, v)
	case 1:
		for i, x := range v {
			out[i] = x - zero[0]
		}
	case size:
		for i, x := range v {
			out[i] = x - zero[i/inner%size]
		}
	default:
		return nil, fmt.Errorf("zero point of %d values, want 1 or %d", len(zero), size)
	}
	return out, nil
}

// optionalQuantInts reads optional quantized input i, or returns nil.
func optionalQuantInts(in []*tensor.Tensor, i int, name string) ([]int64, error) {
	t := optionalInput(in, i)
	if t == nil {
		return nil, nil
	}
	return quantInts(t, name)
}

// quantConv is ConvInteger, or QLinearConv when linear is set.
type quantConv struct {
	attrs  *convAttrs
	linear bool
}

func newQuantConv(linear bool) Constructor {
	return func(n *graph.Node, _ int64) (Op, error) {
		a, err := decodeConvAttrs(n)
		if err != nil {
			return nil, err
		}
		return &quantConv{attrs: a, linear: linear}, nil
	}
}

func (o *quantConv) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	// Input positions: ConvInteger x w xz wz; QLinearConv x xs xz w ws wz ys yz B.
	xi, wi, xzi, wzi := 0, 1, 2, 3
	if o.linear {
		xi, wi, xzi, wzi = 0, 3, 2, 5
		if err := checkArity(in, 8, -1); err != nil {
			return nil, err
		}
	} else if err := checkArity(in, 2, -1); err != nil {
		return nil, err
	}
	x, w := in[xi], in[wi]
	g, err := o.attrs.geometry(x.Shape, w.Shape)
	if err != nil {
		return nil, err
	}
	xv, err := quantInts(x, "x")
	if err != nil {
		return nil, err
	}
	wv, err := quantInts(w, "w")
	if err != nil {
		return nil, err
	}
	xz, err := optionalQuantInts(in, xzi, "x_zero_point")
	if err != nil {
		return nil, err
	}
	if len(xz) > 1 {
		return nil, fmt.Errorf("x_zero_point has %d values, want one", len(xz))
	}
	wz, err := optionalQuantInts(in, wzi, "w_zero_point")
	if err != nil {
		return nil, err
	}
	if xv, err = subtractZero(xv, xz, 1, 1); err != nil {
		return nil, err
	}
	if wv, err = subtractZero(wv, wz, g.m, g.cPerG*g.kernLen); err != nil {
		return nil, fmt.Errorf("w_zero_point: %w", err)
	}
	acc := g.convInt64(xv, wv)
	shape := append([]int{g.n, g.m}, g.out...)
	if !o.linear {
		return []*tensor.Tensor{quantTensor(acc, graph.Int32, shape)}, nil
	}
	if b := optionalInput(in, 8); b != nil {
		bv, err := quantInts(b, "B")
		if err != nil {
			return nil, err
		}
		if len(bv) != g.m {
			return nil, fmt.Errorf("input B has %d values for %d output channels", len(bv), g.m)
		}
		for i := range acc {
			acc[i] += bv[i/g.outLen%g.m]
		}
	}
	y, err := requantize(acc, in[1], in[4], in[6], in[7], g.m, g.outLen)
	if err != nil {
		return nil, err
	}
	return []*tensor.Tensor{quantTensor(y, in[7].DType, shape)}, nil
}

// requantize maps int32 accumulators to y: acc * xScale*wScale/yScale
// rounded, plus the zero point and saturated. wScale holds one value or
// one per index of an axis of the given size, with inner elements per
// index. The result has y_zero_point's type.
func requantize(acc []int64, xScale, wScale, yScale, yZero *tensor.Tensor, size, inner int) ([]int64, error) {
	xs, err := floatValues(xScale, "input scale")
	if err != nil {
		return nil, err
	}
	ws, err := floatValues(wScale, "weight scale")
	if err != nil {
		return nil, err
	}
	ys, err := floatValues(yScale, "y_scale")
	if err != nil {
		return nil, err
	}
	yz, err := quantInts(yZero, "y_zero_point")
	if err != nil {
		return nil, err
	}
	if len(xs) != 1 || len(ys) != 1 || len(yz) != 1 {
		return nil, fmt.Errorf("the input scale, y_scale and y_zero_point must hold one value each")
	}
	if len(ws) != 1 && len(ws) != size {
		return nil, fmt.Errorf("weight scale has %d values, want 1 or %d", len(ws), size)
	}
	lo, hi, err := quantRange(yZero.DType)
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(acc))
	for i, v := range acc {
		k := 0
		if len(ws) > 1 {
			k = i / inner % size
		}
		m := float32(xs[0]) * float32(ws[k]) / float32(ys[0])
		out[i] = quantizeValue(float32(v)*m, yz[0], lo, hi)
	}
	return out, nil
}

// quantMatMul is MatMulInteger, or QLinearMatMul when linear is set.
type quantMatMul struct{ linear bool }

func newQuantMatMul(linear bool) Constructor {
	return func(*graph.Node, int64) (Op, error) { return &quantMatMul{linear: linear}, nil }
}

func (o *quantMatMul) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	// Input positions: MatMulInteger A B az bz; QLinearMatMul a as az b bs bz ys yz.
	ai, bi, azi, bzi := 0, 1, 2, 3
	if o.linear {
		ai, bi, azi, bzi = 0, 3, 2, 5
		if err := checkArity(in, 8, -1); err != nil {
			return nil, err
		}
	} else if err := checkArity(in, 2, -1); err != nil {
		return nil, err
	}
	a, b := in[ai], in[bi]
	av, err := quantInts(a, "A")
	if err != nil {
		return nil, err
	}
	bv, err := quantInts(b, "B")
	if err != nil {
		return nil, err
	}
	if a.Rank() == 0 || b.Rank() == 0 {
		return nil, fmt.Errorf("inputs A %v and B %v: want at least 1-D operands", a.Shape, b.Shape)
	}
	aShape, bShape := a.Shape, b.Shape
	if len(aShape) == 1 {
		aShape = []int{1, aShape[0]}
	}
	if len(bShape) == 1 {
		bShape = []int{bShape[0], 1}
	}
	m, k, n := aShape[len(aShape)-2], aShape[len(aShape)-1], bShape[len(bShape)-1]
	if bShape[len(bShape)-2] != k {
		return nil, fmt.Errorf("inputs A %v and B %v: inner dimensions differ", a.Shape, b.Shape)
	}
	az, err := optionalQuantInts(in, azi, "a_zero_point")
	if err != nil {
		return nil, err
	}
	bz, err := optionalQuantInts(in, bzi, "b_zero_point")
	if err != nil {
		return nil, err
	}
	if av, err = subtractZero(av, az, m, k); err != nil {
		return nil, fmt.Errorf("a_zero_point: %w", err)
	}
	if bv, err = subtractZero(bv, bz, n, 1); err != nil {
		return nil, fmt.Errorf("b_zero_point: %w", err)
	}
	batch, err := tensor.BroadcastShape(aShape[:len(aShape)-2], bShape[:len(bShape)-2])
	if err != nil {
		return nil, err
	}
	if err := ctx.checkOutput(graph.Int64, append(slices.Clone(batch), m, n)); err != nil {
		return nil, err
	}
	aIdx := tensor.BroadcastIndex(append(slices.Clone(aShape[:len(aShape)-2]), 1, 1), append(slices.Clone(batch), 1, 1))
	bIdx := tensor.BroadcastIndex(append(slices.Clone(bShape[:len(bShape)-2]), 1, 1), append(slices.Clone(batch), 1, 1))
	nb := tensor.NumElements(batch)
	acc := make([]int64, nb*m*n)
	for p := 0; p < nb; p++ {
		ap, bp, yp := av[aIdx[p]*m*k:], bv[bIdx[p]*k*n:], acc[p*m*n:]
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				s := int64(0)
				for l := 0; l < k; l++ {
					s += ap[i*k+l] * bp[l*n+j]
				}
				yp[i*n+j] = s
			}
		}
	}
	shape := slices.Clone(batch)
	if len(a.Shape) > 1 {
		shape = append(shape, m)
	}
	if len(b.Shape) > 1 {
		shape = append(shape, n)
	}
	if !o.linear {
		return []*tensor.Tensor{quantTensor(acc, graph.Int32, shape)}, nil
	}
	// a_scale is per tensor; b_scale is per tensor or per column.
	y, err := requantize(acc, in[1], in[4], in[6], in[7], n, 1)
	if err != nil {
		return nil, err
	}
	return []*tensor.Tensor{quantTensor(y, in[7].DType, shape)}, nil
}
