//go:build openblas && cgo

package linalg_test

import "github.com/onnxkit/onnxkit/native/linalg/openblas"

func init() {
	extraGemms = append(extraGemms, namedGemm{openblasName, openblas.Gemm{}})
}
