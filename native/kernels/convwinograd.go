package kernels

// Winograd convolution: F(2x2, 3x3), F(4x4, 3x3) and F(2x2, 5x5), and
// for the gradients of the weights F(3x3, 2x2) and F(5x5, 2x2).
//
// An m x m tile of outputs of an r x r correlation reads an n x n tile
// of input, n = m + r - 1. Winograd's minimal filtering computes it as
//
//	Y = A^T [ (G g G^T) ⊙ (B^T d B) ] A
//
// with n² products per input and output channel instead of m²r²: 2.25
// times fewer multiply-adds for F(2x2, 3x3), 4 times for F(4x4, 3x3),
// 2.78 times for F(2x2, 5x5). Summed
// over the input channels, the products at each of the n² points are one
// GEMM, U_p [M, C] · V_p [C, tiles]. The input tiles go to the points
// (B^T d B) and the sums back to tiles of output (A^T Y A) through
// package vec's separable loops, eight tiles at a time; the kernels
// (G g G^T), once a call or once a plan, through a GEMM by the
// Kronecker product of G with itself. The 1-D matrices come from the
// Toom-Cook construction (package toomcook) on the points 0, 1, -1 (and
// 2, -2 for F(2x2, 5x5), 1/2, -2 for F(4x4, 3x3)) and infinity. In
// float32 the error of F(2x2, 5x5) measured about 2.4 times that of the
// direct sum relative to the sum of the magnitudes of the terms (4e-7
// against 1.8e-7 over 96 channels), F(2x2, 3x3) about the same as the
// direct sum, and F(4x4, 3x3) 10-67 times the roundoff of the sum of the
// magnitudes over 32-64 channels (see winograd4x3Ulps).
//
// The gradient of the weights correlates each input channel with each
// output gradient: dw[m][c] at (kh, kw) sums dy[m] at (oy, ox) times
// x[c] at (oy+kh, ox+kw) (less the padding) over the positions and the
// images. Over a 2x2 tile of dy, that is an r x r correlation output of
// an n x n input tile with a 2x2 filter, the tile of dy: F(rxr, 2x2),
// whose input tiles and input transform are those of the forward pass
// (the same points give the same B^T). The products at each point, now
// summed over the tiles, are U_p [M, tiles] · V_p [C, tiles]^T, and the
// output transform (a GEMM by its Kronecker product, once a call) turns
// the n² sums into the r x r kernel.

import (
	"fmt"
	"strconv"

	"github.com/onnxkit/onnxkit/native/internal/toomcook"
	"github.com/onnxkit/onnxkit/native/linalg"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/vec"
)

// winogradTransforms are the transforms of F(mxm, rxr) and, for m = 2,
// of F(rxr, 2x2): the tiles of input and of the output gradient go to
// the points through package vec's separable loops, the kernels and the
// sums of the points through GEMMs by the Kronecker products of the 1-D
// matrices.
type winogradTransforms struct {
	m, r, n int
	input   *vec.TileTransform // B^T d B, an input tile to points
	// grad takes a 2x2 tile of the output gradient to the points of
	// F(rxr, 2x2), G dy G^T; nil when m is not 2 (the weights' gradient
	// then takes another algorithm).
	grad *vec.TileTransform
	// output takes the sums at the points to an m x m tile of output,
	// A^T M A.
	output *vec.PointTransform
	kernel []float32 // [n², r²]: (G ⊗ G), kernel to points
	// gradOutput is the output transform of F(rxr, 2x2), points to the
	// r x r gradient of the kernel (nil with grad).
	gradOutput []float32 // [r², n²]
}

// winograd3, winograd4x3 and winograd5 are the transforms of F(2x2,
// 3x3), F(4x4, 3x3) and F(2x2, 5x5).
var (
	winograd3   = newWinogradTransforms(2, 3, vec.WinogradInput3, vec.WinogradGradient3, vec.WinogradOutput3)
	winograd4x3 = newWinogradTransforms(4, 3, vec.WinogradInput4x3, nil, vec.WinogradOutput4x3)
	winograd5   = newWinogradTransforms(2, 5, vec.WinogradInput5, vec.WinogradGradient5, vec.WinogradOutput5)
)

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

