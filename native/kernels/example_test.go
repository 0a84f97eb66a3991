package kernels_test

import (
	"fmt"

	"github.com/onnxkit/onnxkit/native/kernels"
)

// A 2x2 all-ones kernel over a 3x3 image holding 1..9, and its gradients
// for an upstream gradient of ones. Worked by hand: each output is the sum
// of a 2x2 block (1+2+4+5 = 12, ...); dW is the same sums, since dy is all
// ones; dX counts the windows covering each pixel.
func ExampleConvForward() {
	p := kernels.ConvParams{N: 1, C: 1, H: 3, W: 3, M: 1, KH: 2, KW: 2,
		StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1, Group: 1}
	if err := p.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	oh, ow := p.OutSize()
	x := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	w := []float32{1, 1, 1, 1}
	y := make([]float32, oh*ow)
	kernels.ConvForward(&p, x, w, nil, y)
	fmt.Println("y:", y)

	dy := []float32{1, 1, 1, 1}
	dx, dw := make([]float32, len(x)), make([]float32, len(w))
	kernels.ConvBackward(&p, x, w, nil, dy, dx, dw, nil)
	fmt.Println("dw:", dw)
	fmt.Println("dx:", dx)
	// Output:
	// y: [12 16 24 28]
	// dw: [12 16 24 28]
	// dx: [1 2 1 2 4 2 1 2 1]
}
