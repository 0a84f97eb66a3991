package ops

import (
	"fmt"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/kernels"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// Gemm: Y = alpha * A' * B' + beta * C, A' = transpose(A) if transA.
//
//	A [M, K] (or [K, M])   B [K, N] (or [N, K])   C broadcast to [M, N]
//	Y [M, N]
//
// C is required before opset 11, optional after; opsets 1-6 had a
// broadcast attribute, which the shapes make redundant here.
// act, set by FuseEpilogue, is applied to Y.
type gemm struct {
	transA, transB bool
	alpha, beta    float32
	act            kernels.Activation
	// bound holds the params of the last inputs' shapes.
	bound *shapeCache[*kernels.GemmParams]
	// weights is B prepared, when it is an initializer.
	weights *preparedWeights
}

// nnGemmOps is the operator table of nn_gemm.go (see registry.go).
var nnGemmOps = []Entry{
	{OpType: "Gemm", Since: []int64{1}, Build: newGemm},
	{OpType: "MatMul", Since: []int64{1}, Build: newMatMul},
}

func newGemm(n *graph.Node, _ int64) (Op, error) {
	ints, err := n.Declared().IntList("transA", "transB")
	if err != nil {
		return nil, err
	}
	ta, tb := ints[0], ints[1]
	floats, err := n.Declared().FloatList("alpha", "beta")
	if err != nil {
		return nil, err
	}
	return &gemm{transA: ta != 0, transB: tb != 0, alpha: floats[0], beta: floats[1],
		bound: &shapeCache[*kernels.GemmParams]{}, weights: &preparedWeights{}}, nil
}

func (o *gemm) params(in []*tensor.Tensor) (*kernels.GemmParams, error) {
	a, err := float32Input(in, 0, "A")
	if err != nil {
		return nil, err
	}
	b, err := float32Input(in, 1, "B")
	if err != nil {
		return nil, err
	}
	if a.Rank() != 2 || b.Rank() != 2 {
		return nil, fmt.Errorf("inputs A %v and B %v must be matrices", a.Shape, b.Shape)
	}
	p := &kernels.GemmParams{M: a.Shape[0], K: a.Shape[1], N: b.Shape[1], TransA: o.transA, TransB: o.transB,
		Alpha: o.alpha, Beta: o.beta, Act: o.act}
	kb := b.Shape[0]
	if o.transA {
		p.M, p.K = p.K, p.M
	}
	if o.transB {
		p.N, kb = kb, p.N
	}
	if kb != p.K {
		return nil, fmt.Errorf("inputs A %v and B %v do not multiply (transA=%v, transB=%v)", a.Shape, b.Shape, o.transA, o.transB)
	}
	if len(in) > 2 && in[2] != nil {
		c, err := float32Input(in, 2, "C")
		if err != nil {
			return nil, err
		}
		switch {
		case c.Len() == 1:
			p.Bias = kernels.GemmBiasScalar
		case c.Len() == p.N && (c.Rank() == 1 || c.Shape[0] == 1):
			p.Bias = kernels.GemmBiasRow
		case c.Rank() == 2 && c.Shape[0] == p.M && c.Shape[1] == 1:
			p.Bias = kernels.GemmBiasColumn
		case c.Rank() == 2 && c.Shape[0] == p.M && c.Shape[1] == p.N:
			p.Bias = kernels.GemmBiasFull
		default:
			return nil, fmt.Errorf("input C %v does not broadcast to [%d, %d]", c.Shape, p.M, p.N)
		}
	}
	return p, p.Validate()
}

// FuseEpilogue returns the Gemm with e's activation applied to its
// output; it adds no bias or residual besides its own C, and takes no
// scale or Softmax (its epilogues need not see whole rows).
func (o *gemm) FuseEpilogue(e Epilogue) Op {
	if e.Bias || e.Residual || e.Scale != nil || e.Act.Kind == kernels.ActSoftmax {
		return nil
	}
	fused := *o
	fused.act = e.Act
	fused.bound = &shapeCache[*kernels.GemmParams]{}
	fused.weights = &preparedWeights{}
	return &fused
}

// checkFusedBackward returns an error unless a backward pass can go
// through the fused epilogue e: none, or a Relu alone.
func checkFusedBackward(e Epilogue) error {
	if e.Scale != nil || e.Bias || e.Residual || e.Act.Kind != kernels.ActIdentity && e.Act.Kind != kernels.ActRelu {
		return fmt.Errorf("the fused epilogue %+v has no backward pass", e)
	}
	return nil
}

func (o *gemm) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	p, err := o.bound.bind(in, o.params)
	if err != nil {
		return nil, err
	}
	if err := ctx.checkOutput(graph.Float32, []int{p.M, p.N}); err != nil {
		return nil, err
	}
	y := ctx.Float32(p.M, p.N)
	var pb *kernels.PreparedB
	if !p.TransA {
		pb = o.weights.get(ctx, p.TransB, p.K, p.N, in[1])
	}
	kernels.GemmPreparedForward(p, in[0].F32(), in[1].F32(), pb, optionalF32(in, 2), y.F32())
	return ctx.Outputs(y), nil
}