func newWinogradTransforms(m, r int, input, grad *vec.TileTransform, output *vec.PointTransform) winogradTransforms {
	n := m + r - 1
	_, g, _ := toomcook.Matrices(m, r, toomcook.PointsFor(m, r))
	t := winogradTransforms{m: m, r: r, n: n, input: input, grad: grad, output: output, kernel: kron(g)}
	if grad != nil {
		gradAt, _, _ := toomcook.Matrices(r, 2, toomcook.Points(n-1))
		t.gradOutput = kron(gradAt)
	}
	return t
}

// Winograd pays once the transforms, which cost per tile and channel,
// are shared by enough channels on the other side (winogradMinShare),
// and once each point's product has enough columns (images times tiles)
// for the GEMMs to run at speed: AlexNet's conv2 at batch 1 (169 tiles)
// ran about 10% faster than through the window.
//
// Wide convolutions pay with fewer columns: their point products, with
// hundreds of rows and of sums, run at speed on two panels of columns,
// and each image's product through the window is only as wide as its
// positions. Forward passes with prepared weights, window read as A
// against Winograd, CPU time on one thread, best of 8 interleaved rounds
// on a loaded machine: ResNet's 3x3 256->256 at 14x14 (49 tiles) 1.15-1.24x
// faster at batch 1 and 1.40x at batch 2, 512->512 at 7x7 1.40x at batch 2
// (32 tiles) and 1.54x at batch 4, AlexNet's (torchvision's, padded)
// conv3-5 at 13x13 1.04-1.14x at batch 1; with 16 tiles (512->512 at
// 7x7, batch 1) 1.01-1.09x, not worth the larger prepared weights, and
// with fewer channels (GoogLeNet's 128->256 at 14x14: 0.95-1.04x,
// SqueezeNet's 64->256 at 13x13: 0.77-0.89x) no gain. Backward passes
// (dX by the adjoint, dW by F(3x3, 2x2)) do not pay so: dX and dW
// together, Winograd against im2col, 7.2 against 6.0 ms for 256->256 at
// 14x14 at batch 1, 21.8 against 12.2 ms for 512->512 at 7x7 at batch 2.
//
// F(4x4, 3x3), tried first, takes the same rule on its own tiles, a
// quarter as many, but for wide convolutions, which take it only with
// winogradMinColumns columns too (256->256 at 14x14 at batch 2, 32 of
// its tiles: 3204 against 3129us for F(2x2, 3x3)): against F(2x2, 3x3), forward with prepared weights,
// CPU time, best of 3-5 on a loaded machine, it took ResNet's 64->64 at
// 56x56 (196 tiles) 1290 against 1711us, DenseNet's 128->32 at 56x56
// 1502 against 2043us, 128->128 at 28x28 10.2 against 12.2 ms at batch 8
// (392 tiles) and 256->256 at 14x14 11.1 against 11.6 ms at batch 8 (128
// tiles); with fewer tiles, where the rule leaves it, 1430 against 1438us
// (128->128 at 28x28, 49 tiles) and 2140 against 1683us (256->256 at
// 14x14, 16 tiles) at batch 1.
const (
	winogradMinChannels = 32
	// winograd4x3MinInputChannels is F(4x4, 3x3)'s bound on the input
	// channels, whose transforms cost it less per output: SqueezeNet's
	// expand 3x3, 16->64 at 55x55, took 577 against 676us through the
	// window at batch 1 and 5.6 against 6.2 ms at batch 8 (CPU time, best
	// of 5 on a loaded machine), where F(2x2, 3x3) took as long as the
	// window.
	winograd4x3MinInputChannels = 16
	// winograd4x3MinUseful is the least share of the outputs F(4x4, 3x3)'s
	// tiles compute that must fall inside the output: at 13x13 (169 of
	// 256) SqueezeNet's 48->192 at batch 8 took 2942us against 2182 by
	// F(2x2, 3x3) and 2379 through the window; at 14x14 (196 of 256)
	// ResNet's 256->256 at batch 8 took 11.1 against 11.6 ms.
	winograd4x3MinUseful = 0.75
	winogradMinColumns   = 128
	// winogradMinShare bounds from below the square of the channels that
	// share each transform, cg*mg/(cg+mg) for cg in and mg out (half their
	// harmonic mean), times the output positions of an image, for 3x3
	// kernels: a transform's cost per tile and channel is paid back by the
	// products' savings in proportion to the channels on the other side, and
	// the fixed costs of each plane by its positions. Forward passes with
	// prepared weights (in cache; with the weights read from memory, as in a
	// network, the window's lead below the bound grows;
	// BenchmarkConvZooKxK), CPU time on one thread, best of 5-8 over two
	// rounds on a loaded machine, Winograd's better form against the window
	// read as A, with the share over the bound: below it, GoogLeNet's 16->32
	// at 28x28 (0.24) took 842-935 against 633-654us at batch 8, 16->48 at
	// 14x14 (0.07) 406-544 against 240-243us, 32->64 at 14x14 (0.23) 752-874
	// against 585, 48->128 at 7x7 (0.16) 565-669 against 441-460, DenseNet's
	// 128->32 at 7x7 (0.08) 464-566 against 346-357us and at 14x14 (0.34)
	// 1218-1363 against 1223-1236us, SqueezeNet's 48->192 at 13x13 (0.66)
	// 2307-2951 against 2242-2248us; above it, SqueezeNet's 64->256 at 13x13
	// (1.17) 3538-3863 against 3886-3955us, GoogLeNet's 32->96 at 28x28
	// (1.19) 2840-3172 against 3442-3503us, DenseNet's 128->32 at 28x28
	// (1.26) 4681-4740 against 5079-5106us, SqueezeNet's 16->64 at 55x55
	// (1.30) 544-580 against 586-602us at batch 1 and 5202-5307 against
	// 5057-5187 at batch 8, GoogLeNet's 160->320 at 7x7 (1.47) 3059-3107
	// against 3391-3418us at batch 8.
	winogradMinShare = 22 * 22 * 28 * 28
	// winogradMinShared bounds from below the share cg*mg/(cg+mg) itself,
	// whatever the plane, for 3x3 kernels: the transforms cost per tile
	// (cg+mg) times what the products save per tile in cg*mg, and they
	// read and write memory where the products compute in registers, so
	// that on two threads, each transform's data crossing between the
	// cores, the layers of few channels on one side gained little or
	// nothing. Zen 5, forward passes with cold prepared weights
	// (BenchmarkConvZooKxK), 1 and 2 threads, window read as A against
	// the Winograd form chosen before: below it, SqueezeNet's 16->64 at
	// 55x55 (12.8) 325/216 against 365/354us at batch 1 and 2828/1696
	// against 4189/2767 at batch 8, 32->128 at 27x27 (25.6) 317/230
	// against 386/304 and 2580/1565 against 2943/1913, GoogLeNet's 32->96
	// at 28x28 (24) 244/183 against 223/213 and 2047/1146 against
	// 2117/1370, DenseNet's 128->32 at 28x28 (25.6) 335/229 against
	// 410/334 and 2703/1519 against 2932/1713 and at 56x56 1321/734
	// against 1030/728 and 11001/5944 against 11062/8066; above it,
	// ResNet's 64->64 at 56x56 (32) 1233/709 against 866/613 at batch 1,
	// GoogLeNet's 96->128 at 28x28 (54.9) 948/541 against 823/402 and
	// 7398/4110 against 4943/2734.
	winogradMinShared = 28
	// winogradWideChannels is the number of channels in and out from
	// which winogradWideMinColumns columns pay.
	winogradWideChannels   = 256
	winogradWideMinColumns = 32
	// winogradTargetColumns is how many columns (images times tiles) a
	// chunk aims for, and winogradMaxElems caps the point products of a
	// chunk (32 MiB); a chunk holds at least one image.
	winogradTargetColumns = 1024
	winogradMaxElems      = 1 << 23
)

