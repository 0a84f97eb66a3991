package linalg

// StandIns are Blocked Gemms for tests only: the blocking, packing and
// assembly packing routines of each amd64 kernel with a plain Go
// micro-kernel of the same tile size in place of the assembly one. They
// let the shared suite exercise everything but the AVX-512 instructions
// on CPUs without AVX-512.
var StandIns = []Blocked{
	{kern: standIn(&avx512Kernel)},
	{kern: standIn(&avx2Kernel)},
	{kern: standIn(&avx512ByShape)},
}

// standIn copies the parameters and packing routines of k and replaces
// its micro-kernels (and its wide kernel's) with goTile.
func standIn(k *kernel) *kernel {
	if k == nil {
		return nil
	}
	mr, nr := k.mr, k.nr
	var gather func(int, []float32, []int32, []int32, []float32, []float32, int, float32, float32, bool, *tileEpilogue)
	if k.gather != nil {
		gather = func(kk int, x []float32, rows, off []int32, b, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue) {
			aAt := func(i, q int) float32 { return x[int(rows[i])+int(off[q])] }
			goTile(mr, nr, kk, aAt, packedB(b, nr), c, ldc, alpha, beta, useBeta, e)
		}
	}
	var run8 func(int, []float32, []float32, []float32, int, float32, float32, bool, *tileEpilogue)
	var runRows8 func(int, []float32, int, []float32, []float32, int, float32, float32, bool, *tileEpilogue)
	if k.run8 != nil {
		run8 = func(kk int, a, b, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue) {
			goTile(mr, narrowNR, kk, packedA(a, mr), packedB(b, narrowNR), c, ldc, alpha, beta, useBeta, e)
		}
		runRows8 = func(kk int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue) {
			goTile(mr, narrowNR, kk, rowsA(a, lda), packedB(b, narrowNR), c, ldc, alpha, beta, useBeta, e)
		}
	}
	return &kernel{
		name: "standin-" + k.name,
		mr:   mr, nr: nr,
		mc: k.mc, kc: k.kc, nc: k.nc, ncT: k.ncT, unroll: k.unroll,
		run: func(kk int, a, b, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue) {
			goTile(mr, nr, kk, packedA(a, mr), packedB(b, nr), c, ldc, alpha, beta, useBeta, e)
		},
		runRows: func(kk int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue) {
			goTile(mr, nr, kk, rowsA(a, lda), packedB(b, nr), c, ldc, alpha, beta, useBeta, e)
		},
		slide: func(kk int, a, x []float32, off []int32, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue) {
			goTile(mr, nr, kk, packedA(a, mr), window(x, off), c, ldc, alpha, beta, useBeta, e)
		},
		slideRows: func(kk int, a []float32, lda int, x []float32, off []int32, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue) {
			goTile(mr, nr, kk, rowsA(a, lda), window(x, off), c, ldc, alpha, beta, useBeta, e)
		},
		run8:        run8,
		runRows8:    runRows8,
		gather:      gather,
		transpose16: k.transpose16,
		copyA:       k.copyA,
		copyB:       k.copyB,
		wide:        standIn(k.wide),
		shortWide:   standIn(k.shortWide),
	}
}

// The layouts of the operands of a micro-kernel, as element accessors.
func packedA(a []float32, mr int) func(i, q int) float32 {
	return func(i, q int) float32 { return a[q*mr+i] }
}
func rowsA(a []float32, lda int) func(i, q int) float32 {
	return func(i, q int) float32 { return a[i*lda+q] }
}
func packedB(b []float32, nr int) func(q, j int) float32 {
	return func(q, j int) float32 { return b[q*nr+j] }
}
func window(x []float32, off []int32) func(q, j int) float32 {
	return func(q, j int) float32 { return x[int(off[q])+j] }
}

// goTile computes the mr×nr tile c = alpha*A*B (+ beta*c if useBeta)
// with A[i][q] = aAt(i, q) and B[q][j] = bAt(q, j), summing in
// increasing order of k.
func goTile(mr, nr, k int, aAt, bAt func(int, int) float32, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue) {
	for i := 0; i < mr; i++ {
		for j := 0; j < nr; j++ {
			var sum float32
			for q := 0; q < k; q++ {
				sum += aAt(i, q) * bAt(q, j)
			}
			ci := &c[i*ldc+j]
			if useBeta {
				*ci = alpha*sum + beta*(*ci)
			} else {
				*ci = alpha * sum
			}
			if e != nil {
				*ci = e.apply(*ci, i)
			}
		}
	}
}
