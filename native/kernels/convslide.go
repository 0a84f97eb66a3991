package kernels

// Convolution as a product with a sliding window of the input.
//
// With unit strides, the im2col matrix of a convolution never needs to be
// built: lay the zero-padded input planes out with rows of width Wt, and
// the value that row (c, kh, kw) of the im2col matrix holds in column
// oy*Wt+ox is the element of the padded input at offset
// c*Ht*Wt + kh*DilationH*Wt + kw*DilationW from position oy*Wt+ox. Row
// (c, kh, kw) of the matrix is thus the padded input seen from a fixed
// offset, and the product W·col is linalg.WindowGemm.SgemmWindow of the
// weights and that window, which reads the input in place. The product
// skips the Wt-OW columns between two output rows (Wt = OW +
// DilationW*(KW-1)) when an output row fills whole panels of the GEMM;
// otherwise it computes and discards them.
//
// Strided convolutions read their input through a window too, as A
// rather than B (convgather.go): the vector loads of a B window need
// unit strides.
//
// The images of a chunk are interleaved innermost, plane[c][y][x][image],
// so that one product covers them all and the weights are read once per
// chunk: the window offsets and the columns are then counted in units of
// the chunk's images. A chunk of as many images as the GEMM's panel is
// wide makes every output row whole panels.

import (
	"fmt"

	"github.com/onnxkit/onnxkit/native/linalg"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/vec"
)

// slideGeometry is the layout of a convolution computed through a sliding
// window (see the comment at the top of this file).
type slideGeometry struct {
	p      *ConvParams
	gemm   linalg.WindowGemm
	ht, wt int // height and width of a padded input plane
	ct     int // channels of a group: C/Group
	cnt    int // images per chunk
}

// maxSlideInflation bounds the multiply-adds a sliding window may add to
// those of im2col, as a ratio: the discarded columns, which a batch too
// small to skip them computes, counted in whole panels as both compute
// them. At 8x8 from 10x10 (25%) and at 10x10 from 12x12 (8 panels
// against 7, 14%: 1.88-1.99 against 2.03-2.06 ms for AlexNet's conv3 at
// batch 1) im2col measured faster; at 6x6 from 8x8 (48 columns for 36:
// three panels either way) the window was 15% faster.
const maxSlideInflation = 1.1

// sliding returns the geometry of p as a sliding-window product, or why
// it cannot compute p (the GEMM is not a linalg.WindowGemm, or the
// strides are not 1: the vector loads of a window of B need unit
// strides), and whether it pays: not when one output channel per group
// or one output position in all makes the product a vector one (which
// linalg computes better without blocks), when the kernel is 1x1 (whose
// im2col is the input itself), or when the window would cost much more
// work than im2col.
func (p *ConvParams) sliding(gemm linalg.Gemm) (s slideGeometry, cannot string, pays bool) {
	wg, ok := gemm.(linalg.WindowGemm)
	switch {
	case !ok:
		return s, fmt.Sprintf("the GEMM (%T) does not implement linalg.WindowGemm", gemm), false
	case p.StrideH != 1 || p.StrideW != 1:
		return s, "strides not 1", false
	}
	oh, ow := p.OutSize()
	s = slideGeometry{p: p, gemm: wg}
	s.ht, s.wt = oh+p.DilationH*(p.KH-1), ow+p.DilationW*(p.KW-1)
	s.ct = p.C / p.Group
	// Chunks of a panel's width of images skip the discarded columns;
	// smaller batches aim for convTargetCols columns.
	nr := wg.PanelWidth()
	fit := max(1, slideMaxPlaneElems/s.planeLen(1))
	s.cnt = min(p.N, fit, max(nr, ceilDiv(convTargetCols, oh*s.wt)))
	inflation := 1.0
	if ow*s.cnt%nr != 0 {
		// Both compute whole panels: im2col's last one is partly empty.
		inflation = float64(ceilDiv(oh*s.wt*s.cnt, nr)) / float64(ceilDiv(oh*ow*s.cnt, nr))
	}
	// One column in all would make im2col's product a matrix-vector one.
	pays = p.M/p.Group > 1 && !p.pointwise() && inflation <= maxSlideInflation && oh*ow*s.cnt > 1
	return s, "", pays
}

