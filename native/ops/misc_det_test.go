package ops

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
)

// xtLaplaceDet is the determinant by cofactor expansion along the first
// row: independent of the kernel's LU factorisation.
func xtLaplaceDet(a []float64, m int) float64 {
	if m == 1 {
		return a[0]
	}
	det, sign := 0.0, 1.0
	minor := make([]float64, (m-1)*(m-1))
	for col := range m {
		k := 0
		for i := 1; i < m; i++ {
			for j := range m {
				if j != col {
					minor[k] = a[i*m+j]
					k++
				}
			}
		}
		det += sign * a[col] * xtLaplaceDet(minor, m-1)
		sign = -sign
	}
	return det
}

func TestDetRandomAgainstLaplace(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, m := range []int{1, 2, 3, 5} {
		for _, dt := range []graph.DType{graph.Float64, graph.Float32} {
			batch := []int{2, 3}
			x := testTensor(dt, []int{2, 3, m, m}, randomFor(rng, dt, 6*m*m))
			xv := testValues(t, x)
			want := make([]float64, 6)
			for b := range want {
				want[b] = xtLaplaceDet(xv[b*m*m:(b+1)*m*m], m)
			}
			tol := map[graph.DType]tolerance{graph.Float64: {abs: 1e-12, rel: 1e-10}, graph.Float32: tolF32}[dt]
			got := runNode(t, testNode("Det"), 11, x)[0]
			checkTensor(t, fmt.Sprintf("Det %v %dx%d", dt, m, m), got, batch, want, tol)
		}
	}
}

func TestDetHandWorked(t *testing.T) {
	// [[1, 2], [3, 4]]: 1*4 - 2*3 = -2. A zero first pivot forces a row
	// swap: [[0, 1], [1, 0]] has determinant -1. Equal rows: 0.
	x := float32s([]int{3, 2, 2}, 1, 2, 3, 4, 0, 1, 1, 0, 1, 2, 1, 2)
	checkTensor(t, "Det", runNode(t, testNode("Det"), 11, x)[0], []int{3}, []float64{-2, -1, 0}, tolExact)
	wantErr(t, "not square", runNodeErr(t, testNode("Det"), 11, float32s([]int{1, 2}, 1, 2)), "[*, M, M]")
	wantErr(t, "ints", runNodeErr(t, testNode("Det"), 11, testTensor(graph.Int32, []int{1, 1}, []float64{1})), "float")
}
