package linalg

// Wide returns the Blocked Gemm of g's wide kernel, the one g multiplies
// matrices as stored with where that is faster (at the AVX-512 level,
// 12×32 tiles beside the 6×16 ones whose panels PackB and windows
// keep), or g when it has none. Its products by windows and by a packed
// B take its own panels: a caller that lays out B for it asks it
// (PanelWidth, PackB).
func (g Blocked) Wide() Blocked {
	if w := g.kernel().wide; w != nil {
		return Blocked{kern: w, serial: g.serial}
	}
	return g
}

// PlainFor returns the Blocked Gemm whose kernel g multiplies an m×n
// product of matrices as stored with (at the AVX-512 level 12×32 or
// 6×32 tiles where they cover C about as well as 6×16 ones, see
// kernel.plainKernel), or g. A producer that writes B packed for such a
// product (PanelWidth, SgemmPackedB) keeps the kernel Sgemm would take,
// and the same results bit for bit: every kernel sums each element of C
// in the same order.
func (g Blocked) PlainFor(m, n int) Blocked {
	p := gemmArgs{m: m, n: n}
	if k := g.kernel().plainKernel(&p); k != g.kernel() {
		return Blocked{kern: k, serial: g.serial}
	}
	return g
}