// maxAdjointInflation bounds the outputs the adjoint of a convolution
// (see adjoint) may compute, as a ratio to those of the convolution.
const maxAdjointInflation = 1.1

// slideMaxPlaneElems caps the padded planes of a chunk (16 MiB); a chunk
// holds at least one image whatever its size.
const slideMaxPlaneElems = 1 << 22

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// depth returns the depth of the product: the rows of the window.
func (s *slideGeometry) depth() int { return s.p.colRows() }

// planeLen returns the length of the padded planes of one group of cnt
// interleaved images.
func (s *slideGeometry) planeLen(cnt int) int { return s.ct * s.planeStride(cnt) }

// planeStride returns the distance between two padded planes of cnt
// interleaved images: a plane and a gap of one cache line, so that the
// same row of consecutive planes does not fall in the same set of the L1
// cache when a plane is a multiple of 4 KiB (56x56 planes of 16 images
// are 49 times 4 KiB).
func (s *slideGeometry) planeStride(cnt int) int { return s.ht*s.wt*cnt + 16 }

// chunkWindow returns the window of the product for a chunk of cnt
// images, with the offsets filled into off [depth], and the columns of
// the product per output row: OW positions times cnt images, laid Wt*cnt
// apart, which the window skips between rows when a row fills whole
// panels, and the product otherwise computes as Wt*cnt columns and
// discards. It also returns how long the plane buffer must be: the
// planes and the slack the product reads past the last window. When
// planes is not nil, the window reads it.
func (s *slideGeometry) chunkWindow(planes []float32, off []int32, cnt int) (win linalg.Window, row, need int) {
	oh, ow := s.p.OutSize()
	q := 0
	for c := 0; c < s.ct; c++ {
		for ky := 0; ky < s.p.KH; ky++ {
			for kx := 0; kx < s.p.KW; kx++ {
				off[q] = int32(c*s.planeStride(cnt) + (ky*s.p.DilationH*s.wt+kx*s.p.DilationW)*cnt)
				q++
			}
		}
	}
	win.Off = off[:q]
	row, reach := s.wt*cnt, 0
	nr := s.gemm.PanelWidth()
	if ow*cnt%nr == 0 {
		win.RowLen, win.RowStride, row = ow*cnt, s.wt*cnt, ow*cnt
		last := (oh*row - 1) / nr * nr // the last panel's first column
		reach = last/win.RowLen*win.RowStride + last%win.RowLen + nr
	} else {
		reach = ceilDiv(oh*row, nr) * nr
	}
	need = max(s.planeLen(cnt), int(off[q-1])+reach)
	if planes != nil {
		win.X = planes[:need]
	}
	return win, row, need
}

// spread writes group g of images [n0, n0+cnt) of x into planes
// [ct, ht, wt, cnt], planeStride apart (padding as zeros), and zeroes the
// gaps and the rest of planes.
func (s *slideGeometry) spread(x, planes []float32, n0, cnt, g int) {
	t := spreadTasks.Get()
	*t = spreadTask{s: s, x: x, planes: planes, n0: n0, cnt: cnt, g: g}
	parallel.Run(s.ct*s.ht, grainFor(s.wt*cnt), t)
	spreadTasks.Put(t)
	clear(planes[s.planeLen(cnt):])
}

// spreadTask is spread's loop over the rows of the planes: item t is row
// t%ht of plane t/ht.
type spreadTask struct {
	s          *slideGeometry
	x, planes  []float32
	n0, cnt, g int
}

var spreadTasks parallel.Tasks[spreadTask]

