package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/native/tensor"
)

// TestMatMulFoldTranspose checks a MatMul given the input of a Transpose
// in place of its output against a float64 product of the transpose
// taken element by element, and its errors: a perm that moves the
// contiguous axis out of the matrix is refused when folding, one that
// does not fit the input at run time names the input and the perm, and
// there is no backward pass.
func TestMatMulFoldTranspose(t *testing.T) {
	mm, err := newMatMul(nil, 13)
	if err != nil {
		t.Fatal(err)
	}
	if mm.(TransposeFolder).FoldTranspose(1, []int{2, 1, 0}) != nil {
		t.Errorf("folded a Transpose that moves the last axis out of the matrix axes")
	}
	if mm.(TransposeFolder).FoldTranspose(0, []int{0, 0, 1}) != nil {
		t.Errorf("folded a perm that is no permutation")
	}
	// b is x [L=5, H=3, D=4] transposed by (1, 2, 0): [3, 4, 5], the keys of three heads.
	folded := mm.(TransposeFolder).FoldTranspose(1, []int{1, 2, 0})
	if folded == nil {
		t.Fatal("FoldTranspose refused attention's keys")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	a, x := tensor.Float32(3, 2, 4), tensor.Float32(5, 3, 4)
	for _, v := range []*tensor.Tensor{a, x} {
		for i := range v.F32() {
			v.F32()[i] = float32(rng.NormFloat64())
		}
	}
	y := runOp(t, folded, a, x)
	if want := []int{3, 2, 5}; len(y.Shape) != 3 || y.Shape[0] != 3 || y.Shape[1] != 2 || y.Shape[2] != 5 {
		t.Fatalf("shape %v, want %v", y.Shape, want)
	}
	for h := range 3 {
		for i := range 2 {
			for j := range 5 {
				var want float64
				for c := range 4 {
					want += float64(a.F32()[(h*2+i)*4+c]) * float64(x.F32()[(j*3+h)*4+c])
				}
				if got := y.F32()[(h*2+i)*5+j]; math.Abs(float64(got)-want) > 1e-5+1e-5*math.Abs(want) {
					t.Errorf("y[%d,%d,%d] = %v, want %v", h, i, j, got, want)
				}
			}
		}
	}
	wantErr(t, "rank mismatch", runOpErr(t, folded, a, tensor.Float32(15, 4)), "B", "[1 2 0]", "[15 4]")
	if _, err := folded.(Differentiable).Backward(&Context{}, []*tensor.Tensor{a, x}, []*tensor.Tensor{y}, []*tensor.Tensor{y}); err == nil {
		t.Errorf("a folded MatMul ran a backward pass")
	}
}

// TestMatMulFoldOutputTranspose checks a MatMul writing the Transpose of
// its output against float64 products placed by the transposed indices,
// and what it refuses: a perm that moves the last axis, a residual
// epilogue, and (at run time) a 1-D input.
func TestMatMulFoldOutputTranspose(t *testing.T) {
	mm, err := newMatMul(nil, 13)
	if err != nil {
		t.Fatal(err)
	}
	f := mm.(TransposeFolder)
	if f.FoldOutputTranspose([]int{0, 2, 1}) != nil {
		t.Errorf("folded an output Transpose that moves the last axis")
	}
	if mm.(*matMul).FuseEpilogue(Epilogue{Residual: true}).(TransposeFolder).FoldOutputTranspose([]int{1, 0, 2}) != nil {
		t.Errorf("folded an output Transpose after a residual Add")
	}
	folded := f.FoldOutputTranspose([]int{1, 0, 2})
	rng := rand.New(rand.NewPCG(5, 6))
	a, b := tensor.Float32(3, 2, 4), tensor.Float32(3, 4, 5)
	for _, v := range []*tensor.Tensor{a, b} {
		for i := range v.F32() {
			v.F32()[i] = float32(rng.NormFloat64())
		}
	}
	y := runOp(t, folded, a, b) // [2, 3, 5]: y[i, h, j] = (a_h b_h)[i, j]
	if len(y.Shape) != 3 || y.Shape[0] != 2 || y.Shape[1] != 3 || y.Shape[2] != 5 {
		t.Fatalf("shape %v, want [2 3 5]", y.Shape)
	}
	for h := range 3 {
		for i := range 2 {
			for j := range 5 {
				var want float64
				for c := range 4 {
					want += float64(a.F32()[(h*2+i)*4+c]) * float64(b.F32()[(h*4+c)*5+j])
				}
				if got := y.F32()[(i*3+h)*5+j]; math.Abs(float64(got)-want) > 1e-5+1e-5*math.Abs(want) {
					t.Errorf("y[%d,%d,%d] = %v, want %v", i, h, j, got, want)
				}
			}
		}
	}
	wantErr(t, "1-D input", runOpErr(t, f.FoldOutputTranspose([]int{0, 1}), tensor.Float32(4), tensor.Float32(3, 4, 5)), "1-D")
}