func (o *gemm) Backward(ctx *Context, in, out, gradOut []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkFusedBackward(Epilogue{Act: o.act}); err != nil {
		return nil, err
	}
	p, err := o.params(in)
	if err != nil {
		return nil, err
	}
	grads, bufs := wantedGrads(ctx, in)
	dy := gradOut[0].F32()
	if o.act.Kind == kernels.ActRelu { // through the fused ReLU: no gradient where Y is 0
		masked := ctx.Float32(gradOut[0].Shape...)
		defer ctx.Pool.Put(masked)
		kernels.MaskByRelu(out[0].F32(), dy, masked.F32())
		dy = masked.F32()
	}
	kernels.GemmBackward(p, in[0].F32(), in[1].F32(), dy, bufs[0], bufs[1], bufs[2])
	return grads, nil
}

// wantedGrads returns zeroed gradients for the inputs (at most three) of
// a Conv or Gemm whose gradients the backward pass uses, and nil for the
// others, as tensors and as the buffers the kernels fill (nil to skip).
func wantedGrads(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, [3][]float32) {
	grads := make([]*tensor.Tensor, len(in))
	var bufs [3][]float32
	for i := range min(len(in), 3) {
		if in[i] != nil && ctx.Wants(i) {
			grads[i] = ctx.Zeros(in[i].Shape...)
			bufs[i] = grads[i].F32()
		}
	}
	return grads, bufs
}

// matMul is numpy's matmul:
//
//	A [..., M, K] or [K]   B [..., K, N] or [K]   Y [..., M, N], batch axes broadcast
//
// A 1-D A is a [1, K] matrix and a 1-D B a [K, 1] one, the added axis
// dropped from Y.
//
// epi, set by FuseEpilogue, is applied to Y: a bias of N values added
// to each row, a residual of Y's shape, an activation.
type matMul struct {
	epi Epilogue
	// perms, set by FoldTranspose, are for each input the permutation
	// of a Transpose whose input the op is given in place of its output,
	// nil for none.
	perms [2][]int
	// outPerm, set by FoldOutputTranspose, is the permutation of a
	// Transpose that alone reads the output, which the op writes in its
	// place; nil for none.
	outPerm []int
	// weights is a B of one matrix prepared, when it is an initializer.
	weights *preparedWeights
}

func newMatMul(*graph.Node, int64) (Op, error) { return &matMul{weights: &preparedWeights{}}, nil }

// FuseEpilogue returns the MatMul with e applied to its output.
func (o *matMul) FuseEpilogue(e Epilogue) Op {
	return &matMul{epi: e, perms: o.perms, outPerm: o.outPerm, weights: &preparedWeights{}}
}

// FoldTranspose returns the MatMul given, as input i, the input of a
// Transpose by perm rather than its output, which it reads in place
// (kernels.PermutedView); nil when perm moves the input's last axis out
// of the matrix axes, where the kernel cannot.
func (o *matMul) FoldTranspose(i int, perm []int) Op {
	r := len(perm)
	if i < 0 || i > 1 || r < 2 || !isPermutation(perm) || perm[r-1] != r-1 && perm[r-2] != r-1 {
		return nil
	}
	folded := &matMul{epi: o.epi, perms: o.perms, outPerm: o.outPerm, weights: &preparedWeights{}}
	folded.perms[i] = slices.Clone(perm)
	return folded
}