func (st *spreadTask) Range(lo, hi int) {
	s, p, cnt, planes := st.s, st.s.p, st.cnt, st.planes
	cg, hw := p.C/p.Group, p.H*p.W
	rowLen, stride := s.wt*cnt, s.planeStride(cnt)
	for t := lo; t < hi; t++ {
		c, yt := t/s.ht, t%s.ht
		if yt == s.ht-1 {
			clear(planes[c*stride+s.ht*rowLen : (c+1)*stride])
		}
		dst := planes[c*stride+yt*rowLen:][:rowLen]
		iy := yt - p.PadTop
		if iy < 0 || iy >= p.H {
			clear(dst)
			continue
		}
		left, right := p.PadLeft, p.PadLeft+p.W
		clear(dst[:left*cnt])
		clear(dst[right*cnt:])
		for i := 0; i < cnt; i++ {
			src := st.x[((st.n0+i)*p.C+st.g*cg+c)*hw+iy*p.W:]
			src = src[:p.W]
			if cnt == 1 {
				copy(dst[left:right], src)
				continue
			}
			for xt := left; xt < right; xt++ {
				dst[xt*cnt+i] = src[xt-left]
			}
		}
	}
}

// slideEpilogue says what becomes of the product's columns.
type slideEpilogue struct {
	bias []float32 // added to each channel, nil for none
	act  Activation
	// residual, of the output's shape (nil for none), is added after
	// the bias and before the activation.
	residual   []float32
	accumulate bool // add to y instead of storing; act must be the identity, residual nil
	// imageStride, when not zero, is the elements from one image of y
	// to the next, which are image elements long and need not be
	// contiguous (a piece of a channel concatenation written in place):
	// image n of the output is at y[n*imageStride:]. The offsets that
	// go with a destination (off) count elements of the dense output,
	// as the residual's do; at maps them into y.
	image, imageStride int
}

// at returns the index in y of element off of the dense output.
func (e *slideEpilogue) at(off int) int {
	if e.imageStride == 0 {
		return off
	}
	return off/e.image*e.imageStride + off%e.image
}

// storeRelu reports whether the stores apply Relu with the bias
// themselves: when there is no residual to add first.
func (e *slideEpilogue) storeRelu() bool { return e.act.relu() && e.residual == nil }

// finish completes the epilogue of dst, at offset off of the output,
// once the stores have put the product and bias there: it adds the
// residual, then applies the activation the stores did not.
func (e *slideEpilogue) finish(dst []float32, off int) {
	if e.residual == nil {
		e.act.after(dst)
		return
	}
	vec.Binary(vec.OpAdd, dst, dst, e.residual[off:off+len(dst)])
	if e.act.Kind != ActIdentity {
		e.act.Apply(dst, dst)
	}
}

// chunkBuffers takes the window offsets, the plane buffer and a buffer
// for the product's columns [M/Group, columns] from the free lists, large
// enough for every chunk; release hands them back. The last chunk, of
// fewer images, may need more than a full one: a full chunk's output
// rows can fill whole panels, so that the product skips the discarded
// columns, while the last chunk's rows do not and it computes them
// (50 images of 184 outputs a row in rows 355 wide, chunks of 32: the
// last 18 images need 355*18 columns a row, a full chunk 184*32).
func (s *slideGeometry) chunkBuffers() (off []int32, planes, cols []float32) {
	oh, _ := s.p.OutSize()
	off = offsets.get(s.depth())
	planesLen, colsLen := 0, 0
	for _, cnt := range []int{s.cnt, s.p.N % s.cnt} {
		if cnt == 0 {
			continue
		}
		_, row, need := s.chunkWindow(nil, off, cnt)
		planesLen = max(planesLen, need)
		colsLen = max(colsLen, s.p.M/s.p.Group*oh*row)
	}
	return off, getBuffer(planesLen), getBuffer(colsLen)
}

// releaseBuffers hands back the buffers of chunkBuffers.
func releaseBuffers(off []int32, planes, cols []float32) {
	offsets.put(off)
	putBuffer(planes)
	putBuffer(cols)
}

