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