// winogradPlan is the layout of a convolution computed by Winograd.
type winogradPlan struct {
	p      *ConvParams
	gemm   linalg.Gemm
	t      *winogradTransforms
	th, tw int // tiles of m x m outputs
	cnt    int // images per chunk
	// wide says that the plan pays only as a wide convolution, which
	// was measured on forward passes (see winogradWideChannels).
	wide bool
	// u, when not nil, holds the kernels taken to the points, group
	// after group (transformAll), which run then takes instead of
	// transforming them.
	u []float32
}

// transformKernels stores in u, [n², M/Group, C/Group], the kernels of
// group g of the weights wt taken to the points: U[p] = (G ⊗ G) · kernel.
func (w *winogradPlan) transformKernels(wt []float32, g int, u []float32) {
	p, t := w.p, w.t
	cg, mg, rr := p.C/p.Group, p.M/p.Group, t.r*t.r
	w.gemm.Sgemm(false, true, t.n*t.n, mg*cg, rr, 1, t.kernel, rr, wt[g*mg*cg*rr:], rr, 0, u, mg*cg)
}

// transformAll returns the kernels of every group taken to the points,
// as run transforms them.
func (w *winogradPlan) transformAll(wt []float32) []float32 {
	p := w.p
	n := w.t.n * w.t.n * (p.M / p.Group) * (p.C / p.Group)
	u := make([]float32, p.Group*n)
	for g := range p.Group {
		w.transformKernels(wt, g, u[g*n:(g+1)*n])
	}
	return u
}

