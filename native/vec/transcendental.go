package vec

import "math"

// Exp, Sigmoid and Tanh compute their functions over float32 slices in
// float32 arithmetic, to within a few units in the last place of the
// correctly rounded result (TestTranscendentals bounds them against
// float64), instead of widening each element to float64 for package
// math. They are the activations of recurrent cells and of the Sigmoid,
// Tanh and SiLU operators. dst and src must have the same length and may
// be the same slice.

// The reduction e^x = 2^n e^r with r = x - n ln 2 in [-ln2/2, ln2/2], ln
// 2 split in two so that n ln2Hi is exact, and the minimax polynomial of
// e^r on that interval (S. L. Moshier's Cephes expf).
const (
	ln2Hi    = 0.693359375
	ln2Lo    = -2.12194440e-4
	log2E    = 1.44269504088896341
	expMax   = 88.72283905206835 // above: +Inf
	expMin   = -103.97207708     // below: 0
	expPoly0 = 1.9875691500e-4
	expPoly1 = 1.3981999507e-3
	expPoly2 = 8.3334519073e-3
	expPoly3 = 4.1665795894e-2
	expPoly4 = 1.6666665459e-1
	expPoly5 = 5.0000001201e-1
)

// exp32 is e^x in float32.
func exp32(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > expMax:
		return float32(math.Inf(1))
	case x < expMin:
		return 0
	}
	n := float32(math.Floor(float64(x*log2E + 0.5)))
	r := x - n*ln2Hi - n*ln2Lo
	p := ((((expPoly0*r+expPoly1)*r+expPoly2)*r+expPoly3)*r+expPoly4)*r + expPoly5
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

// The odd minimax polynomial of tanh on |x| < 0.625 (Cephes tanhf), where
// 1 - 2/(e^2x + 1) would lose the relative precision of small results.
const (
	tanhSmall = 0.625
	tanhPoly0 = -5.70498872745e-3
	tanhPoly1 = 2.06390887954e-2
	tanhPoly2 = -5.37397155531e-2
	tanhPoly3 = 1.33314422036e-1
	tanhPoly4 = -3.33332819422e-1
)

// tanh32 is tanh x in float32.
func tanh32(x float32) float32 {
	a := x
	if a < 0 {
		a = -a
	}
	if a < tanhSmall {
		z := x * x
		return ((((tanhPoly0*z+tanhPoly1)*z+tanhPoly2)*z+tanhPoly3)*z+tanhPoly4)*z*x + x
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
	for i, x := range src {
		dst[i] = exp32(x)
	}
}

// Sigmoid stores the logistic function of src[i], 1/(1 + e^-src[i]), in
// dst[i].
func Sigmoid(dst, src []float32) {
	checkSameLen("Sigmoid", dst, src)
	for i, x := range src {
		dst[i] = sigmoid32(x)
	}
}

// Tanh stores tanh src[i] in dst[i].
func Tanh(dst, src []float32) {
	checkSameLen("Tanh", dst, src)
	for i, x := range src {
		dst[i] = tanh32(x)
	}
}

// checkSameLen panics unless dst and src have the same length.
func checkSameLen(op string, dst, src []float32) {
	if len(dst) != len(src) {
		panic("vec: " + op + ": len(dst) != len(src)")
	}
}
