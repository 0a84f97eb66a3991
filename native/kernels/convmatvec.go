package kernels

// Convolutions with one output position per image as matrix-vector
// products.
//
// When the kernel covers the whole unpadded input (KH = H, KW = W, no
// padding, one group), the output of an image is one value per output
// channel, and the im2col column of the image is the image itself,
// flattened in the weights' order (c, kh, kw): y[n] = W·x[n], W the
// weights as an M×K matrix, K = C*H*W. The squeeze-and-excitation
// blocks (1x1 convolutions after a global pooling) and the classifiers
// that are convolutions on pooled features are such products. The
// general paths compute them badly: im2col copies the image into a
// column, the blocked GEMM multiplies M×K by K×N with tiles of 16 or 32
// columns of which N are used, and the epilogue runs once per channel.
//
// Here W^T is packed once in linalg.PackVecB's panels (per session, by
// ConvForwardPlan.WithWeights, or per call), and the N images are the N
// rows of linalg.SgemvPackedVecB's product, read where they lie; the
// panels are spread over the workers when the product is large enough,
// each worker finishing its columns (bias, residual, activation) as it
// stores them. Each column is summed in an order fixed by K alone, so
// results do not depend on the thread count or the batch.

import (
	"fmt"

	"github.com/onnxkit/onnxkit/native/internal/hugepages"
	"github.com/onnxkit/onnxkit/native/linalg"
	"github.com/onnxkit/onnxkit/native/parallel"
)

// matVecGeometry is the layout of a convolution with one output
// position per image computed as a matrix-vector product (see the
// comment at the top of this file).
type matVecGeometry struct {
	p    *ConvParams
	gemm linalg.Blocked
	// packedW, when not nil, holds W^T in PackVecB's panels (see
	// packWeights); otherwise run packs them on every call.
	packedW []float32
}

// matVec returns the geometry of p as matrix-vector products, or why it
// cannot compute p (groups, a kernel that is not the whole unpadded
// input, a GEMM that is not a linalg.Blocked), and whether it pays:
// always. Against im2col, the path these convolutions took before
// (BenchmarkConvMatVec, weights prepared, 2 threads, loaded machine),
// the products took 0.07-0.7 of the time at batches 1 to 32 and
// 0.07-0.45 at 128 (MobileNet V3's 576->144 and 144->576, a 1280->1000
// classifier, a 7x7 kernel on 7x7 planes): im2col's GEMM multiplies
// with panels of 16 or 32 columns of which one per image is used and
// packs nothing, reaching 6-34 GFLOP/s, the products 33-52 at batch 1
// and 53-110 from batch 8. (At large batches, a blocked product of the
// images as A by prepared weights would do better still.)
func (p *ConvParams) matVec(gemm linalg.Gemm) (s matVecGeometry, cannot string, pays bool) {
	g, ok := gemm.(linalg.Blocked)
	switch {
	case !ok:
		return s, fmt.Sprintf("the GEMM (%T) is not a linalg.Blocked", gemm), false
	case p.Group != 1:
		return s, "grouped", false
	case p.KH != p.H || p.KW != p.W || p.PadTop+p.PadLeft+p.PadBottom+p.PadRight > 0:
		return s, "the kernel is not the whole unpadded input", false
	}
	// With KH = H and no padding, one output row is left only with a
	// dilation of 1 or a kernel of one row (Validate rejects the rest),
	// so the taps are the input's values in order.
	return matVecGeometry{p: p, gemm: g}, "", true
}

// packWeights returns W^T, w [M][C][KH][KW] read as a K×M matrix, in
// PackVecB's panels, in huge pages where the system has them (see
// package hugepages).
func (s *matVecGeometry) packWeights(w []float32) []float32 {
	k, m := s.p.colRows(), s.p.M
	packed := hugepages.Floats(linalg.VecPackedLen(k, m))
	s.gemm.PackVecB(true, k, m, w, k, packed)
	return packed
}

// run computes y from x and w (ignored when the weights are packed) with
// the epilogue e: bias, residual and activation (not accumulation:
// there is no dX pass by these products).
func (s *matVecGeometry) run(x, w, y []float32, e slideEpilogue) {
	p := s.p
	k, m := p.colRows(), p.M
	panels := (m + linalg.VecPanelWidth - 1) / linalg.VecPanelWidth
	packed := s.packedW
	if packed == nil {
		packed = getBuffer(linalg.VecPackedLen(k, m))
		defer putBuffer(packed)
		s.gemm.PackVecB(true, k, m, w, k, packed)
	}
	ld := panels * linalg.VecPanelWidth
	prod := getBuffer(p.N * ld)
	defer putBuffer(prod)
	t := matVecTasks.Get()
	*t = matVecTask{s: s, x: x, packed: packed, prod: prod, y: y, e: e, ld: ld}
	// A panel costs its multiply-adds or, at one image, the reading of
	// its weights, which come from memory when they are a classifier's
	// (4 bytes weighed as two flops, as SgemmPackedVecB weighs them).
	perPanel := linalg.VecPanelWidth * k * max(2*p.N, 4)
	parallel.Run(panels, max(1, parallel.Grain()/perPanel), t)
	matVecTasks.Put(t)
}

// matVecTask computes the panels [lo, hi) of matVecGeometry.run's
// product into prod, N rows ld apart, and stores their columns of y.
type matVecTask struct {
	s                  *matVecGeometry
	x, packed, prod, y []float32
	e                  slideEpilogue
	ld                 int
}

var matVecTasks parallel.Tasks[matVecTask]

func (t *matVecTask) Range(lo, hi int) {
	const w = linalg.VecPanelWidth
	p := t.s.p
	k, m := p.colRows(), p.M
	t.s.gemm.SgemvPackedVecB(p.N, (hi-lo)*w, k, t.x, k, t.packed[lo*w*k:], t.prod[lo*w:], t.ld)
	j0, j1 := lo*w, min(hi*w, m)
	for n := range p.N {
		src := t.prod[n*t.ld+j0 : n*t.ld+j1]
		dst := t.y[t.e.at(n*m+j0):][:j1-j0]
		copy(dst, src)
		var bias, r []float32
		if t.e.bias != nil {
			bias = t.e.bias[j0:j1]
		}
		if t.e.residual != nil {
			r = t.e.residual[n*m+j0 : n*m+j1]
		}
		epilogueRows(t.e.act, nil, dst, bias, r, j1-j0)
	}
}
