package kernels

import (
	"math"
	"testing"
)

// TestWinogradMatrices checks the Toom-Cook matrices of F(2, 3), F(2, 5)
// and of F(3, 2), F(5, 2) in float64: A^T [(G g) ⊙ (B^T d)] must be the
// correlation of d with g for random g and d, the two of each kernel size
// must share B^T, and the 2-D transforms must be their Kronecker
// products.
func TestWinogradMatrices(t *testing.T) {
	rng := newRNG(50)
	for _, tc := range []struct {
		r      int
		points []float64
		t      *winogradTransforms
	}{{3, []float64{0, 1, -1}, &winograd3}, {5, []float64{0, 1, -1, 2, -2}, &winograd5}} {
		n := tc.r + 1
		for _, f := range [][2]int{{2, tc.r}, {tc.r, 2}} {
			m, r := f[0], f[1]
			at, g, _ := winogradMatrices(m, r, tc.points)
			_, _, bt := winogradMatrices(2, tc.r, tc.points)
			for range 20 {
				kern, d := float64s(uniform(rng, r, -1, 1)), float64s(uniform(rng, n, -1, 1))
				prod := make([]float64, n)
				for j := range n {
					var gj, dj float64
					for k := range r {
						gj += g[j][k] * kern[k]
					}
					for l := range n {
						dj += bt[j][l] * d[l]
					}
					prod[j] = gj * dj
				}
				for i := range m {
					var got, want float64
					for j := range n {
						got += at[i][j] * prod[j]
					}
					for k := range r {
						want += kern[k] * d[i+k]
					}
					if math.Abs(got-want) > 1e-12*(1+math.Abs(want)) {
						t.Fatalf("F(%d, %d): output %d = %g, correlation %g", m, r, i, got, want)
					}
				}
			}
		}
		at, g, bt := winogradMatrices(2, tc.r, tc.points)
		gradAt, gradG, gradBt := winogradMatrices(tc.r, 2, tc.points)
		for j := range bt {
			for l := range bt[j] {
				if bt[j][l] != gradBt[j][l] {
					t.Fatalf("B^T of F(2, %d) and F(%d, 2) differ at (%d, %d)", tc.r, tc.r, j, l)
				}
			}
		}
		for _, e := range []struct {
			name      string
			got, want float32
		}{
			{"input transform [(1,2),(3,0)]", tc.t.input[(1*n+2)*n*n+3*n+0], float32(bt[1][3] * bt[2][0])},
			{"kernel transform [(2,1),(0,2)]", tc.t.kernel[(2*n+1)*tc.r*tc.r+0*tc.r+2], float32(g[2][0] * g[1][2])},
			{"output transform [(1,0),(2,3)]", tc.t.output[(1*2+0)*n*n+2*n+3], float32(at[1][2] * at[0][3])},
			{"gradient transform [(2,1),(0,1)]", tc.t.grad[(2*n+1)*4+0*2+1], float32(gradG[2][0] * gradG[1][1])},
			{"gradient output transform [(2,1),(3,0)]", tc.t.gradOutput[(2*tc.r+1)*n*n+3*n+0], float32(gradAt[2][3] * gradAt[1][0])},
		} {
			if e.got != e.want {
				t.Errorf("r = %d: %s = %g, want %g", tc.r, e.name, e.got, e.want)
			}
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

// compareWinograd checks got against want element by element, allowing
// winogradUlps roundoffs of mag, the sum of the magnitudes of the terms.
func compareWinograd(t *testing.T, what string, got []float32, want, mag []float64) {
	t.Helper()
	var worst float64
	for i, w := range want {
		err := math.Abs(float64(got[i]) - w)
		if !(err <= winogradUlps*0x1p-24*mag[i]) {
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

// TestConvWinograd runs convolutions that take Winograd (3x3 and 5x5,
// odd output sizes, groups, chunks of several images), their weight
// gradients, and the input gradients of those that keep their size,
// whose adjoints take it too,
// against the direct loop in float64, and checks which shapes are left
// to the other paths.
func TestConvWinograd(t *testing.T) {
	rng := newRNG(51)
	adjoints := 0
	conv := func(n, c, h, w, m, k, pad, group int) ConvParams {
		return ConvParams{N: n, C: c, H: h, W: w, M: m, KH: k, KW: k, StrideH: 1, StrideW: 1,
			PadTop: pad, PadLeft: pad, PadBottom: pad, PadRight: pad, DilationH: 1, DilationW: 1, Group: group}
	}
	for _, p := range []ConvParams{
		conv(18, 32, 11, 9, 40, 3, 1, 1),
		conv(13, 40, 20, 20, 32, 5, 2, 1), // chunks of 11 images and 2
		conv(3, 32, 27, 25, 33, 5, 2, 1),
		conv(15, 64, 14, 14, 64, 3, 0, 2),
		conv(128, 32, 6, 6, 32, 3, 0, 1),
	} {
		if _, ok := p.winograd(); !ok {
			t.Fatalf("%s: not computed by Winograd", convName(p))
		}
		p.ReLU = p.N%2 == 1
		x, w, b, y := convBuffers(rng, p)
		ConvForward(&p, x, w, b, y)
		nd := ndFromConv2D(p)[0]
		compareWinograd(t, convName(p)+" forward", y, convNDRef(nd, x, w, b), convNDRef(nd, absolute(x), absolute(w), absolute(b)))
		plain := p
		plain.ReLU = false
		g := uniform(rng, len(y), -1, 1)
		dw := uniform(rng, len(w), -1, 1)
		wantDx, wantDw := convBackwardRef(plain, x, w, g)
		magDx, magDw := convBackwardRef(plain, absolute(x), absolute(w), absolute(g))
		for i, v := range dw { // ConvBackward accumulates
			wantDw[i] += float64(v)
			magDw[i] += math.Abs(float64(v))
		}
		ConvBackward(&plain, x, w, nil, g, nil, dw, nil)
		compareWinograd(t, convName(p)+" dw", dw, wantDw, magDw)
		q, _, ok := p.adjoint()
		if !ok {
			continue
		}
		if _, ok := q.winograd(); !ok {
			continue
		}
		dx := uniform(rng, len(x), -1, 1)
		for i, v := range dx { // ConvBackward accumulates
			wantDx[i] += float64(v)
			magDx[i] += math.Abs(float64(v))
		}
		ConvBackward(&plain, x, w, nil, g, dx, nil, nil)
		compareWinograd(t, convName(p)+" dx", dx, wantDx, magDx)
		adjoints++
	}
	if adjoints == 0 {
		t.Error("no input gradient went through Winograd")
	}
	for _, p := range []ConvParams{
		conv(8, 32, 12, 12, 32, 7, 3, 1), // 7x7
		conv(8, 16, 12, 12, 32, 3, 1, 1), // too few input channels
		conv(8, 64, 12, 12, 64, 3, 1, 4), // too few per group
		conv(3, 64, 12, 12, 64, 3, 1, 1), // 3 images of 36 tiles
		{N: 8, C: 32, H: 12, W: 12, M: 32, KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilationH: 1, DilationW: 1, Group: 1},
	} {
		if _, ok := p.winograd(); ok {
			t.Errorf("%s: computed by Winograd", convName(p))
		}
	}
}
