package ops

// TensorScatter (opset 24): a key/value cache updated in place, as a new
// tensor.
//
//	past_cache [B, D1, ..., S_max, ..., Dn], update [B, D1, ..., S, ..., Dn],
//	write_indices [B] (int64, optional: zeros)  ->  present_cache, past_cache's shape
//
// Along attribute axis (default -2, the sequence axis; never the batch
// axis 0), batch b's update lands at positions write_indices[b] ...
// write_indices[b]+S-1. mode "linear" (default) requires those to lie
// within S_max; "circular" wraps them modulo S_max.

import (
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// scatterTensorOps is the operator table of scatter_tensor.go (see registry.go).
var scatterTensorOps = []Entry{
	{OpType: "TensorScatter", Since: []int64{24}, Build: newTensorScatter},
}

// tensorScatter is TensorScatter.
type tensorScatter struct {
	axis     int64
	circular bool
}

func newTensorScatter(n *graph.Node, _ int64) (Op, error) {
	axis, err := n.Declared().Int("axis")
	if err != nil {
		return nil, err
	}
	mode, err := n.Declared().String("mode")
	if err != nil {
		return nil, err
	}
	if mode != "linear" && mode != "circular" {
		return nil, attrError(n, "mode", "is %q, want linear or circular", mode)
	}
	return &tensorScatter{axis: axis, circular: mode == "circular"}, nil
}

// Forward writes update into a copy of past_cache.
func (o *tensorScatter) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 2, 3); err != nil {
		return nil, err
	}
	past, update := in[0], in[1]
	if past.DType != update.DType {
		return nil, fmt.Errorf("past_cache is %v and update %v; want one type", past.DType, update.DType)
	}
	r := past.Rank()
	axis, err := resolveAxis(o.axis, r, "axis")
	if err != nil {
		return nil, err
	}
	if axis == 0 {
		return nil, fmt.Errorf("axis %d is the batch axis", o.axis)
	}
	if update.Rank() != r {
		return nil, fmt.Errorf("update %v and past_cache %v: want one rank", update.Shape, past.Shape)
	}
	for d := range r {
		if d != axis && update.Shape[d] != past.Shape[d] {
			return nil, fmt.Errorf("update %v does not fit past_cache %v outside axis %d", update.Shape, past.Shape, axis)
		}
	}
	batch, maxSeq, seq := past.Shape[0], past.Shape[axis], update.Shape[axis]
	if seq > maxSeq {
		return nil, fmt.Errorf("update %v is longer than past_cache %v along axis %d", update.Shape, past.Shape, axis)
	}
	starts := make([]int64, batch)
	if w := optionalInput(in, 2); w != nil {
		if starts, err = intValues(w, "write_indices"); err != nil {
			return nil, err
		}
		if len(starts) != batch {
			return nil, fmt.Errorf("write_indices has %d values for a batch of %d", len(starts), batch)
		}
	}
	// past_cache viewed as [B, mid, S_max, inner]; update as [B, mid, S, inner].
	inner := tensor.NumElements(past.Shape[axis+1:])
	mid := tensor.NumElements(past.Shape[1:axis])
	out := newOutput(ctx, past.DType, past.Shape)
	dst := mvElems(out)
	dst.copyFrom(0, mvElems(past), 0, past.Len())
	src := mvElems(update)
	for b := range batch {
		start := starts[b]
		if start < 0 || !o.circular && start+int64(seq) > int64(maxSeq) {
			return nil, fmt.Errorf("write_indices[%d] = %d: positions %d...%d do not fit a cache of %d", b, start, start, start+int64(seq)-1, maxSeq)
		}
		for m := range mid {
			for s := range seq {
				pos := int((start + int64(s)) % int64(maxSeq))
				dst.copyFrom(((b*mid+m)*maxSeq+pos)*inner, src, ((b*mid+m)*seq+s)*inner, inner)
			}
		}
	}
	return []*tensor.Tensor{out}, nil
}
