package vec

import "math"

// Exp, Sigmoid, Tanh and Erf compute their functions over float32 slices in
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

// The error function in three regions (after Sun's fdlibm erf, whose
// published rational coefficients are used here in float32):
//
//	|x| < 0.84375:        erf x = x + x P(x²)/Q(x²)
//	0.84375 ≤ |x| < 1.25: erf x = erx + P(s)/Q(s), s = |x| - 1
//	1.25 ≤ |x| < 4:       erf x = 1 - e^(-x² - 0.5625 + R(1/x²)/S(1/x²))/|x|
//
// with two pairs R, S split at 1/0.35; from 4 on erf rounds to ±1 in
// float32 (erfc 4 is 1.5e-8, below half a unit of 1 - 2^-24). fdlibm
// splits -x² into an exact part and a correction to keep erfc's relative
// accuracy; erf only needs its absolute accuracy, which the rounding of
// x² in float32 does not spoil (relative error 2^-24 x², below 0.2 ULP
// of erf).
const (
	erfSmall  = 0.84375
	erfMid    = 1.25
	erfSplit  = 1 / 0.35
	erfOne    = 4
	erfOffset = 0.5625
	erx       = 8.45062911510467529297e-01

	erfPP0 = 1.28379167095512558561e-01
	erfPP1 = -3.25042107247001499370e-01
	erfPP2 = -2.84817495755985104766e-02
	erfPP3 = -5.77027029648944159157e-03
	erfPP4 = -2.37630166566501626084e-05
	erfQQ1 = 3.97917223959155352819e-01
	erfQQ2 = 6.50222499887672944485e-02
	erfQQ3 = 5.08130628187576562776e-03
	erfQQ4 = 1.32494738004321644526e-04
	erfQQ5 = -3.96022827877536812320e-06

	erfPA0 = -2.36211856075265944077e-03
	erfPA1 = 4.14856118683748331666e-01
	erfPA2 = -3.72207876035701323847e-01
	erfPA3 = 3.18346619901161753674e-01
	erfPA4 = -1.10894694282396677476e-01
	erfPA5 = 3.54783043256182359371e-02
	erfPA6 = -2.16637559486879084300e-03
	erfQA1 = 1.06420880400844228286e-01
	erfQA2 = 5.40397917702171048937e-01
	erfQA3 = 7.18286544141962662868e-02
	erfQA4 = 1.26171219808761642112e-01
	erfQA5 = 1.36370839120290507362e-02
	erfQA6 = 1.19844998467991074170e-02

	erfRA0 = -9.86494403484714822705e-03
	erfRA1 = -6.93858572707181764372e-01
	erfRA2 = -1.05586262253232909814e+01
	erfRA3 = -6.23753324503260060396e+01
	erfRA4 = -1.62396669462573470355e+02
	erfRA5 = -1.84605092906711035994e+02
	erfRA6 = -8.12874355063065934246e+01
	erfRA7 = -9.81432934416914548592e+00
	erfSA1 = 1.96512716674392571292e+01
	erfSA2 = 1.37657754143519042600e+02
	erfSA3 = 4.34565877475229228821e+02
	erfSA4 = 6.45387271733267880336e+02
	erfSA5 = 4.29008140027567833386e+02
	erfSA6 = 1.08635005541779435134e+02
	erfSA7 = 6.57024977031928170135e+00
	erfSA8 = -6.04244152148580987438e-02

	erfRB0 = -9.86494292470009928597e-03
	erfRB1 = -7.99283237680523006574e-01
	erfRB2 = -1.77579549177547519889e+01
	erfRB3 = -1.60636384855821916062e+02
	erfRB4 = -6.37566443368389627722e+02
	erfRB5 = -1.02509513161107724954e+03
	erfRB6 = -4.83519191608651397019e+02
	erfSB1 = 3.03380607434824582924e+01
	erfSB2 = 3.25792512996573918826e+02
	erfSB3 = 1.53672958608443695994e+03
	erfSB4 = 3.19985821950859553908e+03
	erfSB5 = 2.55305040643316442583e+03
	erfSB6 = 4.74528541206955367215e+02
	erfSB7 = -2.24409524465858183362e+01
)

// erf32 is erf x in float32.
func erf32(x float32) float32 {
	a := x
	if a < 0 {
		a = -a
	}
	var e float32
	switch {
	case x != x:
		return x
	case a < erfSmall:
		z := x * x
		p := (((erfPP4*z+erfPP3)*z+erfPP2)*z+erfPP1)*z + erfPP0
		q := ((((erfQQ5*z+erfQQ4)*z+erfQQ3)*z+erfQQ2)*z+erfQQ1)*z + 1
		return x + x*(p/q)
	case a < erfMid:
		s := a - 1
		p := (((((erfPA6*s+erfPA5)*s+erfPA4)*s+erfPA3)*s+erfPA2)*s+erfPA1)*s + erfPA0
		q := (((((erfQA6*s+erfQA5)*s+erfQA4)*s+erfQA3)*s+erfQA2)*s+erfQA1)*s + 1
		e = erx + p/q
	case a < erfOne:
		z := a * a
		s := 1 / z
		var r, q float32
		if a < erfSplit {
			r = ((((((erfRA7*s+erfRA6)*s+erfRA5)*s+erfRA4)*s+erfRA3)*s+erfRA2)*s+erfRA1)*s + erfRA0
			q = (((((((erfSA8*s+erfSA7)*s+erfSA6)*s+erfSA5)*s+erfSA4)*s+erfSA3)*s+erfSA2)*s+erfSA1)*s + 1
		} else {
			r = (((((erfRB6*s+erfRB5)*s+erfRB4)*s+erfRB3)*s+erfRB2)*s+erfRB1)*s + erfRB0
			q = ((((((erfSB7*s+erfSB6)*s+erfSB5)*s+erfSB4)*s+erfSB3)*s+erfSB2)*s+erfSB1)*s + 1
		}
		e = 1 - exp32(r/q-erfOffset-z)/a
	default:
		e = 1
	}
	if x < 0 {
		return -e
	}
	return e
}

// Erf stores the error function of src[i] in dst[i].
func Erf(dst, src []float32) {
	checkSameLen("Erf", dst, src)
	for i, x := range src {
		dst[i] = erf32(x)
	}
}
