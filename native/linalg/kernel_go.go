package linalg

// goKernel is the portable micro-kernel: a 4×4 tile of C held in sixteen
// scalar accumulators, for CPUs without an assembly kernel.
var goKernel = kernel{
	name: "go-4x4",
	mr:   4, nr: 4,
	mc: 128, kc: 256, nc: 2048, ncT: 2048, unroll: 1,
	run: kernel4x4Go,
}

// kernel4x4Go computes the 4×4 tile c = alpha*a*b (+ beta*c if useBeta)
// from a packed k×4 panel a and a packed k×4 panel b, summing in
// increasing order of k, then applies e unless it is nil.
func kernel4x4Go(k int, a, b, c []float32, ldc int, alpha, beta float32, useBeta bool, e *tileEpilogue) {
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	var c30, c31, c32, c33 float32
	a, b = a[:4*k], b[:4*k]
	for len(a) >= 4 && len(b) >= 4 {
		a0, a1, a2, a3 := a[0], a[1], a[2], a[3]
		b0, b1, b2, b3 := b[0], b[1], b[2], b[3]
		a, b = a[4:], b[4:]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	store4(c[0*ldc:0*ldc+4], c00, c01, c02, c03, alpha, beta, useBeta)
	store4(c[1*ldc:1*ldc+4], c10, c11, c12, c13, alpha, beta, useBeta)
	store4(c[2*ldc:2*ldc+4], c20, c21, c22, c23, alpha, beta, useBeta)
	store4(c[3*ldc:3*ldc+4], c30, c31, c32, c33, alpha, beta, useBeta)
	if e == nil {
		return
	}
	for i := 0; i < 4; i++ {
		row := c[i*ldc : i*ldc+4]
		for j, y := range row {
			row[j] = e.apply(y, i)
		}
	}
}

// store4 writes alpha*(s0..s3) (+ beta*row if useBeta) into row[0:4].
func store4(row []float32, s0, s1, s2, s3, alpha, beta float32, useBeta bool) {
	row = row[:4]
	if useBeta {
		row[0] = alpha*s0 + beta*row[0]
		row[1] = alpha*s1 + beta*row[1]
		row[2] = alpha*s2 + beta*row[2]
		row[3] = alpha*s3 + beta*row[3]
		return
	}
	row[0] = alpha * s0
	row[1] = alpha * s1
	row[2] = alpha * s2
	row[3] = alpha * s3
}
