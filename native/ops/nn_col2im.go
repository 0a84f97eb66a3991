package ops

// Col2Im (opset 18), the inverse of im2col: sliding blocks summed back
// into an image.
//
//	input [N, C*B1*...*Bd, L], image_shape [d], block_shape [d]  ->  Y [N, C, I1, ..., Id]
//
// Column l of the input holds the block at the l-th window position (row
// major over the d axes); element (c, k) of that column is added to image
// position p*strides - pads_begin + k*dilations along each axis. L must
// be the number of window positions, prod over axes of
// (I + pads_begin + pads_end - dilations*(B-1) - 1) / strides + 1.
// Attributes dilations, pads (begin values, then end values) and strides
// default to 1, 0 and 1.

import (
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// nnCol2imOps is the operator table of nn_col2im.go (see registry.go).
var nnCol2imOps = []Entry{
	{OpType: "Col2Im", Since: []int64{18}, Build: newCol2Im},
}

// col2Im is Col2Im.
type col2Im struct {
	dilations, pads, strides []int64
}

func newCol2Im(n *graph.Node, _ int64) (Op, error) {
	o := &col2Im{}
	var err error
	if o.dilations, err = n.Declared().Ints("dilations"); err != nil {
		return nil, err
	}
	if o.pads, err = n.Declared().Ints("pads"); err != nil {
		return nil, err
	}
	if o.strides, err = n.Declared().Ints("strides"); err != nil {
		return nil, err
	}
	return o, nil
}

// col2ImAttr returns the values of an attribute list for d axes (repeated
// fill when the node does not set it), checking the count and minimum.
func col2ImAttr(vals []int64, d, per int, fill, least int64, name string) ([]int, error) {
	if vals == nil {
		vals = make([]int64, per*d)
		for i := range vals {
			vals[i] = fill
		}
	}
	if len(vals) != per*d {
		return nil, fmt.Errorf("attribute %s has %d values, want %d", name, len(vals), per*d)
	}
	out := make([]int, len(vals))
	for i, v := range vals {
		if v < least {
			return nil, fmt.Errorf("attribute %s %v: want values of at least %d", name, vals, least)
		}
		out[i] = int(v)
	}
	return out, nil
}

// Forward folds the columns into the image.
func (o *col2Im) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 3, 3); err != nil {
		return nil, err
	}
	dt := in[0].DType
	if !isFloatDType(dt) {
		return nil, fmt.Errorf("input is %v, want a floating-point type", dt)
	}
	x := in[0]
	if x.Rank() != 3 {
		return nil, fmt.Errorf("input %v: want [N, C*prod(block_shape), L]", x.Shape)
	}
	image, err := intValues(in[1], "image_shape")
	if err != nil {
		return nil, err
	}
	block, err := intValues(in[2], "block_shape")
	if err != nil {
		return nil, err
	}
	d := len(image)
	if d == 0 || len(block) != d {
		return nil, fmt.Errorf("image_shape %v and block_shape %v: want one positive size per spatial axis", image, block)
	}
	dil, err := col2ImAttr(o.dilations, d, 1, 1, 1, "dilations")
	if err != nil {
		return nil, err
	}
	pads, err := col2ImAttr(o.pads, d, 2, 0, 0, "pads")
	if err != nil {
		return nil, err
	}
	strides, err := col2ImAttr(o.strides, d, 1, 1, 1, "strides")
	if err != nil {
		return nil, err
	}
	img, blk, count := make([]int, d), make([]int, d), make([]int, d)
	for a := range d {
		if image[a] <= 0 || block[a] <= 0 {
			return nil, fmt.Errorf("image_shape %v and block_shape %v: want positive sizes", image, block)
		}
		img[a], blk[a] = int(image[a]), int(block[a])
		span := img[a] + pads[a] + pads[a+d] - dil[a]*(blk[a]-1) - 1
		if span < 0 {
			return nil, fmt.Errorf("block_shape %v does not fit image_shape %v with these pads and dilations", block, image)
		}
		count[a] = span/strides[a] + 1
	}
	blockSize, positions := tensor.NumElements(blk), tensor.NumElements(count)
	if x.Shape[1]%blockSize != 0 || x.Shape[2] != positions {
		return nil, fmt.Errorf("input %v: want [N, C*%d, %d] for block_shape %v", x.Shape, blockSize, positions, block)
	}
	n, c := x.Shape[0], x.Shape[1]/blockSize
	shape := append([]int{n, c}, img...)
	if err := mvCheckShape(shape); err != nil {
		return nil, err
	}
	if err := ctx.checkOutput(graph.Float64, shape); err != nil { // computed in float64
		return nil, err
	}
	vals, err := x.Float64s()
	if err != nil {
		return nil, err
	}
	plane := tensor.NumElements(img)
	y := make([]float64, n*c*plane)
	imgStrides, blkStrides, cntStrides := tensor.Strides(img), tensor.Strides(blk), tensor.Strides(count)
	for k := range blockSize {
		for l := range positions {
			off, inside := 0, true
			for a := range d {
				p := l/cntStrides[a]%count[a]*strides[a] - pads[a] + k/blkStrides[a]%blk[a]*dil[a]
				if p < 0 || p >= img[a] {
					inside = false
					break
				}
				off += p * imgStrides[a]
			}
			if !inside {
				continue
			}
			for nc := range n * c {
				y[nc*plane+off] += vals[(nc*blockSize+k)*positions+l]
			}
		}
	}
	return []*tensor.Tensor{float64sToDType(y, dt, shape)}, nil
}