// run computes the convolution of x into y through the window, chunk by
// chunk, and stores the valid columns as e says.
func (s *slideGeometry) run(x, w, y []float32, e slideEpilogue) {
	p := s.p
	oh, ow := p.OutSize()
	ohw, mg, depth := oh*ow, p.M/p.Group, s.depth()
	off, planes, prod := s.chunkBuffers()
	defer releaseBuffers(off, planes, prod)
	for g := 0; g < p.Group; g++ {
		a := w[g*mg*depth : (g+1)*mg*depth]
		for n0 := 0; n0 < p.N; n0 += s.cnt {
			cnt := min(s.cnt, p.N-n0)
			win, row, _ := s.chunkWindow(planes, off, cnt)
			s.spread(x, win.X, n0, cnt, g)
			cols := oh * row
			s.gemm.SgemmWindow(false, mg, cols, depth, 1, a, depth, win, 0, prod, cols)
			t := slideStores.Get()
			*t = slideStore{p: p, y: y, prod: prod, e: e, g: g, n0: n0, cnt: cnt, row: row}
			parallel.Run(mg*cnt, grainFor(ohw), t)
			slideStores.Put(t)
		}
	}
}

// slideStore is run's loop storing the valid columns of the product prod
// of group g of images [n0, n0+cnt) into y: item t is channel t/cnt of
// the group in image n0+t%cnt.
type slideStore struct {
	p               *ConvParams
	y, prod         []float32
	e               slideEpilogue
	g, n0, cnt, row int
}

var slideStores parallel.Tasks[slideStore]

func (st *slideStore) Range(lo, hi int) {
	p, cnt, row := st.p, st.cnt, st.row
	oh, ow := p.OutSize()
	ohw, mg, cols := oh*ow, p.M/p.Group, oh*st.row
	for t := lo; t < hi; t++ {
		m, i := t/cnt, t%cnt
		ch := st.g*mg + m
		dst := st.y[st.e.at(((st.n0+i)*p.M+ch)*ohw):][:ohw]
		src := st.prod[m*cols+i:]
		for oy := 0; oy < oh; oy++ {
			st.e.store(dst[oy*ow:(oy+1)*ow], src[oy*row:], cnt, ch, ((st.n0+i)*p.M+ch)*ohw+oy*ow)
		}
	}
}

// store writes the product's values src[0], src[stride], ... of one output
// row of channel ch into dst, at offset off of the output.
func (e *slideEpilogue) store(dst, src []float32, stride, ch, off int) {
	src = src[:(len(dst)-1)*stride+1]
	switch {
	case e.accumulate:
		for j := range dst {
			dst[j] += src[j*stride]
		}
	case stride == 1:
		e.storeRow(dst, src, ch, off)
	case e.storeRelu():
		bias := biasOf(e.bias, ch)
		for j := range dst {
			dst[j] = max(src[j*stride]+bias, 0)
		}
	default:
		bias := biasOf(e.bias, ch)
		for j := range dst {
			dst[j] = src[j*stride] + bias
		}
		e.finish(dst, off)
	}
}

// adjoint returns the convolution whose forward pass is the gradient of p
// with respect to its input, or why there is none, and whether its
// outputs outnumber those of p by little enough for a window to pay.
// With unit strides the gradient is a convolution of dy with the kernel
// flipped in space and its input and output channels swapped, padded so
// that the output has the input's size: dilation*(K-1) - pad at each
// end, which must not be negative. It computes H*W outputs where p has
// OH*OW: through a window, a convolution without padding (AlexNet's
// conv3 to conv5: 12x12 from 10x10) would cost half as much again, one
// padded to keep its size (conv2) the same; Winograd, at 16/36 of the
// multiply-adds for 3x3, pays even for the former (see convPlanFor).
func (p *ConvParams) adjoint() (q ConvParams, cannot string, small bool) {
	eh, ew := p.DilationH*(p.KH-1), p.DilationW*(p.KW-1)
	oh, ow := p.OutSize()
	switch {
	case p.StrideH != 1 || p.StrideW != 1:
		return q, "strides not 1", false
	case p.PadTop > eh || p.PadBottom > eh || p.PadLeft > ew || p.PadRight > ew:
		return q, "padding larger than the dilated kernel less one", false
	}
	q = ConvParams{N: p.N, C: p.M, H: oh, W: ow, M: p.C, KH: p.KH, KW: p.KW, StrideH: 1, StrideW: 1,
		PadTop: eh - p.PadTop, PadLeft: ew - p.PadLeft, PadBottom: eh - p.PadBottom, PadRight: ew - p.PadRight,
		DilationH: p.DilationH, DilationW: p.DilationW, Group: p.Group}
	return q, "", float64(p.H*p.W) <= maxAdjointInflation*float64(oh*ow)
}

