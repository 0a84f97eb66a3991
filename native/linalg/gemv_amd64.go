package linalg

// dotRowsFast computes the leading groups of four rows of DotRows with
// dotRowsAVX2 when kern is one of the assembly kernels, whose dot4 runs
// the same arithmetic per group, and returns how many rows it did.
func dotRowsFast(kern *kernel, y, a []float32, lda int, x []float32) int {
	groups, k := len(y)/4, len(x)/8*8
	if groups == 0 || k == 0 || kern != &avx2Kernel && kern != &avx512Kernel {
		return 0
	}
	_, _ = a[(4*groups-1)*lda+k-1], x[k-1]
	dotRowsAVX2(groups, k, &a[0], lda, &x[0], &y[0])
	return 4 * groups
}
