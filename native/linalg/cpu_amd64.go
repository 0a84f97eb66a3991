package linalg

import "github.com/onnxkit/onnxkit/native/simd"

var (
	// avx2Kernel needs AVX2 and FMA (simd.AVX2): 12 YMM accumulators, 2 for a row
	// of B and 1 for a broadcast of A. On Zen 4 a B panel of 256×16
	// floats (16 KiB) sits in the 32 KiB L1d next to the streaming A
	// panel, a 144×256 block of A (144 KiB) in the 1 MiB L2, and a
	// 256×4080 block of B (4 MiB) in L3; a transposed B is packed in
	// 256×512 blocks (512 KiB) that stay in L2.
	avx2Kernel = avx2Tiles("avx2-6x16", nil, nil, nil, nil, nil, nil)
	// avx512ByShape is the kernel of the AVX-512 level (see
	// preferredKernel): avx2Kernel, whose packed layout of B and windows
	// it keeps, multiplying matrices as stored with avx512Kernel where
	// that is faster (see kernel.plainKernel). The two kernels give
	// bitwise the same results there.
	avx512ByShape = avx2Tiles("avx512-by-shape", &avx512Kernel, &avx512ShortKernel, gatherPairAVX512, gatherPair7AVX512, gatherPairNextAVX512, gatherPair7NextAVX512)
	// avx512Kernel needs AVX-512F (simd.AVX512): 24 ZMM accumulators, each
	// value of A broadcast into a register once for its row's two FMAs
	// (see package asmgen). Its k blocks are avx2Kernel's
	// (kc 256), so that the two give bitwise the same results wherever
	// they take the same path (see avx512ByShape); on Zen 4 they were
	// also faster than blocks of 128, on one thread 0.91 against 0.72-0.79
	// of OpenBLAS's GFLOP/s at AlexNet's conv1 and conv5 (its 12×32 tiles
	// need half the bandwidth of 6×16 ones per multiply-add, so the 32
	// KiB B panel need not stay in L1). mc 96 or 384 and kc 384 changed
	// nothing beyond the noise. A last panel of B of at most 8 columns
	// is multiplied by 12×8 tiles (run8): conv5, 256×36, rose from 0.79
	// to 0.97 of OpenBLAS on one thread (with 32-wide tiles only, 36
	// columns cost 64), conv3, 384×100, from 0.96 to 1.09.
	avx512Kernel = kernel{
		name: "avx512-12x32",
		mr:   12, nr: 32,
		mc: 192, kc: 256, nc: 4096, ncT: 1024, unroll: 4,
		run: func(k int, a, b, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue) {
			_, _, _ = a[12*k-1], b[32*k-1], c[11*ldc+31]
			kernel12x32AVX512Packed(k, &a[0], &b[0], &c[0], ldc, alpha, beta, boolInt(useBeta), e.bias0(), e.clamp0())
		},
		runRows: func(k int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue) {
			_, _, _ = a[11*lda+k-1], b[32*k-1], c[11*ldc+31]
			kernel12x32AVX512Rows(k, &a[0], lda, &b[0], &c[0], ldc, alpha, beta, boolInt(useBeta), e.bias0(), e.clamp0())
		},
		// AVX-512F CPUs all have AVX2 and FMA, which these use.
		run8: func(k int, a, b, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue) {
			_, _, _ = a[12*k-1], b[8*k-1], c[11*ldc+7]
			kernel12x8AVX2Packed(k, &a[0], &b[0], &c[0], ldc, alpha, beta, boolInt(useBeta), e.bias0(), e.clamp0())
		},
		runRows8: func(k int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue) {
			_, _, _ = a[11*lda+k-1], b[8*k-1], c[11*ldc+7]
			kernel12x8AVX2Rows(k, &a[0], lda, &b[0], &c[0], ldc, alpha, beta, boolInt(useBeta), e.bias0(), e.clamp0())
		},
		slide: func(k int, a, x []float32, off []int32, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue) {
			_, _, _, _ = a[12*k-1], x[0], off[k-1], c[11*ldc+31]
			kernel12x32AVX512PackedSlide(k, &a[0], &x[0], &off[0], &c[0], ldc, alpha, beta, boolInt(useBeta), e.bias0(), e.clamp0())
		},
		slideRows: func(k int, a []float32, lda int, x []float32, off []int32, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue) {
			_, _, _, _ = a[11*lda+k-1], x[0], off[k-1], c[11*ldc+31]
			kernel12x32AVX512RowsSlide(k, &a[0], lda, &x[0], &off[0], &c[0], ldc, alpha, beta, boolInt(useBeta), e.bias0(), e.clamp0())
		},
		// AVX-512F CPUs all have AVX2, which the packing routines use.
		transpose16: transpose16AVX2,
		copyA:       runCopier(12, copyRows12AVX2),
		copyB:       runCopier(32, copyRows32AVX2),
		dot4:        dot4AVX2,
		axpy32:      axpy32AVX2,
	}
)

