package kernels

import (
	"fmt"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// transposedIndices returns, for each element of the transpose by perm
// of a row-major tensor of shape xShape, the index of the element of x
// it holds.
func transposedIndices(xShape, perm []int) []int {
	shape := make([]int, len(perm))
	for d, axis := range perm {
		shape[d] = xShape[axis]
	}
	idx := make([]int, tensor.NumElements(xShape))
	for o := range idx {
		multi := unravel(o, shape)
		in := make([]int, len(xShape))
		for d, axis := range perm {
			in[axis] = multi[d]
		}
		for d, n := range xShape {
			idx[o] = idx[o]*n + in[d]
		}
	}
	return idx
}

// transposeRef returns x of shape xShape transposed by perm (output axis
// d is input axis perm[d]), element by element, and its shape.
func transposeRef(x []float32, xShape, perm []int) ([]float32, []int) {
	shape := make([]int, len(perm))
	for d, axis := range perm {
		shape[d] = xShape[axis]
	}
	y := make([]float32, len(x))
	for o, i := range transposedIndices(xShape, perm) {
		y[o] = x[i]
	}
	return y, shape
}

// TestMatMulViews checks MatMuls of operands read in place through
// PermutedView (the transposes attention's heads take) against float64
// products of the transposes materialised element by element, at every
// CPU level and on 1 to 3 threads, with and without epilogues.
func TestMatMulViews(t *testing.T) {
	cases := []struct {
		name         string
		aShape, perm []int // a is x of aShape transposed by perm, nil for as stored
		bShape, bPrm []int
		act          ActivationKind
		yPerm        []int // y written transposed by yPerm, nil for as stored
	}{
		// Attention at batch 2: Q [L, N*H, D] -> [N*H, L, D], K -> [N*H, D, L].
		{"scores", []int{33, 6, 16}, []int{1, 0, 2}, []int{33, 6, 16}, []int{1, 2, 0}, ActSoftmax, nil},
		// The scores as stored times V [L, N*H, D] -> [N*H, L, D].
		{"values", []int{6, 33, 33}, nil, []int{33, 6, 16}, []int{1, 0, 2}, ActIdentity, nil},
		// The same, written back as [L, N*H, D].
		{"valuesOut", []int{6, 33, 33}, nil, []int{33, 6, 16}, []int{1, 0, 2}, ActIdentity, []int{1, 0, 2}},
		// The scores written transposed, with their Softmax.
		{"scoresOut", []int{5, 9, 7}, nil, []int{5, 7, 11}, nil, ActSoftmax, []int{1, 0, 2}},
		// Four axes, [N, L, H, D] -> [N, H, L, D] and -> [N, H, D, L].
		{"rank4", []int{2, 20, 3, 8}, []int{0, 2, 1, 3}, []int{2, 20, 3, 8}, []int{0, 2, 3, 1}, ActRelu, []int{2, 0, 1, 3}},
		// A transposed matrix, b shared by every matrix of a.
		{"transposedA", []int{5, 7, 9}, []int{0, 2, 1}, []int{7, 11}, nil, ActIdentity, nil},
		// b a transposed matrix, broadcast over a's batch.
		{"transposedB", []int{4, 13, 10}, nil, []int{12, 10}, []int{1, 0}, ActIdentity, nil},
		// Linear layers on tokens [N, L, E] transposed to [L, N, E]: at
		// N = 1 the rows are one matrix, one product by the shared b; at
		// N = 2 a product per token.
		{"tokens", []int{1, 9, 8}, []int{1, 0, 2}, []int{8, 12}, nil, ActIdentity, nil},
		{"tokens2", []int{2, 9, 8}, []int{1, 0, 2}, []int{8, 40}, nil, ActRelu, nil},
		// Rows of one value, and a broadcast batch axis of size 1.
		{"broadcast", []int{3, 1, 1, 5}, []int{1, 0, 2, 3}, []int{1, 5, 4}, nil, ActIdentity, nil},
		// Transposed matrices of a, each with its own b: copied row-major
		// before each product (gathersA).
		{"transposedBatchedA", []int{5, 9, 7}, []int{0, 2, 1}, []int{5, 9, 11}, nil, ActIdentity, nil},
		// Queries too large to copy before each product: read in place.
		{"largeQueries", []int{200, 2, 96}, []int{1, 0, 2}, []int{200, 2, 96}, []int{1, 2, 0}, ActSoftmax, nil},
		// Big enough products for Sgemm to split or spread over the workers.
		{"large", []int{128, 4, 64}, []int{1, 0, 2}, []int{128, 4, 64}, []int{1, 2, 0}, ActSoftmax, []int{1, 0, 2}},
	}
	leveltest.Run(t, func(t *testing.T) {
		rng := newRNG(11)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				x := uniform(rng, tensor.NumElements(c.aShape), -1, 1)
				w := uniform(rng, tensor.NumElements(c.bShape), -1, 1)
				a, as := x, c.aShape
				var av, bv *MatMulView
				if c.perm != nil {
					a, as = transposeRef(x, c.aShape, c.perm)
					v, ok := PermutedView(c.aShape, c.perm)
					if !ok {
						t.Fatalf("PermutedView(%v, %v) cannot be read in place", c.aShape, c.perm)
					}
					av = &v
				}
				b, bs := w, c.bShape
				if c.bPrm != nil {
					b, bs = transposeRef(w, c.bShape, c.bPrm)
					v, ok := PermutedView(c.bShape, c.bPrm)
					if !ok {
						t.Fatalf("PermutedView(%v, %v) cannot be read in place", c.bShape, c.bPrm)
					}
					bv = &v
				}
				plain := MatMulParams{BatchA: as[:len(as)-2], BatchB: bs[:len(bs)-2],
					M: as[len(as)-2], K: as[len(as)-1], N: bs[len(bs)-1], Act: Activation{Kind: c.act}}
				if err := plain.Validate(); err != nil {
					t.Fatal(err)
				}
				ref := matmulRef(MatMulParams{BatchA: plain.BatchA, BatchB: plain.BatchB, M: plain.M, K: plain.K, N: plain.N}, a, b)
				count, mn := tensor.NumElements(plain.OutBatch()), plain.M*plain.N
				for o := range count {
					refEpilogue(plain, ref[o*mn:][:mn])
				}
				viewed := plain
				viewed.AView, viewed.BView = av, bv
				if c.yPerm != nil {
					yShape := append(append([]int(nil), plain.OutBatch()...), plain.M, plain.N)
					v, ok := TransposedOutputView(yShape, c.yPerm)
					if !ok {
						t.Fatalf("TransposedOutputView(%v, %v) cannot be written in place", yShape, c.yPerm)
					}
					viewed.YView = &v
					// The reference transposed as the output is laid out.
					moved := make([]float64, len(ref))
					for i, from := range transposedIndices(yShape, c.yPerm) {
						moved[i] = ref[from]
					}
					ref = moved
				}
				if err := viewed.Validate(); err != nil {
					t.Fatal(err)
				}
				tol := tolerance{Abs: float64(plain.K) * 2e-7, Rel: 1e-5}
				for threads := 1; threads <= 3; threads++ {
					y := make([]float32, len(ref))
					parallel.With(threads, func() { MatMulForward(&viewed, x, w, y) })
					compare(t, fmt.Sprintf("y on %d threads", threads), tol, y, ref)
				}
			})
		}
	})
}

