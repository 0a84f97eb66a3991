//go:build !amd64

package linalg

// vecPanelsFast leaves SgemvPackedVecB to SgemmPackedVecB outside amd64.
func vecPanelsFast(kern *kernel, k, panels int, x, b, y []float32) bool { return false }
