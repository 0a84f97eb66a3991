package linalg

// vecPanelDots32AVX512 stores in y the 32 sums of each of panels
// consecutive panels of PackVecB's layout, each k rows of 32 values,
// multiplied by x (k ≥ 1): see SgemvPackedVecB.
//
//go:noescape
func vecPanelDots32AVX512(k, panels int, x, b, y *float32)

// vecPanelDots32x2AVX512 is vecPanelDots32AVX512 for two rows of x and
// y, ldx and ldy apart, with the same sums for each.
//
//go:noescape
func vecPanelDots32x2AVX512(k, panels int, x *float32, ldx int, b, y *float32, ldy int)

// vecPanelsFast runs SgemvPackedVecB's AVX-512 kernels when kern is of
// the AVX-512 level, and reports whether it did; its arguments are
// checked.
func vecPanelsFast(kern *kernel, m, k, panels int, x []float32, ldx int, b, y []float32, ldy int) bool {
	if kern != &avx512ByShape && kern != &avx512Kernel {
		return false
	}
	i := 0
	for ; i+2 <= m; i += 2 {
		vecPanelDots32x2AVX512(k, panels, &x[i*ldx], ldx, &b[0], &y[i*ldy], ldy)
	}
	if i < m {
		vecPanelDots32AVX512(k, panels, &x[i*ldx], &b[0], &y[i*ldy])
	}
	return true
}
