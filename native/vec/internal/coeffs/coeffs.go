// Package coeffs holds the constants of package vec's float32 Exp,
// Sigmoid, Tanh and Erf (reduction constants, branch edges and
// polynomial coefficients, Erf's computed at init), shared by the Go
// loops in vec and the assembly that native/vec/internal/asmgen writes,
// so that both evaluate the same approximations. vec's transcendental.go
// describes them.
package coeffs

import "math"

// The reduction of e^x to 2^n e^r and the minimax polynomial of e^r on
// [-ln2/2, ln2/2] (S. L. Moshier's Cephes expf).
const (
	Ln2Hi    = 0.693359375
	Ln2Lo    = -2.12194440e-4
	Log2E    = 1.44269504088896341
	ExpMax   = 88.72283905206835 // above: +Inf
	ExpMin   = -103.97207708     // below: 0
	ExpPoly0 = 1.9875691500e-4
	ExpPoly1 = 1.3981999507e-3
	ExpPoly2 = 8.3334519073e-3
	ExpPoly3 = 4.1665795894e-2
	ExpPoly4 = 1.6666665459e-1
	ExpPoly5 = 5.0000001201e-1
)

// The odd minimax polynomial of tanh on |x| < 0.625 (Cephes tanhf).
const (
	TanhSmall = 0.625
	TanhPoly0 = -5.70498872745e-3
	TanhPoly1 = 2.06390887954e-2
	TanhPoly2 = -5.37397155531e-2
	TanhPoly3 = 1.33314422036e-1
	TanhPoly4 = -3.33332819422e-1
)

// Erf on [0, 4) is a polynomial of degree ErfDegree in t = |x| - center
// on each of ErfPieces pieces ErfPieceWidth wide: piece i covers [i/2,
// (i+1)/2). From ErfMax on, erf rounds to 1 in float32 (erfc 4 is
// 1.5e-8, below half a unit of 1 - 2^-24).
const (
	ErfDegree     = 8
	ErfPieces     = 8
	ErfPieceWidth = 0.5
	ErfMax        = 3.9999998 // the float32 below 4: its piece is the last
)

// ErfCenters holds each piece's center, ErfCoeffs[j][i] the coefficient
// of t^j on piece i and ErfLinear[i] a multiple of |x| added to piece i's
// polynomial, all rounded to float32: erf |x| = P_i(t) + ErfLinear[i]
// |x|. The polynomials are Chebyshev interpolants of math.Erf at
// ErfDegree+1 nodes rewritten in powers of t, except the first piece's:
// its center is 0 and its ErfLinear 1, and its polynomial is erf a - a
// (a times the interpolant of math.Erf(a)/a - 1, one degree less), which
// is small beside a, so that its roundings hardly reach the result and
// tiny arguments keep their relative precision. Evaluated in float32,
// with fused multiply-adds or not, erf is within 1 ULP of math.Erf over
// vec's TestTranscendentals arguments.
var (
	ErfCenters [ErfPieces]float32
	ErfCoeffs  [ErfDegree + 1][ErfPieces]float32
	ErfLinear  [ErfPieces]float32
)

func init() {
	for i := range ErfPieces {
		lo := float64(i) * ErfPieceWidth
		mid, half := lo+ErfPieceWidth/2, ErfPieceWidth/2
		var c []float64
		if i == 0 {
			// erf a - a = a g(a), g interpolated in u = a - mid at one
			// degree less, then expanded in powers of a.
			g := chebyshevInterpolant(func(a float64) float64 { return math.Erf(a)/a - 1 }, mid, half, ErfDegree-1)
			c = append([]float64{0}, shiftPowers(g, -mid)...)
			mid = 0
			ErfLinear[i] = 1
		} else {
			c = chebyshevInterpolant(math.Erf, mid, half, ErfDegree)
		}
		ErfCenters[i] = float32(mid)
		for j, v := range c {
			ErfCoeffs[j][i] = float32(v)
		}
	}
}

// chebyshevInterpolant returns the coefficients, in powers of u = x -
// mid, of the polynomial of the given degree that equals f at the
// Chebyshev nodes of [mid - half, mid + half].
func chebyshevInterpolant(f func(float64) float64, mid, half float64, degree int) []float64 {
	n := degree + 1
	vals := make([]float64, n)
	nodes := make([]float64, n)
	for k := range n {
		nodes[k] = math.Cos(math.Pi * (float64(k) + 0.5) / float64(n))
		vals[k] = f(mid + half*nodes[k])
	}
	// Chebyshev series c_j T_j(z), z = u/half, by the discrete
	// orthogonality of T_j at the nodes; then T_j in powers of z by
	// T_j+1 = 2z T_j - T_j-1.
	out := make([]float64, n)
	prev, cur := []float64{1}, []float64{0, 1} // T_0, T_1
	for j := range n {
		var cj float64
		for k := range n {
			cj += vals[k] * math.Cos(float64(j)*math.Pi*(float64(k)+0.5)/float64(n))
		}
		cj *= 2 / float64(n)
		if j == 0 {
			cj /= 2
		}
		t := prev
		if j > 0 {
			t = cur
		}
		for p, v := range t {
			out[p] += cj * v
		}
		if j > 0 {
			next := make([]float64, len(cur)+1)
			for p, v := range cur {
				next[p+1] += 2 * v
			}
			for p, v := range prev {
				next[p] -= v
			}
			prev, cur = cur, next
		}
	}
	for p := range out {
		out[p] /= math.Pow(half, float64(p))
	}
	return out
}

// shiftPowers returns the coefficients in powers of x of the polynomial
// whose coefficients in powers of u = x + shift are c.
func shiftPowers(c []float64, shift float64) []float64 {
	out := make([]float64, len(c))
	for j, cj := range c {
		// (x + shift)^j by the binomial theorem.
		binom := 1.0
		for p := 0; p <= j; p++ {
			out[p] += cj * binom * math.Pow(shift, float64(j-p))
			binom = binom * float64(j-p) / float64(p+1)
		}
	}
	return out
}