// TestPermutedView checks which transposes a MatMul reads in place, and
// that views which lay out no matrix are refused.
func TestPermutedView(t *testing.T) {
	for _, c := range []struct {
		shape, perm []int
		ok          bool
		strides     []int
	}{
		{[]int{5, 4, 3}, []int{1, 0, 2}, true, []int{3, 12, 1}},
		{[]int{5, 4, 3}, []int{1, 2, 0}, true, []int{3, 1, 12}},
		{[]int{5, 4, 3}, []int{2, 1, 0}, false, nil},
		{[]int{5, 4, 3}, []int{2, 0, 1}, false, nil},
		{[]int{7}, []int{0}, false, nil},
	} {
		v, ok := PermutedView(c.shape, c.perm)
		if ok != c.ok || ok && fmt.Sprint(v.Strides) != fmt.Sprint(c.strides) {
			t.Errorf("PermutedView(%v, %v) = %v, %v; want %v, %v", c.shape, c.perm, v.Strides, ok, c.strides, c.ok)
		}
	}
	bad := MatMulParams{BatchA: []int{2}, M: 3, K: 4, N: 5, AView: &MatMulView{Strides: []int{12, 2, 3}}}
	if err := bad.Validate(); err == nil {
		t.Errorf("Validate accepted a view of no unit stride")
	}
	bad.AView = &MatMulView{Strides: []int{12, 1}}
	if err := bad.Validate(); err == nil {
		t.Errorf("Validate accepted a view of too few strides")
	}
}
