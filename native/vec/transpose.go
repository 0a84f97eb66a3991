package vec

import "fmt"

// TransposeBias stores the transpose of the rows x cols matrix src (rows
// srcStride apart) into dst (rows dstStride apart), adding bias[j] to
// column j (bias may be nil: none) and, with relu, taking max(v, 0):
// dst[j*dstStride+i] = relu(src[i*srcStride+j] + bias[j]). A product
// computed position by channel reaches channel-major planes this way.
// Blocks of 8x8 go through AVX2 registers where the CPU has it.
func TransposeBias(dst []float32, dstStride int, src []float32, srcStride, rows, cols int, bias []float32, relu bool) {
	if rows == 0 || cols == 0 {
		return
	}
	if rows < 0 || cols < 0 || srcStride < cols || dstStride < rows ||
		(rows-1)*srcStride+cols > len(src) || (cols-1)*dstStride+rows > len(dst) || bias != nil && len(bias) < cols {
		panic(fmt.Sprintf("vec: TransposeBias of %dx%d, rows %d apart in %d, to rows %d apart in %d, %d biases",
			rows, cols, srcStride, len(src), dstStride, len(dst), len(bias)))
	}
	rows8, cols8 := 0, 0
	if hasAVX2() {
		rows8, cols8 = rows/8*8, cols/8*8
		if rows8 > 0 && cols8 > 0 {
			var b *float32
			if bias != nil {
				b = &bias[0]
			}
			transposeBiasAVX2(rows8/8, cols8/8, &dst[0], dstStride, &src[0], srcStride, b, relu)
		}
	}
	// What the blocks leave: the last columns of every row, then the last
	// rows of the blocks' columns.
	if cols8 < cols {
		transposeBiasGo(dst, dstStride, src, srcStride, 0, rows, cols8, cols, bias, relu)
	}
	if rows8 < rows {
		transposeBiasGo(dst, dstStride, src, srcStride, rows8, rows, 0, cols8, bias, relu)
	}
}

// transposeBiasGo is TransposeBias in Go for rows [i0, i1) and columns
// [j0, j1).
func transposeBiasGo(dst []float32, dstStride int, src []float32, srcStride, i0, i1, j0, j1 int, bias []float32, relu bool) {
	for j := j0; j < j1; j++ {
		var b float32
		if bias != nil {
			b = bias[j]
		}
		row := dst[j*dstStride:]
		for i := i0; i < i1; i++ {
			v := src[i*srcStride+j] + b
			if relu {
				v = max(v, 0)
			}
			row[i] = v
		}
	}
}