// avx512ShortKernel is avx512Kernel in tiles of 6×32, with the k blocks
// of both avx512Kernel and avx2Kernel: the kernel of the AVX-512 level
// for the products as stored whose rows 12-row tiles cover badly, such
// as AlexNet's fully connected layers at a batch of 64 (see
// kernel.plainKernel). On Zen 4, which executes AVX-512 on 256-bit
// units, its 12 ZMM accumulators keep the FMA units as busy as the 24
// of 12×32 tiles do.
//
// Its blocks of A hold 240 rows, 240 KiB at kc 256 in a 1 MiB L2 (Zen 4
// and 5): in blocks of 144 the 197 rows of ViT-B/16 came in two, each
// streaming every block of B from L3 once more. Blocks of 240 rather
// than 144 took its prepared products (weights cycled through L3, thread
// CPU time, medians of 31 calls interleaved on a loaded Zen 5) from 145
// to 161 GFLOP/s at 197×3072×768, 152 to 158 at 197×2304×768, 167 to
// 174 at 197×768×768, 153 to 161 at 197×768×3072, and changed nothing
// beyond the noise at 128×1024×256, 256×1024×256 and 384×768×768 (204
// and 288 did as well as 240).
var avx512ShortKernel = kernel{
	name: "avx512-6x32",
	mr:   6, nr: 32,
	mc: 240, kc: 256, nc: 4096, ncT: 1024, unroll: 4,
	run: func(k int, a, b, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue) {
		_, _, _ = a[6*k-1], b[32*k-1], c[5*ldc+31]
		kernel6x32AVX512Packed(k, &a[0], &b[0], &c[0], ldc, alpha, beta, boolInt(useBeta), e.bias0(), e.clamp0())
	},
	runRows: func(k int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue) {
		_, _, _ = a[5*lda+k-1], b[32*k-1], c[5*ldc+31]
		kernel6x32AVX512Rows(k, &a[0], lda, &b[0], &c[0], ldc, alpha, beta, boolInt(useBeta), e.bias0(), e.clamp0())
	},
	transpose16: transpose16AVX2,
	copyA:       runCopier(6, copyRows6AVX2),
	copyB:       runCopier(32, copyRows32AVX2),
	dot4:        dot4AVX2,
	axpy32:      axpy32AVX2,
}

