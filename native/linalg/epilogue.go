package linalg

import (
	"fmt"
	"math"

	"github.com/onnxkit/onnxkit/native/vec"
)

// EpilogueAct is the clamp an Epilogue applies after its bias.
type EpilogueAct uint8

// The clamps of an Epilogue, bitwise those of package vec's functions of
// the same name:
const (
	EpilogueNone EpilogueAct = iota // y
	EpilogueRelu                    // max(y, 0), -0 becoming +0
	EpilogueClip                    // y clamped to [Lo, Hi], a zero at a zero bound kept
)

// Epilogue is what a product applies to each element of C as its
// micro-kernel stores it, after alpha and beta: y + Bias[i] for row i
// (when Bias is not nil), rounded once, then the clamp. The results are
// bitwise those of the product followed by vec.BinaryScalar's addition
// and vec.Relu or vec.Clip, each a pass over C that the epilogue spares.
type Epilogue struct {
	Bias   []float32 // one per row of C, or nil
	Act    EpilogueAct
	Lo, Hi float32 // EpilogueClip's bounds
}

// EpilogueGemm is a WindowGemm whose products by a packed B and by a
// window can apply an Epilogue as they store C.
type EpilogueGemm interface {
	WindowGemm
	// SgemmPackedBEpilogue is SgemmPackedB followed by e (e nil: none).
	SgemmPackedBEpilogue(m, n, k int, alpha float32, a []float32, lda int, b []float32,
		beta float32, c []float32, ldc int, e *Epilogue)
	// SgemmWindowEpilogue is SgemmWindow followed by e (e nil: none).
	SgemmWindowEpilogue(transA bool, m, n, k int, alpha float32, a []float32, lda int,
		b Window, beta float32, c []float32, ldc int, e *Epilogue)
}

// SgemmPackedBEpilogue is SgemmPackedB followed by e, applied as the
// micro-kernel stores the last block of k of each tile (e nil: none).
func (g Blocked) SgemmPackedBEpilogue(m, n, k int, alpha float32, a []float32, lda int, b []float32,
	beta float32, c []float32, ldc int, e *Epilogue) {
	g.run(gemmArgs{m: m, n: n, k: k, alpha: alpha, beta: beta, a: a, b: b, c: c, lda: lda, ldc: ldc,
		packedB: true, epi: e.clamps(m), fused: e != nil})
}

// SgemmWindowEpilogue is SgemmWindow followed by e, applied as the
// micro-kernel stores the last block of k of each tile (e nil: none).
func (g Blocked) SgemmWindowEpilogue(transA bool, m, n, k int, alpha float32, a []float32, lda int,
	b Window, beta float32, c []float32, ldc int, e *Epilogue) {
	if b.Off == nil {
		b.Off = []int32{} // nil would mean B as stored
	}
	g.run(gemmArgs{transA: transA, m: m, n: n, k: k, alpha: alpha, beta: beta, a: a, c: c,
		lda: lda, ldc: ldc, window: b, epi: e.clamps(m), fused: e != nil})
}

// storeEpilogue is an Epilogue as the micro-kernels take it: every
// element y of row i becomes clamp(y + bias[i]) + zero, clamp being
// min(max(·, lo), hi) (a NaN kept), and zero +0 for Relu, which turns
// its -0 into +0, -0 otherwise, which changes nothing. Without a bias,
// bias holds -0s, which change nothing either.
type storeEpilogue struct {
	bias  []float32 // nil: the rows of C have no bias (see negZeros)
	clamp [3]float32
	act   Epilogue // the clamp as the caller gave it, Bias unset
}

// clamps returns e as the kernels take it, checking that its bias has
// a value per row of the m rows of C; the zero value for a nil e.
func (e *Epilogue) clamps(m int) storeEpilogue {
	if e == nil {
		return storeEpilogue{}
	}
	if e.Bias != nil && len(e.Bias) < m {
		panic(fmt.Sprintf("linalg: an epilogue's bias of %d values for %d rows", len(e.Bias), m))
	}
	inf := float32(math.Inf(1))
	negZero := float32(math.Copysign(0, -1))
	s := storeEpilogue{bias: e.Bias, clamp: [3]float32{-inf, inf, negZero}, act: Epilogue{Act: e.Act, Lo: e.Lo, Hi: e.Hi}}
	switch e.Act {
	case EpilogueNone:
	case EpilogueRelu:
		s.clamp = [3]float32{0, inf, 0}
	case EpilogueClip:
		s.clamp = [3]float32{e.Lo, e.Hi, negZero}
	default:
		panic(fmt.Sprintf("linalg: unknown epilogue activation %d", e.Act))
	}
	return s
}

// negZeros is the bias of rows without one: x + -0 is x.
var negZeros = func() []float32 {
	z := make([]float32, 32)
	for i := range z {
		z[i] = float32(math.Copysign(0, -1))
	}
	return z
}()

// tileEpilogue is a storeEpilogue for one tile, as the kernels take it:
// the bias of its mr rows, or, for a tile of fewer rows (padded), its
// bias in pad; and the clamp.
type tileEpilogue struct {
	bias   []float32
	clamp  [3]float32
	padded bool
	pad    [maxTileRows]float32
}

// maxTileRows is the most rows of a micro-kernel's tile.
const maxTileRows = 12

// apply applies the epilogue to y in row i of the tile, as the kernels do.
func (t *tileEpilogue) apply(y float32, i int) float32 {
	if t.padded {
		return clampAdd(y+t.pad[i], &t.clamp)
	}
	return clampAdd(y+t.bias[i], &t.clamp)
}

// clampAdd is min(max(y, c[0]), c[1]) + c[2], a NaN kept, as the kernels
// compute it.
func clampAdd(y float32, c *[3]float32) float32 {
	if y < c[0] {
		y = c[0]
	}
	if y > c[1] {
		y = c[1]
	}
	return y + c[2]
}

// forTile sets t to the epilogue of the tile of rows [i0, i0+rows) of
// C, for a kernel of mr rows.
func (s *storeEpilogue) forTile(t *tileEpilogue, i0, rows, mr int) {
	t.clamp, t.padded = s.clamp, false
	switch {
	case s.bias == nil:
		t.bias = negZeros[:mr]
	case rows == mr:
		t.bias = s.bias[i0 : i0+mr]
	default:
		t.bias, t.padded = negZeros[:mr], true
		copy(t.pad[:], negZeros[:mr])
		copy(t.pad[:], s.bias[i0:i0+rows])
	}
}

// applyRow applies s to row, row i of C, with package vec's passes, as
// the kernels would: for products with nothing to sum.
func (s *storeEpilogue) applyRow(row []float32, i int) {
	if s.bias != nil {
		vec.BinaryScalar(vec.OpAdd, row, row, s.bias[i])
	}
	switch s.act.Act {
	case EpilogueRelu:
		vec.Relu(row, row)
	case EpilogueClip:
		vec.Clip(row, row, s.act.Lo, s.act.Hi)
	}
}

// applyC applies s to the m×n C (row stride ldc), which a product with
// nothing to sum (k or alpha 0) has only scaled.
func (s *storeEpilogue) applyC(m, n int, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		s.applyRow(c[i*ldc:i*ldc+n], i)
	}
}
