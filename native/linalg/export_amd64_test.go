package linalg

// StandIns are Blocked Gemms for tests only: the blocking, packing and
// assembly packing routines of each amd64 kernel with a plain Go
// micro-kernel of the same tile size in place of the assembly one. They
// let the shared suite exercise everything but the AVX-512 instructions
// on CPUs without AVX-512.
var StandIns = []Blocked{
	{kern: standIn(&avx512Kernel)},
	{kern: standIn(&avx2Kernel)},
}

// standIn copies the parameters and packing routines of k and replaces
// its micro-kernels with goTile.
func standIn(k *kernel) *kernel {
	mr, nr := k.mr, k.nr
	return &kernel{
		name: "standin-" + k.name,
		mr:   mr, nr: nr,
		mc: k.mc, kc: k.kc, nc: k.nc, ncT: k.ncT, unroll: k.unroll,
		run: func(kk int, a, b, c []float32, ldc int, alpha, beta float32, useBeta bool) {
			goTile(mr, nr, kk, func(i, q int) float32 { return a[q*mr+i] }, b, c, ldc, alpha, beta, useBeta)
		},
		runRows: func(kk int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32, useBeta bool) {
			goTile(mr, nr, kk, func(i, q int) float32 { return a[i*lda+q] }, b, c, ldc, alpha, beta, useBeta)
		},
		transpose16: k.transpose16,
		copyA:       k.copyA,
		copyB:       k.copyB,
	}
}

// goTile computes the mr×nr tile c = alpha*A*b (+ beta*c if useBeta)
// with A[i][q] = aAt(i, q) and b a packed k×nr panel, summing in
// increasing order of k.
func goTile(mr, nr, k int, aAt func(i, q int) float32, b, c []float32, ldc int, alpha, beta float32, useBeta bool) {
	for i := 0; i < mr; i++ {
		for j := 0; j < nr; j++ {
			var sum float32
			for q := 0; q < k; q++ {
				sum += aAt(i, q) * b[q*nr+j]
			}
			ci := &c[i*ldc+j]
			if useBeta {
				*ci = alpha*sum + beta*(*ci)
			} else {
				*ci = alpha * sum
			}
		}
	}
}
