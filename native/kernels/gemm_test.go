package kernels

import (
	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"

	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// Tolerances for Gemm and MatMul.
var (
	// Forward against float64: float32 dot products of at most 9 terms in
	// [-1, 1) plus a bias.
	tolGemm = tolerance{Abs: 1e-6, Rel: 1e-5}
	// Gradients: the product is linear in each input (no truncation
	// error); float32 rounding of the outputs divided by 2*eps.
	tolGemmGrad = tolerance{Abs: 1e-4, Rel: 1e-3}
)

// gemmRef computes Alpha*op(a)*op(b) + Beta*c in float64 from explicit
// index formulas for the stored layouts.
func gemmRef(p GemmParams, a, b, c []float32) []float64 {
	y := make([]float64, p.M*p.N)
	for i := 0; i < p.M; i++ {
		for j := 0; j < p.N; j++ {
			var sum float64
			for k := 0; k < p.K; k++ {
				av, bv := a[i*p.K+k], b[k*p.N+j]
				if p.TransA {
					av = a[k*p.M+i]
				}
				if p.TransB {
					bv = b[j*p.K+k]
				}
				sum += float64(av) * float64(bv)
			}
			var cv float32
			switch p.Bias {
			case GemmBiasScalar:
				cv = c[0]
			case GemmBiasRow:
				cv = c[j]
			case GemmBiasColumn:
				cv = c[i]
			case GemmBiasFull:
				cv = c[i*p.N+j]
			}
			y[i*p.N+j] = float64(p.Alpha)*sum + float64(p.Beta)*float64(cv)
		}
	}
	return y
}

// gemmCases covers every combination of transposes and bias shapes.
func gemmCases() []GemmParams {
	var cases []GemmParams
	for bias := GemmBiasNone; bias <= GemmBiasFull; bias++ {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				cases = append(cases, GemmParams{M: 3, N: 5, K: 4 + int(bias), TransA: ta, TransB: tb,
					Alpha: 0.75, Beta: 1.5, Bias: bias})
			}
		}
	}
	return cases
}

func gemmName(p GemmParams) string {
	return fmt.Sprintf("M%d_N%d_K%d_tA%v_tB%v_bias%d", p.M, p.N, p.K, p.TransA, p.TransB, p.Bias)
}

func TestGemm(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := newRNG(41)
		for _, p := range gemmCases() {
			t.Run(gemmName(p), func(t *testing.T) {
				a, b := uniform(rng, p.M*p.K, -1, 1), uniform(rng, p.K*p.N, -1, 1)
				c := uniform(rng, p.Bias.size(p.M, p.N), -1, 1)
				y := uniform(rng, p.M*p.N, -1, 1) // stale contents must not leak into y
				GemmForward(&p, a, b, c, y)
				compare(t, "y", tolGemm, y, gemmRef(p, a, b, c))

				g := uniform(rng, p.M*p.N, -1, 1)
				da, db, dc := make([]float32, len(a)), make([]float32, len(b)), make([]float32, len(c))
				GemmBackward(&p, a, b, g, da, db, dc)
				inputs := []gradInput{{"a", a, da}, {"b", b, db}}
				if p.Bias != GemmBiasNone {
					inputs = append(inputs, gradInput{"c", c, dc})
				}
				checkGradients(t, "Gemm", tolGemmGrad, 1e-2, rng, g,
					func() []float32 { GemmForward(&p, a, b, c, y); return y }, inputs...)
			})
		}
	})
}

// matmulRef multiplies the batched matrices in float64, mapping each output
// batch index to the input batch indices explicitly: an axis of size 1
// reads index 0, missing leading axes are ignored.
func matmulRef(p MatMulParams, a, b []float32) []float64 {
	out, err := BroadcastShape(p.BatchA, p.BatchB)
	if err != nil {
		panic(err)
	}
	var y []float64
	for o := 0; o < tensor.NumElements(out); o++ {
		multi := unravel(o, out)
		ia, ib := ravelBroadcast(multi, p.BatchA), ravelBroadcast(multi, p.BatchB)
		for i := 0; i < p.M; i++ {
			for j := 0; j < p.N; j++ {
				var sum float64
				for k := 0; k < p.K; k++ {
					sum += float64(a[(ia*p.M+i)*p.K+k]) * float64(b[(ib*p.K+k)*p.N+j])
				}
				y = append(y, sum)
			}
		}
	}
	return y
}

