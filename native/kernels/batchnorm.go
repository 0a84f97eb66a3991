package kernels

// BatchNormalization over the channel axis, in training and inference mode.
//
// Shapes (row-major):
//
//	x, y, dy, dx           [N, C, S]  S = product of the spatial sizes, 1 for [N, C]
//	scale, bias            [C]
//	mean, variance         [C]  inference statistics (ONNX input_mean, input_var)
//	runMean, runVar        [C]  running statistics, updated in training mode
//	saveMean, saveInvStd   [C]  batch mean and 1/sqrt(var+Epsilon), saved for backward
//
// y = scale * (x - mean) / sqrt(var + Epsilon) + bias, where training mode
// uses the batch mean and the biased batch variance over N and S of each
// channel, and inference mode uses the given statistics. Sums run in
// float64; channels are spread over the workers.

import (
	"math"

	"github.com/onnxkit/onnxkit/native/linalg"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/vec"
)

// BatchNormParams holds the dimensions and attributes of
// BatchNormalization.
type BatchNormParams struct {
	N, C, Spatial int     // x is [N, C, Spatial]
	Epsilon       float32 // epsilon, ONNX default 1e-5
	Momentum      float32 // momentum, ONNX default 0.9: running = running*Momentum + batch*(1-Momentum)
	// Act is applied to y as it is stored (a BatchNormalization fused
	// with the activation that reads it, as pre-activation networks
	// such as DenseNet have); the identity by default. Backward goes
	// through the identity and Relu only (see BatchNormReluGrad).
	Act Activation
}

// Validate reports a dimension below 1, a negative Epsilon or a Momentum
// outside [0, 1] as a *ParamError.
func (p *BatchNormParams) Validate() error {
	const op = "BatchNormalization"
	if err := checkPositive(op, []string{"N", "C", "Spatial"}, p.N, p.C, p.Spatial); err != nil {
		return err
	}
	if err := checkElems(op, "N, C, Spatial", p.N, p.C, p.Spatial); err != nil {
		return err
	}
	if !(p.Epsilon >= 0) || math.IsInf(float64(p.Epsilon), 0) {
		return paramErr(op, "Epsilon", "must be finite and not negative, got %g", p.Epsilon)
	}
	if !(p.Momentum >= 0 && p.Momentum <= 1) {
		return paramErr(op, "Momentum", "must lie in [0, 1], got %g", p.Momentum)
	}
	return nil
}

// needBuffers checks the sizes of the [N, C, Spatial] buffers data and
// the [C] buffers perChannel, named in that order by names.
func (p *BatchNormParams) needBuffers(names []string, data [][]float32, perChannel ...[]float32) {
	const op = "BatchNormalization"
	for i, b := range data {
		need(op, names[i], b, p.N*p.C*p.Spatial)
	}
	for i, b := range perChannel {
		need(op, names[len(data)+i], b, p.C)
	}
}

// needGradients checks the sizes of the gradient buffers that are not nil.
func (p *BatchNormParams) needGradients(dx, dscale, dbias []float32) {
	if dx != nil {
		need("BatchNormalization", "dx", dx, p.N*p.C*p.Spatial)
	}
	if dscale != nil {
		need("BatchNormalization", "dscale", dscale, p.C)
	}
	if dbias != nil {
		need("BatchNormalization", "dbias", dbias, p.C)
	}
}

// channel calls f with the offset of each of the N runs of Spatial values
// that make up channel c.
func (p *BatchNormParams) channel(c int, f func(off int)) {
	for n := 0; n < p.N; n++ {
		f((n*p.C + c) * p.Spatial)
	}
}

// BatchNormTrainingForward normalizes x with its batch statistics, writes
// y, saves the batch mean and inverse standard deviation for backward, and
// updates runMean and runVar (either may be nil to skip) with the biased
// batch variance, as the ONNX spec (opset 14+) does.
func BatchNormTrainingForward(p *BatchNormParams, x, scale, bias, runMean, runVar, y, saveMean, saveInvStd []float32) {
	p.needBuffers([]string{"x", "y", "scale", "bias", "saveMean", "saveInvStd"},
		[][]float32{x, y}, scale, bias, saveMean, saveInvStd)
	count := float64(p.N * p.Spatial)
	s := p.Spatial
	coef := getBuffer(2 * p.C)
	defer putBuffer(coef)
	a, b := coef[:p.C], coef[p.C:]
	parallel.For(p.C, grainFor(2*p.N*s), func(lo, hi int) {
		for c := lo; c < hi; c++ {
			var sum float64
			p.channel(c, func(off int) {
				for _, v := range x[off : off+s] {
					sum += float64(v)
				}
			})
			mean := sum / count
			var sq float64
			p.channel(c, func(off int) {
				for _, v := range x[off : off+s] {
					d := float64(v) - mean
					sq += d * d
				}
			})
			variance := sq / count
			invStd := 1 / math.Sqrt(variance+float64(p.Epsilon))
			saveMean[c], saveInvStd[c] = float32(mean), float32(invStd)
			a[c] = float32(invStd * float64(scale[c]))
			b[c] = bias[c] - float32(mean)*a[c]
			m := p.Momentum
			if runMean != nil {
				runMean[c] = runMean[c]*m + float32(mean)*(1-m)
			}
			if runVar != nil {
				runVar[c] = runVar[c]*m + float32(variance)*(1-m)
			}
		}
	})
	p.affine(x, y, a, b)
}

