package optim

import (
	"math/rand/v2"
	"testing"
)

// benchParams is the parameter count of the optimizer benchmarks (4 MiB
// of float32 per buffer).
const benchParams = 1 << 20

func benchStep(b *testing.B, o Optimizer, buffers int) {
	r := rand.New(rand.NewPCG(1, 2))
	w := randVec(r, benchParams, 1)
	g := randVec(r, benchParams, 1e-3)
	b.SetBytes(int64(benchParams) * 4 * int64(2+buffers))
	b.ReportAllocs()
	o.Step(w, g, 1e-3) // allocate the state outside the timed loop
	for b.Loop() {
		o.Step(w, g, 1e-3)
	}
}

func BenchmarkSGD1M(b *testing.B)   { benchStep(b, NewSGD(0.9, 0.0005), 1) }
func BenchmarkAdamW1M(b *testing.B) { benchStep(b, NewAdamW(0.9, 0.999, 1e-8, 0.01), 2) }