var matmulCases = []MatMulParams{
	{M: 3, K: 4, N: 2},
	{BatchA: []int{2}, BatchB: []int{2}, M: 2, K: 3, N: 4},
	{BatchA: []int{2, 3}, BatchB: []int{3}, M: 2, K: 2, N: 3},
	{BatchA: []int{2, 1}, BatchB: []int{1, 3}, M: 3, K: 2, N: 2},
	{BatchA: nil, BatchB: []int{4}, M: 2, K: 3, N: 2},
	{BatchA: []int{1, 2, 1}, BatchB: []int{3, 1, 2}, M: 1, K: 3, N: 1},
	// One b for every matrix of a: folded into one product.
	{BatchA: []int{3}, BatchB: nil, M: 5, K: 7, N: 6},
	{BatchA: []int{2, 3}, BatchB: []int{1}, M: 4, K: 3, N: 5},
	{BatchA: []int{4, 2}, BatchB: []int{1, 1}, M: 17, K: 33, N: 40},
}

func TestMatMul(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := newRNG(42)
		for _, p := range matmulCases {
			t.Run(fmt.Sprintf("A%v_B%v_M%d_K%d_N%d", p.BatchA, p.BatchB, p.M, p.K, p.N), func(t *testing.T) {
				if err := p.Validate(); err != nil {
					t.Fatal(err)
				}
				a := uniform(rng, tensor.NumElements(p.BatchA)*p.M*p.K, -1, 1)
				b := uniform(rng, tensor.NumElements(p.BatchB)*p.K*p.N, -1, 1)
				y := make([]float32, tensor.NumElements(p.OutBatch())*p.M*p.N)
				MatMulForward(&p, a, b, y)
				compare(t, "y", tolGemm, y, matmulRef(p, a, b))

				g := uniform(rng, len(y), -1, 1)
				da, db := make([]float32, len(a)), make([]float32, len(b))
				MatMulBackward(&p, a, b, g, da, db)
				checkGradients(t, "MatMul", tolGemmGrad, 1e-2, rng, g,
					func() []float32 { MatMulForward(&p, a, b, y); return y },
					gradInput{"a", a, da}, gradInput{"b", b, db})
			})
		}
	})
}

