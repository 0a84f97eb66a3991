// Package openblas offers the system OpenBLAS library's cblas_sgemm as a
// linalg.Gemm, to compare the native GEMM against in tests and
// benchmarks. It is compiled only with the openblas build tag (it needs
// cgo and the Debian package libopenblas-dev):
//
//	go test -tags openblas -bench . ./native/linalg/
//
// Without the tag the package is empty.
package openblas
