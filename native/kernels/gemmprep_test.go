package kernels

import (
	"fmt"
	"math"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/linalg"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// tolPrepared bounds Gemm and MatMul against float64 for dot products
// of up to 300 terms in [-1, 1).
var tolPrepared = tolerance{Abs: 1e-4, Rel: 1e-4}

// identicalFloats fails t unless got and want hold the same bits.
func identicalFloats(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: y[%d] = %v, want %v bitwise", what, i, got[i], want[i])
		}
	}
}

// TestGemmPrepared checks at every CPU level that Gemm gives bitwise the
// same outputs with b prepared (twice: packing, then the packed panels)
// as without, on shapes that take the blocked product, the products of
// a few rows by panels (b as stored or transposed, one row by rows of b
// longer than maxPanelRow that are not) and neither, and that both agree
// with float64; and that a PreparedB made for another GEMM is not used.
func TestGemmPrepared(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := newRNG(43)
		for _, m := range []int{1, 3, 5, 13} {
			for _, n := range []int{17, 33, 100} {
				for _, k := range []int{7, 300, 2049} {
					for _, tb := range []bool{false, true} {
						for _, bias := range []GemmBias{GemmBiasNone, GemmBiasRow, GemmBiasFull} {
							p := GemmParams{M: m, N: n, K: k, TransB: tb, Alpha: 0.75, Beta: 1.5, Bias: bias}
							a, b := uniform(rng, m*k, -1, 1), uniform(rng, k*n, -1, 1)
							c := uniform(rng, bias.size(m, n), -1, 1)
							want := make([]float32, m*n)
							GemmForward(&p, a, b, c, want)
							compare(t, gemmName(p), tolPrepared, want, gemmRef(p, a, b, c))
							pb := PrepareB(tb, k, n, b)
							for i := range 2 {
								got := uniform(rng, m*n, -1, 1)
								GemmPreparedForward(&p, a, b, pb, c, got)
								identicalFloats(t, fmt.Sprintf("%s prepared, call %d", gemmName(p), i+1), got, want)
							}
						}
					}
				}
			}
		}
		// With another GEMM in use, the panels packed for this one are
		// left alone, and nothing is prepared.
		p := GemmParams{M: 1, N: 100, K: 300, TransB: true, Alpha: 1}
		a, b := uniform(rng, p.M*p.K, -1, 1), uniform(rng, p.K*p.N, -1, 1)
		pb := PrepareB(true, p.K, p.N, b)
		defer linalg.Use(linalg.Use(linalg.Naive{}))
		if PrepareB(true, p.K, p.N, b) != nil {
			t.Fatal("PrepareB prepared for the naive GEMM")
		}
		want, got := make([]float32, p.N), make([]float32, p.N)
		GemmForward(&p, a, b, nil, want)
		GemmPreparedForward(&p, a, b, pb, nil, got)
		identicalFloats(t, "naive GEMM with stale panels", got, want)
		compare(t, "naive GEMM", tolPrepared, want, gemmRef(p, a, b, nil))
	})
}

// TestMatMulPrepared checks at every CPU level that MatMul by one
// matrix b gives bitwise the same outputs with b prepared as without,
// one row, a few rows or many, batches of rows folded into one product,
// and that both agree with float64.
func TestMatMulPrepared(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := newRNG(44)
		for _, p := range []MatMulParams{
			{M: 1, K: 300, N: 100},
			{BatchA: []int{1}, M: 1, K: 64, N: 40},
			{BatchA: []int{2}, M: 2, K: 64, N: 40},
			{BatchA: []int{2, 3}, M: 4, K: 40, N: 70},
			{BatchA: []int{2}, BatchB: []int{1}, M: 64, K: 300, N: 33},
			{BatchA: []int{2}, M: 64, K: 300, N: 256},
			{M: 128, K: 256, N: 1000},
		} {
			a := uniform(rng, tensor.NumElements(p.BatchA)*p.M*p.K, -1, 1)
			b := uniform(rng, p.K*p.N, -1, 1)
			bias := uniform(rng, p.N, -1, 1)
			want := make([]float32, tensor.NumElements(p.OutBatch())*p.M*p.N)
			MatMulForward(&p, a, b, want)
			compare(t, fmt.Sprintf("%+v", p), tolPrepared, want, matmulRef(p, a, b))
			MatMulBiasForward(&p, a, b, bias, nil, want)
			pb := PrepareB(false, p.K, p.N, b)
			for i := range 2 {
				got := uniform(rng, len(want), -1, 1)
				MatMulPreparedForward(&p, a, b, pb, bias, nil, got)
				identicalFloats(t, fmt.Sprintf("%+v prepared, call %d", p, i+1), got, want)
			}
		}
	})
}

// TestLargeBIsNotPacked checks that a B of more than maxPackedB elements
// is multiplied as stored, with no panels kept, with the results of the
// unprepared product, by a few rows and by one row (transposed), unless
// the one row multiplies an untransposed B; and that a small B is
// packed.
func TestLargeBIsNotPacked(t *testing.T) {
	rng := newRNG(45)
	for _, c := range []struct {
		m, k, n        int
		transB         bool
		blocks, panels bool
	}{
		{8, 2049, 2048, true, false, false},
		{3, 2049, 2048, false, false, false},
		{1, 1024, 4200, true, false, false},
		{1, 1024, 4200, false, false, true},
		{8, 300, 100, true, true, false},
		{1, 300, 100, true, false, true},
	} {
		p := GemmParams{M: c.m, N: c.n, K: c.k, TransB: c.transB, Alpha: 1}
		a, b := uniform(rng, p.M*p.K, -1, 1), uniform(rng, p.K*p.N, -1, 1)
		want, got := make([]float32, p.M*p.N), make([]float32, p.M*p.N)
		GemmForward(&p, a, b, nil, want)
		pb := PrepareB(c.transB, p.K, p.N, b)
		GemmPreparedForward(&p, a, b, pb, nil, got)
		identicalFloats(t, gemmName(p), got, want)
		blocks, panels := pb.blocks.Load() != nil, pb.rows.Load() != nil
		if blocks != c.blocks || panels != c.panels {
			t.Errorf("%s: blocked panels %v and row panels %v, want %v and %v", gemmName(p), blocks, panels, c.blocks, c.panels)
		}
	}
}
