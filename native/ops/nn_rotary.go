package ops

// RotaryEmbedding (opset 23): rotary positional embedding of queries or
// keys. Attributes: interleaved (0), rotary_embedding_dim (0: the head
// size), num_heads (needed for 3-D input).
//
// Shape legend: B batch, H heads, S sequence, D head size, R rotated
// dimensions (rotary_embedding_dim or D), M cache length.
//
//	X             [B, H, S, D] or 3-D [B, S, H*D]
//	cos_cache     [M, R/2] with position_ids, else [B, S, R/2]
//	sin_cache     as cos_cache
//	position_ids  [B, S] int64, optional: row of the caches for (b, s)
//	Y             X's shape
//
// For each (b, h, s), with c, n the cache rows and pairs (x1_k, x2_k),
// k < R/2, taken as (x[k], x[k+R/2]), or (x[2k], x[2k+1]) when
// interleaved:
//
//	y1 = c x1 - n x2,  y2 = n x1 + c x2,  dimensions R.. copied.
//
// Backward, the transposed rotation and the caches' gradients:
//
//	dx1 = c dy1 + n dy2,  dx2 = -n dy1 + c dy2
//	dc += x1 dy1 + x2 dy2,  dn += -x2 dy1 + x1 dy2

import (
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// nnRotaryOps is the operator table of nn_rotary.go (see registry.go).
var nnRotaryOps = []Entry{
	{OpType: "RotaryEmbedding", Since: []int64{23}, Build: newRotaryEmbedding},
}

// rotaryEmbedding is RotaryEmbedding with its attributes decoded.
type rotaryEmbedding struct {
	interleaved bool
	rotaryDim   int // 0: the head size
	numHeads    int // 0: not given
}

func newRotaryEmbedding(n *graph.Node, _ int64) (Op, error) {
	ints, err := n.Declared().IntList("interleaved", "rotary_embedding_dim", "num_heads")
	if err != nil {
		return nil, err
	}
	inter, rd, heads := ints[0], ints[1], ints[2]
	if rd < 0 || rd > 1<<30 || heads < 0 || heads > 1<<30 {
		return nil, attrError(n, "rotary_embedding_dim", "rotary_embedding_dim %d and num_heads %d must be non-negative", rd, heads)
	}
	return &rotaryEmbedding{interleaved: inter != 0, rotaryDim: int(rd), numHeads: int(heads)}, nil
}

// rotaryLayout is a RotaryEmbedding node's sizes and the cache row of
// every (b, s).
type rotaryLayout struct {
	batch, heads, seq, headDim, half int
	threeD                           bool
	rows                             []int // [B*S]: first element of the cache row
}

// at returns the offset of head h of (b, s) in X.
func (l *rotaryLayout) at(b, h, s int) int {
	if l.threeD {
		return ((b*l.seq+s)*l.heads + h) * l.headDim
	}
	return ((b*l.heads+h)*l.seq + s) * l.headDim
}

func (op *rotaryEmbedding) layout(in []*tensor.Tensor) (*rotaryLayout, error) {
	x, cos, sin := in[0], in[1], in[2]
	l := &rotaryLayout{}
	switch x.Rank() {
	case 4:
		l.batch, l.heads, l.seq, l.headDim = x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	case 3:
		if op.numHeads == 0 {
			return nil, fmt.Errorf("3-D input %v needs the num_heads attribute", x.Shape)
		}
		if x.Shape[2]%op.numHeads != 0 {
			return nil, fmt.Errorf("hidden size of input %v is not a multiple of num_heads %d", x.Shape, op.numHeads)
		}
		l.threeD = true
		l.batch, l.seq, l.heads, l.headDim = x.Shape[0], x.Shape[1], op.numHeads, x.Shape[2]/op.numHeads
	default:
		return nil, fmt.Errorf("input %v must be 3-D or 4-D", x.Shape)
	}
	rd := op.rotaryDim
	if rd == 0 {
		rd = l.headDim
	}
	if rd%2 != 0 || rd > l.headDim {
		return nil, fmt.Errorf("rotary_embedding_dim %d must be even and at most the head size %d", rd, l.headDim)
	}
	l.half = rd / 2
	if len(cos.Shape) != len(sin.Shape) || cos.Len() != sin.Len() || cos.DType != x.DType || sin.DType != x.DType {
		return nil, fmt.Errorf("cos_cache %v and sin_cache %v must match each other and the input's type", cos, sin)
	}
	l.rows = make([]int, l.batch*l.seq)
	if pos := optionalInput(in, 3); pos != nil {
		ids, err := intValues(pos, "position_ids")
		if err != nil {
			return nil, err
		}
		if !shapeLike(pos.Shape, []int{l.batch, l.seq}) {
			return nil, fmt.Errorf("position_ids %v must be [%d, %d]", pos.Shape, l.batch, l.seq)
		}
		if cos.Rank() != 2 || cos.Shape[1] != l.half {
			return nil, fmt.Errorf("cos_cache %v must be [M, %d] with position_ids", cos.Shape, l.half)
		}
		for i, p := range ids {
			if p < 0 || p >= int64(cos.Shape[0]) {
				return nil, fmt.Errorf("position_ids holds %d, outside the cache's %d rows", p, cos.Shape[0])
			}
			l.rows[i] = int(p) * l.half
		}
		return l, nil
	}
	if !shapeLike(cos.Shape, []int{l.batch, l.seq, l.half}) {
		return nil, fmt.Errorf("cos_cache %v must be [%d, %d, %d] without position_ids", cos.Shape, l.batch, l.seq, l.half)
	}
	for i := range l.rows {
		l.rows[i] = i * l.half
	}
	return l, nil
}

// pair returns the offsets within a head of the k-th rotated pair.
func (op *rotaryEmbedding) pair(k, half int) (int, int) {
	if op.interleaved {
		return 2 * k, 2*k + 1
	}
	return k, k + half
}

// Forward rotates X.
func (op *rotaryEmbedding) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 3, 4); err != nil {
		return nil, err
	}
	if !isFloatDType(in[0].DType) {
		return nil, fmt.Errorf("input is %v, want a float type", in[0].DType)
	}
	l, err := op.layout(in)
	if err != nil {
		return nil, err
	}
	switch x := computeData(in[0]).(type) {
	case []float32:
		return []*tensor.Tensor{storeData(in[0].DType, in[0].Shape, rotate(op, l, x, computeData(in[1]).([]float32), computeData(in[2]).([]float32), 1))}, nil
	case []float64:
		return []*tensor.Tensor{storeData(in[0].DType, in[0].Shape, rotate(op, l, x, in[1].Data.([]float64), in[2].Data.([]float64), 1))}, nil
	}
	return nil, fmt.Errorf("input is %v, want a float type", in[0].DType)
}

