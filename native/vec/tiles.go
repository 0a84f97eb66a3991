package vec

import (
	"fmt"

	"github.com/onnxkit/onnxkit/native/internal/toomcook"
)

// A TileTransform maps q x q tiles X to p x p ones, X -> L X L^T with a
// constant L [p, q]: Winograd's minimal filtering takes the tiles of its
// input, and those of an output gradient, to its points this way.
type TileTransform struct {
	name string
	l    [][]float32 // L [p][q]
	// avx2 is the assembly loop of the transform; see emitTileTransform
	// in package asmgen.
	avx2 func(n int, dst *float32, pointStride int, even, odd *float32, rowStride int, spill bool)
}

// The tile transforms of the engine's Winograd convolutions, on the
// points of package toomcook: WinogradInput3 and WinogradInput5 take
// (r+1) x (r+1) tiles of input to the points of F(2x2, 3x3) and
// F(2x2, 5x5), B^T d B; WinogradGradient3 and WinogradGradient5 take 2x2
// tiles of an output gradient to those of F(3x3, 2x2) and F(5x5, 2x2),
// G dy G^T, for the gradients of the kernels.
var (
	WinogradInput3    = newTileTransform("WinogradInput3", toomcook.InputTransform(3), winogradInput3AVX2)
	WinogradInput5    = newTileTransform("WinogradInput5", toomcook.InputTransform(5), winogradInput5AVX2)
	WinogradGradient3 = newTileTransform("WinogradGradient3", toomcook.GradientTransform(3), winogradGradient3AVX2)
	WinogradGradient5 = newTileTransform("WinogradGradient5", toomcook.GradientTransform(5), winogradGradient5AVX2)
)

func newTileTransform(name string, l [][]float64, avx2 func(int, *float32, int, *float32, *float32, int, bool)) *TileTransform {
	return &TileTransform{name: name, l: float32Matrix(l), avx2: avx2}
}

// float32Matrix rounds a matrix to float32.
func float32Matrix(m [][]float64) [][]float32 {
	f := make([][]float32, len(m))
	for i, row := range m {
		f[i] = make([]float32, len(row))
		for j, v := range row {
			f[i][j] = float32(v)
		}
	}
	return f
}

// Side returns p, the side of the tiles the transform maps to.
func (t *TileTransform) Side() int { return len(t.l) }

// Tiles maps a row of tiles. Tile j's element (a, b) is half[a*rowStride
// + j + b/2], half being even for even b and odd for odd b: a plane split
// into its even and odd columns, so that tiles two columns apart lie one
// element apart. Its point (u, v) goes to dst[(u*p+v)*pointStride + j];
// pointStride must be at least tiles.
//
// With spill, a row of fewer than SpillWidth tiles may be stored as
// SpillWidth, so that dst[(u*p+v)*pointStride + j] for tiles <= j <
// SpillWidth holds anything afterwards: for a caller that writes there
// later (the CPU's masked stores are slow); pointStride must then be at
// least SpillWidth.
//
// The sums round as the loop of the CPU does (in assembly with fused
// multiply-adds), within a few float32 roundoffs of the exact transform.
func (t *TileTransform) Tiles(dst []float32, pointStride int, even, odd []float32, rowStride, tiles int, spill bool) {
	if tiles == 0 {
		return
	}
	p, q := len(t.l), len(t.l[0])
	reach := (q-1)*rowStride + tiles - 1 + (q-1)/2
	stored := tiles
	if spill {
		stored = max(tiles, SpillWidth)
	}
	if tiles < 0 || pointStride < stored || rowStride < 0 || reach >= len(even) || reach >= len(odd) ||
		(p*p-1)*pointStride+stored > len(dst) {
		panic(fmt.Sprintf("vec: %s of %d tiles (spill %v), %d rows apart in halves of %d and %d, to points %d apart in %d",
			t.name, tiles, spill, rowStride, len(even), len(odd), pointStride, len(dst)))
	}
	if hasAVX2() && t.avx2 != nil {
		t.avx2(tiles, &dst[0], pointStride, &even[0], &odd[0], rowStride, spill)
		return
	}
	t.tilesGo(dst, pointStride, even, odd, rowStride, tiles)
}

