package vec

//go:generate go run ./internal/runsgen -out runs_amd64.s -stubs runs_amd64.go -pkg vec

import (
	"fmt"

	"github.com/onnxkit/onnxkit/native/simd"
)

// ScaleAddRuns stores src[r*width+j]*a + b at dst[r*stride+j] for every
// run r < runs and j < width, as ScaleAdd computes it (the product
// rounded before the sum), or under relu max(v, 0) as ScaleAddRelu
// computes it (-0 becomes +0, a NaN stays): src, runs*width values in a
// row, dealt out in runs of width to places stride apart. A row of an
// input channel of a convolution, normalized (a batch normalization
// and its Relu) as it is dealt out to the column panels of a packed
// GEMM operand, is this with width the panel's width and stride its
// size.
func ScaleAddRuns(dst []float32, stride, width, runs int, src []float32, a, b float32, relu bool) {
	if runs < 0 || width < 0 || runs > 0 && (stride < width || len(src) < runs*width || len(dst) < (runs-1)*stride+width) {
		panic(fmt.Sprintf("vec: ScaleAddRuns of %d runs of %d values %d apart from %d into %d", runs, width, stride, len(src), len(dst)))
	}
	if runs == 0 || width == 0 {
		return
	}
	switch f := scaleAddRunsLoop(width, relu); {
	case f != nil:
		f(runs, width, &dst[0], stride, &src[0], a, b)
	case relu:
		for r := range runs {
			ScaleAddRelu(dst[r*stride:r*stride+width], src[r*width:], a, b)
		}
	default:
		for r := range runs {
			ScaleAdd(dst[r*stride:r*stride+width], src[r*width:], a, b)
		}
	}
}

// scaleAddRunsLoop returns the assembly loop of ScaleAddRuns for runs of
// width at the CPU level, or nil when there is none: width must be a
// multiple of the level's lanes.
func scaleAddRunsLoop(width int, relu bool) func(runs, width int, dst *float32, stride int, src *float32, a, b float32) {
	switch {
	case simd.Has(simd.AVX512) && width%16 == 0:
		if relu {
			return scaleAddReluRunsAVX512
		}
		return scaleAddRunsAVX512
	case hasAVX2() && width%8 == 0:
		if relu {
			return scaleAddReluRunsAVX2
		}
		return scaleAddRunsAVX2
	}
	return nil
}