// TestMatMulBatchedProducts checks batched MatMuls of products big
// enough for Sgemm to split (attention's heads), at every CPU level and
// thread count, whether MatMulBiasForward spreads the products over the
// workers or splits each: against float64, and bitwise against each
// product computed alone by Sgemm on two threads with the epilogue the
// unbatched MatMul applies.
func TestMatMulBatchedProducts(t *testing.T) {
	cases := []struct {
		p     MatMulParams
		scale bool
	}{
		{MatMulParams{BatchA: []int{4}, BatchB: []int{4}, M: 128, K: 64, N: 128, Act: Activation{Kind: ActSoftmax}}, true},
		{MatMulParams{BatchA: []int{4}, BatchB: []int{4}, M: 128, K: 128, N: 64}, false},
		{MatMulParams{BatchA: []int{3}, BatchB: []int{3}, M: 70, K: 61, N: 97}, false},
		{MatMulParams{BatchA: []int{2, 3}, BatchB: []int{1, 3}, M: 67, K: 80, N: 99, Act: Activation{Kind: ActRelu}}, true},
		{MatMulParams{BatchA: []int{5}, BatchB: []int{5}, M: 9, K: 12, N: 33, Act: Activation{Kind: ActSoftmax}}, false},
	}
	leveltest.Run(t, func(t *testing.T) {
		rng := newRNG(7)
		for _, c := range cases {
			p := c.p
			if c.scale {
				p.Scale = &Scale{By: 8, Divide: true}
			}
			t.Run(fmt.Sprintf("A%v_B%v_M%d_K%d_N%d_%v", p.BatchA, p.BatchB, p.M, p.K, p.N, p.Act), func(t *testing.T) {
				a := uniform(rng, tensor.NumElements(p.BatchA)*p.M*p.K, -1, 1)
				b := uniform(rng, tensor.NumElements(p.BatchB)*p.K*p.N, -1, 1)
				count, ia, ib := p.batches()
				mk, kn, mn := p.M*p.K, p.K*p.N, p.M*p.N

				// Each product alone: Sgemm as the unbatched MatMul
				// calls it (more than maxPanelRows rows), then the
				// unbatched MatMul's epilogue.
				want := make([]float32, count*mn)
				parallel.With(2, func() {
					for o := range count {
						one := p
						one.BatchA, one.BatchB = nil, nil
						MatMulForward(&one, a[ia[o]*mk:][:mk], b[ib[o]*kn:][:kn], want[o*mn:][:mn])
					}
				})
				ref := matmulRef(MatMulParams{BatchA: p.BatchA, BatchB: p.BatchB, M: p.M, K: p.K, N: p.N}, a, b)
				for o := range count {
					refEpilogue(p, ref[o*mn:][:mn])
				}
				// Sums of K products of values in [-1, 1).
				tol := tolerance{Abs: float64(p.K) * 2e-7, Rel: 1e-5}
				compare(t, "y alone", tol, want, ref)
				for threads := 1; threads <= 4; threads++ {
					y := make([]float32, count*mn)
					parallel.With(threads, func() { MatMulForward(&p, a, b, y) })
					compare(t, fmt.Sprintf("y on %d threads", threads), tol, y, ref)
					if i := firstDifference(y, want); i >= 0 {
						t.Errorf("on %d threads (spread %v), y[%d] = %v, computed alone %v",
							threads, spreadProducts(count, threads, 2*mn*p.K), i, y[i], want[i])
					}
				}
			})
		}
	})
}

// refEpilogue applies p's Scale and Act to the rows of y in float64.
func refEpilogue(p MatMulParams, y []float64) {
	for r := range p.M {
		row := y[r*p.N:][:p.N]
		for j := range row {
			if s := p.Scale; s != nil && s.Divide {
				row[j] /= float64(s.By)
			} else if s != nil {
				row[j] *= float64(s.By)
			}
		}
		switch p.Act.Kind {
		case ActRelu:
			for j := range row {
				row[j] = math.Max(row[j], 0)
			}
		case ActSoftmax:
			top := slices.Max(row)
			var sum float64
			for j := range row {
				row[j] = math.Exp(row[j] - top)
				sum += row[j]
			}
			for j := range row {
				row[j] /= sum
			}
		case ActIdentity:
		default:
			panic(fmt.Sprintf("refEpilogue: %v", p.Act))
		}
	}
}

// firstDifference returns the first index where x and y differ bitwise,
// or -1.
func firstDifference(x, y []float32) int {
	for i := range x {
		if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
			return i
		}
	}
	return -1
}

func TestGemmMatMulValidate(t *testing.T) {
	if err := (&GemmParams{M: 1, N: 0, K: 1}).Validate(); err == nil || !strings.Contains(err.Error(), "N: must be at least 1") {
		t.Errorf("Gemm with N = 0: %v", err)
	}
	if err := (&GemmParams{M: 1, N: 1, K: 1, Bias: 7}).Validate(); err == nil || !strings.Contains(err.Error(), "unknown bias shape 7") {
		t.Errorf("Gemm with Bias 7: %v", err)
	}
	err := (&MatMulParams{BatchA: []int{2, 3}, BatchB: []int{4}, M: 1, K: 1, N: 1}).Validate()
	if err == nil || !strings.Contains(err.Error(), "differ at axis 1 (3 vs 4)") {
		t.Errorf("MatMul with batches [2 3] and [4]: %v", err)
	}
}
