// Package linalg holds the matrix multiplication that every dense kernel
// of the native engine stands on. The implementation is swappable, in the
// manner of gonum's blas64.Use: a plain reference that is obviously right,
// and fast versions that must agree with it on the shared test suite.
package linalg

import (
	"sync/atomic"

	"github.com/onnxkit/onnxkit/native/simd"
)

//go:generate go run ./internal/asmgen -out kernel_amd64.s -stubs kernel_amd64.go -pkg linalg

// Gemm computes C = alpha*op(A)*op(B) + beta*C on row-major float32
// matrices, where op(X) is X or its transpose. op(A) is m×k, op(B) is k×n
// and C is m×n; lda, ldb and ldc are the row strides of the stored A, B
// and C. When beta is 0, C is overwritten and its old contents (even NaN)
// are ignored.
type Gemm interface {
	Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
		b []float32, ldb int, beta float32, c []float32, ldc int)
}

// PackedGemm is a Gemm that multiplies by a B packed in advance, in
// panels of PanelWidth() columns: a producer that writes B in that layout
// (convolution's im2col) or weights multiplied many times spare the
// product packing it. Blocked implements it; a Gemm that does not is
// used through Sgemm alone, and the callers take their unpacked paths.
type PackedGemm interface {
	Gemm
	// PanelWidth is the width of the column panels of a packed B.
	PanelWidth() int
	// PackedLen returns the length of a packed k×n B.
	PackedLen(k, n int) int
	// PackB packs op(B), a k×n matrix, into dst.
	PackB(transB bool, k, n int, b []float32, ldb int, dst []float32)
	// SgemmPackedB computes C = alpha*A*B + beta*C with B packed.
	SgemmPackedB(m, n, k int, alpha float32, a []float32, lda int, b []float32,
		beta float32, c []float32, ldc int)
}

// WindowGemm is a PackedGemm that also reads an operand through a
// Window, in place of a matrix: convolutions with unit strides multiply
// their weights by a window of the input (SgemmWindow, and
// SgemmWindowT for the weights' gradient), strided ones a window of the
// input by their weights (SgemmWindowA). Blocked implements it; with a
// Gemm that does not, convolutions build im2col matrices instead. See
// Blocked's methods for the contracts.
type WindowGemm interface {
	PackedGemm
	SgemmWindow(transA bool, m, n, k int, alpha float32, a []float32, lda int,
		b Window, beta float32, c []float32, ldc int)
	SgemmWindowT(m, n, k int, alpha float32, a []float32, lda int,
		b Window, beta float32, c []float32, ldc int)
	SgemmWindowA(m, n, k int, alpha float32, a Window, b []float32,
		beta float32, c []float32, ldc int)
}

// SerialGemm is a Gemm that can compute each product on the calling
// goroutine, for callers that run several products in parallel
// themselves.
type SerialGemm interface {
	Gemm
	// SerialGemm returns the same Gemm, computing on the calling
	// goroutine, with bitwise the same results.
	SerialGemm() Gemm
}

// Serial returns g computing on the calling goroutine when g is a
// SerialGemm whose serial form is still a G, otherwise g itself.
func Serial[G Gemm](g G) G {
	if b, ok := any(g).(Blocked); ok {
		// Blocked's serial form, boxed once per kernel.
		if sg, ok := b.kernel().serialGemm().(G); ok {
			return sg
		}
	}
	if s, ok := any(g).(SerialGemm); ok {
		if sg, ok := s.SerialGemm().(G); ok {
			return sg
		}
	}
	return g
}

// Blocked implements every interface of the package.
var (
	_ WindowGemm = Blocked{}
	_ SerialGemm = Blocked{}
)

// impl is the implementation behind Sgemm; nil stands for Fast(), which
// follows the CPU level.
var impl Gemm

// Fast returns the fastest Blocked Gemm at the CPU level in use (package
// simd): on amd64 the AVX2+FMA assembly kernel at the AVX2 level, the
// same with the AVX-512 kernel for some shapes at the AVX-512 level (see
// preferredKernel), otherwise Portable. It is the default implementation
// behind Sgemm.
func Fast() Blocked { return Blocked{kern: preferredKernel(simd.Current())} }

// Available returns the Blocked Gemms the CPU level in use allows: Fast
// first, then each level's own kernel from the highest, Fast's left out;
// the last is always Portable.
func Available() []Blocked {
	fast := Fast()
	gs := []Blocked{fast}
	for _, l := range simd.Levels() {
		if g := (Blocked{kern: levelKernel(l)}); simd.Has(l) && g != fast {
			gs = append(gs, g)
		}
	}
	return gs
}

// Use makes g the implementation behind Sgemm and returns the previous
// one. Use(nil) restores the default, Fast() at whatever CPU level is in
// use, so that defer Use(Use(g)) always undoes a Use(g).
func Use(g Gemm) Gemm {
	prev := impl
	impl = g
	return prev
}

// Current returns the implementation behind Sgemm.
func Current() Gemm {
	if impl == nil {
		return boxedFast()
	}
	return impl
}

// fastBoxed holds Fast() as a Gemm, so that Current, which every
// product calls, does not convert it to an interface (an allocation)
// each time; it is boxed again when the CPU level in use changes.
var fastBoxed atomic.Pointer[boxedGemm]

type boxedGemm struct {
	kern *kernel
	gemm Gemm
}

// boxedFast returns Fast() as a Gemm.
func boxedFast() Gemm {
	fast := Fast()
	if b := fastBoxed.Load(); b != nil && b.kern == fast.kern {
		return b.gemm
	}
	b := &boxedGemm{kern: fast.kern, gemm: fast}
	fastBoxed.Store(b)
	return b.gemm
}

// Sgemm computes C = alpha*op(A)*op(B) + beta*C with the current
// implementation; see Gemm for the arguments.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	Current().Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Naive is the reference Gemm: the textbook triple loop with a float32
// accumulator per element of C, in the order i, j, p.
type Naive struct{}

// Sgemm implements Gemm.
func (Naive) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var sum float32
			for p := 0; p < k; p++ {
				var x, y float32
				if transA {
					x = a[p*lda+i]
				} else {
					x = a[i*lda+p]
				}
				if transB {
					y = b[j*ldb+p]
				} else {
					y = b[p*ldb+j]
				}
				sum += x * y
			}
			ci := &c[i*ldc+j]
			if beta == 0 {
				*ci = alpha * sum
			} else {
				*ci = alpha*sum + beta*(*ci)
			}
		}
	}
}
