package vec

import (
	"math"

	"github.com/onnxkit/onnxkit/native/vec/internal/coeffs"
)

// Exp, Sigmoid, Tanh and Erf compute their functions over float32 slices in
// float32 arithmetic, to within a few units in the last place of the
// correctly rounded result (TestTranscendentals bounds them against
// float64), instead of widening each element to float64 for package
// math. They are the activations of recurrent cells and of the Sigmoid,
// Tanh and SiLU operators. dst and src must have the same length and may
// be the same slice. On amd64 they run in AVX2 or AVX-512 assembly
// (written by internal/asmgen from the same constants, package
// internal/coeffs), which may round differently from the Go loops by
// its fused multiply-adds but keeps the same bound.

// exp32 is e^x in float32: the reduction e^x = 2^n e^r with r = x - n
// ln 2 in [-ln2/2, ln2/2], ln 2 split in two so that n Ln2Hi is exact,
// and the minimax polynomial of e^r on that interval (S. L. Moshier's
// Cephes expf).
func exp32(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > coeffs.ExpMax:
		return float32(math.Inf(1))
	case x < coeffs.ExpMin:
		return 0
	}
	n := float32(math.Floor(float64(x*coeffs.Log2E + 0.5)))
	r := x - n*coeffs.Ln2Hi - n*coeffs.Ln2Lo
	p := ((((coeffs.ExpPoly0*r+coeffs.ExpPoly1)*r+coeffs.ExpPoly2)*r+coeffs.ExpPoly3)*r+coeffs.ExpPoly4)*r + coeffs.ExpPoly5
	e := p*r*r + r + 1
	// 2^n for n from -150 (subnormal results) to 128 as two factors,
	// each a normal float32.
	k := int32(n)
	switch {
	case k < -126:
		e *= math.Float32frombits(uint32(k+126+127) << 23)
		k = -126
	case k > 127:
		e *= 2
		k--
	}
	return e * math.Float32frombits(uint32(k+127)<<23)
}

// tanh32 is tanh x in float32: the odd minimax polynomial of tanh on
// |x| < 0.625 (Cephes tanhf), where 1 - 2/(e^2x + 1) would lose the
// relative precision of small results.
func tanh32(x float32) float32 {
	a := x
	if a < 0 {
		a = -a
	}
	if a < coeffs.TanhSmall {
		z := x * x
		return ((((coeffs.TanhPoly0*z+coeffs.TanhPoly1)*z+coeffs.TanhPoly2)*z+coeffs.TanhPoly3)*z+coeffs.TanhPoly4)*z*x + x
	}
	if a > 10 { // tanh rounds to ±1 in float32 from about 9.01
		return float32(math.Copysign(1, float64(x)))
	}
	t := 1 - 2/(exp32(2*a)+1)
	if x < 0 {
		return -t
	}
	return t
}

// sigmoid32 is 1/(1 + e^-x) in float32, as e^x/(1 + e^x) for negative x
// so that results down to the subnormals keep their precision.
func sigmoid32(x float32) float32 {
	if x < 0 {
		e := exp32(x)
		return e / (1 + e)
	}
	return 1 / (1 + exp32(-x))
}

// Exp stores e^src[i] in dst[i].
func Exp(dst, src []float32) {
	checkSameLen("Exp", dst, src)
	if transcendentalFast(transExp, dst, src) {
		return
	}
	for i, x := range src {
		dst[i] = exp32(x)
	}
}

// Sigmoid stores the logistic function of src[i], 1/(1 + e^-src[i]), in
// dst[i].
func Sigmoid(dst, src []float32) {
	checkSameLen("Sigmoid", dst, src)
	if transcendentalFast(transSigmoid, dst, src) {
		return
	}
	for i, x := range src {
		dst[i] = sigmoid32(x)
	}
}

// Tanh stores tanh src[i] in dst[i].
func Tanh(dst, src []float32) {
	checkSameLen("Tanh", dst, src)
	if transcendentalFast(transTanh, dst, src) {
		return
	}
	for i, x := range src {
		dst[i] = tanh32(x)
	}
}

// Gelu stores src[i] Φ(src[i]) = 0.5 src[i] (1 + erf(src[i]/√2)) in
// dst[i], the Gaussian error linear unit, through Erf's float32 erf:
// within a few ULPs, except for x below about -3, where 1 + erf cancels
// and the error is bounded by |x| 2^-22 (TestGelu) instead.
func Gelu(dst, src []float32) {
	checkSameLen("Gelu", dst, src)
	if transcendentalFast(transGelu, dst, src) {
		return
	}
	for i, x := range src {
		dst[i] = 0.5 * x * (1 + erf32(x*(math.Sqrt2/2)))
	}
}

// transcendental names a function of this file for the assembly of
// transcendentalFast.
type transcendental int

const (
	transExp transcendental = iota
	transSigmoid
	transTanh
	transErf
	transGelu
)

// checkSameLen panics unless dst and src have the same length.
func checkSameLen(op string, dst, src []float32) {
	if len(dst) != len(src) {
		panic("vec: " + op + ": len(dst) != len(src)")
	}
}

// erf32 is erf x in float32: on |x| < 4, the polynomial of |x|'s piece
// of package coeffs (pieces 0.5 wide, degree 8, Horner's scheme in t =
// |x| - center) plus the piece's multiple of |x|, with x's sign; from
// there on ±1, where erf rounds to it.
func erf32(x float32) float32 {
	if x != x {
		return x
	}
	a := min(max(x, -x), coeffs.ErfMax)
	i := int(a * (1 / coeffs.ErfPieceWidth))
	t := a - coeffs.ErfCenters[i]
	e := coeffs.ErfCoeffs[coeffs.ErfDegree][i]
	for j := coeffs.ErfDegree - 1; j >= 0; j-- {
		e = e*t + coeffs.ErfCoeffs[j][i]
	}
	e += a * coeffs.ErfLinear[i]
	if math.Signbit(float64(x)) {
		return -e
	}
	return e
}

// Erf stores the error function of src[i] in dst[i].
func Erf(dst, src []float32) {
	checkSameLen("Erf", dst, src)
	if transcendentalFast(transErf, dst, src) {
		return
	}
	for i, x := range src {
		dst[i] = erf32(x)
	}
}