// winograd returns the Winograd plan of p with the transforms t, or why
// it cannot compute p (a t.r×t.r kernel with unit strides and dilations),
// and whether it pays: enough channels and tiles (fewer tiles for wide
// convolutions), and a PackedGemm (like
// the windows, Winograd is a path for the fast GEMM; with another,
// convolutions take im2col unless forced).
func (p *ConvParams) winograd(t *winogradTransforms, gemm linalg.Gemm) (w winogradPlan, cannot string, pays bool) {
	r := t.r
	switch {
	case p.StrideH != 1 || p.StrideW != 1:
		return w, "strides not 1", false
	case p.DilationH != 1 || p.DilationW != 1:
		return w, "dilations not 1", false
	case p.KH != r || p.KW != r:
		return w, fmt.Sprintf("kernel %dx%d, not %dx%d", p.KH, p.KW, r, r), false
	}
	oh, ow := p.OutSize()
	w = winogradPlan{p: p, gemm: gemm, t: t, th: ceilDiv(oh, t.m), tw: ceilDiv(ow, t.m)}
	tiles := w.th * w.tw
	perImage := t.n * t.n * max(p.C, p.M) / p.Group * tiles
	w.cnt = max(1, min(p.N, ceilDiv(winogradTargetColumns, tiles), winogradMaxElems/perImage))
	_, packs := gemm.(linalg.PackedGemm)
	cg, mg := p.C/p.Group, p.M/p.Group
	columns := p.N*tiles >= winogradMinColumns
	w.wide = !columns && t.m == 2 && cg >= winogradWideChannels && mg >= winogradWideChannels && p.N*tiles >= winogradWideMinColumns
	minIn, covers := winogradMinChannels, true
	if t.m == 4 {
		minIn = winograd4x3MinInputChannels
		covers = float64(oh*ow) >= winograd4x3MinUseful*float64(tiles*t.m*t.m)
	}
	shared := float64(cg*mg) / float64(cg+mg)
	shares := r != 3 || shared >= winogradMinShared && shared*shared*float64(oh*ow) >= winogradMinShare
	pays = packs && cg >= minIn && mg >= winogradMinChannels && covers && shares && (columns || w.wide)
	return w, "", pays
}