// affine stores Act(x*a[c] + b[c]) in y for every element of channel c,
// the product rounded before the sum: a channel's runs at a time, or an
// image's channels at a time when each run is a single value. A Relu is
// applied in the same vector loop (vec.ScaleAddRelu), another activation
// to each block of affineBlock values while they are in cache.
func (p *BatchNormParams) affine(x, y, a, b []float32) {
	t := affineTasks.Get()
	*t = affineTask{p: *p, x: x, y: y, a: a, b: b}
	if p.Spatial > 1 {
		parallel.Run(p.C, grainFor(p.N*p.Spatial), t)
	} else {
		parallel.Run(p.N, grainFor(p.C), t)
	}
	affineTasks.Put(t)
}

// affineTask is affine's loop: over the channels when a channel's runs
// are longer than one value, over the images otherwise.
type affineTask struct {
	p          BatchNormParams // a copy, so that the caller's does not escape
	x, y, a, b []float32
}

var affineTasks parallel.Tasks[affineTask]

func (t *affineTask) Range(lo, hi int) {
	p, x, y, a, b := &t.p, t.x, t.y, t.a, t.b
	if s := p.Spatial; s > 1 {
		for c := lo; c < hi; c++ {
			for n := 0; n < p.N; n++ {
				off := (n*p.C + c) * s
				if p.Act.Kind == ActRelu {
					vec.ScaleAddRelu(y[off:off+s], x[off:], a[c], b[c])
					continue
				}
				for i := 0; i < s; i += affineBlock {
					out := y[off+i : off+min(i+affineBlock, s)]
					vec.ScaleAdd(out, x[off+i:], a[c], b[c])
					p.activate(out)
				}
			}
		}
		return
	}
	for n := lo; n < hi; n++ {
		out := y[n*p.C : (n+1)*p.C]
		for c, v := range x[n*p.C : (n+1)*p.C] {
			out[c] = float32(v*a[c]) + b[c] // the conversion rounds the product, as vec.ScaleAdd does
		}
		p.activate(out)
	}
}

// activate applies p.Act in place to y, just normalized.
func (p *BatchNormParams) activate(y []float32) {
	if p.Act.Kind != ActIdentity {
		p.Act.Apply(y, y)
	}
}

// affineBlock is how many values of a channel's run affine normalizes
// before applying the activation to them: 16 KB, which stay in the L1
// cache.
const affineBlock = 4096

// BatchNormReluGrad stores in dyAct the gradient with respect to the
// normalized y of a BatchNormalization fused with a Relu, given the
// gradient dy of the Relu's output out: dy where out is positive, 0
// elsewhere, as Relu's backward gives (0 at 0). The backward of the
// normalization then takes dyAct.
func BatchNormReluGrad(out, dy, dyAct []float32) {
	need("BatchNormalization", "dy", dy, len(out))
	need("BatchNormalization", "dyAct", dyAct, len(out))
	for i, v := range out {
		if v > 0 {
			dyAct[i] = dy[i]
		} else {
			dyAct[i] = 0
		}
	}
}

