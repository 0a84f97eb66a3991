package kernels

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/linalg"
	"github.com/onnxkit/onnxkit/native/simd"
)

// convSuiteUlps bounds the error of every algorithm against the direct
// loop in float64, in units of float32 roundoff (2^-24) times the sum of
// the magnitudes of the terms of each result: Winograd's transforms
// scale the rounding of the sums the most (see winogradUlps); the other
// algorithms sum up to a few hundred float32 products (1 to 3 units
// measured, k units in the classical worst case).
const convSuiteUlps = winogradUlps

// convUlps returns the bound of checkMagnitudes for the algorithm that
// computes pass of p: convSuiteUlps, or winograd4x3Ulps for F(4x4, 3x3).
func convUlps(p *ConvParams, pass convPass) float64 {
	if plan, err := p.convPlanFor(pass); err == nil && plan.alg == convWinograd4x3 {
		return winograd4x3Ulps
	}
	return convSuiteUlps
}

// conv2D is a convolution of the suite's table, with equal pads on all
// sides unless set apart.
func conv2D(n, c, h, w, m, kh, kw, stride, pad, dilation, group int) ConvParams {
	return ConvParams{N: n, C: c, H: h, W: w, M: m, KH: kh, KW: kw, StrideH: stride, StrideW: stride,
		PadTop: pad, PadLeft: pad, PadBottom: pad, PadRight: pad, DilationH: dilation, DilationW: dilation, Group: group}
}

