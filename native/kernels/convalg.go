package kernels

// The convolution algorithms, and the one rule that picks among them.
//
// Each pass of a convolution (forward, the weights' gradient dW, the
// input's gradient dX) can be computed several ways; convPreference
// lists them in the order they are tried, and convPlanFor takes the
// first that can compute the convolution with the current GEMM and pays
// at its shape. An algorithm's conditions come in two kinds: what it
// needs to be correct (cannot, a reason), and what makes it fast (pays,
// a cost model). Tests force an algorithm through ConvParams.algorithm,
// which skips the cost model: every algorithm then runs on every shape
// it can compute, not just those it is chosen for.

import (
	"fmt"

	"github.com/onnxkit/onnxkit/native/linalg"
)

// convAlgorithm names a way of computing the passes of a convolution.
type convAlgorithm int

// The convolution algorithms.
const (
	// convAuto picks by convPreference and the cost model.
	convAuto convAlgorithm = iota
	// convRows sums the taps of depthwise convolutions row by row,
	// reading the input planes where they lie (convrows.go); forward
	// only.
	convRows
	// convLanes sums the taps of depthwise convolutions with the
	// channels side by side in the lanes of vectors (convlanes.go);
	// dX is that of the adjoint convolution.
	convLanes
	// convChannelBlocks sums the taps of convolutions with few input
	// channels per group (a network's first layer), and of 1x1
	// convolutions with few input or output channels read in place,
	// into blocks of output channels kept in registers
	// (convchannels.go); dX is that of the adjoint convolution.
	convChannelBlocks
	// convDirect sums the taps of each output plane over shifted views
	// of the padded input (convdirect.go), for depthwise convolutions
	// and others with few channels per group; dX is that of the adjoint
	// convolution.
	convDirect
	// convPointwise multiplies the weights by the input of a 1x1
	// convolution read in place, block by block, finishing each block
	// in cache (convpointwise.go); strided ones gather the columns of a
	// block first. dX is that of the adjoint convolution.
	convPointwise
	// convWinograd3, convWinograd4x3 and convWinograd5 are Winograd's
	// F(2x2, 3x3), F(4x4, 3x3) and F(2x2, 5x5) (convwinograd.go); dX is
	// that of the adjoint convolution, dW by F(3x3, 2x2) and F(5x5, 2x2)
	// (none for F(4x4, 3x3)).
	convWinograd3
	convWinograd4x3
	convWinograd5
	// convStridedWindow reads the input through a window as A, one row
	// per output position (convgather.go); forward and dW.
	convStridedWindow
	// convSlidingWindow reads the input through a window as B, with
	// unit strides (convslide.go); dX is that of the adjoint
	// convolution.
	convSlidingWindow
	// convMatVec multiplies the weights by each image as a vector, for
	// convolutions with one output position per image whose kernel is
	// the whole unpadded input (convmatvec.go); forward only.
	convMatVec
	// convIm2col builds im2col matrices (packed in the GEMM's panels
	// when it is a linalg.PackedGemm) and multiplies; dX is a GEMM and
	// col2im. It computes every convolution.
	convIm2col
	numConvAlgorithms
)

var convAlgorithmNames = [numConvAlgorithms]string{
	convAuto: "auto", convRows: "rows", convLanes: "lanes", convChannelBlocks: "channel-blocks", convDirect: "direct", convPointwise: "pointwise", convWinograd3: "winograd-f2x3", convWinograd4x3: "winograd-f4x3", convWinograd5: "winograd-f2x5",
	convStridedWindow: "strided-window", convSlidingWindow: "sliding-window", convMatVec: "matvec", convIm2col: "im2col",
}

func (a convAlgorithm) String() string { return convAlgorithmNames[a] }

// winograd returns the transforms of a Winograd algorithm, nil for the
// others.
func (a convAlgorithm) winograd() *winogradTransforms {
	switch a {
	case convWinograd3:
		return &winograd3
	case convWinograd4x3:
		return &winograd4x3
	case convWinograd5:
		return &winograd5
	}
	return nil
}