// run computes the convolution of x into y chunk by chunk and stores the
// outputs as e says.
func (w *winogradPlan) run(x, wt, y []float32, e slideEpilogue) {
	p, t := w.p, w.t
	cg, mg := p.C/p.Group, p.M/p.Group
	points, tiles := t.n*t.n, w.th*w.tw
	cols := w.cnt * tiles
	var u []float32
	if w.u == nil {
		u = getBuffer(points * mg * cg)
		defer putBuffer(u)
	}
	v := getBuffer(points * pointsApart(cg, cols))
	defer putBuffer(v)
	prod := getBuffer(points * pointsApart(mg, cols))
	defer putBuffer(prod)
	serial := linalg.Serial(w.gemm)
	// The operands of the products are packed (read through a window
	// instead, the rows of a point's V, cnt*tiles apart, can all fall in
	// one set of the L1 cache: 1014 columns of AlexNet's conv2 are 4056
	// bytes, and that ran 10% slower). The GEMM packs V itself: written
	// by the input transform straight into its panels of B
	// (SgemmPackedB, with the panels of the kernel Sgemm takes), which
	// spared that copy (6.7-10% of ResNet-18's 64->64@56 and 5-9% of
	// DenseNet's 128->32@56 in CPU profiles), the forward passes took
	// 2-11% more CPU time (one thread, batch 1, 8 rounds interleaved on
	// a loaded machine, medians: 1251 against 1231us, 1488 against 1440,
	// SqueezeNet's 16->64@55 551 against 495): the rows of tiles split
	// at the panels' edges into more vector blocks, some masked (the
	// transform's share 9.7 -> 13.5% and 15 -> 24%), and the
	// micro-kernel, reading V from L3 rather than freshly packed, took
	// 11-17% longer. Panels one row deeper, so as not to lie a multiple
	// of 4 KiB apart, did not help.
	for g := 0; g < p.Group; g++ {
		// U[p] = (G ⊗ G) · kernel, [M/Group, C/Group] per point.
		if w.u != nil {
			u = w.u[g*points*mg*cg : (g+1)*points*mg*cg]
		} else {
			w.transformKernels(wt, g, u)
		}
		for n0 := 0; n0 < p.N; n0 += w.cnt {
			cnt := min(w.cnt, p.N-n0)
			n := cnt * tiles
			w.transformTiles(x, v, n0, cnt, g)
			// The points' products go to the workers whole, rather than
			// each split between them, which at batch 1 syncs 36 times.
			pr := pointProducts.Get()
			*pr = pointProduct{serial: serial, u: u, v: v, prod: prod, mg: mg, n: n, cg: cg}
			parallel.Run(points, 1, pr)
			pointProducts.Put(pr)
			w.scatter(prod, y, n0, cnt, g, e)
		}
	}
}

// pointProduct is run's loop over the points' products U·V into prod,
// an item a point.
type pointProduct struct {
	serial     linalg.Gemm
	u, v, prod []float32
	mg, n, cg  int
}

var pointProducts parallel.Tasks[pointProduct]

func (r *pointProduct) Range(lo, hi int) {
	mg, n, cg := r.mg, r.n, r.cg
	for pt := lo; pt < hi; pt++ {
		r.serial.Sgemm(false, false, mg, n, cg, 1, r.u[pt*mg*cg:], cg, r.v[pt*pointsApart(cg, n):], n, 0, r.prod[pt*pointsApart(mg, n):], n)
	}
}

// pointsApart returns how far apart the matrices of the points, rows x
// cols each, lie in a buffer: a cache line further than their size, so
// that the rows a tile transform writes together, one a point, do not
// all map to the same cache set, as they would with a size a multiple
// of 4 KiB (AlexNet's conv2: 96 channels of 1024 columns, whose tiles
// then took 35 ns each to transform against 25-30).
func pointsApart(rows, cols int) int { return rows*cols + 16 }

// transformTiles stores in v [n², C/Group, cnt*tiles] (the points
// pointsApart) the input tiles of group g of images [n0, n0+cnt) taken
// to the points, B^T d B: tile (i, ty, tx) of channel c reads
// x[n0+i][g*C/Group+c] at rows m*ty-PadTop ... and columns m*tx-PadLeft
// ..., n of each, zero outside.
// Each plane is first copied into a zero-padded one whose m phases of
// columns (the columns equal modulo m) lie apart, where the tiles of a
// row, m columns apart, are consecutive, as vec's transforms read them.
func (w *winogradPlan) transformTiles(x, v []float32, n0, cnt, g int) {
	n := w.t.n
	t := tileTasks.Get()
	*t = tileTask{w: w, x: x, v: v, n0: n0, cnt: cnt, g: g}
	parallel.Run(w.p.C/w.p.Group*cnt, grainFor(n*n*w.th*w.tw), t)
	tileTasks.Put(t)
}

// tileTask is transformTiles' loop: item task is image n0+task%cnt of
// channel task/cnt.
type tileTask struct {
	w          *winogradPlan
	x, v       []float32
	n0, cnt, g int
}

var tileTasks parallel.Tasks[tileTask]

