package vec

import "github.com/onnxkit/onnxkit/native/simd"

// Kernels of the binary operations by width (AVX2, AVX-512) and
// operation. Add and Mul commute, so their scalar-vector forms are the
// vector-scalar ones with the operands swapped.
var (
	binaryVV = [2][4]func(n int, dst, x, y *float32){
		{addVVAVX2, subVVAVX2, mulVVAVX2, divVVAVX2},
		{addVVAVX512, subVVAVX512, mulVVAVX512, divVVAVX512},
	}
	binaryVS = [2][4]func(n int, dst, x *float32, y float32){
		{addVSAVX2, subVSAVX2, mulVSAVX2, divVSAVX2},
		{addVSAVX512, subVSAVX512, mulVSAVX512, divVSAVX512},
	}
	binarySV = [2][4]func(n int, dst *float32, x float32, y *float32){
		{func(n int, dst *float32, x float32, y *float32) { addVSAVX2(n, dst, y, x) }, subSVAVX2,
			func(n int, dst *float32, x float32, y *float32) { mulVSAVX2(n, dst, y, x) }, divSVAVX2},
		{func(n int, dst *float32, x float32, y *float32) { addVSAVX512(n, dst, y, x) }, subSVAVX512,
			func(n int, dst *float32, x float32, y *float32) { mulVSAVX512(n, dst, y, x) }, divSVAVX512},
	}
)

// binaryWidth returns the index of the kernels to use and their lanes,
// or lanes 0 at the generic level.
func binaryWidth() (level, lanes int) {
	switch {
	case simd.Has(simd.AVX512):
		return 1, 16
	case simd.Has(simd.AVX2):
		return 0, 8
	}
	return 0, 0
}

// binaryFast computes the leading elements of Binary that fill whole
// vectors and returns how many it did.
func binaryFast(op BinaryOp, dst, x, y []float32) int {
	level, lanes := binaryWidth()
	if lanes == 0 || len(dst) < lanes {
		return 0
	}
	n := len(dst) / lanes * lanes
	binaryVV[level][op](n, &dst[0], &x[0], &y[0])
	return n
}

// binaryScalarFast is binaryFast for BinaryScalar.
func binaryScalarFast(op BinaryOp, dst, x []float32, y float32) int {
	level, lanes := binaryWidth()
	if lanes == 0 || len(dst) < lanes {
		return 0
	}
	n := len(dst) / lanes * lanes
	binaryVS[level][op](n, &dst[0], &x[0], y)
	return n
}

// scalarBinaryFast is binaryFast for ScalarBinary.
func scalarBinaryFast(op BinaryOp, dst []float32, x float32, y []float32) int {
	level, lanes := binaryWidth()
	if lanes == 0 || len(dst) < lanes {
		return 0
	}
	n := len(dst) / lanes * lanes
	binarySV[level][op](n, &dst[0], x, &y[0])
	return n
}