// convPass is one of the three computations of a convolution.
type convPass int

// The passes.
const (
	convForwardPass convPass = iota // y from x and w
	convFilterPass                  // dW from x and dy
	convDataPass                    // dX from w and dy
	numConvPasses
)

func (p convPass) String() string { return [...]string{"forward", "dW", "dX"}[p] }

// convPreference lists, per pass, the algorithms convAuto tries, in
// order. Sums of taps come first, by rows then lanes for depthwise
// convolutions (rows only on wide planes, see depthwiseRows), then
// direct: they pay only for grouped convolutions with few
// channels per group, where every GEMM path multiplies matrices of a
// few rows. The forward pass takes the strided window where Winograd
// does not pay, whatever the strides (see gathering for its
// measurements against the sliding window); dW takes the sliding window
// first, which with unit strides reads the input as the GEMM's wide
// side, and dX the sliding window of its adjoint convolution.
//
// F(4x4, 3x3) comes before F(2x2, 3x3) in the forward pass only: its dX
// through the adjoint is computed and tested when forced, but was not
// measured against F(2x2, 3x3)'s, which the trainer's 3x3 layers take.
//
// Matrix-vector products come first in the forward pass: where they
// can compute a convolution (one output position per image, the kernel
// the whole input), every other path multiplies by the same weights with
// tiles of which one column per image is used.
//
// Pointwise products come right after direct sums, in every pass: they
// pay for 1x1 kernels without padding on large enough planes
// (pointwiseWindow); strided 1x1 kernels go to the strided window
// where its gathered tiles are 32 columns wide, to im2col where the
// pointwise products do not pay otherwise (see try).
var convPreference = [numConvPasses][]convAlgorithm{
	convForwardPass: {convMatVec, convRows, convLanes, convChannelBlocks, convDirect, convPointwise, convWinograd4x3, convWinograd3, convWinograd5, convStridedWindow, convIm2col},
	convFilterPass:  {convDirect, convPointwise, convWinograd3, convWinograd5, convSlidingWindow, convStridedWindow, convIm2col},
	convDataPass:    {convLanes, convChannelBlocks, convDirect, convPointwise, convWinograd3, convWinograd5, convSlidingWindow, convIm2col},
}

// convPlan is an algorithm chosen for one pass, with its layout.
type convPlan struct {
	alg    convAlgorithm
	wino   winogradPlan
	slide  slideGeometry
	gather gatherGeometry
	direct directGeometry
	point  pointwiseGeometry
	lanes  lanesGeometry
	rows   rowsGeometry
	blocks channelBlocksGeometry
	matvec matVecGeometry
	// adjoint is the convolution whose forward pass is dX, for a dX
	// pass by Winograd, the sliding window or direct sums (wino, slide
	// or direct are its).
	adjoint *ConvParams
}

// run computes y from x and w as a forward convolution by the plan's
// algorithm, storing through e, and reports whether it did: false for
// im2col, which its callers compute themselves. It serves the forward
// pass and dX, the forward pass of the adjoint convolution (x then dy,
// w the flipped kernel, y dx).
func (plan *convPlan) run(x, w, y []float32, e slideEpilogue) bool {
	switch plan.alg {
	case convWinograd3, convWinograd4x3, convWinograd5:
		plan.wino.run(x, w, y, e)
	case convStridedWindow:
		plan.gather.run(x, w, y, e)
	case convSlidingWindow:
		plan.slide.run(x, w, y, e)
	case convDirect:
		plan.direct.run(x, w, y, e)
	case convPointwise:
		plan.point.run(x, w, y, e)
	case convLanes:
		plan.lanes.run(x, w, y, e)
	case convRows:
		plan.rows.run(x, w, y, e)
	case convChannelBlocks:
		plan.blocks.run(x, w, y, e)
	case convMatVec:
		plan.matvec.run(x, w, y, e)
	default:
		return false
	}
	return true
}

