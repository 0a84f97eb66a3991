package vec

// The piecewise activations over float32 slices: Relu, Clip, LeakyRelu,
// HardSigmoid, HardSwish, SiLU (x times Sigmoid) and ErfGelu. dst and src must
// have the same length and may be the same slice. On amd64 they run in
// AVX2 or AVX-512 assembly (internal/asmgen, emitActivations) that
// computes what the Go loops compute with the same roundings, so that
// every CPU level gives the same bits. A NaN stays a NaN.

// activationKernel names a function of this file for the assembly of
// activationFast.
type activationKernel int

const (
	kernelRelu activationKernel = iota
	kernelClip
	kernelLeakyRelu
	kernelHardSigmoid
	kernelHardSwish
	kernelSiLU
	kernelErfGelu
)

// Relu stores max(src[i], 0) in dst[i]; -0 becomes +0.
func Relu(dst, src []float32) {
	checkSameLen("Relu", dst, src)
	if activationFast(kernelRelu, dst, src, 0, 0) {
		return
	}
	for i, x := range src {
		dst[i] = max(x, 0)
	}
}

// Clip stores src[i] clamped to [lo, hi] in dst[i]: lo where src[i] <
// lo, hi where src[i] > hi, src[i] itself otherwise (a zero of either
// sign at a bound of zero is kept).
func Clip(dst, src []float32, lo, hi float32) {
	checkSameLen("Clip", dst, src)
	if activationFast(kernelClip, dst, src, lo, hi) {
		return
	}
	for i, x := range src {
		dst[i] = clip32(x, lo, hi)
	}
}

// clip32 is x clamped to [lo, hi], as Clip.
func clip32(x, lo, hi float32) float32 {
	if x < lo {
		x = lo
	}
	if x > hi {
		x = hi
	}
	return x
}

// LeakyRelu stores alpha*src[i] in dst[i] where src[i] < 0, src[i]
// itself elsewhere.
func LeakyRelu(dst, src []float32, alpha float32) {
	checkSameLen("LeakyRelu", dst, src)
	if activationFast(kernelLeakyRelu, dst, src, alpha, 0) {
		return
	}
	for i, x := range src {
		if x < 0 {
			x *= alpha
		}
		dst[i] = x
	}
}

// HardSigmoid stores max(0, min(1, alpha*src[i] + beta)) in dst[i], the
// product rounded before the sum.
func HardSigmoid(dst, src []float32, alpha, beta float32) {
	checkSameLen("HardSigmoid", dst, src)
	if activationFast(kernelHardSigmoid, dst, src, alpha, beta) {
		return
	}
	for i, x := range src {
		dst[i] = hardSigmoid32(x, alpha, beta)
	}
}

// hardSigmoid32 is max(0, min(1, alpha*x + beta)), as HardSigmoid.
func hardSigmoid32(x, alpha, beta float32) float32 {
	return clip32(float32(alpha*x)+beta, 0, 1) // the conversion rounds the product: no fused multiply-add
}

// HardSwish stores src[i] * HardSigmoid(src[i]) in dst[i], with ONNX's
// HardSwish parameters alpha 1/6 and beta 1/2 (HardSwishAlpha,
// HardSwishBeta).
func HardSwish(dst, src []float32) {
	checkSameLen("HardSwish", dst, src)
	if activationFast(kernelHardSwish, dst, src, HardSwishAlpha, HardSwishBeta) {
		return
	}
	for i, x := range src {
		dst[i] = x * hardSigmoid32(x, HardSwishAlpha, HardSwishBeta)
	}
}

// The HardSigmoid parameters of HardSwish.
const (
	HardSwishAlpha float32 = 1.0 / 6
	HardSwishBeta  float32 = 0.5
)

// SiLU stores src[i] * Sigmoid(src[i]) in dst[i], the sigmoid as
// Sigmoid computes it, then the product rounded: the bits of Sigmoid
// followed by a float32 multiplication.
func SiLU(dst, src []float32) {
	checkSameLen("SiLU", dst, src)
	if activationFast(kernelSiLU, dst, src, 0, 0) {
		return
	}
	for i, x := range src {
		dst[i] = x * sigmoid32(x)
	}
}

// ErfGelu stores ((src[i] * (erf(src[i] / div) + 1)) * scale) in dst[i],
// each operation rounded to float32 and erf as Erf computes it: Gelu as
// exporters spell it in elementwise nodes (div √2, scale 1/2), with the
// bits of those nodes.
func ErfGelu(dst, src []float32, div, scale float32) {
	checkSameLen("ErfGelu", dst, src)
	if activationFast(kernelErfGelu, dst, src, div, scale) {
		return
	}
	for i, x := range src {
		dst[i] = (x * (erf32(x/div) + 1)) * scale
	}
}
