package parallel_test

import (
	"fmt"

	"github.com/onnxkit/onnxkit/native/parallel"
)

// For splits a loop into ranges that goroutines run at once; each range
// writes only its own elements, so the result does not depend on the
// split.
func ExampleFor() {
	squares := make([]int, 1000)
	parallel.With(2, func() {
		parallel.For(len(squares), 100, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				squares[i] = i * i
			}
		})
	})
	sum := 0
	for _, v := range squares {
		sum += v
	}
	fmt.Println(sum)
	// Output: 332833500
}

// A burst keeps the workers of one loop awake for the next, as a run of
// a model does between its nodes: loops that come microseconds apart
// then start on every thread at once.
func ExampleBeginBurst() {
	rows := make([][]float64, 64)
	for i := range rows {
		rows[i] = make([]float64, 256)
	}
	parallel.With(2, func() {
		parallel.BeginBurst()
		defer parallel.EndBurst()
		for step := 1; step <= 3; step++ { // three small loops in a row
			parallel.For(len(rows), 8, func(lo, hi int) {
				for _, row := range rows[lo:hi] {
					for j := range row {
						row[j] += float64(step)
					}
				}
			})
		}
	})
	fmt.Println(rows[0][0], rows[63][255])
	// Output: 6 6
}
