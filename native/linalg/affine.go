package linalg

import (
	"fmt"

	"github.com/onnxkit/onnxkit/native/vec"
)

// RowAffine is a map of each row q of a GEMM operand B, applied as it is
// packed: B[q][j]*Scale[q] + Shift[q], the product rounded before the
// sum (vec.ScaleAdd), then under Relu max(v, 0) (vec.ScaleAddRelu). A
// convolution whose input is an inference batch normalization and its
// Relu reads the normalization's input so, channel by channel, and the
// normalized tensor is never stored. With Shift nil (and no Relu) the
// map is B[q][j]*Scale[q] alone, bitwise a Mul by a per-row scale
// (vec.ScalePanels): a squeeze-and-excitation gate.
type RowAffine struct {
	Scale, Shift []float32
	Relu         bool
}

// AffinePackGemm is a PackedGemm that packs B through a RowAffine.
// Blocked implements it.
type AffinePackGemm interface {
	PackedGemm
	// PackBAffine packs f applied to the k×n B, as PackB packs B.
	PackBAffine(k, n int, b []float32, ldb int, dst []float32, f RowAffine)
}

var _ AffinePackGemm = Blocked{}

// PackBAffine stores f applied to B, a k×n matrix with row stride ldb,
// in dst in the layout of PackB (PackedLen(k, n) elements): the values
// PackB would store for the matrix f(B), bit for bit. f holds k scales
// and k shifts or none.
func (g Blocked) PackBAffine(k, n int, b []float32, ldb int, dst []float32, f RowAffine) {
	if n == 0 || k == 0 {
		return
	}
	if ldb < n || len(b) < (k-1)*ldb+n || len(dst) < g.PackedLen(k, n) || len(f.Scale) < k ||
		len(f.Shift) < k && (f.Shift != nil || f.Relu) {
		panic(fmt.Sprintf("linalg: PackBAffine of a %d×%d B with ldb=%d from %d into %d elements, %d scales and %d shifts",
			k, n, ldb, len(b), len(dst), len(f.Scale), len(f.Shift)))
	}
	if f.Shift == nil {
		vec.ScalePanels(dst, g.PanelWidth(), b, ldb, k, n, f.Scale)
		return
	}
	vec.ScaleAddPanels(dst, g.PanelWidth(), b, ldb, k, n, f.Scale, f.Shift, f.Relu)
}