// flipKernel stores in dst the kernel of the adjoint of p (see adjoint):
// dst[g*C/Group+c][m][kh][kw] = w[g*M/Group+m][c][KH-1-kh][KW-1-kw].
func (p *ConvParams) flipKernel(w, dst []float32) {
	cg, mg, khw := p.C/p.Group, p.M/p.Group, p.KH*p.KW
	parallel.For(p.C, grainFor(mg*khw), func(lo, hi int) {
		for oc := lo; oc < hi; oc++ {
			g, c := oc/cg, oc%cg
			for m := 0; m < mg; m++ {
				src := w[((g*mg+m)*cg+c)*khw:][:khw]
				row := dst[(oc*mg+m)*khw:][:khw]
				for i, v := range src {
					row[khw-1-i] = v
				}
			}
		}
	})
}

// backwardFilter accumulates the gradient of the weights of a
// convolution with unit strides, dw += dY·col^T summed over the chunks of
// images in order, reading the im2col matrix col through the window of
// the forward pass: dY of each chunk is laid out in the product's columns
// (zeros in the discarded ones), and the window's transpose is gathered
// into the GEMM's panels. (A strided convolution's split kernel adds
// work that im2col, on its weights' gradient, measured faster than.)
func (s *slideGeometry) backwardFilter(x, dy, dw []float32) {
	p := s.p
	oh, _ := p.OutSize()
	mg, depth := p.M/p.Group, s.depth()
	off, planes, grad := s.chunkBuffers()
	defer releaseBuffers(off, planes, grad)
	for g := 0; g < p.Group; g++ {
		for n0 := 0; n0 < p.N; n0 += s.cnt {
			cnt := min(s.cnt, p.N-n0)
			win, row, _ := s.chunkWindow(planes, off, cnt)
			s.spread(x, win.X, n0, cnt, g)
			cols := oh * row
			s.gatherGradient(dy, grad[:mg*cols], n0, cnt, g, row)
			s.gemm.SgemmWindowT(mg, depth, cols, 1, grad, cols, win, 1, dw[g*mg*depth:], depth)
		}
	}
}

// gatherGradient lays out dy of group g of images [n0, n0+cnt) in the
// product's columns, row columns per output row: grad[m][oy*row +
// ox*cnt + i] = dy[n0+i][g*M/Group+m][oy][ox], zero where ox >= OW.
func (s *slideGeometry) gatherGradient(dy, grad []float32, n0, cnt, g, row int) {
	p := s.p
	oh, ow := p.OutSize()
	ohw, mg := oh*ow, p.M/p.Group
	parallel.For(mg, grainFor(oh*row), func(lo, hi int) {
		for m := lo; m < hi; m++ {
			dst := grad[m*oh*row : (m+1)*oh*row]
			for oy := 0; oy < oh; oy++ {
				r := dst[oy*row : (oy+1)*row]
				clear(r[ow*cnt:])
				for i := 0; i < cnt; i++ {
					src := dy[((n0+i)*p.M+g*mg+m)*ohw+oy*ow:][:ow]
					for ox, v := range src {
						r[ox*cnt+i] = v
					}
				}
			}
		}
	})
}