// convSuiteShapes is the table of edge shapes every algorithm runs on at
// every CPU level; short trims the batches around the chunk boundaries
// to one on each side of the AVX2 kernel's 16.
func convSuiteShapes(short bool) []ConvParams {
	shapes := []ConvParams{
		conv2D(2, 3, 5, 5, 4, 1, 1, 1, 0, 1, 1),      // 1x1: im2col is the input
		conv2D(1, 4, 6, 7, 3, 1, 1, 2, 1, 1, 1),      // 1x1 strided and padded
		conv2D(2, 1, 7, 6, 3, 3, 3, 1, 1, 1, 1),      // one input channel
		conv2D(2, 3, 6, 5, 1, 3, 3, 1, 1, 1, 1),      // one output channel
		conv2D(3, 2, 3, 4, 2, 5, 4, 1, 1, 1, 1),      // one output position (padded input 5x6: 1x3)
		conv2D(1, 2, 3, 3, 3, 3, 3, 1, 0, 1, 1),      // one output position in all
		conv2D(2, 4, 9, 8, 6, 3, 3, 1, 1, 1, 2),      // groups
		conv2D(2, 3, 7, 7, 3, 3, 3, 1, 1, 1, 3),      // depthwise
		conv2D(2, 4, 9, 11, 8, 3, 3, 2, 1, 1, 4),     // depthwise, two outputs per channel, strided
		conv2D(1, 5, 12, 10, 5, 5, 5, 1, 2, 2, 5),    // depthwise 5x5, dilated
		conv2D(2, 8, 7, 7, 8, 3, 3, 1, 1, 1, 2),      // four channels per group
		conv2D(2, 2, 11, 10, 3, 3, 3, 1, 2, 2, 1),    // dilation
		conv2D(1, 2, 13, 9, 4, 2, 3, 1, 3, 3, 1),     // dilation 3
		conv2D(2, 1, 4, 4, 2, 2, 2, 1, 3, 1, 1),      // padding larger than the kernel
		conv2D(1, 3, 5, 5, 5, 3, 3, 1, 4, 1, 1),      // padding larger than the kernel, 3x3
		conv2D(2, 5, 11, 13, 7, 3, 3, 1, 1, 1, 1),    // prime sizes, 3x3
		conv2D(2, 3, 13, 11, 7, 5, 5, 1, 2, 1, 1),    // prime sizes, 5x5
		conv2D(3, 4, 8, 9, 4, 5, 5, 1, 1, 1, 2),      // 5x5 with groups, padded less than the adjoint's
		conv2D(1, 2, 5, 5, 1, 5, 5, 1, 2, 1, 1),      // 5x5, one output channel
		conv2D(1, 3, 9, 9, 5, 3, 3, 1, 0, 1, 1),      // no padding: the adjoint computes more outputs
		conv2D(2, 3, 9, 9, 5, 3, 3, 2, 1, 1, 1),      // strided
		conv2D(2, 3, 27, 27, 7, 11, 11, 4, 0, 1, 1),  // AlexNet's conv1 in small
		conv2D(2, 4, 15, 15, 6, 3, 3, 2, 1, 2, 2),    // strided, dilated, grouped
		conv2D(2, 2, 1, 17, 3, 1, 4, 1, 0, 1, 1),     // 1-D
		conv2D(2, 5, 9, 7, 7, 1, 1, 1, 0, 1, 1),      // 1x1, odd channel counts
		conv2D(2, 5, 9, 7, 6, 1, 1, 2, 0, 1, 1),      // 1x1 strided: the columns gathered
		conv2D(1, 3, 13, 23, 70, 1, 1, 3, 0, 1, 1),   // 1x1, stride 3, blocks of rows
		conv2D(2, 8, 9, 9, 12, 1, 1, 1, 0, 1, 2),     // 1x1 grouped
		conv2D(1, 4, 40, 41, 10, 1, 1, 1, 0, 1, 1),   // 1x1, blocks of columns, the last past the input's end
		conv2D(1, 20, 7, 7, 100, 1, 1, 1, 0, 1, 1),   // 1x1, one block of columns, blocks of rows
		conv2D(2, 300, 5, 7, 20, 1, 1, 1, 0, 1, 1),   // 1x1, deeper than the GEMM's k blocks
		conv2D(2, 6, 5, 13, 9, 1, 1, 1, 0, 1, 1),     // 1x1, one column past whole panels of 4, 16 or 32
		conv2D(1, 6, 10, 26, 50, 1, 1, 2, 0, 1, 1),   // the same strided, packed
		conv2D(2, 6, 16, 16, 72, 1, 1, 1, 0, 1, 1),   // 1x1, packed, the wide kernel's panels (AVX-512's 12x32)
		conv2D(1, 4, 11, 11, 8, 5, 5, 2, 2, 1, 4),    // depthwise 5x5, two outputs per channel, strided
		conv2D(2, 11, 9, 8, 11, 3, 3, 2, 1, 1, 11),   // depthwise, a whole block of lanes and a part, strided
		conv2D(1, 16, 10, 10, 16, 5, 5, 1, 2, 1, 16), // depthwise 5x5, two blocks of lanes, rows not whole vectors
		conv2D(1, 9, 40, 30, 9, 3, 3, 1, 1, 1, 9),    // depthwise in bands of output rows
		conv2D(1, 9, 90, 24, 9, 3, 3, 2, 1, 1, 9),    // the same strided, rows whole vectors
		conv2D(1, 10, 75, 37, 10, 3, 3, 2, 1, 1, 10), // depthwise strided in bands, odd rows not whole vectors
		conv2D(2, 17, 13, 11, 17, 3, 3, 2, 1, 1, 17), // depthwise, prime sizes, strided: two blocks of lanes and a channel
		conv2D(1, 8, 7, 7, 8, 5, 5, 2, 2, 1, 8),      // depthwise 5x5 strided on odd planes (MobileNet V3's 14x14 -> 7x7 in small)
		conv2D(2, 12, 9, 16, 12, 3, 3, 1, 1, 1, 12),  // depthwise, rows of whole blocks of lanes' positions: the row loops, a block and a part
		conv2D(1, 8, 6, 8, 8, 5, 5, 1, 2, 1, 8),      // the same 5x5
		conv2D(2, 3, 1, 1, 3, 3, 3, 1, 1, 1, 3),      // depthwise on 1x1 planes
		conv2D(1, 10, 2, 3, 10, 3, 3, 1, 4, 1, 10),   // depthwise, padding larger than the kernel
		conv2D(2, 8, 1, 19, 8, 1, 3, 1, 1, 1, 8),     // depthwise 1x3 on rows of one
		conv2D(2, 3, 6, 150, 3, 3, 3, 1, 1, 1, 3),    // depthwise on rows wider than the rows' blocks of 64 positions
		conv2D(1, 3, 7, 141, 3, 3, 3, 2, 1, 1, 3),    // the same strided, odd
		conv2D(1, 2, 9, 133, 2, 5, 5, 2, 2, 1, 2),    // the same 5x5
		conv2D(1, 4, 12, 121, 4, 3, 3, 2, 2, 1, 4),   // the same padded past the kernel's half: pairs of kernel columns from odd columns
		conv2D(1, 3, 7, 7, 70, 3, 3, 2, 1, 1, 1),     // strided, one chunk of rows: the channels split
		conv2D(1, 3, 7, 7, 70, 3, 3, 1, 1, 1, 1),     // the same unstrided: the window read as A by default
		conv2D(2, 16, 13, 13, 24, 3, 3, 1, 1, 1, 1),  // a fire module's expand 3x3 in small: the same
		// channel blocks: networks' first layers in small, and their edges
		conv2D(1, 3, 23, 121, 20, 3, 3, 2, 1, 1, 1), // a stem, 3x3 s2: two whole blocks of channels and a half, rows of 61
		conv2D(2, 3, 17, 19, 16, 7, 7, 2, 3, 1, 1),  // a stem, 7x7 s2 pad 3, odd sizes
		conv2D(1, 1, 9, 37, 9, 3, 3, 2, 0, 1, 1),    // one input channel, unpadded, one channel past a block
		conv2D(1, 6, 11, 13, 24, 3, 3, 2, 1, 1, 2),  // three input channels per group, 12 outputs per group
		conv2D(2, 4, 8, 7, 32, 3, 3, 1, 1, 1, 1),    // four input channels, stride 1
		conv2D(1, 3, 5, 6, 8, 2, 2, 2, 4, 1, 1),     // padding larger than the kernel, rows of padding only
		conv2D(2, 3, 7, 7, 10, 7, 7, 2, 0, 1, 1),    // one output position
		conv2D(1, 2, 40, 10, 12, 3, 3, 1, 1, 1, 1),  // bands of output rows
		conv2D(2, 16, 45, 47, 20, 1, 1, 1, 0, 1, 1), // 1x1 read in place: bands of positions, the last shorter, a part block of channels
		conv2D(2, 12, 33, 33, 16, 1, 1, 1, 0, 1, 2), // the same grouped, two bands per image and group
		// 1x1 with many input channels on small planes: the strided
		// window by default where it gathers 32-wide tiles
		conv2D(2, 232, 7, 7, 40, 1, 1, 1, 0, 1, 1),   // MobileNet's projections in small
		conv2D(1, 480, 5, 6, 70, 1, 1, 1, 0, 1, 2),   // the same grouped, part panels of output channels
		conv2D(1, 300, 14, 14, 33, 1, 1, 1, 0, 1, 1), // the largest plane it takes
		// one output position per image, the kernel the whole input:
		// matrix-vector products
		conv2D(1, 40, 1, 1, 70, 1, 1, 1, 0, 1, 1), // squeeze and excitation: 1x1 on pooled features, a part panel
		conv2D(3, 70, 1, 1, 40, 1, 1, 2, 0, 1, 1), // its second product, an odd batch, strided
		conv2D(2, 5, 3, 4, 64, 3, 4, 1, 0, 1, 1),  // a 3x4 kernel on 3x4 planes, whole panels
		conv2D(2, 3, 1, 9, 33, 1, 9, 1, 0, 1, 1),  // 1-D, one column past a panel
		conv2D(17, 6, 2, 2, 35, 2, 2, 1, 0, 1, 1), // more images than the products' pairs of rows
		conv2D(1, 3, 13, 50, 8, 5, 3, 3, 2, 2, 1), // stride 3, dilated
		{N: 2, C: 4, H: 9, W: 8, M: 6, KH: 3, KW: 2, StrideH: 2, StrideW: 3, PadTop: 2, PadLeft: 0, PadBottom: 1,
			PadRight: 3, DilationH: 2, DilationW: 3, Group: 2}, // everything uneven
		{N: 3, C: 2, H: 19, W: 19, M: 4, KH: 6, KW: 6, StrideH: 3, StrideW: 2, PadTop: 2, PadLeft: 3, PadBottom: 0,
			PadRight: 2, DilationH: 1, DilationW: 1, Group: 1}, // uneven strides and pads
		// issue 16: the last chunk of images needs more columns than a
		// full one (its rows do not fill whole panels)
		{N: 50, C: 2, H: 3, W: 149, M: 2, KH: 5, KW: 4, StrideH: 1, StrideW: 1, PadTop: 2, PadLeft: 0, PadBottom: 1,
			PadRight: 206, DilationH: 1, DilationW: 57, Group: 1},
		{N: 94, C: 2, H: 1, W: 4, M: 2, KH: 1, KW: 11, StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 53, PadBottom: 1,
			PadRight: 19, DilationH: 1, DilationW: 1, Group: 1},
	}
	batches := []int{15, 17}
	if !short {
		batches = []int{15, 16, 17, 31, 32, 33, 49, 50, 51}
		for _, n := range []int{49, 51} {
			p := shapes[len(shapes)-2]
			p.N = n
			shapes = append(shapes, p)
		}
	}
	for _, n := range batches {
		shapes = append(shapes, conv2D(n, 2, 5, 6, 3, 3, 3, 1, 1, 1, 1))
	}
	return shapes
}

