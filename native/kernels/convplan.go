package kernels

import "github.com/onnxkit/onnxkit/native/linalg"

// ConvForwardPlan is the forward pass of one convolution planned once:
// the algorithm ConvForward would choose for its params with the current
// GEMM, and, once WithWeights has given it a weight tensor, those weights
// in the form the algorithm multiplies by (packed panels for the strided
// window, the matrix-vector products and the pointwise products of many
// input channels, kernels taken to the Winograd points). A plan is
// immutable: any number of goroutines may run it at once.
type ConvForwardPlan struct {
	p    *ConvParams
	plan convPlan
	gemm linalg.Gemm
}

// PlanConvForward plans the forward pass of p, which must be valid and
// must not change while the plan is in use.
func PlanConvForward(p *ConvParams) *ConvForwardPlan {
	return &ConvForwardPlan{p: p, plan: p.mustPlan(convForwardPass), gemm: linalg.Current()}
}

// PlanConvForwardAffine plans the forward pass of p for ForwardAffine:
// as PlanConvForward, but choosing among the algorithms as for an input
// mapped as it is read (see ConvParams.inputMapped). The plan's Params
// are a copy of p.
func PlanConvForwardAffine(p *ConvParams) *ConvForwardPlan {
	q := *p
	q.inputMapped = true
	return PlanConvForward(&q)
}

// Params returns the params the plan was made for.
func (f *ConvForwardPlan) Params() *ConvParams { return f.p }

// Current reports whether the plan was made with the GEMM in use
// (linalg.Use replaces it).
func (f *ConvForwardPlan) Current() bool { return f.gemm == linalg.Current() }

// WithWeights returns the plan with the weights w prepared, or nil when
// its algorithm multiplies by the weights as they are stored. The
// prepared plan's Forward then ignores its w argument (which must be
// these weights, unchanged) and gives bitwise the results of ConvForward:
// the preparation is the one ConvForward does on every call.
func (f *ConvForwardPlan) WithWeights(w []float32) *ConvForwardPlan {
	need("Conv", "w", w, f.p.M*f.p.colRows())
	g := *f
	switch f.plan.alg {
	case convWinograd3, convWinograd4x3, convWinograd5:
		g.plan.wino.u = f.plan.wino.transformAll(w)
	case convStridedWindow:
		g.plan.gather.packedW = f.plan.gather.packWeights(w)
	case convLanes:
		g.plan.lanes.packedW = f.plan.lanes.packWeights(w)
	case convChannelBlocks:
		g.plan.blocks.packedW = f.plan.blocks.packWeights(w)
	case convMatVec:
		g.plan.matvec.packedW = f.plan.matvec.packWeights(w)
	case convPointwise:
		if g.plan.point.packedW = f.plan.point.packWeights(w); g.plan.point.packedW == nil {
			return nil
		}
	default:
		return nil
	}
	return &g
}

// Forward computes y from x, w, the optional bias b and the optional
// residual r as ConvResidualForward does.
func (f *ConvForwardPlan) Forward(x, w, b, r, y []float32) {
	f.p.convForward(&f.plan, x, w, b, r, y, 0)
}

// ForwardImages is Forward with image n of the output at
// y[n*stride:], stride at least M*OH*OW elements, and nothing written
// between the images: a part of a larger tensor, such as a channel
// concatenation's piece at batch N > 1. The results are bitwise
// Forward's.
func (f *ConvForwardPlan) ForwardImages(x, w, b, r, y []float32, stride int) {
	f.p.convForward(&f.plan, x, w, b, r, y, stride)
}

// ForwardAffine computes y as Forward does, from in applied to x rather
// than x itself (which it leaves as it is): the convolution of an
// inference batch normalization's output, and its Relu's, given the
// normalization's input. The pointwise products that pack their
// columns map each input channel as they pack it, so the mapped input
// is never stored; the other algorithms convolve the mapped input,
// stored in a buffer first. The results are bitwise those of Forward
// on the input mapped by vec.ScaleAdd or vec.ScaleAddRelu, channel by
// channel, as BatchNormInferenceForward maps it; or, for a map with no
// shift (a squeeze-and-excitation gate, per image or not), on the input
// multiplied by it, as Mul multiplies.
func (f *ConvForwardPlan) ForwardAffine(x, w, b, r, y []float32, in InputAffine) {
	f.p.convForwardAffine(&f.plan, x, 0, w, b, r, y, 0, &in)
}

// ForwardApart is ForwardAffine (Forward when in is nil) with image n
// of the input at x[n*xStride:] and of the output at y[n*yStride:]
// (xStride at least C*H*W, yStride at least M*OH*OW; 0 for images one
// after the other), nothing read or written between them: parts of
// larger tensors, such as channel concatenations at batch N > 1. The
// pointwise products read the images where they lie; the other
// algorithms gather them first. The results are bitwise ForwardAffine's
// (Forward's).
func (f *ConvForwardPlan) ForwardApart(x []float32, xStride int, w, b, r, y []float32, yStride int, in *InputAffine) {
	f.p.convForwardAffine(&f.plan, x, xStride, w, b, r, y, yStride, in)
}