func (tt *tileTask) Range(lo, hi int) {
	w, x, v, cnt := tt.w, tt.x, tt.v, tt.cnt
	p, n, m := w.p, w.t.n, w.t.m
	cg, tiles := p.C/p.Group, w.th*w.tw
	cols := cnt * tiles
	hp, wp := m*w.th+n-m, m*w.tw+n-m    // the padded plane the tiles cover
	width := ceilDiv(wp, m)             // the columns of each phase
	phases := getBuffer(m * hp * width) // [m][hp][width]
	defer putBuffer(phases)
	clear(phases)
	for task := lo; task < hi; task++ {
		c, i := task/cnt, task%cnt
		plane := x[((tt.n0+i)*p.C+tt.g*cg+c)*p.H*p.W:][:p.H*p.W]
		splitPhases(phases, m, hp, width, plane, p.H, p.W, p.PadTop, p.PadLeft)
		for ty := 0; ty < w.th; ty++ {
			w.t.input.Tiles(v[c*cols+i*tiles+ty*w.tw:], pointsApart(cg, cols), phases[m*ty*width:], hp*width, width, w.tw,
				spills(task*tiles+ty*w.tw, hi*tiles))
		}
	}
}

// spills says whether the row of tiles at column at of the points'
// matrices may spill (see vec.TileTransform.Tiles) in a task of a range
// whose columns end at end: the range's tasks' columns are consecutive
// and written in order by one worker, so what a row stores past its
// tiles is written again afterwards if it falls before end.
func spills(at, end int) bool { return at+vec.SpillWidth <= end }

// splitPhases copies the h x w plane into the m phases (m 2 or 4) of a
// larger plane, [m][rows][width] in dst: its element (y, x) goes to
// (y+top, x+left), and column X of the larger plane to phase X%m at X/m;
// what falls past the phases is dropped, and what the plane does not
// cover is left as it is. Each row is split straight into the phases
// in one pass, by vec.Deinterleave for two, vec.Deinterleave4 for four:
// column x of the plane lies in phase (x%m+left)%m at x/m + (x%m+left)/m.
func splitPhases(dst []float32, m, rows, width int, plane []float32, h, w, top, left int) {
	n := max(0, min(w, m*width-left))
	// at[s] is where the plane's columns s, s+m, s+2m ... go from in row
	// 0 of their phase, skip[s] how far that is into the row.
	var at, skip [4]int
	for s := range m {
		skip[s] = (s + left) / m
		at[s] = (s+left)%m*rows*width + skip[s]
	}
	phase := func(s, row int) []float32 { return dst[at[s]+row:][:width-skip[s]] }
	for y := 0; y < h && y+top < rows; y++ {
		src, row := plane[y*w:y*w+n], (y+top)*width
		switch m {
		case 2:
			vec.Deinterleave(phase(0, row), phase(1, row), src)
		case 4:
			vec.Deinterleave4(phase(0, row), phase(1, row), phase(2, row), phase(3, row), src)
		default:
			panic("kernels: splitPhases into " + strconv.Itoa(m) + " phases")
		}
	}
}

// scatter takes the sums at the points prod [n², M/Group, cnt*tiles]
// (the points pointsApart) of group g of images [n0, n0+cnt) to tiles of
// output, A^T M A, a plane at a time, and stores these into y as e says,
// a row of outputs at a time from the m of a tile row's outputs that
// alternate along it (vec.Interleave, vec.Interleave4 for m = 4), dropping the
// outputs of the last tile row and column that fall outside the output. A plane's
// tiles stay in a worker's cache between the two steps (taken as two
// loops over all planes, they went through memory and a barrier).
func (w *winogradPlan) scatter(prod, y []float32, n0, cnt, g int, e slideEpilogue) {
	t := scatterTasks.Get()
	*t = scatterTask{w: w, prod: prod, y: y, n0: n0, cnt: cnt, g: g, e: e}
	parallel.Run(w.p.M/w.p.Group*cnt, grainFor(w.t.n*w.t.n*w.th*w.tw), t)
	scatterTasks.Put(t)
}

// scatterTask is scatter's loop: item task is image n0+task%cnt of
// channel task/cnt of the group.
type scatterTask struct {
	w          *winogradPlan
	prod, y    []float32
	n0, cnt, g int
	e          slideEpilogue
}

var scatterTasks parallel.Tasks[scatterTask]

