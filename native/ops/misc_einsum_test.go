package ops

import (
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/tensor"
)

func xtEinsum(t *testing.T, eq string, in ...*tensor.Tensor) *tensor.Tensor {
	t.Helper()
	return runNode(t, testNode("Einsum", graph.StringAttr("equation", eq)), 12, in...)[0]
}

// TestEinsumAgainstExplicitLoops checks each equation against loops
// written out for it by hand.
// It runs at every CPU level the machine has (leveltest.Run).
func TestEinsumAgainstExplicitLoops(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(21, 22))
		rnd := func(dt graph.DType, shape ...int) (*tensor.Tensor, []float64) {
			x := testTensor(dt, shape, randomFor(rng, dt, tensor.NumElements(shape)))
			return x, testValues(t, x)
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
			checkTensor(t, "ij,jk->ik", xtEinsum(t, "ij,jk->ik", a, b), []int{3, 2}, want, tolF64)
			checkTensor(t, "ij,jk", xtEinsum(t, "ij, jk", a, b), []int{3, 2}, want, tolF64)
			// Implicit output sorts the free labels: "ba" means "ba->ab", a
			// transpose.
			wantT := make([]float64, 12)
			for i := range 3 {
				for j := range 4 {
					wantT[j*3+i] = av[i*4+j]
				}
			}
			checkTensor(t, "ba", xtEinsum(t, "ba", a), []int{4, 3}, wantT, tolExact)
			// Diagonal and trace.
			sq, sv := rnd(dt, 4, 4)
			diag, trace := make([]float64, 4), 0.0
			for i := range 4 {
				diag[i] = sv[i*4+i]
				trace += sv[i*4+i]
			}
			checkTensor(t, "ii->i", xtEinsum(t, "ii->i", sq), []int{4}, diag, tolExact)
			checkTensor(t, "ii", xtEinsum(t, "ii", sq), []int{}, []float64{trace}, tolF64)
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
			checkTensor(t, "i,j,k->ijk", xtEinsum(t, "i,j,k->ijk", u, v, w), []int{2, 3, 2}, outer, tolF64)
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
			checkTensor(t, "...ij,...jk->...ik", xtEinsum(t, "...ij,...jk->...ik", x, y), []int{2, 5, 3, 2}, batched, tolF64)
			checkTensor(t, "...ij,...jk (implicit)", xtEinsum(t, "...ij,...jk", x, y), []int{2, 5, 3, 2}, batched, tolF64)
			// Sum over a label that appears in the input only: row sums.
			rows := make([]float64, 3)
			for i := range 3 {
				for j := range 4 {
					rows[i] += av[i*4+j]
				}
			}
			checkTensor(t, "ij->i", xtEinsum(t, "ij->i", a), []int{3}, rows, tolF64)
		}
	})
}

func TestEinsumFloat16(t *testing.T) {
	// [1, 2] · [3, 4] = 11.
	a := testTensor(graph.Float16, []int{2}, []float64{1, 2})
	b := testTensor(graph.Float16, []int{2}, []float64{3, 4})
	checkTensor(t, "float16 dot", xtEinsum(t, "i,i", a, b), []int{}, []float64{11}, tolExact)
}

func TestEinsumErrors(t *testing.T) {
	m := float32s([]int{2, 3}, 1, 2, 3, 4, 5, 6)
	bad := func(eq string, frag string, in ...*tensor.Tensor) {
		t.Helper()
		wantErr(t, eq, runNodeErr(t, testNode("Einsum", graph.StringAttr("equation", eq)), 12, in...), frag)
	}
	bad("ij->k", "appears in no input", m)
	bad("ij->ii", "repeats", m)
	bad("i1", "unexpected character", m)
	bad("......i", "two ellipses", m)
	bad("ij,jk", "2 terms", m)
	bad("ijk", "does not fit", m)
	bad("ij,ij", "elsewhere", m, float32s([]int{3, 2}, 1, 2, 3, 4, 5, 6))
	bad("ij,ij", "one type", m, testTensor(graph.Float64, []int{2, 3}, make([]float64, 6)))
}
