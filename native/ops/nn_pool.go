package ops

import (
	"fmt"
	"math"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/kernels"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// MaxPool and AveragePool:
//
//	X [N, C, H, W] or [N, C, L]  ->  Y [N, C, OH, OW], Indices (MaxPool, optional, int64)
//
// and likewise over three or more spatial axes X [N, C, D1, ..., Dd],
// which run on the N-D kernels.
//
// Attributes: auto_pad, ceil_mode (opset 10), dilations (MaxPool 10,
// AveragePool 19), kernel_shape, pads, strides, count_include_pad
// (AveragePool 7), storage_order (MaxPool 8: Indices row-major, or with
// 1 column-major within each spatial plane). MaxPool from opset 12 also
// takes int8 and uint8 input, pooled through float32, which holds every
// such value exactly. Attributes that an older opset lacks are simply absent from its
// nodes, so one definition serves every version. A window that covers
// padding only (ONNX leaves it open) gives what ONNX Runtime gives:
// MaxPool the lowest value of its type, with the index -1, and
// AveragePool 0.
type pool struct {
	max             bool
	columnMajor     bool // storage_order=1
	win             *window
	countIncludePad bool
	// indices: the node names MaxPool's Indices output. lean: the
	// inference variant (Lean), which computes no argmax and returns Y only.
	indices, lean bool
	// bound is the binding of the last input's shape, which the lean
	// variant shares.
	bound *shapeCache[*poolBinding]
}

// nnPoolOps is the operator table of nn_pool.go (see registry.go).
var nnPoolOps = []Entry{
	{OpType: "MaxPool", Since: []int64{1}, Build: newPool(true)},
	{OpType: "AveragePool", Since: []int64{1}, Build: newPool(false)},
	{OpType: "GlobalMaxPool", Since: []int64{1}, Build: newGlobalPool(true)},
	{OpType: "GlobalAveragePool", Since: []int64{1}, Build: newGlobalPool(false)},
}

func newPool(isMax bool) Constructor {
	return func(n *graph.Node, _ int64) (Op, error) {
		win, err := decodeWindow(n, true)
		if err != nil {
			return nil, err
		}
		if len(win.kernel) == 0 {
			return nil, fmt.Errorf("attribute kernel_shape is required")
		}
		p := &pool{max: isMax, win: win, indices: len(n.Outputs) > 1 && n.Outputs[1] != "", bound: &shapeCache[*poolBinding]{}}
		if isMax {
			order, err := n.Declared().Int("storage_order")
			if err != nil {
				return nil, err
			}
			p.columnMajor = order == 1
		} else {
			include, err := n.Declared().Int("count_include_pad")
			if err != nil {
				return nil, err
			}
			p.countIncludePad = include != 0
		}
		return p, nil
	}
}

// params resolves the pooling for its input: for one or two spatial axes
// the params of the 2-D kernels, for more those of the N-D kernels;
// exactly one of the two is non-nil.
func (o *pool) params(in []*tensor.Tensor) (*kernels.PoolParams, *kernels.PoolNDParams, error) {
	x, err := float32Input(in, 0, "X")
	if err != nil {
		return nil, nil, err
	}
	win, err := o.win.resolve(x, nil)
	if err != nil {
		return nil, nil, err
	}
	if len(win.In) > maxPlanarAxes {
		p := &kernels.PoolNDParams{N: x.Shape[0], C: x.Shape[1], Window: *win,
			CeilMode: o.win.ceil, CountIncludePad: o.countIncludePad}
		if err := p.Validate(); err != nil {
			return nil, nil, err
		}
		return nil, p, nil
	}
	g := planar(x.Shape[0], x.Shape[1], win)
	p := &kernels.PoolParams{
		N: g.n, C: g.c, H: g.h, W: g.w, KH: g.kh, KW: g.kw,
		StrideH: g.strideH, StrideW: g.strideW,
		PadTop: g.padTop, PadLeft: g.padLeft, PadBottom: g.padBottom, PadRight: g.padRight,
		DilationH: g.dilationH, DilationW: g.dilationW,
		CeilMode: o.win.ceil, CountIncludePad: o.countIncludePad,
	}
	if err := p.Validate(); err != nil {
		return nil, nil, err
	}
	return p, nil, nil
}

// poolBinding is a pooling op bound to its input's shape: the params
// (one of p and pnd) and the output's shape.
type poolBinding struct {
	p     *kernels.PoolParams
	pnd   *kernels.PoolNDParams
	shape []int
}

// newBinding binds o to in's shapes.
func (o *pool) newBinding(in []*tensor.Tensor) (*poolBinding, error) {
	p, pnd, err := o.params(in)
	if err != nil {
		return nil, err
	}
	b := &poolBinding{p: p, pnd: pnd}
	if pnd != nil {
		b.shape = outShapeND(in[0], pnd.C, pnd.OutSize())
	} else {
		oh, ow := p.OutSize()
		b.shape = outShape(in[0], p.C, oh, ow)
	}
	return b, nil
}

// Lean returns, for a MaxPool whose Indices nobody reads, the variant
// that skips the argmax.
func (o *pool) Lean() Op {
	if !o.max || o.indices {
		return o
	}
	lean := *o
	lean.lean = true
	return &lean
}

func (o *pool) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if o.max && len(in) > 0 && in[0] != nil && (in[0].DType == graph.Uint8 || in[0].DType == graph.Int8) {
		return o.forwardBytes(ctx, in[0])
	}
	b, err := o.bound.bind(in, o.newBinding)
	if err != nil {
		return nil, err
	}
	p, pnd, shape := b.p, b.pnd, b.shape
	if err := ctx.checkOutput(graph.Int64, shape); err != nil { // the size of MaxPool's indices
		return nil, err
	}
	if pnd != nil {
		return o.forwardND(ctx, in[0], pnd), nil
	}
	if !o.max || o.lean {
		// The output's images may lie apart (Context.Images): a piece of
		// a channel concatenation at batch N > 1, each image then pooled
		// on its own (every plane is pooled on its own anyway).
		y, stride := ctx.Images(shape...)
		image := tensor.NumElements(shape[1:])
		each := p
		if stride != image {
			// (A copy only then: the kernels keep p, which moves it to
			// the heap.)
			one := *p
			one.N = 1
			each = &one
		}
		for n := 0; n < p.N; n += each.N {
			x, yn := in[0].F32()[n*p.C*p.H*p.W:], y.F32()[n*stride:]
			if o.max {
				kernels.MaxPoolValues(each, x, yn)
			} else {
				kernels.AveragePoolForward(each, x, yn)
			}
		}
		return ctx.Outputs(y), nil
	}
	y := ctx.Float32(shape...)
	arg := make(argmax, tensor.NumElements(shape))
	kernels.MaxPoolForward(p, in[0].F32(), y.F32(), arg)
	save(ctx, arg)
	indices := &tensor.Tensor{DType: graph.Int64, Shape: slices.Clone(shape), Data: []int64(arg)}
	if o.columnMajor {
		return []*tensor.Tensor{y, columnMajorIndices(indices, p.H, p.W)}, nil
	}
	return []*tensor.Tensor{y, indices}, nil
}

