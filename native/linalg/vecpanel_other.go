//go:build !amd64

package linalg

// vecPanelsFast leaves SgemvPackedVecB to SgemmPackedVecB outside amd64.
func vecPanelsFast(kern *kernel, backward bool, m, k, panels int, x []float32, ldx int, b, y []float32, ldy int) bool {
	return false
}

// vecPanelsVectorised reports that SgemvPackedVecB has no kernels of its
// own outside amd64.
func vecPanelsVectorised(kern *kernel) bool { return false }