// convSuiteCase holds the data of one shape and its references, computed
// once for every algorithm and level.
type convSuiteCase struct {
	p                  ConvParams
	x, w, b, dy        []float32
	dx0, dw0           []float32 // what the gradients hold before: backward accumulates
	y, dx, dw          []float64 // the references
	yMag, dxMag, dwMag []float64 // the sums of the magnitudes of their terms
}

func newConvSuiteCase(p ConvParams, seed uint64) *convSuiteCase {
	rng := newRNG(seed)
	c := &convSuiteCase{p: p}
	var y []float32
	c.x, c.w, c.b, y = convBuffers(rng, p)
	c.dy = uniform(rng, len(y), -1, 1)
	c.dx0, c.dw0 = uniform(rng, len(c.x), -1, 1), uniform(rng, len(c.w), -1, 1)
	nd := ndFromConv2D(p)[0]
	c.y, c.yMag = convNDRef(nd, c.x, c.w, c.b), convNDRef(nd, absolute(c.x), absolute(c.w), absolute(c.b))
	c.dx, c.dw = convBackwardRef(p, c.x, c.w, c.dy)
	c.dxMag, c.dwMag = convBackwardRef(p, absolute(c.x), absolute(c.w), absolute(c.dy))
	for i, v := range c.dx0 {
		c.dx[i] += float64(v)
		c.dxMag[i] += math.Abs(float64(v))
	}
	for i, v := range c.dw0 {
		c.dw[i] += float64(v)
		c.dwMag[i] += math.Abs(float64(v))
	}
	return c
}