// convPlanFor returns how to compute pass of p with the current GEMM:
// by p.algorithm when it is set, or an error saying why that algorithm
// cannot; otherwise by the first algorithm of convPreference that can
// and pays (im2col, last, always can).
func (p *ConvParams) convPlanFor(pass convPass) (convPlan, error) {
	gemm := linalg.Current()
	if p.algorithm != convAuto {
		plan, cannot, _ := p.try(p.algorithm, pass, gemm)
		if cannot != "" {
			return convPlan{}, fmt.Errorf("%s cannot compute %s of this convolution: %s", p.algorithm, pass, cannot)
		}
		return plan, nil
	}
	for _, alg := range convPreference[pass] {
		if plan, cannot, pays := p.try(alg, pass, gemm); cannot == "" && pays {
			return plan, nil
		}
	}
	panic("kernels: im2col declined a convolution")
}

// pointwiseGathers reports whether the forward pass of p, a 1x1
// convolution with unit strides and no padding, goes to the strided
// window rather than the pointwise products: on small planes with many
// input channels per group, where the GEMM gathers tiles 32 columns
// wide. (Channel blocks, tried first, keep the convolutions they take:
// on MobileNet V3's 240->40@14 they took 0.78 of the window's time.) The window's product is C^T, one row per
// output position: 6x32 tiles cover a 7x7 plane's 49 positions as 54
// rows and the output channels whole, where the products' 16-wide
// column panels leave the 49th position to a matrix-vector product; and
// the window multiplies the weights as B, packed in 32-wide panels, for
// every position at once. One thread, CPU time, weights prepared, 3-5
// interleaved rounds on a loaded machine (BenchmarkConvPointwise): at
// batch 1 the window took 0.80-0.91 of the products' time on 7x7 planes
// with 232 to 2048 input channels (MobileNet V3's 288->96 0.88 and
// 576->96 0.90, V2's 320->1280 0.91 and 960->160 0.84, ShuffleNet's
// 232->232 0.83 and 464->1024 0.89, DenseNet's 992->128 0.80,
// GoogLeNet's 832->384 0.86, ResNet-50's 2048->512 0.85 and 512->2048
// 0.88), and 0.80-0.97 on 14x14 ones (MobileNet V2's 384->64 0.80 and
// 576->96 0.80, where channel blocks decline; ResNet-50's
// 1024->256 0.86 and 256->1024 0.97); at batch 8 0.84-0.96 on 7x7
// planes (576->96, 960->160, 232->232, 320->1280) and 0.76-0.88 on 14x14
// (384->64, 576->96, 1024->256). With fewer input channels the gathering
// weighed more, when the window applied activations other than Relu a
// plane at a time: 1.0 at 160->960 (1.07 at batch 8), 1.12 at 96->576
// (1.19); on 28x28 planes (ResNet-50's 512->128) they tied.
// On 13x13 planes (SqueezeNet's 512->1000) they tied. Since the window
// applies them to whole planes at once, it takes 7x7 planes from 96
// channels on (see pointwiseGatherSmallMinChannels).
//
// With several workers, the window deals a small plane out in blocks of
// whole tiles of output channels (16 or 32 wide), which split 24
// channels 16 and 8 where the products split them evenly; so it takes only the
// convolutions whose split gives no worker much more than its share
// (gatherGeometry.evenShare): not measured on two threads, the machine
// being too loaded for its second core to be had.
func (p *ConvParams) pointwiseGathers(gemm linalg.Gemm) bool {
	oh, ow := p.OutSize()
	least := pointwiseGatherMinChannels
	if oh*ow <= pointwiseGatherSmallPositions {
		least = pointwiseGatherSmallMinChannels
	}
	if !p.pointwise() || p.C/p.Group < least || p.M/p.Group <= 1 ||
		oh*ow <= 1 || oh*ow > pointwiseGatherMaxPositions || gatherWidth(gemm) < 32 {
		return false
	}
	s, cannot, _ := p.gathering(gemm)
	return cannot == "" && s.evenShare(oh, ow)
}