// avx2Tiles returns the AVX2 and FMA kernel of 6×16 tiles under the
// given name, multiplying matrices as stored with wide or shortWide
// instead where kernel.plainKernel says (either may be nil), and A
// gathered through a window two panels at a time with gatherPair and
// gatherPair7, and their variants gatherPairNext and gatherPair7Next
// (any may be nil).
func avx2Tiles(name string, wide, shortWide *kernel, gatherPair, gatherPair7, gatherPairNext, gatherPair7Next func(k int, x []float32, rows, off []int32, b []float32, panel int, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue)) kernel {
	return kernel{
		name: name,
		mr:   6, nr: 16,
		mc: 144, kc: 256, nc: 4080, ncT: 512, unroll: 4,
		run: func(k int, a, b, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue) {
			_, _, _ = a[6*k-1], b[16*k-1], c[5*ldc+15]
			kernel6x16AVX2Packed(k, &a[0], &b[0], &c[0], ldc, alpha, beta, boolInt(useBeta), e.bias0(), e.clamp0())
		},
		runRows: func(k int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue) {
			_, _, _ = a[5*lda+k-1], b[16*k-1], c[5*ldc+15]
			kernel6x16AVX2Rows(k, &a[0], lda, &b[0], &c[0], ldc, alpha, beta, boolInt(useBeta), e.bias0(), e.clamp0())
		},
		// The window's bounds were checked by gemmArgs.check.
		slide: func(k int, a, x []float32, off []int32, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue) {
			_, _, _, _ = a[6*k-1], x[0], off[k-1], c[5*ldc+15]
			kernel6x16AVX2PackedSlide(k, &a[0], &x[0], &off[0], &c[0], ldc, alpha, beta, boolInt(useBeta), e.bias0(), e.clamp0())
		},
		slideRows: func(k int, a []float32, lda int, x []float32, off []int32, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue) {
			_, _, _, _ = a[5*lda+k-1], x[0], off[k-1], c[5*ldc+15]
			kernel6x16AVX2RowsSlide(k, &a[0], lda, &x[0], &off[0], &c[0], ldc, alpha, beta, boolInt(useBeta), e.bias0(), e.clamp0())
		},
		// The window's bounds were checked by gemmArgs.check.
		gather: func(k int, x []float32, rows, off []int32, b, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue) {
			_, _, _, _, _ = x[0], rows[5], off[k-1], b[16*k-1], c[5*ldc+15]
			kernel6x16AVX2Gather(k, &x[0], &rows[0], &off[0], &b[0], &c[0], ldc, alpha, beta, boolInt(useBeta), e.bias0(), e.clamp0())
		},
		gatherPair:      gatherPair,
		gatherPair7:     gatherPair7,
		gatherPairNext:  gatherPairNext,
		gatherPair7Next: gatherPair7Next,
		transpose16:     transpose16AVX2,
		copyA:           runCopier(6, copyRows6AVX2),
		copyB:           runCopier(16, copyRows16AVX2),
		dot4:            dot4AVX2,
		axpy32:          axpy32AVX2,
		wide:            wide,
		shortWide:       shortWide,
	}
}

// gatherPairAVX512 is kernel.gatherPair with kernel6x32AVX512Gather
// (AVX-512F): 12 ZMM accumulators over two 16-wide panels of B, each
// value of A broadcast once for its two FMAs. The AVX2 kernel's 6×16 tiles
// load a value of A for every 16 multiply-adds of a step, these for
// every 32, and a ZMM FMA does the work of two YMM ones. Forward
// passes with prepared weights at batch 1, one thread, CPU time, A/B
// interleaved on a loaded machine: ResNet-18's 3x3 512->512 at 7x7
// took 2.44-2.61 against 2.97-3.07 ms, its stride-2 3x3 layers 1.12-1.25
// against 1.21-1.39 ms, 1x1 256->512 stride 2 136-141 against 165us.
// Deeper blocks of k (192 to 512 for the pairs) changed nothing beyond
// the noise but 192, 8% slower.
func gatherPairAVX512(k int, x []float32, rows, off []int32, b []float32, panel int, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue) {
	_, _, _, _, _ = x[0], rows[5], off[k-1], b[panel+16*k-1], c[5*ldc+31]
	kernel6x32AVX512Gather(k, &x[0], &rows[0], &off[0], &b[0], panel, &c[0], ldc, alpha, beta, boolInt(useBeta), e.bias0(), e.clamp0())
}

// gatherPairNextAVX512 is gatherPairAVX512 with
// kernel6x32AVX512GatherNext, which also prefetches the next two panels
// of B (prefetches do not fault: the last pair's read past b).
func gatherPairNextAVX512(k int, x []float32, rows, off []int32, b []float32, panel int, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue) {
	_, _, _, _, _ = x[0], rows[5], off[k-1], b[panel+16*k-1], c[5*ldc+31]
	kernel6x32AVX512GatherNext(k, &x[0], &rows[0], &off[0], &b[0], panel, &c[0], ldc, alpha, beta, boolInt(useBeta), e.bias0(), e.clamp0())
}

// gatherPair7NextAVX512 is gatherPair7AVX512 with
// kernel7x32AVX512GatherNext (see gatherPairNextAVX512).
func gatherPair7NextAVX512(k int, x []float32, rows, off []int32, b []float32, panel int, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue) {
	_, _, _, _, _ = x[0], rows[6], off[k-1], b[panel+16*k-1], c[6*ldc+31]
	kernel7x32AVX512GatherNext(k, &x[0], &rows[0], &off[0], &b[0], panel, &c[0], ldc, alpha, beta, boolInt(useBeta), e.bias0(), e.clamp0())
}

