package linalg_test

import (
	"fmt"

	"github.com/onnxkit/onnxkit/native/linalg"
)

// C = A·B for a 2×3 A and a 3×2 B, both row-major:
// C[0][0] = 1*7 + 2*9 + 3*11 = 58, C[0][1] = 1*8 + 2*10 + 3*12 = 64,
// C[1][0] = 4*7 + 5*9 + 6*11 = 139, C[1][1] = 4*8 + 5*10 + 6*12 = 154.
func ExampleSgemm() {
	a := []float32{
		1, 2, 3,
		4, 5, 6,
	}
	b := []float32{
		7, 8,
		9, 10,
		11, 12,
	}
	c := make([]float32, 2*2)
	linalg.Sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2)
	fmt.Println(c)
	// Output: [58 64 139 154]
}