func (st *scatterTask) Range(lo, hi int) {
	w, cnt := st.w, st.cnt
	p := w.p
	oh, ow := p.OutSize()
	mg, tiles, side := p.M/p.Group, w.th*w.tw, w.t.m
	n := cnt * tiles
	out := getBuffer(side * side * tiles) // [side², tiles]: the output tiles of a plane
	defer putBuffer(out)
	relu, accumulate := st.e.storeRelu(), st.e.accumulate
	for task := lo; task < hi; task++ {
		m, i := task/cnt, task%cnt
		w.t.output.Apply(out, tiles, st.prod[m*n+i*tiles:], pointsApart(mg, n), tiles)
		ch := st.g*mg + m
		plane := st.y[st.e.at(((st.n0+i)*p.M+ch)*oh*ow):][:oh*ow]
		bias := biasOf(st.e.bias, ch)
		for oy := range oh {
			ty, dy := oy/side, oy%side
			// column v of the tiles of row ty at their row dy
			cols := out[side*dy*tiles+ty*w.tw:]
			row := plane[oy*ow : (oy+1)*ow]
			if side == 4 {
				vec.Interleave4(row, cols[:w.tw], cols[tiles:][:w.tw], cols[2*tiles:][:w.tw], cols[3*tiles:][:w.tw], bias, relu, accumulate)
			} else {
				vec.Interleave(row, cols[:w.tw], cols[tiles:][:w.tw], bias, relu, accumulate)
			}
		}
		// The residual and the activation the stores did not apply, over
		// the plane at once, whose rows are contiguous: two calls a plane
		// rather than two a row (ResNet-18's rows hold 14 to 56 outputs).
		st.e.finish(plane, ((st.n0+i)*p.M+ch)*oh*ow)
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
	v := getBuffer(points * pointsApart(cg, cols))
	defer putBuffer(v)
	u := getBuffer(points * pointsApart(mg, cols))
	defer putBuffer(u)
	sums := getBuffer(points * mg * cg)
	defer putBuffer(sums)
	serial := linalg.Serial(w.gemm)
	for g := 0; g < p.Group; g++ {
		for n0 := 0; n0 < p.N; n0 += w.cnt {
			cnt := min(w.cnt, p.N-n0)
			n := cnt * tiles
			w.transformTiles(x, v, n0, cnt, g)
			w.transformGradientTiles(dy, u, n0, cnt, g)
			beta := float32(1)
			if n0 == 0 {
				beta = 0
			}
			parallel.For(points, 1, func(lo, hi int) {
				for pt := lo; pt < hi; pt++ {
					serial.Sgemm(false, true, mg, cg, n, 1, u[pt*pointsApart(mg, n):], n, v[pt*pointsApart(cg, n):], n, beta, sums[pt*mg*cg:], cg)
				}
			})
		}
		// dw[g*mg+m][c][k] += sum over points of sums[point][m][c] times
		// the output transform's [k][point]: the transform written
		// transposed, straight into the kernels.
		w.gemm.Sgemm(true, true, mg*cg, rr, points, 1, sums, mg*cg, t.gradOutput, points, 1, dw[g*mg*cg*rr:], rr)
	}
}

// transformGradientTiles stores in u [n², M/Group, cnt*tiles] (the
// points pointsApart) the 2x2
// tiles of the output gradient of group g of images [n0, n0+cnt) taken
// to the points of F(rxr, 2x2), G dy G^T: tile (i, ty, tx) of channel m
// reads dy[n0+i][g*M/Group+m] at rows 2ty, 2ty+1 and columns 2tx, 2tx+1,
// zero past an odd output size. Like the input tiles, they are read
// from a plane split into its even and odd columns.
func (w *winogradPlan) transformGradientTiles(dy, u []float32, n0, cnt, g int) {
	p := w.p
	oh, ow := p.OutSize()
	mg, tiles := p.M/p.Group, w.th*w.tw
	cols := cnt * tiles
	parallel.For(mg*cnt, grainFor(4*tiles), func(lo, hi int) {
		halves := getBuffer(2 * 2 * tiles) // [even, odd][2*th][tw]
		defer putBuffer(halves)
		clear(halves)
		for task := lo; task < hi; task++ {
			m, i := task/cnt, task%cnt
			plane := dy[((n0+i)*p.M+g*mg+m)*oh*ow:][:oh*ow]
			splitPhases(halves, 2, 2*w.th, w.tw, plane, oh, ow, 0, 0)
			for ty := 0; ty < w.th; ty++ {
				w.t.grad.Tiles(u[m*cols+i*tiles+ty*w.tw:], pointsApart(mg, cols), halves[2*ty*w.tw:], 2*tiles, w.tw, w.tw,
					spills(task*tiles+ty*w.tw, hi*tiles))
			}
		}
	})
}
