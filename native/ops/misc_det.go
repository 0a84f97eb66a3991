package ops

// Det: determinants of square matrices.
//
// Shape legend: X is [*, M, M], Y is [*]. Each determinant is the product
// of the pivots of an LU factorisation with partial pivoting, computed in
// float64; the sign flips with every row swap. Opset history: 11.

import (
	"fmt"
	"math"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// miscDetOps is the operator table of misc_det.go (see registry.go).
var miscDetOps = []Entry{
	{OpType: "Det", Since: []int64{11}, Build: func(n *graph.Node, opset int64) (Op, error) { return det{}, nil }},
}

type det struct{}

// Forward returns the determinant of each matrix of X.
func (det) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, -1); err != nil {
		return nil, err
	}
	x := in[0]
	r := len(x.Shape)
	if r < 2 || x.Shape[r-1] != x.Shape[r-2] {
		return nil, fmt.Errorf("input X is %v, want [*, M, M]", x)
	}
	vals, err := floatValues(x, "X")
	if err != nil {
		return nil, err
	}
	m := x.Shape[r-1]
	batch := tensor.NumElements(x.Shape[:r-2])
	out := make([]float64, batch)
	a := make([]float64, m*m)
	for b := range batch {
		copy(a, vals[b*m*m:(b+1)*m*m])
		out[b] = luDeterminant(a, m)
	}
	return []*tensor.Tensor{float64sToDType(out, x.DType, x.Shape[:r-2])}, nil
}

// luDeterminant returns the determinant of the m×m row-major matrix a,
// which it overwrites with its LU factors.
func luDeterminant(a []float64, m int) float64 {
	d := 1.0
	for k := range m {
		p := k
		for i := k + 1; i < m; i++ {
			if math.Abs(a[i*m+k]) > math.Abs(a[p*m+k]) {
				p = i
			}
		}
		if a[p*m+k] == 0 {
			return 0
		}
		if p != k {
			for j := range m {
				a[k*m+j], a[p*m+j] = a[p*m+j], a[k*m+j]
			}
			d = -d
		}
		piv := a[k*m+k]
		d *= piv
		for i := k + 1; i < m; i++ {
			f := a[i*m+k] / piv
			for j := k + 1; j < m; j++ {
				a[i*m+j] -= f * a[k*m+j]
			}
		}
	}
	return d
}