// rotate applies the rotation to x, by the angle's sign sign (1 forward,
// -1 for the transpose that backward needs).
func rotate[T floatNumber](op *rotaryEmbedding, l *rotaryLayout, x, cos, sin []T, sign T) []T {
	y := make([]T, len(x))
	copy(y, x)
	for b := range l.batch {
		for s := range l.seq {
			row := l.rows[b*l.seq+s]
			c, n := cos[row:row+l.half], sin[row:row+l.half]
			for h := range l.heads {
				xs, ys := x[l.at(b, h, s):], y[l.at(b, h, s):]
				for k := range l.half {
					i1, i2 := op.pair(k, l.half)
					x1, x2 := xs[i1], xs[i2]
					ys[i1] = c[k]*x1 - sign*n[k]*x2
					ys[i2] = sign*n[k]*x1 + c[k]*x2
				}
			}
		}
	}
	return y
}

// Backward returns the gradients of X, cos_cache and sin_cache.
func (op *rotaryEmbedding) Backward(ctx *Context, in, out, gradOut []*tensor.Tensor) ([]*tensor.Tensor, error) {
	l, err := op.layout(in)
	if err != nil {
		return nil, err
	}
	grads := make([]*tensor.Tensor, len(in))
	if gradOut[0] == nil {
		return grads, nil
	}
	switch x := in[0].Data.(type) {
	case []float32:
		dx, dc, dn := rotaryGrad(op, l, x, in[1].F32(), in[2].F32(), gradOut[0].F32())
		grads[0], grads[1], grads[2] = tensor.FromFloat32(dx, in[0].Shape...), tensor.FromFloat32(dc, in[1].Shape...), tensor.FromFloat32(dn, in[2].Shape...)
	case []float64:
		dx, dc, dn := rotaryGrad(op, l, x, in[1].Data.([]float64), in[2].Data.([]float64), gradOut[0].Data.([]float64))
		grads[0], grads[1], grads[2] = storeData(graph.Float64, in[0].Shape, dx), storeData(graph.Float64, in[1].Shape, dc), storeData(graph.Float64, in[2].Shape, dn)
	default:
		return nil, fmt.Errorf("backward on %v is not supported; want float32 or float64", in[0].DType)
	}
	return grads, nil
}

// rotaryGrad returns dX (the rotation transposed applied to dY) and the
// caches' gradients.
func rotaryGrad[T floatNumber](op *rotaryEmbedding, l *rotaryLayout, x, cos, sin, dy []T) (dx, dc, dn []T) {
	dx = rotate(op, l, dy, cos, sin, -1)
	dc, dn = make([]T, len(cos)), make([]T, len(sin))
	for b := range l.batch {
		for s := range l.seq {
			row := l.rows[b*l.seq+s]
			for h := range l.heads {
				xs, gs := x[l.at(b, h, s):], dy[l.at(b, h, s):]
				for k := range l.half {
					i1, i2 := op.pair(k, l.half)
					dc[row+k] += xs[i1]*gs[i1] + xs[i2]*gs[i2]
					dn[row+k] += -xs[i2]*gs[i1] + xs[i1]*gs[i2]
				}
			}
		}
	}
	return dx, dc, dn
}