// columnMajorIndices rewrites row-major flat indices into an [.., H, W]
// input as storage_order=1 numbers them: plane*H*W + w*H + h. The -1 of
// a window over padding only stays -1.
func columnMajorIndices(rowMajor *tensor.Tensor, h, w int) *tensor.Tensor {
	out := tensor.New(graph.Int64, rowMajor.Shape...)
	dst := out.Data.([]int64)
	for i, idx := range rowMajor.Data.([]int64) {
		if idx < 0 {
			dst[i] = idx
			continue
		}
		plane, r := idx/int64(h*w), idx%int64(h*w)
		dst[i] = plane*int64(h*w) + (r%int64(w))*int64(h) + r/int64(w)
	}
	return out
}

// forwardBytes is MaxPool on int8 or uint8 input, pooled in float32.
func (o *pool) forwardBytes(ctx *Context, x *tensor.Tensor) ([]*tensor.Tensor, error) {
	vals, err := x.Float64s()
	if err != nil {
		return nil, err
	}
	xf := tensor.Float32(x.Shape...)
	for i, v := range vals {
		xf.F32()[i] = float32(v)
	}
	out, err := o.Forward(&Context{Budget: ctx.budget()}, []*tensor.Tensor{xf})
	if err != nil {
		return nil, err
	}
	// A window over padding only gives the lowest float32, which becomes
	// the lowest value of the type, as ONNX Runtime gives.
	y := tensor.New(x.DType, out[0].Shape...)
	for i, v := range out[0].F32() {
		if x.DType == graph.Uint8 {
			y.Data.([]uint8)[i] = uint8(max(v, 0))
		} else {
			y.Data.([]int8)[i] = int8(max(v, math.MinInt8))
		}
	}
	return append([]*tensor.Tensor{y}, out[1:]...), nil // Indices, unless lean
}