const (
	// pointwiseGatherMinChannels is the fewest input channels per group
	// and pointwiseGatherMaxPositions the most output positions of a
	// plane for which pointwiseGathers sends a 1x1 convolution to the
	// strided window.
	pointwiseGatherMinChannels  = 224
	pointwiseGatherMaxPositions = 14 * 14
	// pointwiseGatherSmallMinChannels is the fewest input channels per
	// group for planes of at most pointwiseGatherSmallPositions: since
	// the transposed stores apply an activation to whole planes in one
	// pass, the window took 0.90 of the products' CPU time on
	// MobileNet V2's 160->960@7x7 with Clip at batch 1 on one thread,
	// 0.88 at batch 8, and 0.73 of their wall time on two threads
	// (medians of 5 interleaved rounds, load average 9-10). On V3's
	// 96->576@7x7 with HardSwish they tied alone (0.98 at batch 1,
	// 1.01 at batch 8), but in the model the window's nodes took
	// 0.82-0.90 of the products' time on one thread and 0.90-0.94 on
	// two (per-node medians of 200-300 runs, 3 alternations, load
	// average 11-12), where the products' matrix-vector column (the
	// 49th) and bias pass run first on weights and outputs not in
	// cache.
	pointwiseGatherSmallMinChannels = 96
	pointwiseGatherSmallPositions   = 8 * 8
)

// channelBlocksMaxTaps is the most taps per output (input channels of a
// group times kernel positions) for which channel blocks pay where the
// strided window gathers tiles 32 columns wide. One thread, CPU time,
// weights prepared, two rounds on a loaded machine
// (BenchmarkConvAlgorithms): on AlexNet's 3x11x11 stem (363 taps) the
// window took 0.61-0.70 of channel blocks' time at batch 1 and 0.87-0.89
// at batch 8; on ResNet's 3x7x7 stem (147 taps) channel blocks took 0.9
// of the window's, on MobileNets' 3x3x3 stems (27) 0.5-1.0.
const channelBlocksMaxTaps = 256

// gatherWidth returns the columns of the tiles gemm computes from an A
// read through a window (linalg.Blocked.GatherWidth), 0 for a GEMM that
// does not say.
func gatherWidth(gemm linalg.Gemm) int {
	if b, ok := gemm.(linalg.Blocked); ok {
		return b.GatherWidth()
	}
	return 0
}

// mustPlan is convPlanFor for the kernels: a forced algorithm that
// cannot compute the pass is a test's error.
func (p *ConvParams) mustPlan(pass convPass) convPlan {
	plan, err := p.convPlanFor(pass)
	if err != nil {
		panic("kernels: Conv: " + err.Error())
	}
	return plan
}

