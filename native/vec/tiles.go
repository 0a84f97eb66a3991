package vec

import (
	"fmt"

	"github.com/onnxkit/onnxkit/native/internal/toomcook"
)

// A TileTransform maps q x q tiles X to p x p ones, X -> L X L^T with a
// constant L [p, q]: Winograd's minimal filtering takes the tiles of its
// input, and those of an output gradient, to its points this way. The
// tiles of a row begin step columns apart (the side of the tiles of
// output), and Tiles reads them from the plane split into step phases of
// columns.
type TileTransform struct {
	name string
	l    [][]float32 // L [p][q]
	step int
	// avx2 is the assembly loop of the transform; see emitTileTransform
	// in package asmgen.
	avx2 func(n int, dst *float32, pointStride int, phases *float32, phaseStride, rowStride int, spill bool)
}

// The tile transforms of the engine's Winograd convolutions, on the
// points of package toomcook: WinogradInput3 and WinogradInput5 take
// (r+1) x (r+1) tiles of input, two columns apart, to the points of
// F(2x2, 3x3) and F(2x2, 5x5), B^T d B; WinogradInput4x3 takes 6x6
// tiles four columns apart to those of F(4x4, 3x3); WinogradGradient3 and WinogradGradient5 take 2x2 tiles
// of an output gradient to those of F(3x3, 2x2) and F(5x5, 2x2),
// G dy G^T, for the gradients of the kernels.
var (
	WinogradInput3    = newTileTransform("WinogradInput3", toomcook.InputTransform(2, 3), 2, winogradInput3AVX2)
	WinogradInput5    = newTileTransform("WinogradInput5", toomcook.InputTransform(2, 5), 2, winogradInput5AVX2)
	WinogradInput4x3  = newTileTransform("WinogradInput4x3", toomcook.InputTransform(4, 3), 4, winogradInput4x3AVX2)
	WinogradGradient3 = newTileTransform("WinogradGradient3", toomcook.GradientTransform(3), 2, winogradGradient3AVX2)
	WinogradGradient5 = newTileTransform("WinogradGradient5", toomcook.GradientTransform(5), 2, winogradGradient5AVX2)
)

func newTileTransform(name string, l [][]float64, step int, avx2 func(int, *float32, int, *float32, int, int, bool)) *TileTransform {
	return &TileTransform{name: name, l: float32Matrix(l), step: step, avx2: avx2}
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

// Step returns how many columns apart the tiles of a row begin: the
// number of phases Tiles reads them from.
func (t *TileTransform) Step() int { return t.step }

// Tiles maps a row of tiles read from a plane split into s = Step()
// phases of its columns, phase k (the columns k, k+s, k+2s ...) at
// phases[k*phaseStride:], so that tiles s columns apart lie one element
// apart: tile j's element (a, b) is phases[(b%s)*phaseStride +
// a*rowStride + j + b/s]. Its point (u, v) goes to dst[(u*p+v)*pointStride
// + j]; pointStride must be at least tiles.
//
// With spill, a row of fewer than SpillWidth tiles may be stored as
// SpillWidth, so that dst[(u*p+v)*pointStride + j] for tiles <= j <
// SpillWidth holds anything afterwards: for a caller that writes there
// later (the CPU's masked stores are slow); pointStride must then be at
// least SpillWidth.
//
// The sums round as the loop of the CPU does (in assembly with fused
// multiply-adds), within a few float32 roundoffs of the exact transform.
func (t *TileTransform) Tiles(dst []float32, pointStride int, phases []float32, phaseStride, rowStride, tiles int, spill bool) {
	if tiles == 0 {
		return
	}
	p, q, s := len(t.l), len(t.l[0]), t.step
	reach := 0 // the furthest element read, past the last tile's row
	for b := range q {
		reach = max(reach, (b%s)*phaseStride+b/s)
	}
	reach += (q-1)*rowStride + tiles - 1
	stored := tiles
	if spill {
		stored = max(tiles, SpillWidth)
	}
	if tiles < 0 || pointStride < stored || rowStride < 0 || phaseStride < 0 || reach >= len(phases) ||
		(p*p-1)*pointStride+stored > len(dst) {
		panic(fmt.Sprintf("vec: %s of %d tiles (spill %v), %d rows apart in %d phases %d apart in %d, to points %d apart in %d",
			t.name, tiles, spill, rowStride, s, phaseStride, len(phases), pointStride, len(dst)))
	}
	if hasAVX2() && t.avx2 != nil {
		t.avx2(tiles, &dst[0], pointStride, &phases[0], phaseStride, rowStride, spill)
		return
	}
	t.tilesGo(dst, pointStride, phases, phaseStride, rowStride, tiles)
}

// SpillWidth is how many tiles a row of fewer may be stored as when
// Tiles may spill: the lanes of a vector.
const SpillWidth = 8

// maxTile is the largest side of a tile a transform maps from or to.
const maxTile = 6

// tilesGo is Tiles in Go, one tile at a time.
func (t *TileTransform) tilesGo(dst []float32, pointStride int, phases []float32, phaseStride, rowStride, tiles int) {
	p, q, s := len(t.l), len(t.l[0]), t.step
	var x [maxTile][maxTile]float32
	for j := range tiles {
		for a := range q {
			for b := range q {
				x[a][b] = phases[(b%s)*phaseStride+a*rowStride+j+b/s]
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
	// avx2 and avx512 are the assembly loops of the transform; see
	// emitPointTransform in package asmgen. On Zen 5 the AVX-512 ones
	// took 0.7-0.85 of the time of the AVX2 ones at ResNet-18's planes
	// (BenchmarkTileTransforms).
	avx2, avx512 pointLoop
}

// pointLoop is the signature of PointTransform's assembly loops.
type pointLoop = func(n int, dst *float32, dstStride int, src *float32, srcStride int)

// WinogradOutput3, WinogradOutput5 and WinogradOutput4x3 take the points
// of F(2x2, 3x3), F(2x2, 5x5) and F(4x4, 3x3) to 2x2 and 4x4 tiles of
// output, A^T M A, on the points of package toomcook.
var (
	WinogradOutput3   = newPointTransform("WinogradOutput3", toomcook.OutputTransform(2, 3), winogradOutput3AVX2, winogradOutput3AVX512)
	WinogradOutput5   = newPointTransform("WinogradOutput5", toomcook.OutputTransform(2, 5), winogradOutput5AVX2, winogradOutput5AVX512)
	WinogradOutput4x3 = newPointTransform("WinogradOutput4x3", toomcook.OutputTransform(4, 3), winogradOutput4x3AVX2, winogradOutput4x3AVX512)
)

// Side returns p, the side of the tiles the transform maps to.
func (t *PointTransform) Side() int { return len(t.l) }

func newPointTransform(name string, l [][]float64, avx2, avx512 pointLoop) *PointTransform {
	return &PointTransform{name: name, l: float32Matrix(l), avx2: avx2, avx512: avx512}
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
	switch {
	case hasAVX512() && t.avx512 != nil:
		t.avx512(n, &dst[0], dstStride, &src[0], srcStride)
		return
	case hasAVX2() && t.avx2 != nil:
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
