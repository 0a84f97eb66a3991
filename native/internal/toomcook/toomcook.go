// Package toomcook builds the matrices of Winograd's minimal filtering
// F(m, r) by the Toom-Cook construction, in float64. The engine's
// convolution kernels and the program that writes their assembly tile
// transforms both take their matrices from here.
package toomcook

import "math"

// Points returns count finite points an F(m, r) with m+r-2 = count can
// be built on (infinity is the last): 0, 1, -1 for F(2, 3) and 0, 1, -1,
// 2, -2 for F(2, 5), the small ones that keep the transforms' rounding
// low (see PointsFor).
func Points(count int) []float64 {
	points := []float64{0}
	for k := 1; len(points) < count; k++ {
		points = append(points, float64(k), float64(-k))
	}
	return points[:count]
}

// Matrices returns the 1-D matrices A^T [m, n], G [n, r] and B^T [n, n]
// of F(m, r), n = m+r-1, on the given n-1 finite points and infinity:
// the m outputs of the correlation of an n-long input d with an r-long
// kernel g are A^T [(G g) ⊙ (B^T d)]. A^T evaluates at the points (row i
// holds their i-th powers; infinity takes the top coefficient), G
// evaluates the kernel scaled by 1/f_j with f_j the product of
// (a_j - a_l) over the other finite points, and row j of B^T holds the
// coefficients of the product of (x - a_l) over the other finite points
// (over all of them for infinity's row).
func Matrices(m, r int, points []float64) (at, g, bt [][]float64) {
	n := m + r - 1
	at = make([][]float64, m)
	for i := range at {
		at[i] = make([]float64, n)
		for j, a := range points {
			at[i][j] = math.Pow(a, float64(i))
		}
	}
	at[m-1][n-1] = 1
	g = make([][]float64, n)
	bt = make([][]float64, n)
	for j := range n {
		g[j] = make([]float64, r)
		others := make([]float64, 0, n-1)
		f := 1.0
		for l, a := range points {
			if l != j {
				others = append(others, a)
				if j < n-1 {
					f *= points[j] - a
				}
			}
		}
		for k := range r {
			switch {
			case j < n-1:
				g[j][k] = math.Pow(points[j], float64(k)) / f
			case k == r-1: // infinity takes the top coefficient
				g[j][k] = 1
			}
		}
		bt[j] = polyFromRoots(others, n)
	}
	return at, g, bt
}

// polyFromRoots returns the n coefficients, lowest first, of the product
// of (x - root) over the roots.
func polyFromRoots(roots []float64, n int) []float64 {
	c := make([]float64, n)
	c[0] = 1
	for d, root := range roots {
		for i := d + 1; i > 0; i-- {
			c[i] = c[i-1] - root*c[i]
		}
		c[0] *= -root
	}
	return c
}

// PointsFor returns the finite points of the engine's F(m, r):
// Points(m+r-1) but for F(4, 3), whose points are 0, 1, -1, 1/2 and -2.
// With 2 in place of 1/2, its convolutions in float32 measured 1.2-1.5
// times the error at ResNet-50's outputs (against ONNX Runtime, 8.8e-5
// against 5.9e-5 on logits up to 20; 4.8e-5 without F(4, 3)); with
// -1/2 in place of -2 it was worse again. Smaller points keep the powers
// in A^T small, and the pair 1/2, -2 balances them against those of G.
func PointsFor(m, r int) []float64 {
	if m == 4 && r == 3 {
		return []float64{0, 1, -1, 0.5, -2}
	}
	return Points(m + r - 2)
}

// InputTransform returns B^T [n, n] of F(m, r), n = m+r-1, on
// PointsFor(m, r), which takes a tile of input to the points (and,
// shared with F(r, 2) for m = 2, the tiles of input of a kernel's
// gradient).
func InputTransform(m, r int) [][]float64 {
	_, _, bt := Matrices(m, r, PointsFor(m, r))
	return bt
}

// GradientTransform returns G [r+1, 2] of F(r, 2), which takes a 2-long
// tile of an output gradient, the "kernel" of the correlation that gives
// a kernel's gradient, to the points.
func GradientTransform(r int) [][]float64 {
	_, g, _ := Matrices(r, 2, Points(r))
	return g
}

// OutputTransform returns A^T [m, n] of F(m, r), n = m+r-1, on
// PointsFor(m, r), which takes the sums at the points to m outputs.
func OutputTransform(m, r int) [][]float64 {
	at, _, _ := Matrices(m, r, PointsFor(m, r))
	return at
}