// FoldOutputTranspose returns the MatMul writing the Transpose by perm
// of its output in place of the output (kernels.TransposedOutputView);
// nil when perm moves the last axis, whose rows the kernel writes
// whole, or when the op adds a residual, which has the output's layout.
func (o *matMul) FoldOutputTranspose(perm []int) Op {
	r := len(perm)
	if r < 2 || !isPermutation(perm) || perm[r-1] != r-1 || o.epi.Residual {
		return nil
	}
	return &matMul{epi: o.epi, perms: o.perms, outPerm: slices.Clone(perm), weights: &preparedWeights{}}
}

// outputView returns the shape of the output the op stores, the
// Transpose by o.outPerm of the product's, shape, and the view that
// writes the product so. Both inputs must have two axes or more.
func (o *matMul) outputView(p *kernels.MatMulParams, shape []int) ([]int, *kernels.MatMulView, error) {
	perm := o.outPerm
	if len(perm) != len(shape) {
		return nil, nil, fmt.Errorf("the Transpose of the output written in place: perm %v does not fit the output's shape %v", perm, shape)
	}
	v, ok := kernels.TransposedOutputView(shape, perm)
	if !ok {
		return nil, nil, fmt.Errorf("the Transpose of the output by %v cannot be written in place", perm)
	}
	stored := make([]int, len(perm))
	for d, axis := range perm {
		stored[d] = shape[axis]
	}
	if len(shape) != len(p.OutBatch())+2 {
		return nil, nil, fmt.Errorf("the Transpose of the output written in place: a 1-D input leaves the output %v without its row or column axis", shape)
	}
	return stored, &v, nil
}

// isPermutation reports whether perm holds each of 0 to len(perm)-1 once.
func isPermutation(perm []int) bool {
	seen := make([]bool, len(perm))
	for _, d := range perm {
		if d < 0 || d >= len(perm) || seen[d] {
			return false
		}
		seen[d] = true
	}
	return true
}

// operands returns the shapes of the MatMul's operands A and B and, for
// those it reads through a folded Transpose, their views of the inputs.
func (o *matMul) operands(in []*tensor.Tensor) (shapes [2][]int, views [2]*kernels.MatMulView, err error) {
	for i, name := range []string{"A", "B"} {
		x, err := float32Input(in, i, name)
		if err != nil {
			return shapes, views, err
		}
		shapes[i] = x.Shape
		perm := o.perms[i]
		if perm == nil {
			continue
		}
		if len(perm) != x.Rank() {
			return shapes, views, fmt.Errorf("the Transpose of %s read in place: perm %v does not fit an input of shape %v", name, perm, x.Shape)
		}
		v, ok := kernels.PermutedView(x.Shape, perm)
		if !ok {
			return shapes, views, fmt.Errorf("the Transpose of %s by %v cannot be read in place", name, perm)
		}
		shapes[i] = make([]int, len(perm))
		for d, axis := range perm {
			shapes[i][d] = x.Shape[axis]
		}
		views[i] = &v
	}
	return shapes, views, nil
}

func (o *matMul) params(ctx *Context, in []*tensor.Tensor) (*kernels.MatMulParams, []int, error) {
	shapes, views, err := o.operands(in)
	if err != nil {
		return nil, nil, err
	}
	as, bs := shapes[0], shapes[1]
	if len(as) == 0 || len(bs) == 0 {
		return nil, nil, fmt.Errorf("MatMul of a scalar (%v, %v)", as, bs)
	}
	aRank, bRank := len(as), len(bs)
	if len(as) == 1 {
		as = []int{1, as[0]}
	}
	if len(bs) == 1 {
		bs = []int{bs[0], 1}
	}
	p := &kernels.MatMulParams{BatchA: as[:len(as)-2], BatchB: bs[:len(bs)-2],
		M: as[len(as)-2], K: as[len(as)-1], N: bs[len(bs)-1], Act: o.epi.Act, Scale: o.epi.Scale,
		AView: views[0], BView: views[1]}
	if bs[len(bs)-2] != p.K {
		return nil, nil, fmt.Errorf("inputs A %v and B %v do not multiply", shapes[0], shapes[1])
	}
	if batch, err := tensor.BroadcastShape(p.BatchA, p.BatchB); err == nil {
		if err := ctx.checkOutput(graph.Float32, append(slices.Clone(batch), p.M, p.N)); err != nil {
			return nil, nil, err
		}
		// The kernel indexes the a and b matrix of every output matrix.
		if err := ctx.checkOutput(graph.Int64, append(batch, 2)); err != nil {
			return nil, nil, fmt.Errorf("the batch index of %v matrices: %w", batch, err)
		}
	}
	if err := p.Validate(); err != nil {
		return nil, nil, err
	}
	shape := append([]int(nil), p.OutBatch()...)
	if aRank > 1 {
		shape = append(shape, p.M)
	}
	if bRank > 1 {
		shape = append(shape, p.N)
	}
	return p, shape, nil
}

