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

// vecPanelDots32x3AVX512 is vecPanelDots32AVX512 for three rows of x
// and y, ldx and ldy apart, with the same sums for each.
//
//go:noescape
func vecPanelDots32x3AVX512(k, panels int, x *float32, ldx int, b, y *float32, ldy int)

// vecPanelsFast runs SgemvPackedVecB's AVX-512 kernels when kern is of
// the AVX-512 level, and reports whether it did; its arguments are
// checked. Up to two rows go through every panel at once, or panel by
// panel from the last if backward; more go panel by panel (from the
// last if backward), three rows at a time but the last four, two at a
// time (the one-row kernel waits on the panel's loads), so that each
// panel comes from memory once and from the core's caches for the next
// rows.
func vecPanelsFast(kern *kernel, backward bool, m, k, panels int, x []float32, ldx int, b, y []float32, ldy int) bool {
	if !vecPanelsVectorised(kern) {
		return false
	}
	const w = VecPanelWidth
	if m > 2 {
		for q := range panels {
			p := q
			if backward {
				p = panels - 1 - q
			}
			panel := &b[p*w*k]
			i := 0
			for ; i+3 <= m && m-i != 4; i += 3 {
				vecPanelDots32x3AVX512(k, 1, &x[i*ldx], ldx, panel, &y[i*ldy+p*w], ldy)
			}
			for ; i+2 <= m; i += 2 {
				vecPanelDots32x2AVX512(k, 1, &x[i*ldx], ldx, panel, &y[i*ldy+p*w], ldy)
			}
			if i < m {
				vecPanelDots32AVX512(k, 1, &x[i*ldx], panel, &y[i*ldy+p*w])
			}
		}
		return true
	}
	if backward {
		for p := panels - 1; p >= 0; p-- {
			if m == 2 {
				vecPanelDots32x2AVX512(k, 1, &x[0], ldx, &b[p*w*k], &y[p*w], ldy)
			} else {
				vecPanelDots32AVX512(k, 1, &x[0], &b[p*w*k], &y[p*w])
			}
		}
		return true
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

// vecPanelsVectorised reports whether SgemvPackedVecB has kernels of
// kern's level.
func vecPanelsVectorised(kern *kernel) bool { return kern == &avx512ByShape || kern == &avx512Kernel }
