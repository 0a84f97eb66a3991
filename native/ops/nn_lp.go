package ops

// The p-norm operators:
//
//	LpPool        X [N, C, D1, ..., Dd] -> Y [N, C, O1, ..., Od]
//	GlobalLpPool  X [N, C, D1, ..., Dd] -> Y [N, C, 1, ..., 1]
//	LpNormalization X -> Y, X's shape
//
// LpPool's Y is (sum over the window of |x|^p)^(1/p); padding adds
// nothing. Attributes: kernel_shape, strides, pads, auto_pad, p (an int
// from opset 2, a float at opset 1; default 2), and from opset 18
// dilations and ceil_mode. Opsets 11 and 22 changed only the types and
// the shape inference, so one definition serves them.
// GlobalLpPool is LpPool over the whole spatial extent.
// LpNormalization (opset 1; 22 added types) divides X by its p-norm
// along axis (default -1), p 1 or 2 (default 2); a zero norm gives 0.

import (
	"fmt"
	"math"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/kernels"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// nnLpOps is the operator table of nn_lp.go (see registry.go).
var nnLpOps = []Entry{
	{OpType: "LpPool", Since: []int64{1}, Build: newLpPool},
	{OpType: "GlobalLpPool", Since: []int64{1}, Build: newGlobalLpPool},
	{OpType: "LpNormalization", Since: []int64{1}, Build: newLpNormalization},
}

// lpPool is LpPool or, with global set, GlobalLpPool.
type lpPool struct {
	win    *window
	p      float64
	global bool
}

// lpOrder reads attribute p: a float at opset 1, an int later.
func lpOrder(n *graph.Node, opset int64) (float64, error) {
	if opset < 2 {
		p, err := n.Declared().Float("p")
		return float64(p), err
	}
	p, err := n.Declared().Int("p")
	return float64(p), err
}

func newLpPool(n *graph.Node, opset int64) (Op, error) {
	win, err := decodeWindow(n, true)
	if err != nil {
		return nil, err
	}
	if len(win.kernel) == 0 {
		return nil, attrError(n, "kernel_shape", "is required")
	}
	p, err := lpOrder(n, opset)
	if err != nil {
		return nil, err
	}
	if p <= 0 {
		return nil, attrError(n, "p", "is %g, want a positive order", p)
	}
	return &lpPool{win: win, p: p}, nil
}

func newGlobalLpPool(n *graph.Node, opset int64) (Op, error) {
	p, err := lpOrder(n, opset)
	if err != nil {
		return nil, err
	}
	if p <= 0 {
		return nil, attrError(n, "p", "is %g, want a positive order", p)
	}
	return &lpPool{p: p, global: true}, nil
}

// Forward pools X.
func (o *lpPool) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, 1); err != nil {
		return nil, err
	}
	dt := in[0].DType
	if !isFloatDType(dt) {
		return nil, fmt.Errorf("input X is %v, want a floating-point type", dt)
	}
	x := widenHalf(in[0])
	if x.Rank() < 3 {
		return nil, fmt.Errorf("input X %v: want [N, C, D1, ...]", x.Shape)
	}
	var p kernels.PoolNDParams
	if o.global {
		spatial := x.Shape[2:]
		ones, zeros := make([]int, len(spatial)), make([]int, len(spatial))
		for i := range ones {
			ones[i] = 1
		}
		p = kernels.PoolNDParams{N: x.Shape[0], C: x.Shape[1], Window: kernels.Window{
			In: spatial, Kernel: spatial, Strides: ones, PadsBegin: zeros, PadsEnd: zeros, Dilations: ones}}
	} else {
		win, err := o.win.resolve(x, nil)
		if err != nil {
			return nil, err
		}
		p = kernels.PoolNDParams{N: x.Shape[0], C: x.Shape[1], Window: *win, CeilMode: o.win.ceil}
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	vals, err := x.Float64s()
	if err != nil {
		return nil, err
	}
	outSpatial := p.OutSize()
	y := lpPoolKernel(&p, outSpatial, vals, o.p)
	shape := append([]int{p.N, p.C}, outSpatial...)
	return []*tensor.Tensor{float64sToDType(y, dt, shape)}, nil
}

// lpPoolKernel computes the p-norm of every window of x, [N*C, In...],
// in float64; out holds the output's spatial sizes.
func lpPoolKernel(p *kernels.PoolNDParams, out []int, x []float64, order float64) []float64 {
	d := len(p.In)
	inPlane, outPlane := tensor.NumElements(p.In), tensor.NumElements(out)
	inStrides, outStrides := tensor.Strides(p.In), tensor.Strides(out)
	kernelCount := tensor.NumElements(p.Kernel)
	kernelStrides := tensor.Strides(p.Kernel)
	y := make([]float64, p.N*p.C*outPlane)
	for plane := range p.N * p.C {
		src := x[plane*inPlane : (plane+1)*inPlane]
		for o := range outPlane {
			var sum float64
			for k := range kernelCount {
				off, inside := 0, true
				for a := range d {
					oi := o / outStrides[a] % out[a]
					ki := k / kernelStrides[a] % p.Kernel[a]
					pos := oi*p.Strides[a] - p.PadsBegin[a] + ki*p.Dilations[a]
					if pos < 0 || pos >= p.In[a] {
						inside = false
						break
					}
					off += pos * inStrides[a]
				}
				if inside {
					sum += math.Pow(math.Abs(src[off]), order)
				}
			}
			y[plane*outPlane+o] = math.Pow(sum, 1/order)
		}
	}
	return y
}

// lpNormalization is LpNormalization.
type lpNormalization struct {
	axis int64
	p    int64
}

func newLpNormalization(n *graph.Node, _ int64) (Op, error) {
	ints, err := n.Declared().IntList("axis", "p")
	if err != nil {
		return nil, err
	}
	axis, p := ints[0], ints[1]
	if p != 1 && p != 2 {
		return nil, attrError(n, "p", "is %d, want 1 or 2", p)
	}
	return &lpNormalization{axis: axis, p: p}, nil
}

// Forward divides X by its norm along the axis.
func (o *lpNormalization) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, 1); err != nil {
		return nil, err
	}
	dt := in[0].DType
	if !isFloatDType(dt) {
		return nil, fmt.Errorf("input is %v, want a floating-point type", dt)
	}
	x := widenHalf(in[0])
	axis, err := resolveAxis(o.axis, x.Rank(), "axis")
	if err != nil {
		return nil, err
	}
	vals, err := x.Float64s()
	if err != nil {
		return nil, err
	}
	outer, n, inner := splitAtAxis(x.Shape, axis)
	y := make([]float64, len(vals))
	for a := range outer {
		for i := range inner {
			base := a*n*inner + i
			var norm float64
			for k := range n {
				v := vals[base+k*inner]
				if o.p == 1 {
					norm += math.Abs(v)
				} else {
					norm += v * v
				}
			}
			if o.p == 2 {
				norm = math.Sqrt(norm)
			}
			for k := range n {
				if norm != 0 {
					y[base+k*inner] = vals[base+k*inner] / norm
				}
			}
		}
	}
	return []*tensor.Tensor{float64sToDType(y, dt, x.Shape)}, nil
}