func (o *matMul) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if out, ok, err := widenedForward(ctx, in, o.Forward); ok {
		return out, err // float16, bfloat16 or float64, computed in float32
	}
	in, b, r, err := epilogueInputs(o.epi, in)
	if err != nil {
		return nil, err
	}
	if len(in) != 2 {
		return nil, fmt.Errorf("MatMul takes 2 inputs besides its epilogue's, got %d", len(in))
	}
	var bias []float32
	if b != nil {
		if b, err = float32Input([]*tensor.Tensor{b}, 0, "bias"); err != nil {
			return nil, err
		}
		bias = b.F32()
	}
	p, shape, err := o.params(ctx, in)
	if err != nil {
		return nil, err
	}
	if len(shape) == 0 && o.epi.Act.Kind == kernels.ActSoftmax {
		// The unfused Softmax rejects its axis -1 on a scalar.
		return nil, fmt.Errorf("the fused Softmax's axis -1 is out of range for the scalar product of %v and %v", in[0].Shape, in[1].Shape)
	}
	if bias != nil && (len(bias) != p.N || len(shape) == 0 || shape[len(shape)-1] != p.N) {
		return nil, fmt.Errorf("bias of %d values does not match the output %v", len(bias), shape)
	}
	// A residual not of Y's shape goes through the Add op afterwards.
	fallback := r != nil && !sameShape(r, shape)
	var res []float32
	switch {
	case fallback:
		p.Act = kernels.Activation{}
	case r != nil:
		res = r.F32()
	}
	if o.outPerm != nil {
		if r != nil {
			return nil, fmt.Errorf("a residual with the output written transposed")
		}
		if shape, p.YView, err = o.outputView(p, shape); err != nil {
			return nil, err
		}
	}
	y := ctx.Float32(shape...)
	var pb *kernels.PreparedB
	if p.BView == nil && in[1].Rank() >= 2 && tensor.NumElements(p.BatchB) == 1 {
		pb = o.weights.get(ctx, false, p.K, p.N, in[1])
	}
	kernels.MatMulPreparedForward(p, in[0].F32(), in[1].F32(), pb, bias, res, y.F32())
	if fallback {
		return residualFallback(ctx, y, r, o.epi.Act)
	}
	return []*tensor.Tensor{y}, nil
}

func (o *matMul) Backward(ctx *Context, in, out, gradOut []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkFusedBackward(o.epi); err != nil {
		return nil, err
	}
	if o.perms[0] != nil || o.perms[1] != nil || o.outPerm != nil {
		return nil, fmt.Errorf("a MatMul reading or writing a Transpose in place has no backward pass")
	}
	p, _, err := o.params(ctx, in)
	if err != nil {
		return nil, err
	}
	da := ctx.Zeros(in[0].Shape...)
	db := ctx.Zeros(in[1].Shape...)
	dy := gradOut[0].F32()
	if o.epi.Act.Kind == kernels.ActRelu { // through the fused ReLU: no gradient where Y is 0
		masked := ctx.Float32(gradOut[0].Shape...)
		defer ctx.Pool.Put(masked)
		kernels.MaskByRelu(out[0].F32(), dy, masked.F32())
		dy = masked.F32()
	}
	kernels.MatMulBackward(p, in[0].F32(), in[1].F32(), dy, da.F32(), db.F32())
	return []*tensor.Tensor{da, db}, nil
}
