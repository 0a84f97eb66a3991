package ops

// ConvTranspose (opsets 1 and 11, which differ only in documentation), for
// any number k >= 1 of spatial axes:
//
//	X [N, C, D1, ..., Dk]   W [C, M/group, K1, ..., Kk]   B [M] (optional)
//	Y [N, M, O1, ..., Ok]
//
// Every input element scatters into the output:
//
//	Y[n, g*Mg + m, i*s - pb + j*d] += X[n, g*Cg + c, i] * W[g*Cg + c, m, j]
//
// per axis, with stride s, dilation d and begin pad pb; Cg = C/group,
// Mg = M/group. The output size per axis is
//
//	O = s*(D-1) + output_padding + (K-1)*d + 1 - pb - pe
//
// unless output_shape is given (or auto_pad is SAME_*, which asks for
// O = D*s); the pads then follow from the total padding
// s*(D-1) + output_padding + (K-1)*d + 1 - O, split with the odd unit at
// the end for SAME_UPPER (and NOTSET) and at the beginning for SAME_LOWER.

import (
	"fmt"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// convTranspose holds ConvTranspose's attributes; absent lists are empty
// and take their defaults once the rank is known.
type convTranspose struct {
	autoPad       string
	kernel        []int64
	strides       []int64
	pads          []int64
	dilations     []int64
	outputPadding []int64
	outputShape   []int64
	group         int
}

// convtOps is the operator table of convt.go (see registry.go).
var convtOps = []Entry{
	{OpType: "ConvTranspose", Since: []int64{1}, Build: newConvTranspose},
}

func newConvTranspose(n *graph.Node, _ int64) (Op, error) {
	o := &convTranspose{}
	var err error
	if o.autoPad, err = n.Declared().String("auto_pad"); err != nil {
		return nil, err
	}
	switch o.autoPad {
	case "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID":
	default:
		return nil, attrError(n, "auto_pad", "unknown mode %q", o.autoPad)
	}
	lists := []struct {
		name string
		dst  *[]int64
		min  int64
	}{
		{"kernel_shape", &o.kernel, 1}, {"strides", &o.strides, 1}, {"pads", &o.pads, 0},
		{"dilations", &o.dilations, 1}, {"output_padding", &o.outputPadding, 0}, {"output_shape", &o.outputShape, 0},
	}
	for _, l := range lists {
		if *l.dst, err = n.Declared().Ints(l.name); err != nil {
			return nil, err
		}
		for _, v := range *l.dst {
			if v < l.min {
				return nil, attrError(n, l.name, "value %d is below %d", v, l.min)
			}
		}
	}
	group, err := n.Declared().Int("group")
	if err != nil {
		return nil, err
	}
	if group < 1 {
		return nil, attrError(n, "group", "is %d, want at least 1", group)
	}
	o.group = int(group)
	return o, nil
}

// convTGeometry is ConvTranspose's geometry resolved for one input.
type convTGeometry struct {
	n, c, m       int
	in, out, kern []int // spatial sizes
	stride, dil   []int
	padBegin      []int
	cPerG, mPerG  int
	inLen, outLen int // spatial element counts
	kernLen       int
	outShape      []int
}

// listOr returns v as ints when it has k values, the default def for
// each axis when it is empty, and an error otherwise.
func listOr(name string, v []int64, k, def int) ([]int, error) {
	out := make([]int, k)
	switch len(v) {
	case 0:
		for i := range out {
			out[i] = def
		}
	case k:
		for i := range out {
			out[i] = int(v[i])
		}
	default:
		return nil, fmt.Errorf("attribute %s: %d values for %d spatial axes", name, len(v), k)
	}
	return out, nil
}

func (o *convTranspose) geometry(x, w *tensor.Tensor) (*convTGeometry, error) {
	if x.Rank() < 3 {
		return nil, fmt.Errorf("input %v: want [N, C, D1, ...]", x.Shape)
	}
	if w.Rank() != x.Rank() {
		return nil, fmt.Errorf("weight %v does not match input %v", w.Shape, x.Shape)
	}
	k := x.Rank() - 2
	g := &convTGeometry{n: x.Shape[0], c: x.Shape[1], in: x.Shape[2:], kern: w.Shape[2:]}
	if w.Shape[0] != g.c || g.c%o.group != 0 {
		return nil, fmt.Errorf("weight %v with group %d does not fit %d input channels", w.Shape, o.group, g.c)
	}
	g.cPerG, g.mPerG = g.c/o.group, w.Shape[1]
	g.m = g.mPerG * o.group
	if len(o.kernel) != 0 {
		kern, err := listOr("kernel_shape", o.kernel, k, 1)
		if err != nil {
			return nil, err
		}
		if !slices.Equal(kern, g.kern) {
			return nil, fmt.Errorf("attribute kernel_shape %v does not match weight %v", o.kernel, w.Shape)
		}
	}
	var err error
	if g.stride, err = listOr("strides", o.strides, k, 1); err != nil {
		return nil, err
	}
	if g.dil, err = listOr("dilations", o.dilations, k, 1); err != nil {
		return nil, err
	}
	outPad, err := listOr("output_padding", o.outputPadding, k, 0)
	if err != nil {
		return nil, err
	}
	pads := make([]int, 2*k)
	switch len(o.pads) {
	case 0:
	case 2 * k:
		for i, p := range o.pads {
			pads[i] = int(p)
		}
	default:
		return nil, fmt.Errorf("attribute pads: %d values for %d spatial axes", len(o.pads), k)
	}
	var target []int
	switch {
	case len(o.outputShape) == k:
		target, _ = listOr("output_shape", o.outputShape, k, 0)
	case len(o.outputShape) == k+2:
		target, _ = listOr("output_shape", o.outputShape[2:], k, 0)
	case len(o.outputShape) != 0:
		return nil, fmt.Errorf("attribute output_shape: %d values for %d spatial axes", len(o.outputShape), k)
	case o.autoPad == "SAME_UPPER" || o.autoPad == "SAME_LOWER":
		target = make([]int, k)
		for i := range target {
			target[i] = g.in[i] * g.stride[i]
		}
	}
	g.padBegin = make([]int, k)
	g.out = make([]int, k)
	for i := 0; i < k; i++ {
		full := g.stride[i]*(g.in[i]-1) + outPad[i] + (g.kern[i]-1)*g.dil[i] + 1
		if target == nil {
			if o.autoPad == "VALID" {
				pads[i], pads[i+k] = 0, 0
			}
			g.padBegin[i] = pads[i]
			g.out[i] = full - pads[i] - pads[i+k]
		} else {
			total := full - target[i]
			if o.autoPad == "SAME_LOWER" {
				g.padBegin[i] = total - total/2
			} else {
				g.padBegin[i] = total / 2
			}
			g.out[i] = target[i]
		}
		if g.out[i] < 0 || g.in[i] < 0 {
			return nil, fmt.Errorf("output size %d on spatial axis %d for input %v", g.out[i], i, x.Shape)
		}
	}
	g.inLen, g.outLen, g.kernLen = tensor.NumElements(g.in), tensor.NumElements(g.out), tensor.NumElements(g.kern)
	g.outShape = append([]int{g.n, g.m}, g.out...)
	if err := checkOutputSize(g.outShape...); err != nil {
		return nil, err
	}
	if err := checkOutputSize(g.inLen, g.kernLen); err != nil {
		return nil, fmt.Errorf("scatter table: %w", err)
	}
	return g, nil
}

// scatterTable lists, for every pair of input position and kernel
// position, the output position it lands on, or -1 when that is outside
// the output: table[i*kernLen + j].
func (g *convTGeometry) scatterTable() []int {
	k := len(g.in)
	table := make([]int, g.inLen*g.kernLen)
	ic, jc := make([]int, k), make([]int, k)
	for i := 0; i < g.inLen; i++ {
		unflatten(i, g.in, ic)
		for j := 0; j < g.kernLen; j++ {
			unflatten(j, g.kern, jc)
			pos := 0
			for a := 0; a < k; a++ {
				p := ic[a]*g.stride[a] - g.padBegin[a] + jc[a]*g.dil[a]
				if p < 0 || p >= g.out[a] {
					pos = -1
					break
				}
				pos = pos*g.out[a] + p
			}
			table[i*g.kernLen+j] = pos
		}
	}
	return table
}

// unflatten writes the coordinates of flat index i in shape into c.
func unflatten(i int, shape, c []int) {
	for a := len(shape) - 1; a >= 0; a-- {
		c[a] = i % shape[a]
		i /= shape[a]
	}
}

func (o *convTranspose) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 2, -1); err != nil {
		return nil, err
	}
	x, w := in[0], in[1]
	if w.DType != x.DType {
		return nil, fmt.Errorf("weight is %v, input is %v", w.DType, x.DType)
	}
	g, err := o.geometry(x, w)
	if err != nil {
		return nil, err
	}
	xv, err := floatValues(x, "X")
	if err != nil {
		return nil, err
	}
	wv, err := floatValues(w, "W")
	if err != nil {
		return nil, err
	}
	if err := ctx.checkOutput(graph.Float64, g.outShape); err != nil {
		return nil, err
	}
	y := make([]float64, tensor.NumElements(g.outShape))
	if b := optionalInput(in, 2); b != nil {
		bv, err := floatValues(b, "B")
		if err != nil {
			return nil, err
		}
		if len(bv) != g.m {
			return nil, fmt.Errorf("bias of %d values for %d output channels", len(bv), g.m)
		}
		for n := 0; n < g.n; n++ {
			for m := 0; m < g.m; m++ {
				plane := y[(n*g.m+m)*g.outLen : (n*g.m+m+1)*g.outLen]
				for i := range plane {
					plane[i] = bv[m]
				}
			}
		}
	}
	table := g.scatterTable()
	for n := 0; n < g.n; n++ {
		for ch := 0; ch < g.c; ch++ {
			grp := ch / g.cPerG
			xp := xv[(n*g.c+ch)*g.inLen : (n*g.c+ch+1)*g.inLen]
			for m := 0; m < g.mPerG; m++ {
				oc := grp*g.mPerG + m
				yp := y[(n*g.m+oc)*g.outLen : (n*g.m+oc+1)*g.outLen]
				wp := wv[(ch*g.mPerG+m)*g.kernLen : (ch*g.mPerG+m+1)*g.kernLen]
				for i, xval := range xp {
					row := table[i*g.kernLen : (i+1)*g.kernLen]
					for j, pos := range row {
						if pos >= 0 {
							yp[pos] += xval * wp[j]
						}
					}
				}
			}
		}
	}
	return []*tensor.Tensor{float64sToDType(y, x.DType, g.outShape)}, nil
}