// run computes pass with p (whose algorithm is set) and checks it
// against the reference.
func (c *convSuiteCase) run(t *testing.T, p ConvParams, pass convPass) {
	t.Helper()
	what := fmt.Sprintf("%s %s %s", convName(p), p.algorithm, pass)
	ulps := convUlps(&p, pass)
	switch pass {
	case convForwardPass:
		y := make([]float32, len(c.y))
		ConvForward(&p, c.x, c.w, c.b, y)
		checkMagnitudes(t, what, y, c.y, c.yMag, ulps)
		// With the fused ReLU: max(0, ·) of the same reference.
		p.Act = Relu
		ConvForward(&p, c.x, c.w, c.b, y)
		relu := make([]float64, len(c.y))
		for i, v := range c.y {
			relu[i] = max(v, 0)
		}
		checkMagnitudes(t, what+" relu", y, relu, c.yMag, ulps)
		// Every other activation: bitwise the plain convolution's
		// output (checked above) with the activation applied after.
		p.Act = Activation{}
		plain := make([]float32, len(c.y))
		ConvForward(&p, c.x, c.w, c.b, plain)
		checkFusedActivations(t, what, plain, func(act Activation, y []float32) {
			p.Act = act
			ConvForward(&p, c.x, c.w, c.b, y)
		})
		// With a residual added before the activation (Relu among
		// them): bitwise the plain output plus the residual, then the
		// activation.
		r := uniform(newRNG(uint64(len(plain))), len(plain), -1, 1)
		withR := make([]float32, len(plain))
		for i := range plain {
			withR[i] = plain[i] + r[i]
		}
		checkFusedActivations(t, what+" residual", withR, func(act Activation, y []float32) {
			p.Act = act
			ConvResidualForward(&p, c.x, c.w, c.b, r, y)
		})
		// Written with the images apart (a channel concatenation's
		// piece in place): bitwise the dense output, image by image,
		// and nothing between the images touched.
		p.Act = Relu
		dense := make([]float32, len(plain))
		ConvResidualForward(&p, c.x, c.w, c.b, r, dense)
		checkImagesApart(t, what+" relu residual", dense, p.N, func(y []float32, stride int) {
			PlanConvForward(&p).ForwardImages(c.x, c.w, c.b, r, y, stride)
		})
		p.Act = Activation{}
		checkImagesApart(t, what, plain, p.N, func(y []float32, stride int) {
			PlanConvForward(&p).ForwardImages(c.x, c.w, c.b, nil, y, stride)
		})
		// Read with the input's images apart (a channel
		// concatenation's part read in place), plain and through a
		// normalization's map: bitwise the dense input's outputs.
		checkInputApart(t, what, plain, c.x, p.N, func(x []float32, stride int, y []float32) {
			PlanConvForward(&p).ForwardApart(x, stride, c.w, c.b, nil, y, 0, nil)
		})
		rng := newRNG(uint64(p.C))
		in := InputAffine{Scale: uniform(rng, p.C, 0.5, 1.5), Shift: uniform(rng, p.C, -1, 1), Relu: true}
		mapped := make([]float32, len(plain))
		PlanConvForwardAffine(&p).ForwardAffine(c.x, c.w, c.b, nil, mapped, in)
		checkInputApart(t, what+" mapped", mapped, c.x, p.N, func(x []float32, stride int, y []float32) {
			PlanConvForwardAffine(&p).ForwardApart(x, stride, c.w, c.b, nil, y, 0, &in)
		})
	case convFilterPass:
		dw := append([]float32(nil), c.dw0...)
		ConvBackward(&p, c.x, c.w, nil, c.dy, nil, dw, nil)
		checkMagnitudes(t, what, dw, c.dw, c.dwMag, ulps)
	case convDataPass:
		dx := append([]float32(nil), c.dx0...)
		ConvBackward(&p, c.x, c.w, nil, c.dy, dx, nil, nil)
		checkMagnitudes(t, what, dx, c.dx, c.dxMag, ulps)
	}
}

