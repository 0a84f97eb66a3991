package linalg

// vecPanelDots32AVX512 stores in y the 32 sums of each of panels
// consecutive panels of PackVecB's layout, each k rows of 32 values,
// multiplied by x (k ≥ 1): see SgemvPackedVecB.
//
//go:noescape
func vecPanelDots32AVX512(k, panels int, x, b, y *float32)

// vecPanelsFast runs SgemvPackedVecB's AVX-512 kernel when kern is of the
// AVX-512 level, and reports whether it did.
func vecPanelsFast(kern *kernel, k, panels int, x, b, y []float32) bool {
	if kern != &avx512ByShape && kern != &avx512Kernel {
		return false
	}
	_, _, _ = x[k-1], b[panels*VecPanelWidth*k-1], y[panels*VecPanelWidth-1]
	vecPanelDots32AVX512(k, panels, &x[0], &b[0], &y[0])
	return true
}
