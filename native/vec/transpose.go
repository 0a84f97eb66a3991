package vec

import "fmt"

// TransposeBias stores the transpose of the rows x cols matrix src (rows
// srcStride apart) into dst (rows dstStride apart), adding bias[j] to
// column j (bias may be nil: none) and, with relu, taking max(v, 0):
// dst[j*dstStride+i] = relu(src[i*srcStride+j] + bias[j]). A product
// computed position by channel reaches channel-major planes this way.
// Blocks of 8x8 go through AVX2 registers where the CPU has it.
func TransposeBias(dst []float32, dstStride int, src []float32, srcStride, rows, cols int, bias []float32, relu bool) {
	TransposeBiasResidual(dst, dstStride, src, srcStride, rows, cols, bias, nil, relu)
}

// TransposeBiasResidual is TransposeBias with a residual laid out as
// dst added after the bias and before the activation, each addition
// rounded:
// dst[j*dstStride+i] = relu((src[i*srcStride+j] + bias[j]) + residual[j*dstStride+i]).
// residual may be nil (none); it may be dst itself. A ResNet block's
// convolution, its Add and its Relu reach the output in this one pass.
func TransposeBiasResidual(dst []float32, dstStride int, src []float32, srcStride, rows, cols int, bias, residual []float32, relu bool) {
	if rows == 0 || cols == 0 {
		return
	}
	if rows < 0 || cols < 0 || srcStride < cols || dstStride < rows ||
		(rows-1)*srcStride+cols > len(src) || (cols-1)*dstStride+rows > len(dst) || bias != nil && len(bias) < cols ||
		residual != nil && (cols-1)*dstStride+rows > len(residual) {
		panic(fmt.Sprintf("vec: TransposeBias of %dx%d, rows %d apart in %d, to rows %d apart in %d, %d biases, %d residuals",
			rows, cols, srcStride, len(src), dstStride, len(dst), len(bias), len(residual)))
	}
	rows8, cols8 := 0, 0
	if hasAVX2() {
		rows8, cols8 = rows/8*8, cols/8*8
		if rows8 > 0 && cols8 > 0 {
			var b, r *float32
			if bias != nil {
				b = &bias[0]
			}
			if residual != nil {
				r = &residual[0]
			}
			transposeBiasAVX2(rows8/8, cols8/8, &dst[0], dstStride, &src[0], srcStride, b, r, relu)
		}
	}
	// What the blocks leave: the last columns of every row, then the last
	// rows of the blocks' columns.
	if cols8 < cols {
		transposeBiasGo(dst, dstStride, src, srcStride, 0, rows, cols8, cols, bias, residual, relu)
	}
	if rows8 < rows {
		transposeBiasGo(dst, dstStride, src, srcStride, rows8, rows, 0, cols8, bias, residual, relu)
	}
}

// transposeBiasGo is TransposeBiasResidual in Go for rows [i0, i1) and
// columns [j0, j1).
func transposeBiasGo(dst []float32, dstStride int, src []float32, srcStride, i0, i1, j0, j1 int, bias, residual []float32, relu bool) {
	for j := j0; j < j1; j++ {
		var b float32
		if bias != nil {
			b = bias[j]
		}
		row := dst[j*dstStride:]
		for i := i0; i < i1; i++ {
			v := src[i*srcStride+j] + b
			if residual != nil {
				v += residual[j*dstStride+i]
			}
			if relu {
				v = max(v, 0)
			}
			row[i] = v
		}
	}
}