// checkInputApart checks that forward, given the n images of x a few
// elements more than their length apart (NaN between them), computes
// bitwise want, what it computes from x itself.
func checkInputApart(t *testing.T, what string, want, x []float32, n int, forward func(x []float32, stride int, y []float32)) {
	t.Helper()
	image := len(x) / n
	for _, gap := range []int{1, 37} {
		stride := image + gap
		apart := make([]float32, (n-1)*stride+image)
		for i := range apart {
			apart[i] = float32(math.NaN())
		}
		for img := range n {
			copy(apart[img*stride:], x[img*image:(img+1)*image])
		}
		y := make([]float32, len(want))
		forward(apart, stride, y)
		for i, v := range y {
			if math.Float32bits(v) != math.Float32bits(want[i]) {
				t.Fatalf("%s, input images %d apart: y[%d] = %v, want %v (from the dense input)", what, stride, i, v, want[i])
			}
		}
	}
}

// checkImagesApart checks that forward, given a buffer whose images
// (n of them, dense's images) lie apart, a few elements more than
// their length from one start to the next, writes each image bitwise
// as dense holds it, and leaves the elements between them alone.
func checkImagesApart(t *testing.T, what string, dense []float32, n int, forward func(y []float32, stride int)) {
	t.Helper()
	image := len(dense) / n
	for _, gap := range []int{1, 37} {
		stride := image + gap
		y := make([]float32, (n-1)*stride+image+gap)
		for i := range y {
			y[i] = float32(math.NaN())
		}
		forward(y, stride)
		for i, v := range y {
			img, at := i/stride, i%stride
			switch {
			case img < n && at < image:
				if want := dense[img*image+at]; math.Float32bits(v) != math.Float32bits(want) {
					t.Errorf("%s, images %d apart: image %d element %d = %v, the dense output's is %v", what, stride, img, at, v, want)
					return
				}
			case !math.IsNaN(float64(v)):
				t.Errorf("%s, images %d apart: element %d between the images written (%v)", what, stride, i, v)
				return
			}
		}
	}
}

