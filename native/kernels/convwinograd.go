package kernels

// Winograd convolution: F(2x2, 3x3) and F(2x2, 5x5), and for the
// gradients of the weights F(3x3, 2x2) and F(5x5, 2x2).
//
// A 2x2 tile of outputs of an r x r correlation reads an n x n tile of
// input, n = r + 1. Winograd's minimal filtering computes it as
//
//	Y = A^T [ (G g G^T) ⊙ (B^T d B) ] A
//
// with n² products per input and output channel instead of 4r²: 2.25
// times fewer multiply-adds for 3x3 kernels, 2.78 times for 5x5. Summed
// over the input channels, the products at each of the n² points are one
// GEMM, U_p [M, C] · V_p [C, tiles]; the transforms of the input tiles
// (B^T d B), of the kernels (G g G^T) and of the sums (A^T Y A) are GEMMs
// too, by the Kronecker products of the 1-D matrices. The 1-D matrices
// come from the Toom-Cook construction on the points 0, 1, -1 (and 2, -2
// for 5x5) and infinity. In float32 the error of F(2x2, 5x5) measured
// about 2.4 times that of the direct sum relative to the sum of the
// magnitudes of the terms (4e-7 against 1.8e-7 over 96 channels), and
// F(2x2, 3x3) about the same as the direct sum.
//
// The gradient of the weights correlates each input channel with each
// output gradient: dw[m][c] at (kh, kw) sums dy[m] at (oy, ox) times
// x[c] at (oy+kh, ox+kw) (less the padding) over the positions and the
// images. Over a 2x2 tile of dy, that is an r x r correlation output of
// an n x n input tile with a 2x2 filter, the tile of dy: F(rxr, 2x2),
// whose input tiles and input transform are those of the forward pass
// (the same points give the same B^T). The products at each point, now
// summed over the tiles, are U_p [M, tiles] · V_p [C, tiles]^T, and the
// output transform turns the n² sums into the r x r kernel.

import (
	"math"

	"github.com/onnxkit/onnxkit/native/linalg"
	"github.com/onnxkit/onnxkit/native/parallel"
)

// winogradTransforms are the Kronecker-product transforms of F(2x2, rxr)
// and F(rxr, 2x2).
type winogradTransforms struct {
	r, n   int
	input  []float32 // [n², n²]: (B^T ⊗ B^T), input tile to points
	kernel []float32 // [n², r²]: (G ⊗ G), kernel to points
	output []float32 // [4, n²]: (A^T ⊗ A^T), points to output tile
	// grad and gradOutput are kernel and output of F(rxr, 2x2): a 2x2
	// tile of the output gradient to points, points to the r x r
	// gradient of the kernel.
	grad       []float32 // [n², 4]
	gradOutput []float32 // [r², n²]
}

// winograd3 and winograd5 are the transforms for 3x3 and 5x5 kernels.
var (
	winograd3 = newWinogradTransforms(3, []float64{0, 1, -1})
	winograd5 = newWinogradTransforms(5, []float64{0, 1, -1, 2, -2})
)