// BatchNormTrainingBackward accumulates the gradients with respect to x,
// scale and bias (any may be nil) of training-mode normalization, whose
// statistics depend on x:
//
//	xhat   = (x - saveMean) * saveInvStd
//	dbias  += sum(dy)
//	dscale += sum(dy * xhat)
//	dx     += scale * saveInvStd * (dy - sum(dy)/m - xhat * sum(dy*xhat)/m)
//
// with sums over the m = N*Spatial values of a channel.
func BatchNormTrainingBackward(p *BatchNormParams, x, scale, saveMean, saveInvStd, dy, dx, dscale, dbias []float32) {
	p.needBuffers([]string{"x", "dy", "scale", "saveMean", "saveInvStd"},
		[][]float32{x, dy}, scale, saveMean, saveInvStd)
	p.needGradients(dx, dscale, dbias)
	count := float64(p.N * p.Spatial)
	s := p.Spatial
	parallel.For(p.C, grainFor(2*p.N*s), func(lo, hi int) {
		for c := lo; c < hi; c++ {
			mean, invStd := saveMean[c], saveInvStd[c]
			var sumDy, sumDyXhat float64
			p.channel(c, func(off int) {
				for i, g := range dy[off : off+s] {
					sumDy += float64(g)
					sumDyXhat += float64(g) * float64((x[off+i]-mean)*invStd)
				}
			})
			if dbias != nil {
				dbias[c] += float32(sumDy)
			}
			if dscale != nil {
				dscale[c] += float32(sumDyXhat)
			}
			if dx == nil {
				continue
			}
			k := scale[c] * invStd
			meanDy, meanDyXhat := float32(sumDy/count), float32(sumDyXhat/count)
			p.channel(c, func(off int) {
				for i, g := range dy[off : off+s] {
					xhat := (x[off+i] - mean) * invStd
					dx[off+i] += k * (g - meanDy - xhat*meanDyXhat)
				}
			})
		}
	})
}

// BatchNormInferenceForward normalizes x with the given mean and variance.
func BatchNormInferenceForward(p *BatchNormParams, x, scale, bias, mean, variance, y []float32) {
	p.needBuffers([]string{"x", "y", "scale", "bias", "mean", "variance"},
		[][]float32{x, y}, scale, bias, mean, variance)
	coef := getBuffer(2 * p.C)
	defer putBuffer(coef)
	a, b := coef[:p.C], coef[p.C:]
	BatchNormAffine(scale, bias, mean, variance, p.Epsilon, a, b)
	p.affine(x, y, a, b)
}

// BatchNormAffine stores in a and b, for each channel c < len(a), the
// map that inference batch normalization applies to channel c, y =
// x*a[c] + b[c]: a[c] = scale[c]/sqrt(variance[c] + epsilon) (computed
// in float64, rounded once) and b[c] = bias[c] - mean[c]*a[c], the
// coefficients BatchNormInferenceForward multiplies and adds by.
func BatchNormAffine(scale, bias, mean, variance []float32, epsilon float32, a, b []float32) {
	for c := range a {
		a[c] = float32(float64(scale[c]) / math.Sqrt(float64(variance[c])+float64(epsilon)))
		b[c] = bias[c] - mean[c]*a[c]
	}
}

// InputAffine is a map of each input channel c of a convolution,
// applied to its input as it reads it: x*Scale[c] + Shift[c], the
// product rounded before the sum (vec.ScaleAdd), then under Relu
// max(v, 0) (vec.ScaleAddRelu). An inference batch normalization
// (BatchNormAffine's coefficients) and its Relu before a convolution
// are such a map (see ConvForwardPlan.ForwardAffine).
//
// With Shift nil (and no Relu) the map is x*Scale[c] alone, bitwise a
// Mul by a per-channel scale; with PerImage, Scale holds a scale for
// each channel of each image, image n's from n*C on: the gate of a
// squeeze-and-excitation block, computed per image.
type InputAffine struct {
	Scale, Shift []float32
	Relu         bool
	PerImage     bool
}

// check panics unless in holds its values for the convolution p.
func (in *InputAffine) check(p *ConvParams) {
	images := 1
	if in.PerImage {
		images = p.N
		if in.Shift != nil || in.Relu {
			panic("kernels: Conv: a map per image with a shift or a Relu")
		}
	}
	need("Conv", "input scale", in.Scale, images*p.C)
	if in.Shift != nil || in.Relu {
		need("Conv", "input shift", in.Shift, p.C)
	}
}

// image returns the map of image n of an input of c channels.
func (in *InputAffine) image(n, c int) InputAffine {
	if !in.PerImage {
		return *in
	}
	return InputAffine{Scale: in.Scale[n*c : (n+1)*c]}
}

// apply stores in dst the map in of x, the input of the convolution p,
// as BatchNormInferenceForward stores a normalization (with its Relu),
// or, with no shift, as Mul stores the product.
func (in *InputAffine) apply(p *ConvParams, x, dst []float32) {
	if in.Shift == nil {
		// The closure reads copies, so that in (and the callers' maps)
		// stay on the stack.
		hw, c, images, scale := p.H*p.W, p.C, 0, in.Scale
		if in.PerImage {
			images = c // the distance between two images' scales
		}
		parallel.For(p.N*c, grainFor(hw), func(lo, hi int) {
			for t := lo; t < hi; t++ {
				s := scale[t/c*images+t%c]
				vec.BinaryScalar(vec.OpMul, dst[t*hw:(t+1)*hw], x[t*hw:(t+1)*hw], s)
			}
		})
		return
	}
	bp := &BatchNormParams{N: p.N, C: p.C, Spatial: p.H * p.W}
	if in.Relu {
		bp.Act = Activation{Kind: ActRelu}
	}
	bp.affine(x, dst, in.Scale, in.Shift)
}

