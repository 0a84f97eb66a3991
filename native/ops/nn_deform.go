package ops

// DeformConv (opset 19; 22 added types), 2-D:
//
//	X [N, C, H, W], W [OC, C/group, KH, KW],
//	offset [N, offset_group*2*KH*KW, OH, OW], B [OC] (optional),
//	mask [N, offset_group*KH*KW, OH, OW] (optional, default ones)
//	->  Y [N, OC, OH, OW]
//
// A convolution whose kernel taps are displaced: tap (i, j) of output
// position (oh, ow) reads X at
//
//	h = oh*stride_h - pad_top + i*dilation_h + offset[n, (g*KH*KW + i*KW + j)*2,     oh, ow]
//	w = ow*stride_w - pad_left + j*dilation_w + offset[n, (g*KH*KW + i*KW + j)*2 + 1, oh, ow]
//
// interpolated bilinearly, with 0 for pixels outside X, and scaled by
// the mask, for the offset group g of the input channel (C/offset_group
// channels a group). group splits channels as Conv does. Attributes:
// dilations, group, kernel_shape (else W's), offset_group, pads, strides.

import (
	"fmt"
	"math"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// nnDeformOps is the operator table of nn_deform.go (see registry.go).
var nnDeformOps = []Entry{
	{OpType: "DeformConv", Since: []int64{19}, Build: newDeformConv},
}

// deformConv is DeformConv.
type deformConv struct {
	dilations, kernel, pads, strides []int64
	group, offsetGroup               int
}

func newDeformConv(n *graph.Node, _ int64) (Op, error) {
	o := &deformConv{}
	var err error
	for _, a := range []struct {
		name string
		dst  *[]int64
	}{{"dilations", &o.dilations}, {"kernel_shape", &o.kernel}, {"pads", &o.pads}, {"strides", &o.strides}} {
		if *a.dst, err = n.Declared().Ints(a.name); err != nil {
			return nil, err
		}
	}
	ints, err := n.Declared().IntList("group", "offset_group")
	if err != nil {
		return nil, err
	}
	g, og := ints[0], ints[1]
	if g < 1 || og < 1 {
		return nil, attrError(n, "group", "group %d and offset_group %d: want at least 1", g, og)
	}
	o.group, o.offsetGroup = int(g), int(og)
	return o, nil
}

// deformPair returns an attribute of count values, or count times fill
// when unset.
func deformPair(vals []int64, fill int, name string, count int) ([]int, error) {
	if vals == nil {
		out := make([]int, count)
		for i := range out {
			out[i] = fill
		}
		return out, nil
	}
	if len(vals) != count {
		return nil, fmt.Errorf("attribute %s has %d values, want %d for 2-D input", name, len(vals), count)
	}
	out := make([]int, count)
	for i, v := range vals {
		out[i] = int(v)
	}
	return out, nil
}

// Forward computes the deformable convolution.
func (o *deformConv) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 3, 5); err != nil {
		return nil, err
	}
	x, w, off := in[0], in[1], in[2]
	if x.Rank() != 4 || w.Rank() != 4 || off.Rank() != 4 {
		return nil, fmt.Errorf("inputs X %v, W %v and offset %v: want 4-D tensors (2-D deformable convolution)", x.Shape, w.Shape, off.Shape)
	}
	n, c, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	oc, cg, kh, kw := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	if o.kernel != nil && (len(o.kernel) != 2 || int(o.kernel[0]) != kh || int(o.kernel[1]) != kw) {
		return nil, fmt.Errorf("kernel_shape %v does not match W %v", o.kernel, w.Shape)
	}
	if c%o.group != 0 || oc%o.group != 0 || cg != c/o.group || c%o.offsetGroup != 0 {
		return nil, fmt.Errorf("inputs X %v and W %v do not fit group %d and offset_group %d", x.Shape, w.Shape, o.group, o.offsetGroup)
	}
	dil, err := deformPair(o.dilations, 1, "dilations", 2)
	if err != nil {
		return nil, err
	}
	pads, err := deformPair(o.pads, 0, "pads", 4)
	if err != nil {
		return nil, err
	}
	strides, err := deformPair(o.strides, 1, "strides", 2)
	if err != nil {
		return nil, err
	}
	if dil[0] < 1 || dil[1] < 1 || strides[0] < 1 || strides[1] < 1 {
		return nil, fmt.Errorf("dilations %v and strides %v: want positive values", dil, strides)
	}
	oh := (h+pads[0]+pads[2]-dil[0]*(kh-1)-1)/strides[0] + 1
	ow := (wd+pads[1]+pads[3]-dil[1]*(kw-1)-1)/strides[1] + 1
	if oh < 1 || ow < 1 {
		return nil, fmt.Errorf("the kernel %dx%d does not fit X %v with these pads and dilations", kh, kw, x.Shape)
	}
	taps := kh * kw
	if off.Shape[0] != n || off.Shape[1] != o.offsetGroup*2*taps || off.Shape[2] != oh || off.Shape[3] != ow {
		return nil, fmt.Errorf("offset %v: want [%d, %d, %d, %d]", off.Shape, n, o.offsetGroup*2*taps, oh, ow)
	}
	xv, err := floatValues(x, "X")
	if err != nil {
		return nil, err
	}
	wv, err := floatValues(w, "W")
	if err != nil {
		return nil, err
	}
	ov, err := floatValues(off, "offset")
	if err != nil {
		return nil, err
	}
	var bias, mask []float64
	if b := optionalInput(in, 3); b != nil {
		if b.Len() != oc {
			return nil, fmt.Errorf("input B %v: want [%d]", b.Shape, oc)
		}
		if bias, err = floatValues(b, "B"); err != nil {
			return nil, err
		}
	}
	if m := optionalInput(in, 4); m != nil {
		if m.Rank() != 4 || m.Shape[0] != n || m.Shape[1] != o.offsetGroup*taps || m.Shape[2] != oh || m.Shape[3] != ow {
			return nil, fmt.Errorf("mask %v: want [%d, %d, %d, %d]", m.Shape, n, o.offsetGroup*taps, oh, ow)
		}
		if mask, err = floatValues(m, "mask"); err != nil {
			return nil, err
		}
	}
	// cols[(ci*taps + k)*plane + p]: channel ci's tap k sampled for
	// output position p, for one batch element.
	plane := oh * ow
	cols := make([]float64, c*taps*plane)
	y := make([]float64, n*oc*plane)
	perOffsetGroup := c / o.offsetGroup
	for b := range n {
		for ci := range c {
			g := ci / perOffsetGroup
			img := xv[(b*c+ci)*h*wd : (b*c+ci+1)*h*wd]
			for k := range taps {
				i, j := k/kw, k%kw
				dy := ov[((b*o.offsetGroup+g)*2*taps+2*k)*plane:]
				dx := ov[((b*o.offsetGroup+g)*2*taps+2*k+1)*plane:]
				for p := range plane {
					py, px := p/ow, p%ow
					sy := float64(py*strides[0]-pads[0]+i*dil[0]) + dy[p]
					sx := float64(px*strides[1]-pads[1]+j*dil[1]) + dx[p]
					v := bilinearZero(img, h, wd, sy, sx)
					if mask != nil {
						v *= mask[((b*o.offsetGroup+g)*taps+k)*plane+p]
					}
					cols[(ci*taps+k)*plane+p] = v
				}
			}
		}
		outPerGroup := oc / o.group
		for f := range oc {
			gr := f / outPerGroup
			out := y[(b*oc+f)*plane : (b*oc+f+1)*plane]
			if bias != nil {
				for p := range out {
					out[p] = bias[f]
				}
			}
			for cc := range cg {
				ci := gr*cg + cc
				for k := range taps {
					wt := wv[(f*cg+cc)*taps+k]
					col := cols[(ci*taps+k)*plane : (ci*taps+k+1)*plane]
					for p, v := range col {
						out[p] += wt * v
					}
				}
			}
		}
	}
	return []*tensor.Tensor{float64sToDType(y, x.DType, []int{n, oc, oh, ow})}, nil
}

// bilinearZero interpolates img [h, w] at (y, x), reading 0 outside it.
func bilinearZero(img []float64, h, w int, y, x float64) float64 {
	if y <= -1 || y >= float64(h) || x <= -1 || x >= float64(w) {
		return 0
	}
	y0, x0 := math.Floor(y), math.Floor(x)
	ly, lx := y-y0, x-x0
	i, j := int(y0), int(x0)
	at := func(r, c int) float64 {
		if r < 0 || r >= h || c < 0 || c >= w {
			return 0
		}
		return img[r*w+c]
	}
	return (1-ly)*(1-lx)*at(i, j) + (1-ly)*lx*at(i, j+1) + ly*(1-lx)*at(i+1, j) + ly*lx*at(i+1, j+1)
}
