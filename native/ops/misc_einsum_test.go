package ops

import (
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

func xtEinsum(t *testing.T, eq string, in ...*tensor.Tensor) *tensor.Tensor {
	t.Helper()
	return xtRun(t, xtNode("Einsum", graph.StringAttr("equation", eq)), 12, in...)[0]
}

// TestEinsumAgainstExplicitLoops checks each equation against loops
// written out for it by hand.
func TestEinsumAgainstExplicitLoops(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	rnd := func(dt graph.DType, shape ...int) (*tensor.Tensor, []float64) {
		x := xtTensor(dt, shape, xtRandom(rng, dt, tensor.NumElements(shape)))
		return x, xtValues(t, x)
	}
	for _, dt := range []graph.DType{graph.Float64, graph.Int32} {
		// Matrix product, explicit and implicit output.
		a, av := rnd(dt, 3, 4)
		b, bv := rnd(dt, 4, 2)
		want := make([]float64, 6)
		for i := range 3 {
			for k := range 2 {
				for j := range 4 {
					want[i*2+k] += av[i*4+j] * bv[j*2+k]
				}
			}
		}
		xtCheck(t, "ij,jk->ik", xtEinsum(t, "ij,jk->ik", a, b), []int{3, 2}, want, xtF64)
		xtCheck(t, "ij,jk", xtEinsum(t, "ij, jk", a, b), []int{3, 2}, want, xtF64)
		// Implicit output sorts the free labels: "ba" means "ba->ab", a
		// transpose.
		wantT := make([]float64, 12)
		for i := range 3 {
			for j := range 4 {
				wantT[j*3+i] = av[i*4+j]
			}
		}
		xtCheck(t, "ba", xtEinsum(t, "ba", a), []int{4, 3}, wantT, xtExact)
		// Diagonal and trace.
		sq, sv := rnd(dt, 4, 4)
		diag, trace := make([]float64, 4), 0.0
		for i := range 4 {
			diag[i] = sv[i*4+i]
			trace += sv[i*4+i]
		}
		xtCheck(t, "ii->i", xtEinsum(t, "ii->i", sq), []int{4}, diag, xtExact)
		xtCheck(t, "ii", xtEinsum(t, "ii", sq), []int{}, []float64{trace}, xtF64)
		// Outer product of three vectors.
		u, uv := rnd(dt, 2)
		v, vv := rnd(dt, 3)
		w, wv := rnd(dt, 2)
		outer := make([]float64, 12)
		for i := range 2 {
			for j := range 3 {
				for k := range 2 {
					outer[(i*3+j)*2+k] = uv[i] * vv[j] * wv[k]
				}
			}
		}
		xtCheck(t, "i,j,k->ijk", xtEinsum(t, "i,j,k->ijk", u, v, w), []int{2, 3, 2}, outer, xtF64)
		// Batched product with broadcast ellipsis dims: [2,1,3,4] and
		// [5,4,2] give [2,5,3,2].
		x, xv := rnd(dt, 2, 1, 3, 4)
		y, yv := rnd(dt, 5, 4, 2)
		batched := make([]float64, 2*5*3*2)
		for p := range 2 {
			for q := range 5 {
				for i := range 3 {
					for k := range 2 {
						s := 0.0
						for j := range 4 {
							s += xv[(p*3+i)*4+j] * yv[(q*4+j)*2+k]
						}
						batched[((p*5+q)*3+i)*2+k] = s
					}
				}
			}
		}
		xtCheck(t, "...ij,...jk->...ik", xtEinsum(t, "...ij,...jk->...ik", x, y), []int{2, 5, 3, 2}, batched, xtF64)
		xtCheck(t, "...ij,...jk (implicit)", xtEinsum(t, "...ij,...jk", x, y), []int{2, 5, 3, 2}, batched, xtF64)
		// Sum over a label that appears in the input only: row sums.
		rows := make([]float64, 3)
		for i := range 3 {
			for j := range 4 {
				rows[i] += av[i*4+j]
			}
		}
		xtCheck(t, "ij->i", xtEinsum(t, "ij->i", a), []int{3}, rows, xtF64)
	}
}

func TestEinsumFloat16(t *testing.T) {
	// [1, 2] · [3, 4] = 11.
	a := xtTensor(graph.Float16, []int{2}, []float64{1, 2})
	b := xtTensor(graph.Float16, []int{2}, []float64{3, 4})
	xtCheck(t, "float16 dot", xtEinsum(t, "i,i", a, b), []int{}, []float64{11}, xtExact)
}

func TestEinsumErrors(t *testing.T) {
	m := xtF32s([]int{2, 3}, 1, 2, 3, 4, 5, 6)
	bad := func(eq string, frag string, in ...*tensor.Tensor) {
		t.Helper()
		xtWantErr(t, eq, xtRunErr(xtNode("Einsum", graph.StringAttr("equation", eq)), 12, in...), frag)
	}
	bad("ij->k", "appears in no input", m)
	bad("ij->ii", "repeats", m)
	bad("i1", "unexpected character", m)
	bad("......i", "two ellipses", m)
	bad("ij,jk", "2 terms", m)
	bad("ijk", "does not fit", m)
	bad("ij,ij", "elsewhere", m, xtF32s([]int{3, 2}, 1, 2, 3, 4, 5, 6))
	bad("ij,ij", "one type", m, xtTensor(graph.Float64, []int{2, 3}, make([]float64, 6)))
}
