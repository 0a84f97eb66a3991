package kernels

// Dropout.
//
// Shapes: x, y, dy, dx, mask hold the same number of elements, in any layout.
//
// In training mode each element is kept with probability 1-Ratio and
// scaled by 1/(1-Ratio), so that the expectation is unchanged, and mask
// records which were kept (ONNX's optional mask output). In inference mode
// y = x and every mask entry is true.

import (
	"math/rand/v2"

	"github.com/onnxkit/onnxkit/native/parallel"
)

// DropoutParams holds Dropout's ratio and mode.
type DropoutParams struct {
	Ratio    float32 // ratio: probability of dropping an element, in [0, 1); ONNX default 0.5
	Training bool    // training_mode
}

// Validate reports a Ratio outside [0, 1) as a *ParamError.
func (p *DropoutParams) Validate() error {
	if !(p.Ratio >= 0 && p.Ratio < 1) {
		return paramErr("Dropout", "Ratio", "must lie in [0, 1), got %g", p.Ratio)
	}
	return nil
}

// scale returns the factor kept elements are multiplied by.
func (p *DropoutParams) scale() float32 {
	if !p.Training {
		return 1
	}
	return 1 / (1 - p.Ratio)
}

// DropoutForward sets y and mask. In training mode the mask is drawn from
// rng, one Float32 per element in order, so a given seed reproduces it
// whatever the thread count; rng is unused in inference mode and may be
// nil.
func DropoutForward(p *DropoutParams, rng *rand.Rand, x, y []float32, mask []bool) {
	need("Dropout", "y", y, len(x))
	need("Dropout", "mask", mask, len(x))
	if !p.Training || p.Ratio == 0 {
		copy(y, x)
		for i := range x {
			mask[i] = true
		}
		return
	}
	for i := range x {
		mask[i] = rng.Float32() >= p.Ratio
	}
	s := p.scale()
	elementwise(len(x), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if mask[i] {
				y[i] = x[i] * s
			} else {
				y[i] = 0
			}
		}
	})
}

// DropoutBackward accumulates dx += dy * mask / (1-Ratio) in training mode
// and dx += dy in inference mode.
func DropoutBackward(p *DropoutParams, mask []bool, dy, dx []float32) {
	need("Dropout", "mask", mask, len(dy))
	need("Dropout", "dx", dx, len(dy))
	s := p.scale()
	parallel.For(len(dy), grainElems(), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if mask[i] {
				dx[i] += dy[i] * s
			}
		}
	})
}
