//go:build openblas && cgo

package openblas

// #cgo LDFLAGS: -lopenblas
// #include <cblas.h>
import "C"

import (
	"fmt"
	"sync/atomic"

	"github.com/onnxkit/onnxkit/native/parallel"
)

// Gemm is linalg.Gemm through cblas_sgemm, run with parallel.Threads()
// threads.
type Gemm struct{}

// threads is the thread count last given to OpenBLAS.
var threads atomic.Int32

// Sgemm implements linalg.Gemm.
func (Gemm) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	ar, ac, br, bc := m, k, k, n
	if transA {
		ar, ac = k, m
	}
	if transB {
		br, bc = n, k
	}
	if m == 0 || n == 0 {
		return
	}
	checkMatrix("c", c, m, n, ldc)
	if k == 0 {
		// C = beta*C; A and B may be empty, so leave OpenBLAS out.
		for i := 0; i < m; i++ {
			for j := i * ldc; j < i*ldc+n; j++ {
				if beta == 0 {
					c[j] = 0
				} else {
					c[j] *= beta
				}
			}
		}
		return
	}
	checkMatrix("a", a, ar, ac, lda)
	checkMatrix("b", b, br, bc, ldb)
	if t := int32(parallel.Threads()); threads.Swap(t) != t {
		C.openblas_set_num_threads(C.int(t))
	}
	ta, tb := uint32(C.CblasNoTrans), uint32(C.CblasNoTrans)
	if transA {
		ta = C.CblasTrans
	}
	if transB {
		tb = C.CblasTrans
	}
	C.cblas_sgemm(C.CblasRowMajor, ta, tb, C.blasint(m), C.blasint(n), C.blasint(k),
		C.float(alpha), (*C.float)(&a[0]), C.blasint(lda), (*C.float)(&b[0]), C.blasint(ldb),
		C.float(beta), (*C.float)(&c[0]), C.blasint(ldc))
}

// checkMatrix panics unless s holds a rows×cols row-major matrix with row
// stride ld (rows, cols > 0): a precondition on the caller that keeps the
// C library inside the slice.
func checkMatrix(name string, s []float32, rows, cols, ld int) {
	if ld < cols || len(s) < (rows-1)*ld+cols {
		panic(fmt.Sprintf("openblas: %s is %d floats with ld=%d, too small for %d×%d", name, len(s), ld, rows, cols))
	}
}
