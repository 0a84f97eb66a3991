package linalg_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/onnxkit/onnxkit/native/parallel"
)

var benchNaive = flag.Bool("naive", false, "also benchmark the Naive reference (slow at these shapes)")

// benchShape is one GEMM of AlexNet at batch 1 per image (convolutions as
// im2col GEMMs: M output channels, K = kernel area × input channels, N
// output pixels) or batch 64 (fully connected layers), forward and
// backward.
type benchShape struct {
	name           string
	transA, transB bool
	m, n, k        int
	beta           float32
}

var benchShapes = []benchShape{
	{name: "conv1_227", m: 96, n: 3025, k: 363},
	{name: "conv1_224", m: 96, n: 2916, k: 363},
	{name: "conv2", m: 256, n: 676, k: 2400},
	{name: "conv3", m: 384, n: 100, k: 2304},
	{name: "conv4", m: 384, n: 64, k: 3456},
	{name: "conv5", m: 256, n: 36, k: 3456},
	{name: "fc1", transB: true, m: 64, n: 4096, k: 1024},
	{name: "fc2", transB: true, m: 64, n: 4096, k: 4096},
	{name: "fc3", transB: true, m: 64, n: 17, k: 4096},
	// Batch 1: a row vector times the weights (linalg's gemv).
	{name: "fc2_batch1", transB: true, m: 1, n: 4096, k: 4096},
	// Backward: dW = dY·colsᵀ (accumulated over the batch), dcols = Wᵀ·dY,
	// dX = dY·W, dW = dYᵀ·X.
	{name: "conv1_dW", transB: true, m: 96, n: 363, k: 3025, beta: 1},
	{name: "conv2_dW", transB: true, m: 256, n: 2400, k: 676, beta: 1},
	{name: "conv2_dcols", transA: true, m: 2400, n: 676, k: 256},
	{name: "conv4_dcols", transA: true, m: 3456, n: 64, k: 384},
	{name: "fc2_dX", m: 64, n: 4096, k: 4096},
	{name: "fc2_dW", transA: true, m: 4096, n: 4096, k: 64, beta: 1},
	{name: "fc3_dX", m: 64, n: 4096, k: 17},
}

// openblasSpin is how long OpenBLAS's threads may keep spinning after a
// call, waiting for the next one before they sleep: 2^28 time-stamp
// cycles by default (OPENBLAS_THREAD_TIMEOUT), 100-130 ms on the Zen 4
// measured, where after 50 calls at conv1's shape on two threads the
// process took 30-50 ms of CPU time in a 50 ms sleep at once, 14-20 ms
// in a 100 ms sleep after that and 0.2 ms in the next 200 ms. A product
// timed in that window shares a core with the spinning thread; in a
// burst its workers also sense the preemption and stop polling for a
// while (see parallel.BeginBurst).
const openblasSpin = 250 * time.Millisecond

// BenchmarkSgemm times every implementation at every AlexNet shape and
// reports GFLOP/s (2mnk per call). With -tags openblas, OpenBLAS runs
// first at each shape and the others also report their ratio to it.
//
// The implementations of this package run their calls inside a burst
// (parallel.BeginBurst to EndBurst), as the engine runs them: a model's
// forward and backward passes are bursts, during which the workers that
// finish their part of a loop poll for the next one instead of parking,
// so that a product does not wait for a parked worker to be woken (50
// to 100 µs on the virtual machines measured, a good part of a
// millisecond's product). OpenBLAS runs outside any burst, so that no
// polling worker takes a core from its threads; and the others start
// openblasSpin after OpenBLAS's last call, so that its threads, which
// spin waiting for the next call before they sleep, take no core from
// theirs.
func BenchmarkSgemm(b *testing.B) {
	var openblasDone time.Time // when OpenBLAS's last call returned
	for _, sh := range benchShapes {
		ar, ac, br, bc := sh.m, sh.k, sh.k, sh.n
		if sh.transA {
			ar, ac = ac, ar
		}
		if sh.transB {
			br, bc = bc, br
		}
		rng := rand.New(rand.NewPCG(7, 8))
		a, bm, c := randomSlice(rng, ar*ac), randomSlice(rng, br*bc), randomSlice(rng, sh.m*sh.n)
		flops := 2 * float64(sh.m) * float64(sh.n) * float64(sh.k)
		// OpenBLAS (an extra) first, so that the others can report their ratio to it.
		impls := implementations()
		impls = append(impls[len(impls)-len(extraGemms):], impls[:len(impls)-len(extraGemms)]...)
		var openblas float64 // GFLOP/s of OpenBLAS at this shape, if measured
		for _, impl := range impls {
			if impl.name == "naive" && !*benchNaive {
				continue
			}
			name := fmt.Sprintf("%s_%dx%dx%d/%s", sh.name, sh.m, sh.n, sh.k, impl.name)
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				if impl.name != openblasName {
					time.Sleep(openblasSpin - time.Since(openblasDone))
					parallel.BeginBurst()
					defer parallel.EndBurst()
				}
				for b.Loop() {
					impl.g.Sgemm(sh.transA, sh.transB, sh.m, sh.n, sh.k, 1, a, ac, bm, bc, sh.beta, c, sh.n)
				}
				gflops := flops * float64(b.N) / b.Elapsed().Seconds() / 1e9
				b.ReportMetric(gflops, "GFLOP/s")
				if impl.name == openblasName {
					openblas, openblasDone = gflops, time.Now()
				} else if openblas > 0 {
					b.ReportMetric(gflops/openblas, "x_openblas")
				}
			})
		}
	}
}
