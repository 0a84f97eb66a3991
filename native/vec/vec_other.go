//go:build !amd64

package vec

// maxRowsFast leaves MaxRows to Go outside amd64.
func maxRowsFast(dst, src []float32, offsets []int32) bool { return false }

// maxStride2Fast leaves MaxStride2 to Go outside amd64.
func maxStride2Fast(dst, src []float32, offsets []int32) int { return 0 }

// scaleAddFast leaves ScaleAdd to Go outside amd64.
func scaleAddFast(dst, src []float32, a, b float32) bool { return false }

// firstEqualStride2Fast leaves FirstEqualStride2 to Go outside amd64.
func firstEqualStride2Fast(idx []int32, m, src []float32, offsets []int32) int { return 0 }

// The tile transforms have no assembly outside amd64.
var winogradInput3AVX2, winogradInput5AVX2, winogradInput4x3AVX2, winogradGradient3AVX2, winogradGradient5AVX2 func(int, *float32, int, *float32, int, int, bool)

// transposeBiasAVX2 is never called outside amd64, where hasAVX2() is false.
func transposeBiasAVX2(rowBlocks, colBlocks int, dst *float32, dstStride int, src *float32, srcStride int, bias, residual *float32, relu bool) {
	panic("vec: no assembly outside amd64")
}

// The point transforms have no assembly outside amd64.
var (
	winogradOutput3AVX2, winogradOutput5AVX2, winogradOutput4x3AVX2       pointLoop
	winogradOutput3AVX512, winogradOutput5AVX512, winogradOutput4x3AVX512 pointLoop
)

// interleaveAVX2 is never called outside amd64, where hasAVX2() is false.
func interleaveAVX2(blocks int, dst, even, odd *float32, bias float32, relu, accumulate bool) {
	panic("vec: no assembly outside amd64")
}

// interleave4AVX2 is never called outside amd64, where hasAVX2() is false.
func interleave4AVX2(blocks int, dst, a, b, c, d *float32, bias float32, relu, accumulate bool) {
	panic("vec: no assembly outside amd64")
}

// deinterleave4AVX2 is never called outside amd64, where hasAVX2() is false.
func deinterleave4AVX2(blocks int, a, b, c, d, src *float32) {
	panic("vec: no assembly outside amd64")
}

// weightedTapsFast leaves WeightedTaps to Go outside amd64.
func weightedTapsFast(dst, src []float32, offsets []int32, weights []float32, bias float32, relu, accumulate bool) bool {
	return false
}

// deinterleaveAVX2 is never called outside amd64, where hasAVX2() is false.
func deinterleaveAVX2(blocks int, even, odd, src *float32) {
	panic("vec: no assembly outside amd64")
}

// maxPoolRowsFast leaves MaxPoolRows to Go outside amd64.
func maxPoolRowsFast(p *PoolRows, planes, rows int) bool { return false }

// scaleAddReluFast leaves ScaleAddRelu to Go outside amd64.
func scaleAddReluFast(dst, src []float32, a, b float32) bool { return false }

// weightedTapsRowsFast leaves WeightedTapsRows to Go outside amd64.
func weightedTapsRowsFast(dst []float32, dstStride, n, rows int, src []float32, srcStride int, offsets []int32, weights []float32, bias float32, relu, accumulate bool) bool {
	return false
}