// forwardND is Forward over three or more spatial axes.
func (o *pool) forwardND(ctx *Context, x *tensor.Tensor, p *kernels.PoolNDParams) []*tensor.Tensor {
	shape := outShapeND(x, p.C, p.OutSize())
	y := ctx.Float32(shape...)
	if !o.max {
		kernels.AveragePoolNDForward(p, x.F32(), y.F32())
		return []*tensor.Tensor{y}
	}
	arg := make(argmax, tensor.NumElements(shape))
	kernels.MaxPoolNDForward(p, x.F32(), y.F32(), arg)
	save(ctx, arg)
	indices := &tensor.Tensor{DType: graph.Int64, Shape: slices.Clone(shape), Data: []int64(arg)}
	return []*tensor.Tensor{y, indices}
}

func (o *pool) Backward(ctx *Context, in, out, gradOut []*tensor.Tensor) ([]*tensor.Tensor, error) {
	p, pnd, err := o.params(in)
	if err != nil {
		return nil, err
	}
	arg, err := loadArgmax(ctx, o.max)
	if err != nil {
		return nil, err
	}
	dx := ctx.Zeros(in[0].Shape...)
	switch {
	case pnd != nil && o.max:
		kernels.MaxPoolNDBackward(pnd, arg, gradOut[0].F32(), dx.F32())
	case pnd != nil:
		kernels.AveragePoolNDBackward(pnd, gradOut[0].F32(), dx.F32())
	case o.max:
		kernels.MaxPoolBackward(p, arg, gradOut[0].F32(), dx.F32())
	default:
		kernels.AveragePoolBackward(p, gradOut[0].F32(), dx.F32())
	}
	return []*tensor.Tensor{dx}, nil
}

// globalPool is GlobalMaxPool or GlobalAveragePool over all spatial axes:
//
//	X [N, C, D1, ...]  ->  Y [N, C, 1, ...]
type globalPool struct {
	max bool
	// bound holds the params and output shape of the last input's shape.
	bound *shapeCache[*globalPoolBinding]
}

type globalPoolBinding struct {
	p     *kernels.GlobalPoolParams
	shape []int
}

func newGlobalPool(isMax bool) Constructor {
	return func(*graph.Node, int64) (Op, error) {
		return &globalPool{max: isMax, bound: &shapeCache[*globalPoolBinding]{}}, nil
	}
}

func (o *globalPool) params(in []*tensor.Tensor) (*kernels.GlobalPoolParams, []int, error) {
	x, err := float32Input(in, 0, "X")
	if err != nil {
		return nil, nil, err
	}
	if x.Rank() < 3 {
		return nil, nil, fmt.Errorf("input %v has no spatial axes", x.Shape)
	}
	shape := append([]int{x.Shape[0], x.Shape[1]}, make([]int, x.Rank()-2)...)
	for i := 2; i < len(shape); i++ {
		shape[i] = 1
	}
	p := &kernels.GlobalPoolParams{N: x.Shape[0], C: x.Shape[1], Spatial: tensor.NumElements(x.Shape[2:])}
	return p, shape, nil
}

// newBinding binds o to in's shape.
func (o *globalPool) newBinding(in []*tensor.Tensor) (*globalPoolBinding, error) {
	p, shape, err := o.params(in)
	if err != nil {
		return nil, err
	}
	return &globalPoolBinding{p: p, shape: shape}, nil
}

func (o *globalPool) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	b, err := o.bound.bind(in, o.newBinding)
	if err != nil {
		return nil, err
	}
	p := b.p
	y := ctx.Float32(b.shape...)
	if o.max {
		arg := make(argmax, p.N*p.C)
		kernels.GlobalMaxPoolForward(p, in[0].F32(), y.F32(), arg)
		save(ctx, arg)
	} else {
		kernels.GlobalAveragePoolForward(p, in[0].F32(), y.F32())
	}
	return ctx.Outputs(y), nil
}

func (o *globalPool) Backward(ctx *Context, in, out, gradOut []*tensor.Tensor) ([]*tensor.Tensor, error) {
	p, _, err := o.params(in)
	if err != nil {
		return nil, err
	}
	arg, err := loadArgmax(ctx, o.max)
	if err != nil {
		return nil, err
	}
	dx := ctx.Zeros(in[0].Shape...)
	if o.max {
		kernels.GlobalMaxPoolBackward(p, arg, gradOut[0].F32(), dx.F32())
	} else {
		kernels.GlobalAveragePoolBackward(p, gradOut[0].F32(), dx.F32())
	}
	return []*tensor.Tensor{dx}, nil
}

// argmax is the saved state of max pooling: for each output, the flat
// index into the input of the element it took.
type argmax []int64

// loadArgmax returns the argmax that a training forward pass of a max
// pooling saved, and nil for an average pooling (isMax false).
func loadArgmax(ctx *Context, isMax bool) (argmax, error) {
	if !isMax {
		return nil, nil
	}
	arg, ok, err := loadSaved[argmax](ctx)
	if err == nil && !ok {
		err = errNoSavedState
	}
	return arg, err
}
