package native

import (
	"testing"

	"github.com/onnxkit/onnxkit/native/tensor"
)

// TestPoolBoundedUnderVaryingShapes runs a DenseNet-style network on
// batch sizes that cycle through 1 to 13, 40 runs: the pool's buffers
// serve the sizes that come back, so that it ends holding at most twice
// what a program that only ever ran the largest batch holds (1.6 times
// here; an exact-size pool, which kept buffers for every size seen,
// held 4.7 times).
func TestPoolBoundedUnderVaryingShapes(t *testing.T) {
	m := denseNet(t, 2, 6)
	batches := func(sizes ...int) int64 {
		p, err := Compile(m)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range sizes {
			if _, err := p.Run(map[string]*tensor.Tensor{"x": randomInput(5, n, 8, 16, 16)}); err != nil {
				t.Fatal(err)
			}
		}
		var held int64
		for _, st := range p.states.free {
			held += 4 * int64(st.pool.Held())
		}
		return held
	}
	var cycle []int
	for run := range 40 {
		cycle = append(cycle, 1+(run*7)%13)
	}
	varying, largest := batches(cycle...), batches(13, 13)
	t.Logf("held %d bytes after batches %v, %d after batch 13 alone", varying, cycle, largest)
	if varying > 2*largest {
		t.Errorf("the pool holds %d bytes after varying batches, %d after the largest alone", varying, largest)
	}
}
