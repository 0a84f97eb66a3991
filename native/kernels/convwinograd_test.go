package kernels

import (
	"math"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/internal/toomcook"
	"github.com/onnxkit/onnxkit/native/linalg"
)

// TestWinogradTransforms checks that the 2-D transforms the GEMMs apply
// are the Kronecker products of package toomcook's 1-D matrices (whose
// identities its own tests check), entry by entry at a few places, and
// that the separable ones map between the right sizes.
func TestWinogradTransforms(t *testing.T) {
	for _, tc := range []struct {
		r int
		t *winogradTransforms
	}{{3, &winograd3}, {5, &winograd5}} {
		n := tc.r + 1
		_, g, _ := toomcook.Matrices(2, tc.r, toomcook.Points(tc.r))
		gradAt, _, _ := toomcook.Matrices(tc.r, 2, toomcook.Points(tc.r))
		for _, e := range []struct {
			name      string
			got, want float32
		}{
			{"kernel transform [(2,1),(0,2)]", tc.t.kernel[(2*n+1)*tc.r*tc.r+0*tc.r+2], float32(g[2][0] * g[1][2])},
			{"gradient output transform [(2,1),(3,0)]", tc.t.gradOutput[(2*tc.r+1)*n*n+3*n+0], float32(gradAt[2][3] * gradAt[1][0])},
		} {
			if e.got != e.want {
				t.Errorf("r = %d: %s = %g, want %g", tc.r, e.name, e.got, e.want)
			}
		}
		if tc.t.input.Side() != n || tc.t.grad.Side() != n || tc.t.output.Side() != 2 {
			t.Errorf("r = %d: the tile transforms map to %d, %d and %d a side, want %d, %d and 2",
				tc.r, tc.t.input.Side(), tc.t.grad.Side(), tc.t.output.Side(), n, n)
		}
	}
}

// winogradUlps bounds the error of a Winograd convolution against the
// direct loop in float64, in units of float32 roundoff (2^-24) times the
// sum of the magnitudes of the terms of each output: the transforms
// scale the rounding of the sums (measured: 1.3-1.8 units for 3x3, 10-28
// for 5x5, against 1 to 3 for a direct float32 sum; the classical worst
// case of a direct sum of k terms is k units, 800 here).
const winogradUlps = 64

// winograd4x3Ulps is winogradUlps for F(4x4, 3x3), whose transforms hold
// larger coefficients and scale the rounding more (measured: 10-21 units
// forward and 12-67 for dX over 32-64 channels, and up to 97 on the
// suite's shapes, which sum few channels).
const winograd4x3Ulps = 256

// compareWinograd checks got against want element by element, allowing
// ulps roundoffs of mag, the sum of the magnitudes of the terms.
func compareWinograd(t *testing.T, what string, got []float32, want, mag []float64, ulps float64) {
	t.Helper()
	var worst float64
	for i, w := range want {
		err := math.Abs(float64(got[i]) - w)
		if !(err <= ulps*0x1p-24*mag[i]) {
			t.Fatalf("%s: element %d = %.7g, want %.7g (error %.3g, sum of magnitudes %.3g)", what, i, got[i], w, err, mag[i])
		}
		worst = math.Max(worst, err/(0x1p-24*mag[i]))
	}
	t.Logf("%s: %d values, largest error %.1f roundoffs of the sum of magnitudes", what, len(want), worst)
}

// absolute returns |v| elementwise.
func absolute(v []float32) []float32 {
	a := make([]float32, len(v))
	for i, x := range v {
		a[i] = float32(math.Abs(float64(x)))
	}
	return a
}