// applyPlanes stores in dst the map in of x, the input of the
// convolution p (image n at x[n*xStride:], or, for xStride 0, one
// after the other), as apply does, but with the planes plane elements
// apart (plane at least H*W, a multiple of 16: the lanes of the
// widest vectors), the values between them zero: one call of
// vec.ScalePanels or vec.ScaleAddPanels per image (per range of the
// workers' planes), each plane a panel, where apply makes a call per
// plane, which on the 7x7 planes of a late layer costs more than the
// values it maps.
func (in *InputAffine) applyPlanes(p *ConvParams, x []float32, xStride int, dst []float32, plane int) {
	// The closure reads copies, so that in (and the callers' maps) stay
	// on the stack.
	hw, c, m := p.H*p.W, p.C, *in
	if xStride == 0 {
		xStride = c * hw
	}
	parallel.For(p.N*c, grainFor(hw), func(lo, hi int) {
		for t := lo; t < hi; {
			n, c0 := t/c, t%c
			c1 := min(c, c0+hi-t) // the planes of image n in [lo, hi)
			src, out := x[n*xStride+c0*hw:n*xStride+c1*hw], dst[t*plane:(t+c1-c0)*plane]
			if m.Shift == nil {
				vec.ScalePanels(out, plane, src, hw, c1-c0, hw, m.image(n, c).Scale[c0:c1])
			} else {
				vec.ScaleAddPanels(out, plane, src, hw, c1-c0, hw, m.Scale[c0:c1], m.Shift[c0:c1], m.Relu)
			}
			t += c1 - c0
		}
	})
}

// mappedPlane is the distance between the planes of a convolution's
// input mapped by applyPlanes: H*W rounded up to 16.
func (p *ConvParams) mappedPlane() int { return roundUpInt(p.H*p.W, 16) }

// rows returns in restricted to channels [c0, c1) as the GEMM's map of
// the rows of its B.
func (in *InputAffine) rows(c0, c1 int) linalg.RowAffine {
	if in.Shift == nil {
		return linalg.RowAffine{Scale: in.Scale[c0:c1]}
	}
	return linalg.RowAffine{Scale: in.Scale[c0:c1], Shift: in.Shift[c0:c1], Relu: in.Relu}
}

// column stores in dst the map of n rows of one column of B, the input
// channels from c0 on, row q at src[q*ld], and returns it: the column
// of a matrix-vector product.
func (in *InputAffine) column(dst, src []float32, ld, c0, n int) []float32 {
	dst = dst[:n]
	if in.Shift == nil {
		for q := range dst {
			dst[q] = src[q*ld] * in.Scale[c0+q]
		}
		return dst
	}
	for q := range dst {
		v := float32(src[q*ld]*in.Scale[c0+q]) + in.Shift[c0+q]
		if in.Relu {
			v = max(v, 0)
		}
		dst[q] = v
	}
	return dst
}

// BatchNormInferenceBackward accumulates the gradients with respect to x,
// scale and bias (any may be nil) of inference-mode normalization, where
// mean and variance are constants:
//
//	dx     += dy * scale / sqrt(variance + Epsilon)
//	dscale += sum(dy * (x - mean) / sqrt(variance + Epsilon))
//	dbias  += sum(dy)
func BatchNormInferenceBackward(p *BatchNormParams, x, scale, mean, variance, dy, dx, dscale, dbias []float32) {
	p.needBuffers([]string{"x", "dy", "scale", "mean", "variance"},
		[][]float32{x, dy}, scale, mean, variance)
	p.needGradients(dx, dscale, dbias)
	s := p.Spatial
	parallel.For(p.C, grainFor(p.N*s), func(lo, hi int) {
		for c := lo; c < hi; c++ {
			invStd := float32(1 / math.Sqrt(float64(variance[c])+float64(p.Epsilon)))
			var sumDy, sumDyXhat float64
			k := scale[c] * invStd
			p.channel(c, func(off int) {
				for i, g := range dy[off : off+s] {
					sumDy += float64(g)
					sumDyXhat += float64(g) * float64((x[off+i]-mean[c])*invStd)
					if dx != nil {
						dx[off+i] += k * g
					}
				}
			})
			if dbias != nil {
				dbias[c] += float32(sumDy)
			}
			if dscale != nil {
				dscale[c] += float32(sumDyXhat)
			}
		}
	})
}