// gatherPair7AVX512 is gatherPairAVX512 for tiles of 7 rows, with
// kernel7x32AVX512Gather (14 ZMM accumulators).
func gatherPair7AVX512(k int, x []float32, rows, off []int32, b []float32, panel int, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue) {
	_, _, _, _, _ = x[0], rows[6], off[k-1], b[panel+16*k-1], c[6*ldc+31]
	kernel7x32AVX512Gather(k, &x[0], &rows[0], &off[0], &b[0], panel, &c[0], ldc, alpha, beta, boolInt(useBeta), e.bias0(), e.clamp0())
}

// transpose16AVX2 is kernel.transpose16 with packBTrans16AVX2, which
// handles k rounded down to a multiple of 8.
func transpose16AVX2(k int, src []float32, ldb int, dst []float32, dstStride int) int {
	done := k / 8 * 8
	if done == 0 {
		return 0
	}
	_, _ = src[15*ldb+done-1], dst[(done-1)*dstStride+15]
	packBTrans16AVX2(done, &src[0], ldb, &dst[0], dstStride)
	return done
}

// dot4AVX2 is kernel.dot4 with dotRowsAVX2 on one group of four rows.
func dot4AVX2(k int, a []float32, lda int, x []float32) (sums [4]float32) {
	if k == 0 {
		return sums
	}
	_, _ = a[3*lda+k-1], x[k-1]
	dotRowsAVX2(1, k, &a[0], lda, &x[0], &sums[0])
	return sums
}

// axpy32AVX2 is kernel.axpy32 with axpyCols32AVX2.
func axpy32AVX2(x, b []float32, ldb int) (sums [32]float32) {
	if len(x) == 0 {
		return sums
	}
	_ = b[(len(x)-1)*ldb+31]
	axpyCols32AVX2(len(x), &x[0], &b[0], ldb, &sums[0])
	return sums
}

// runCopier wraps copyRows<w>AVX2 as kernel.copyA or copyB, checking
// the bounds the assembly relies on.
func runCopier(w int, copyRows func(k int, src *float32, srcStride int, dst *float32, dstStride int)) func(k int, src []float32, srcStride int, dst []float32, dstStride int) {
	return func(k int, src []float32, srcStride int, dst []float32, dstStride int) {
		if k == 0 {
			return
		}
		_, _ = src[(k-1)*srcStride+w-1], dst[(k-1)*dstStride+w-1]
		copyRows(k, &src[0], srcStride, &dst[0], dstStride)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// preferredKernel returns the micro-kernel Fast uses at CPU level l: at
// the AVX-512 level, avx512ByShape, the AVX2 kernel that multiplies some
// matrices as stored with the AVX-512 one. On the Zen 4 this project
// runs on, whose AVX-512 executes on 256-bit units, the AVX2 kernel was
// faster at most of the AlexNet shapes of BenchmarkSgemm, and AlexNet
// trained at 55.4 images/s with it against 38.8 with the AVX-512 kernel
// (blocked by k in 128s then); the AVX-512 one was faster at conv1,
// conv5 and conv4's input gradient (see kernel.plainKernel). The
// AVX-512 kernel alone stays in Available and in the tests.
func preferredKernel(l simd.Level) *kernel {
	switch {
	case l >= simd.AVX512:
		return &avx512ByShape
	case l >= simd.AVX2:
		return &avx2Kernel
	}
	return levelKernel(l)
}

// levelKernel returns the micro-kernel of CPU level l.
func levelKernel(l simd.Level) *kernel {
	switch {
	case l >= simd.AVX512:
		return &avx512Kernel
	case l >= simd.AVX2:
		return &avx2Kernel
	}
	return &goKernel
}

// bias0 returns the address of e's bias, nil when it has none (no
// epilogue).
func (e *tileEpilogue) bias0() *float32 {
	switch {
	case e == nil:
		return nil
	case e.padded:
		return &e.pad[0]
	}
	return &e.bias[0]
}

// clamp0 returns the address of e's clamp, nil for a nil e.
func (e *tileEpilogue) clamp0() *float32 {
	if e == nil {
		return nil
	}
	return &e.clamp[0]
}