// checkMagnitudes checks got against want element by element, allowing
// ulps roundoffs of mag, the sum of the magnitudes of the terms.
func checkMagnitudes(t *testing.T, what string, got []float32, want, mag []float64, ulps float64) {
	t.Helper()
	for i, w := range want {
		if err := math.Abs(float64(got[i]) - w); !(err <= ulps*0x1p-24*mag[i]) {
			t.Errorf("%s: element %d of %d = %.7g, want %.7g (error %.3g, sum of magnitudes %.3g)",
				what, i, len(want), got[i], w, err, mag[i])
			return
		}
	}
}

// TestConvAlgorithms is the shared suite of the convolution algorithms:
// every algorithm, forced, at every CPU level the machine has, computes
// the forward pass (with bias, without and with the fused ReLU), dW and
// dX of every shape of convSuiteShapes that it
// can, against the direct loops in float64, with the GEMM of that level
// and with linalg.Naive (which implements none of linalg's optional
// interfaces, so that the window algorithms must decline). The pairs an
// algorithm cannot compute are counted and logged with the reason; each
// algorithm must compute each of its passes on some shape.
func TestConvAlgorithms(t *testing.T) {
	type key struct {
		level simd.Level
		gemm  string
		alg   convAlgorithm
		pass  convPass
	}
	ran, skipped := map[key]int{}, map[key]map[string]int{}
	for i, p := range convSuiteShapes(testing.Short()) {
		if err := p.Validate(); err != nil {
			t.Fatalf("%s: %v", convName(p), err)
		}
		c := newConvSuiteCase(p, uint64(100+i))
		t.Run(convName(p), func(t *testing.T) {
			leveltest.Run(t, func(t *testing.T) {
				for _, gemm := range []linalg.Gemm{nil, linalg.Naive{}} {
					prev := linalg.Use(gemm)
					gemmName := "fast"
					if gemm != nil {
						gemmName = "naive"
					}
					for alg := convAuto + 1; alg < numConvAlgorithms; alg++ {
						q := p
						q.algorithm = alg
						for pass := range numConvPasses {
							k := key{simd.Current(), gemmName, alg, pass}
							if _, err := q.convPlanFor(pass); err != nil {
								if skipped[k] == nil {
									skipped[k] = map[string]int{}
								}
								reason := err.Error()
								reason = reason[strings.Index(reason, ": ")+2:]
								skipped[k][reason]++
								continue
							}
							ran[k]++
							c.run(t, q, pass)
						}
					}
					// The automatic choice too, whatever it is.
					for pass := range numConvPasses {
						c.run(t, p, pass)
					}
					linalg.Use(prev)
				}
			})
		})
	}
	for _, level := range simd.Levels() {
		for alg := convAuto + 1; alg < numConvAlgorithms; alg++ {
			for pass := range numConvPasses {
				for _, gemm := range []string{"fast", "naive"} {
					k := key{level, gemm, alg, pass}
					var reasons []string
					for r, n := range skipped[k] {
						reasons = append(reasons, fmt.Sprintf("%d: %s", n, r))
					}
					slices.Sort(reasons)
					t.Logf("%s %s GEMM %s %s: %d computed, skipped %v", level, gemm, alg, pass, ran[k], reasons)
					mustRun := gemm == "fast" || alg == convIm2col || alg.winograd() != nil
					if ran[k] == 0 && mustRun && !(alg == convStridedWindow && pass == convDataPass) && !(alg == convLanes && pass == convFilterPass) &&
						!(alg == convChannelBlocks && pass == convFilterPass) && !(alg == convWinograd4x3 && pass == convFilterPass) &&
						!(alg == convMatVec && pass != convForwardPass) && !(alg == convRows && pass != convForwardPass) {
						t.Errorf("%s with the %s GEMM at level %s computed %s on no shape", alg, gemm, level, pass)
					}
				}
			}
		}
	}
}