// try returns the plan of alg for pass with gemm, or why alg cannot
// compute it, and whether it pays.
func (p *ConvParams) try(alg convAlgorithm, pass convPass, gemm linalg.Gemm) (plan convPlan, cannot string, pays bool) {
	plan.alg = alg
	if alg == convIm2col {
		return plan, "", true
	}
	if pass == convDataPass {
		if alg == convMatVec {
			return plan, "no dX pass (im2col serves one output position)", false
		}
		if alg == convRows {
			return plan, "no dX pass (the lanes serve depthwise convolutions)", false
		}
		if alg == convStridedWindow {
			return plan, "no dX pass (im2col's col2im serves strided convolutions)", false
		}
		q, cannot, small := p.adjoint()
		if cannot != "" {
			return plan, "no adjoint convolution: " + cannot, false
		}
		plan.adjoint = &q
		// A Winograd adjoint pays even when it computes more outputs
		// than p has (see adjoint); a window only when it does not.
		inner, cannot, pays := q.try(alg, convForwardPass, gemm)
		plan.wino, plan.slide, plan.direct, plan.point, plan.lanes = inner.wino, inner.slide, inner.direct, inner.point, inner.lanes
		plan.blocks = inner.blocks
		if cannot != "" {
			return plan, "the adjoint convolution: " + cannot, false
		}
		pays = pays && !inner.wino.wide && !inner.blocks.large // measured on forward passes only
		return plan, "", pays && (small || alg.winograd() != nil)
	}
	switch alg {
	case convRows:
		if pass == convFilterPass {
			return plan, "no dW pass (direct sums serve depthwise convolutions)", false
		}
		plan.rows, cannot, pays = p.depthwiseRows()
	case convLanes:
		if pass == convFilterPass {
			return plan, "no dW pass (direct sums serve depthwise convolutions)", false
		}
		plan.lanes, cannot, pays = p.depthwiseLanes()
	case convChannelBlocks:
		if pass == convFilterPass {
			return plan, "no dW pass (im2col serves the first layers)", false
		}
		plan.blocks, cannot, pays = p.channelBlocks()
		if pass == convForwardPass && p.C/p.Group*p.KH*p.KW > channelBlocksMaxTaps && gatherWidth(gemm) >= 32 {
			// Many taps per output: the strided window's 32-wide
			// gathered tiles do better (AlexNet's 11x11 stem).
			pays = false
		}
	case convWinograd3, convWinograd4x3, convWinograd5:
		t := alg.winograd()
		if pass == convFilterPass && t.grad == nil {
			return plan, fmt.Sprintf("no dW pass (F(%dx%d, %dx%d) is not implemented)", t.r, t.r, t.m, t.m), false
		}
		plan.wino, cannot, pays = p.winograd(t, gemm)
		pays = pays && (pass == convForwardPass || !plan.wino.wide)
	case convStridedWindow:
		plan.gather, cannot, pays = p.gathering(gemm)
		pays = pays || pass == convForwardPass && p.pointwiseGathers(gemm)
		if pass == convForwardPass && p.KH == 1 && p.KW == 1 && gatherWidth(gemm) < 32 {
			// Strided 1x1 kernels: im2col, a strided copy, took 0.73-1.07
			// of the window's CPU time where the pointwise products do
			// not pay (ResNet's downsampling to 7x7 and 14x14, batch 1
			// and 8; BenchmarkConvPointwise), with 6x16 tiles of the
			// gathered A. With 6x32 ones (AVX-512) the window took 0.64-0.80
			// of im2col's at batch 1 and 0.66-0.89 at batch 8 (ResNet-18's
			// 1x1 64->128, 128->256 and 256->512 of stride 2, one thread,
			// CPU time, 3 interleaved rounds on a loaded machine;
			// BenchmarkConvAlgorithms), and 0.70-0.89 of the pointwise
			// products', which then leave them to it.
			pays = false
		}
		if pass == convFilterPass && p.StrideH == 1 && p.StrideW == 1 {
			// Measured against the sliding window on forward passes
			// only: dW with unit strides stays with im2col where the
			// sliding window does not pay.
			pays = false
		}
	case convSlidingWindow:
		plan.slide, cannot, pays = p.sliding(gemm)
	case convMatVec:
		if pass == convFilterPass {
			return plan, "no dW pass (im2col serves one output position)", false
		}
		plan.matvec, cannot, pays = p.matVec(gemm)
	case convPointwise:
		plan.point, cannot, pays = p.pointwiseWindow(gemm)
		if cannot == "" && pass == convFilterPass && plan.point.strided {
			cannot = "dW of a strided convolution"
		}
		if pass == convForwardPass && plan.point.strided && gatherWidth(gemm) >= 32 {
			// The strided window's 6x32 tiles took 0.70-0.89 of the
			// pointwise products' CPU time (see convStridedWindow).
			pays = false
		}
		if pass == convForwardPass && p.pointwiseGathers(gemm) {
			pays = false
		}
	case convDirect:
		plan.direct, cannot, pays = p.direct()
		if pass == convFilterPass {
			// dW's dot products run in Go: they pay where im2col
			// would copy every input channel KH*KW times for a GEMM
			// of one row.
			pays = pays && p.C == p.Group && p.M == p.Group
		}
	default:
		panic(fmt.Sprintf("kernels: unknown convolution algorithm %d", int(alg)))
	}
	return plan, cannot, pays
}
