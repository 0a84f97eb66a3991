package ops

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/graph/passes"
	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/kernels"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// TestLeanMaxPool checks the lean MaxPool of a node without Indices, on
// float32 and on uint8 input: it returns Y only, bitwise equal to the
// plain op's Y; a node that names Indices has no lean variant.
// It runs at every CPU level the machine has (leveltest.Run).
func TestLeanMaxPool(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 9))
		for _, dtype := range []graph.DType{graph.Float32, graph.Uint8} {
			n := testNode("MaxPool", graph.IntsAttr("kernel_shape", 3, 3), graph.IntsAttr("strides", 2, 2))
			n.Outputs = []string{"y"}
			x := testTensor(dtype, []int{2, 3, 9, 9}, randomFor(rng, dtype, 2*3*9*9))
			op := buildOp(t, n, 12)
			plain, err := op.Forward(&Context{}, []*tensor.Tensor{x})
			if err != nil {
				t.Fatal(err)
			}
			lean, err := op.(Leaner).Lean().Forward(&Context{}, []*tensor.Tensor{x})
			if err != nil {
				t.Fatal(err)
			}
			if len(lean) != 1 {
				t.Fatalf("%v: lean MaxPool returned %d outputs, want Y only", dtype, len(lean))
			}
			got, want := testValues(t, lean[0]), testValues(t, plain[0])
			for i := range want {
				if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
					t.Fatalf("%v: lean Y[%d] = %v, plain %v", dtype, i, got[i], want[i])
				}
			}
			n.Outputs = []string{"y", "indices"}
			if withIndices := buildOp(t, n, 12); withIndices.(Leaner).Lean() != withIndices {
				t.Fatalf("%v: a MaxPool whose Indices are read has a lean variant", dtype)
			}
		}
	})
}

// TestFusedGemmReLU checks Gemm's fused Relu against Relu of the plain
// Gemm, bitwise, forward, and its backward against the plain backward of
// the gradient zeroed where the output is 0.
// It runs at every CPU level the machine has (leveltest.Run).
func TestFusedGemmReLU(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(10, 10))
		n := testNode("Gemm", graph.IntAttr("transB", 1))
		op := buildOp(t, n, 13)
		a := testTensor(graph.Float32, []int{3, 5}, randomUniform(rng, 15, -1, 1, true))
		b := testTensor(graph.Float32, []int{4, 5}, randomUniform(rng, 20, -1, 1, true))
		c := testTensor(graph.Float32, []int{4}, randomUniform(rng, 4, -1, 1, true))
		in := []*tensor.Tensor{a, b, c}
		plain, err := op.Forward(&Context{}, in)
		if err != nil {
			t.Fatal(err)
		}
		fusedOp := op.(EpilogueFuser).FuseEpilogue(Epilogue{Act: kernels.Relu})
		fused, err := fusedOp.Forward(&Context{}, in)
		if err != nil {
			t.Fatal(err)
		}
		dy := testTensor(graph.Float32, []int{3, 4}, randomUniform(rng, 12, -1, 1, true))
		masked := tensor.Float32(3, 4)
		for i, v := range plain[0].F32() {
			if want := max(v, 0); math.Float32bits(fused[0].F32()[i]) != math.Float32bits(want) {
				t.Fatalf("fused Y[%d] = %v, want %v", i, fused[0].F32()[i], want)
			}
			if v > 0 {
				masked.F32()[i] = dy.F32()[i]
			}
		}
		want, err := op.(Differentiable).Backward(&Context{}, in, plain, []*tensor.Tensor{masked})
		if err != nil {
			t.Fatal(err)
		}
		got, err := fusedOp.(Differentiable).Backward(&Context{}, in, fused, []*tensor.Tensor{dy})
		if err != nil {
			t.Fatal(err)
		}
		for k := range want {
			for i, v := range want[k].F32() {
				if math.Float32bits(got[k].F32()[i]) != math.Float32bits(v) {
					t.Fatalf("gradient %d [%d] = %v, want %v", k, i, got[k].F32()[i], v)
				}
			}
		}
	})
}

// TestFusedMatMulSoftmaxErrors checks that MatMul fused with Softmax
// rejects what the unfused Softmax rejects: its axis -1 on the scalar
// product of two vectors.
func TestFusedMatMulSoftmaxErrors(t *testing.T) {
	op := buildOp(t, testNode("MatMul"), 13).(EpilogueFuser).FuseEpilogue(Epilogue{Act: kernels.Activation{Kind: kernels.ActSoftmax}})
	v := testTensor(graph.Float32, []int{3}, []float64{1, 2, 3})
	if _, err := op.Forward(&Context{}, []*tensor.Tensor{v, v}); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("fused Softmax of a scalar product: %v", err)
	}
	if _, err := buildOp(t, testNode("Softmax", graph.IntAttr("axis", -1)), 13).Forward(&Context{}, []*tensor.Tensor{testTensor(graph.Float32, []int{}, []float64{14})}); err == nil {
		t.Error("the unfused Softmax of a scalar succeeded")
	}
}

// TestKernelScaleDivision checks that a fused division by a power of
// two, which KernelScale turns into the multiplication by its inverse,
// gives bitwise the float32 quotients of the unfused product, down to
// subnormal results, at every CPU level; other divisors stay divisions.
func TestKernelScaleDivision(t *testing.T) {
	if s := KernelScale(&passes.Scale{By: 3, Divide: true}); !s.Divide || s.By != 3 {
		t.Errorf("KernelScale(Div 3) = %+v, want a division by 3", *s)
	}
	if s := KernelScale(&passes.Scale{By: 0x1p-127, Divide: true}); !s.Divide {
		t.Errorf("KernelScale(Div 2^-127) = %+v, want a division: 2^127 is no float32", *s)
	}
	leveltest.Run(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		const m, k, n = 6, 5, 40
		a := make([]float32, m*k)
		for i := range a {
			// Rows of every magnitude, down to products near the
			// subnormal range.
			a[i] = float32(rng.NormFloat64() * math.Pow(2, float64(-20*(i/k))))
		}
		b := make([]float32, k*n)
		for i := range b {
			b[i] = float32(rng.NormFloat64())
		}
		at, bt := tensor.Float32(m, k), tensor.Float32(k, n)
		copy(at.F32(), a)
		copy(bt.F32(), b)
		in := []*tensor.Tensor{at, bt}
		plain := &matMul{weights: &preparedWeights{}}
		want, err := plain.Forward(&Context{}, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, by := range []float32{8, 0.5, 0x1p100} {
			s := KernelScale(&passes.Scale{By: by, Divide: true})
			if s.Divide {
				t.Fatalf("KernelScale(Div %g) = %+v, want a multiplication", by, *s)
			}
			got, err := plain.FuseEpilogue(Epilogue{Scale: s}).Forward(&Context{}, in)
			if err != nil {
				t.Fatal(err)
			}
			for i, y := range want[0].F32() {
				if q := y / by; math.Float32bits(got[0].F32()[i]) != math.Float32bits(q) {
					t.Fatalf("by %g: element %d is %g, want %g / %g = %g", by, i, got[0].F32()[i], y, by, q)
				}
			}
		}
	})
}