// SpillWidth is how many tiles a row of fewer may be stored as when
// Tiles may spill: the lanes of a vector.
const SpillWidth = 8

// maxTile is the largest side of a tile a transform maps from or to.
const maxTile = 6

// tilesGo is Tiles in Go, one tile at a time.
func (t *TileTransform) tilesGo(dst []float32, pointStride int, even, odd []float32, rowStride, tiles int) {
	p, q := len(t.l), len(t.l[0])
	var x [maxTile][maxTile]float32
	for j := range tiles {
		for a := range q {
			for b := range q {
				half := even
				if b%2 == 1 {
					half = odd
				}
				x[a][b] = half[a*rowStride+j+b/2]
			}
		}
		y := mapTile(t.l, &x)
		for u := range p {
			for v := range p {
				dst[(u*p+v)*pointStride+j] = y[u][v]
			}
		}
	}
}

// mapTile returns L X L^T, leaving out the zeros of L as the assembly
// does.
func mapTile(l [][]float32, x *[maxTile][maxTile]float32) (y [maxTile][maxTile]float32) {
	var s [maxTile][maxTile]float32
	for u, lu := range l { // s = L X
		for b := range lu {
			var sum float32
			for a, c := range lu {
				if c != 0 {
					sum += c * x[a][b]
				}
			}
			s[u][b] = sum
		}
	}
	for u := range l { // S L^T
		for v, lv := range l {
			var sum float32
			for b, c := range lv {
				if c != 0 {
					sum += s[u][b] * c
				}
			}
			y[u][v] = sum
		}
	}
	return y
}

// A PointTransform maps q x q tiles stored point by point, element
// (a, b) of every tile in one row of values, to p x p ones stored alike,
// X -> L X L^T with a constant L [p, q]: Winograd's minimal filtering
// takes the sums at its points back to tiles of output this way.
type PointTransform struct {
	name string
	l    [][]float32 // L [p][q]
	// avx2 is the assembly loop of the transform; see
	// emitPointTransform in package asmgen.
	avx2 func(n int, dst *float32, dstStride int, src *float32, srcStride int)
}

// WinogradOutput3 and WinogradOutput5 take the points of F(2x2, 3x3) and
// F(2x2, 5x5) to 2x2 tiles of output, A^T M A, on the points of package
// toomcook.
var (
	WinogradOutput3 = newPointTransform("WinogradOutput3", toomcook.OutputTransform(3), winogradOutput3AVX2)
	WinogradOutput5 = newPointTransform("WinogradOutput5", toomcook.OutputTransform(5), winogradOutput5AVX2)
)

// Side returns p, the side of the tiles the transform maps to.
func (t *PointTransform) Side() int { return len(t.l) }

func newPointTransform(name string, l [][]float64, avx2 func(int, *float32, int, *float32, int)) *PointTransform {
	return &PointTransform{name: name, l: float32Matrix(l), avx2: avx2}
}

// Apply maps n tiles: element (a, b) of tile j is src[(a*q+b)*srcStride
// + j], and its point (u, v) goes to dst[(u*p+v)*dstStride + j]; the
// strides must be at least n. The sums round as in Tiles.
func (t *PointTransform) Apply(dst []float32, dstStride int, src []float32, srcStride, n int) {
	if n == 0 {
		return
	}
	p, q := len(t.l), len(t.l[0])
	if n < 0 || srcStride < n || dstStride < n || (q*q-1)*srcStride+n > len(src) || (p*p-1)*dstStride+n > len(dst) {
		panic(fmt.Sprintf("vec: %s of %d tiles from points %d apart in %d to points %d apart in %d",
			t.name, n, srcStride, len(src), dstStride, len(dst)))
	}
	if hasAVX2() && t.avx2 != nil {
		t.avx2(n, &dst[0], dstStride, &src[0], srcStride)
		return
	}
	var x [maxTile][maxTile]float32
	for j := range n {
		for a := range q {
			for b := range q {
				x[a][b] = src[(a*q+b)*srcStride+j]
			}
		}
		y := mapTile(t.l, &x)
		for u := range p {
			for v := range p {
				dst[(u*p+v)*dstStride+j] = y[u][v]
			}
		}
	}
}