// winogradMatrices returns the 1-D matrices A^T [m, n], G [n, r] and
// B^T [n, n] of F(m, r), n = m+r-1, on the given n-1 finite points and
// infinity, by Toom-Cook: A^T evaluates at the points (row i holds their
// i-th powers; infinity takes the top coefficient), G evaluates the
// kernel scaled by 1/f_j with f_j the product of (a_j - a_l) over the
// other finite points, and row j of B^T holds the coefficients of the
// product of (x - a_l) over the other finite points (over all of them
// for infinity's row).
func winogradMatrices(m, r int, points []float64) (at, g, bt [][]float64) {
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

// kron returns the Kronecker product of a with itself, in float32.
func kron(a [][]float64) []float32 {
	rows, cols := len(a), len(a[0])
	k := make([]float32, rows*rows*cols*cols)
	for i1 := range rows {
		for i2 := range rows {
			for j1 := range cols {
				for j2 := range cols {
					k[(i1*rows+i2)*cols*cols+j1*cols+j2] = float32(a[i1][j1] * a[i2][j2])
				}
			}
		}
	}
	return k
}

func newWinogradTransforms(r int, points []float64) winogradTransforms {
	at, g, bt := winogradMatrices(2, r, points)
	gradAt, gradG, _ := winogradMatrices(r, 2, points) // B^T is bt again
	return winogradTransforms{r: r, n: r + 1, input: kron(bt), kernel: kron(g), output: kron(at),
		grad: kron(gradG), gradOutput: kron(gradAt)}
}

// Winograd pays once the transforms, which cost per tile and channel,
// are shared by enough channels on the other side, and once each
// point's product has enough columns (images times tiles) for the GEMMs
// to run at speed: AlexNet's conv2 at batch 1 (169 tiles) ran about 10%
// faster than through the window.
const (
	winogradMinChannels = 32
	winogradMinColumns  = 128
	// winogradTargetColumns is how many columns (images times tiles) a
	// chunk aims for, and winogradMaxElems caps the point products of a
	// chunk (32 MiB); a chunk holds at least one image.
	winogradTargetColumns = 1024
	winogradMaxElems      = 1 << 23
)

// winogradPlan is the layout of a convolution computed by Winograd.
type winogradPlan struct {
	p      *ConvParams
	gemm   linalg.Blocked
	t      *winogradTransforms
	th, tw int // tiles of 2x2 outputs
	cnt    int // images per chunk
}

// winograd returns the Winograd plan of p, or false when p is not a 3x3
// or 5x5 convolution with unit strides and dilations, has too few
// channels or tiles for Winograd to pay, or the current GEMM is not a
// Blocked one (like the sliding window, Winograd is a path for the fast
// GEMM; with another, convolutions take im2col).
func (p *ConvParams) winograd() (winogradPlan, bool) {
	var t *winogradTransforms
	gemm, blocked := linalg.Current().(linalg.Blocked)
	switch {
	case !blocked || p.StrideH != 1 || p.StrideW != 1 || p.DilationH != 1 || p.DilationW != 1 || p.KH != p.KW:
		return winogradPlan{}, false
	case p.KH == 3:
		t = &winograd3
	case p.KH == 5:
		t = &winograd5
	default:
		return winogradPlan{}, false
	}
	if p.C/p.Group < winogradMinChannels || p.M/p.Group < winogradMinChannels {
		return winogradPlan{}, false
	}
	oh, ow := p.OutSize()
	w := winogradPlan{p: p, gemm: gemm, t: t, th: (oh + 1) / 2, tw: (ow + 1) / 2}
	tiles := w.th * w.tw
	if p.N*tiles < winogradMinColumns {
		return winogradPlan{}, false
	}
	perImage := t.n * t.n * max(p.C, p.M) / p.Group * tiles
	w.cnt = max(1, min(p.N, ceilDiv(winogradTargetColumns, tiles), winogradMaxElems/perImage))
	return w, true
}

// run computes the convolution of x into y chunk by chunk and stores the
// outputs as e says.
func (w *winogradPlan) run(x, wt, y []float32, e slideEpilogue) {
	p, t := w.p, w.t
	cg, mg := p.C/p.Group, p.M/p.Group
	points, tiles := t.n*t.n, w.th*w.tw
	cols := w.cnt * tiles
	u := getBuffer(points * mg * cg)
	defer putBuffer(u)
	d := getBuffer(points * cg * cols)
	defer putBuffer(d)
	v := getBuffer(points * cg * cols)
	defer putBuffer(v)
	prod := getBuffer(points * mg * cols)
	defer putBuffer(prod)
	out := getBuffer(4 * mg * cols)
	defer putBuffer(out)
	rr := t.r * t.r
	serial := w.gemm.Serial()
	// The operands of the products are packed (read through a window
	// instead, the rows of a point's V, cnt*tiles apart, can all fall in
	// one set of the L1 cache: 1014 columns of AlexNet's conv2 are 4056
	// bytes, and that ran 10% slower).
	for g := 0; g < p.Group; g++ {
		// U[p] = (G ⊗ G) · kernel, [M/Group, C/Group] per point.
		w.gemm.Sgemm(false, true, points, mg*cg, rr, 1, t.kernel, rr, wt[g*mg*cg*rr:], rr, 0, u, mg*cg)
		for n0 := 0; n0 < p.N; n0 += w.cnt {
			cnt := min(w.cnt, p.N-n0)
			n := cnt * tiles
			w.transformTiles(x, d, v, n0, cnt, g)
			// The points' products go to the workers whole, rather than
			// each split between them, which at batch 1 syncs 36 times.
			parallel.For(points, 1, func(lo, hi int) {
				for pt := lo; pt < hi; pt++ {
					serial.Sgemm(false, false, mg, n, cg, 1, u[pt*mg*cg:], cg, v[pt*cg*n:], n, 0, prod[pt*mg*n:], n)
				}
			})
			w.gemm.Sgemm(false, false, 4, mg*n, points, 1, t.output, points, prod, mg*n, 0, out, mg*n)
			w.scatter(out[:4*mg*n], y, n0, cnt, g, e)
		}
	}
}

// transformTiles stores in v [n², C/Group, cnt*tiles] the input tiles of
// group g of images [n0, n0+cnt) taken to the points, (B^T ⊗ B^T) d,
// gathering them in d.
func (w *winogradPlan) transformTiles(x, d, v []float32, n0, cnt, g int) {
	points, cg := w.t.n*w.t.n, w.p.C/w.p.Group
	n := cnt * w.th * w.tw
	w.gatherTiles(x, d[:points*cg*n], n0, cnt, g)
	w.gemm.Sgemm(false, false, points, cg*n, points, 1, w.t.input, points, d, cg*n, 0, v, cg*n)
}

// gatherTiles stores the input tiles of group g of images [n0, n0+cnt)
// as d [n², C/Group, cnt*tiles]: d[(a,b)][c][(i,ty,tx)] =
// x[n0+i][g*C/Group+c][2ty+a-PadTop][2tx+b-PadLeft], zero outside. Each
// plane is first copied into a zero-padded one whose even and odd columns
// lie apart, so that the tiles at every point are rows of one half or
// the other, copied whole.
func (w *winogradPlan) gatherTiles(x, d []float32, n0, cnt, g int) {
	p, n := w.p, w.t.n
	cg, hw, tiles := p.C/p.Group, p.H*p.W, w.th*w.tw
	cols := cnt * tiles
	hp, wp := 2*w.th+n-2, 2*w.tw+n-2 // the padded plane the tiles cover
	half := (wp + 1) / 2             // the columns of each half
	parallel.For(cg*cnt, grainFor(n*n*tiles), func(lo, hi int) {
		halves := getBuffer(2 * hp * half) // [even, odd][hp][half]
		defer putBuffer(halves)
		clear(halves)
		even, odd := halves[:hp*half], halves[hp*half:]
		for task := lo; task < hi; task++ {
			c, i := task/cnt, task%cnt
			plane := x[((n0+i)*p.C+g*cg+c)*hw:][:hw]
			for y := 0; y < p.H; y++ {
				py := y + p.PadTop
				if py >= hp {
					break
				}
				src := plane[y*p.W : y*p.W+min(p.W, wp-p.PadLeft)]
				for x, v := range src {
					if px := x + p.PadLeft; px%2 == 0 {
						even[py*half+px/2] = v
					} else {
						odd[py*half+px/2] = v
					}
				}
			}
			for a := 0; a < n; a++ {
				for b := 0; b < n; b++ {
					side := even
					if b%2 == 1 {
						side = odd
					}
					dst := d[((a*n+b)*cg+c)*cols+i*tiles:][:tiles]
					for ty := 0; ty < w.th; ty++ {
						copy(dst[ty*w.tw:(ty+1)*w.tw], side[(2*ty+a)*half+b/2:])
					}
				}
			}
		}
	})
}

// scatter stores the output tiles out [4, M/Group, cnt*tiles] of group g
// of images [n0, n0+cnt) into y as e says, dropping the outputs of the
// last tile row and column that fall outside an odd output size.
func (w *winogradPlan) scatter(out, y []float32, n0, cnt, g int, e slideEpilogue) {
	p := w.p
	oh, ow := p.OutSize()
	mg, tiles := p.M/p.Group, w.th*w.tw
	n := cnt * tiles
	parallel.For(mg*cnt, grainFor(4*tiles), func(lo, hi int) {
		for task := lo; task < hi; task++ {
			m, i := task/cnt, task%cnt
			ch := g*mg + m
			plane := y[((n0+i)*p.M+ch)*oh*ow:][:oh*ow]
			for q := 0; q < 4; q++ {
				dy, dx := q/2, q%2
				src := out[(q*mg+m)*n+i*tiles:][:tiles]
				for ty := 0; ty < w.th; ty++ {
					oy := 2*ty + dy
					if oy >= oh {
						break
					}
					cols := (ow - dx + 1) / 2 // tiles whose output column 2tx+dx is inside
					row := src[ty*w.tw:][:cols]
					e.storeStrided(plane[oy*ow+dx:], row, ch)
				}
			}
		}
	})
}

// storeStrided stores src[j] into dst[2j] as e says, for channel ch.
func (e *slideEpilogue) storeStrided(dst, src []float32, ch int) {
	dst = dst[:2*len(src)-1]
	bias := biasOf(e.bias, ch)
	switch {
	case e.accumulate:
		for j, v := range src {
			dst[2*j] += v
		}
	case e.relu:
		for j, v := range src {
			dst[2*j] = max(v+bias, 0)
		}
	default:
		for j, v := range src {
			dst[2*j] = v + bias
		}
	}
}

// backwardFilter adds the gradient of the loss with respect to the
// weights to dw, given the output gradient dy, by F(rxr, 2x2) (see the
// comment at the top of the file): chunk by chunk, the input tiles and
// the tiles of dy go to the points, each point's product sums over the
// chunk's tiles into its n² sums, and once all chunks are in, the output
// transform turns the sums into the kernels.
func (w *winogradPlan) backwardFilter(x, dy, dw []float32) {
	p, t := w.p, w.t
	cg, mg := p.C/p.Group, p.M/p.Group
	points, tiles, rr := t.n*t.n, w.th*w.tw, t.r*t.r
	cols := w.cnt * tiles
	d := getBuffer(points * cg * cols)
	defer putBuffer(d)
	v := getBuffer(points * cg * cols)
	defer putBuffer(v)
	dyTiles := getBuffer(4 * mg * cols)
	defer putBuffer(dyTiles)
	u := getBuffer(points * mg * cols)
	defer putBuffer(u)
	sums := getBuffer(points * mg * cg)
	defer putBuffer(sums)
	serial := w.gemm.Serial()
	for g := 0; g < p.Group; g++ {
		for n0 := 0; n0 < p.N; n0 += w.cnt {
			cnt := min(w.cnt, p.N-n0)
			n := cnt * tiles
			w.transformTiles(x, d, v, n0, cnt, g)
			w.gatherGradientTiles(dy, dyTiles[:4*mg*n], n0, cnt, g)
			w.gemm.Sgemm(false, false, points, mg*n, 4, 1, t.grad, 4, dyTiles, mg*n, 0, u, mg*n)
			beta := float32(1)
			if n0 == 0 {
				beta = 0
			}
			parallel.For(points, 1, func(lo, hi int) {
				for pt := lo; pt < hi; pt++ {
					serial.Sgemm(false, true, mg, cg, n, 1, u[pt*mg*n:], n, v[pt*cg*n:], n, beta, sums[pt*mg*cg:], cg)
				}
			})
		}
		// dw[g*mg+m][c][k] += sum over points of sums[point][m][c] times
		// the output transform's [k][point]: the transform written
		// transposed, straight into the kernels.
		w.gemm.Sgemm(true, true, mg*cg, rr, points, 1, sums, mg*cg, t.gradOutput, points, 1, dw[g*mg*cg*rr:], rr)
	}
}

// gatherGradientTiles stores the 2x2 tiles of the output gradient of
// group g of images [n0, n0+cnt) as dyTiles [4, M/Group, cnt*tiles]:
// dyTiles[(a,b)][m][(i,ty,tx)] = dy[n0+i][g*M/Group+m][2ty+a][2tx+b],
// zero past an odd output size.
func (w *winogradPlan) gatherGradientTiles(dy, dyTiles []float32, n0, cnt, g int) {
	p := w.p
	oh, ow := p.OutSize()
	mg, tiles := p.M/p.Group, w.th*w.tw
	cols := cnt * tiles
	parallel.For(mg*cnt, grainFor(4*tiles), func(lo, hi int) {
		for task := lo; task < hi; task++ {
			m, i := task/cnt, task%cnt
			plane := dy[((n0+i)*p.M+g*mg+m)*oh*ow:][:oh*ow]
			for q := 0; q < 4; q++ {
				a, b := q/2, q%2
				dst := dyTiles[(q*mg+m)*cols+i*tiles:][:tiles]
				for ty := 0; ty < w.th; ty++ {
					row := dst[ty*w.tw : (ty+1)*w.tw]
					oy := 2*ty + a
					if oy >= oh {
						clear(row)
						continue
					}
					src := plane[oy*ow : (oy+1)*ow]
					for tx := range row {
						row[tx] = 0
						if ox := 2*tx + b; ox < ow {
							row[tx] = src[ox]
						}
					}
				}
			}
		}
	})
}