// TestConvWinograd runs convolutions of the sizes Winograd is made for
// (3x3 and 5x5, odd output sizes, groups, chunks of several images)
// through it, at every CPU level: forward, the weight gradients, and
// the input gradients of those whose adjoint it can compute, against the
// direct loop in float64, by F(2x2, 3x3) or F(2x2, 5x5) and for the 3x3
// ones by F(4x4, 3x3) too (forward and dX); and it checks that the cost
// model leaves shapes too small or thin to other paths (which depends on
// no CPU).
func TestConvWinograd(t *testing.T) {
	rng := newRNG(51)
	conv := func(n, c, h, w, m, k, pad, group int) ConvParams {
		return ConvParams{N: n, C: c, H: h, W: w, M: m, KH: k, KW: k, StrideH: 1, StrideW: 1,
			PadTop: pad, PadLeft: pad, PadBottom: pad, PadRight: pad, DilationH: 1, DilationW: 1, Group: group}
	}
	shapes := []ConvParams{
		conv(18, 32, 11, 9, 40, 3, 1, 1),
		conv(13, 40, 20, 20, 32, 5, 2, 1), // chunks of 11 images and 2
		conv(3, 32, 27, 25, 33, 5, 2, 1),
		conv(15, 64, 14, 14, 64, 3, 0, 2),
		conv(128, 32, 6, 6, 32, 3, 0, 1),
		conv(1, 64, 15, 13, 48, 3, 1, 1), // tiles of 4x4 past the output on both sides
		conv(2, 256, 7, 7, 256, 3, 1, 1), // ResNet's layer4 in small: 2x2 tiles of 4x4
		conv(1, 16, 35, 71, 24, 3, 1, 1), // rows past the vector loops of the phases and the scatter
		conv(1, 16, 18, 67, 24, 3, 0, 1), // the same, unpadded
	}
	if testing.Short() { // the references of the others take seconds
		shapes = []ConvParams{shapes[0], shapes[2], shapes[4], shapes[5], shapes[7], shapes[8]}
	}
	for _, shape := range shapes {
		algs := []convAlgorithm{convWinograd5}
		if shape.KH == 3 {
			algs = []convAlgorithm{convWinograd3, convWinograd4x3}
		}
		shape.Act = reluIf(shape.N%2 == 1)
		x, w, b, y := convBuffers(rng, shape)
		nd := ndFromConv2D(shape)[0]
		wantY, magY := convNDRef(nd, x, w, b), convNDRef(nd, absolute(x), absolute(w), absolute(b))
		plain := shape
		plain.Act = Activation{}
		g := uniform(rng, len(y), -1, 1)
		dw0, dx0 := uniform(rng, len(w), -1, 1), uniform(rng, len(x), -1, 1)
		wantDx, wantDw := convBackwardRef(plain, x, w, g)
		magDx, magDw := convBackwardRef(plain, absolute(x), absolute(w), absolute(g))
		for i, v := range dw0 { // ConvBackward accumulates
			wantDw[i] += float64(v)
			magDw[i] += math.Abs(float64(v))
		}
		for i, v := range dx0 {
			wantDx[i] += float64(v)
			magDx[i] += math.Abs(float64(v))
		}
		for _, alg := range algs {
			p, plain := shape, plain
			p.algorithm, plain.algorithm = alg, alg
			ulps := float64(winogradUlps)
			if alg == convWinograd4x3 {
				ulps = winograd4x3Ulps
			}
			what := convName(p) + " " + alg.String()
			_, adjointErr := plain.convPlanFor(convDataPass)
			_, filterErr := plain.convPlanFor(convFilterPass)
			leveltest.Run(t, func(t *testing.T) {
				ConvForward(&p, x, w, b, y)
				compareWinograd(t, what+" forward", y, wantY, magY, ulps)
				if filterErr == nil {
					dw := append([]float32(nil), dw0...)
					ConvBackward(&plain, x, w, nil, g, nil, dw, nil)
					compareWinograd(t, what+" dw", dw, wantDw, magDw, ulps)
				}
				if adjointErr != nil {
					return
				}
				dx := append([]float32(nil), dx0...)
				ConvBackward(&plain, x, w, nil, g, dx, nil, nil)
				compareWinograd(t, what+" dx", dx, wantDx, magDx, ulps)
			})
		}
	}
	for _, p := range []ConvParams{
		conv(8, 16, 12, 12, 32, 3, 1, 1), // too few input channels
		conv(8, 64, 12, 12, 64, 3, 1, 4), // too few per group
		conv(3, 64, 12, 12, 64, 3, 1, 1), // 3 images of 36 tiles
		conv(8, 128, 7, 7, 32, 3, 1, 1),  // 128 tiles, but 25.6 channels share a transform on 7x7 planes
		conv(8, 32, 14, 14, 64, 3, 1, 1), // 392 tiles, but 21.3 channels share a transform on 14x14 planes
		conv(8, 32, 28, 28, 96, 3, 1, 1), // 24 channels share a transform, fewer than winogradMinShared
	} {
		if _, cannot, pays := p.winograd(&winograd3, linalg.Fast()); cannot != "" || pays {
			t.Errorf("%s: Winograd cannot (%q) or pays (%v), want it able but not paying", convName(p), cannot, pays)
		}
	}
	for _, p := range []ConvParams{
		conv(8, 160, 7, 7, 320, 3, 1, 1),   // 107 on 7x7 planes
		conv(8, 64, 13, 13, 256, 3, 1, 1),  // 51 on 13x13 planes
		conv(1, 256, 14, 14, 256, 3, 1, 1), // 49 tiles, wide
	} {
		if _, cannot, pays := p.winograd(&winograd3, linalg.Fast()); cannot != "" || !pays {
			t.Errorf("%s: Winograd cannot (%q) or pays (%v), want it able and paying", convName(p), cannot, pays)
		}
	}
	// F(4x4, 3x3) by its own tiles and channels.
	for _, c := range []struct {
		p    ConvParams
		pays bool
	}{
		{conv(1, 16, 55, 55, 64, 3, 1, 1), false},   // SqueezeNet's expand 3x3: 196 tiles, but 12.8 channels share a transform
		{conv(1, 64, 56, 56, 64, 3, 1, 1), true},    // ResNet's 3x3 at 56x56: 196 tiles, 32 channels share a transform
		{conv(1, 8, 55, 55, 64, 3, 1, 1), false},    // 8 channels in
		{conv(1, 64, 56, 56, 16, 3, 1, 1), false},   // 16 channels out
		{conv(1, 128, 28, 28, 128, 3, 1, 1), false}, // 49 tiles
		{conv(8, 128, 28, 28, 128, 3, 1, 1), true},  // 392 tiles
		{conv(1, 256, 14, 14, 256, 3, 1, 1), false}, // 16 tiles, wide
		{conv(2, 256, 14, 14, 256, 3, 1, 1), false}, // 32 tiles, wide: F(2x2, 3x3)'s 98 instead
		{conv(8, 16, 28, 28, 32, 3, 1, 1), false},   // 392 tiles, but 10.7 channels share a transform
		{conv(8, 256, 14, 14, 256, 3, 1, 1), true},  // 128 tiles
		{conv(8, 48, 13, 13, 192, 3, 1, 1), false},  // 128 tiles, a third of their outputs outside
	} {
		if _, cannot, pays := c.p.winograd(&winograd4x3, linalg.Fast()); cannot != "" || pays != c.pays {
			t.Errorf("%s: F(4x4, 3x3) cannot (%q) or pays (%v), want it able and paying %v", convName(c.p), cannot, pays, c.pays)
		}
	}
	for _, p := range []ConvParams{
		conv(8, 32, 12, 12, 32, 7, 3, 1), // 7x7
		{N: 8, C: 32, H: 12, W: 12, M: 32, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilationH: 1, DilationW: 1, Group: 1},
		{N: 8, C: 32, H: 12, W: 12, M: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilationH: 2, DilationW: 1, Group: 1},
	} {
		if _, cannot, _ := p.winograd(&winograd3, linalg.Fast()); cannot == "" {
			t.Errorf("%s: Winograd F(2,3) can compute it", convName(p))
		}
	}
}
