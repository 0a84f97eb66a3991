//go:build unix

package linalg_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/onnxkit/onnxkit/native/internal/hugepages"
	"github.com/onnxkit/onnxkit/native/linalg"
	"github.com/onnxkit/onnxkit/native/parallel"
)

// processCPUTime returns the CPU time the process has used, user and
// system: on a shared machine wall time also counts the waits for other
// processes.
func processCPUTime() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// gemvShapes are the products by constant weights that models run at
// batch 1: the classifiers of the zoo's CNNs (n×k weights, as PyTorch's
// Linear stores them) and VGG-16's fully connected layers.
var gemvShapes = []struct {
	name string
	n, k int
}{
	{"mbv3_classifier0", 1024, 576},
	{"mbv3_classifier3", 1000, 1024},
	{"mbv2_classifier", 1000, 1280},
	{"resnet18_fc", 1000, 512},
	{"vit_head", 1000, 768},
	{"vgg16_fc8", 1000, 4096},
	{"vgg16_fc7", 4096, 4096},
	{"vgg16_fc6", 4096, 25088},
	{"squeeze_excite", 576, 144},
}

// BenchmarkGemv times one row by a classifier's weights through the
// paths a model takes: "stored" multiplies B as stored, k×n (Sgemm, as
// MatMul's unprepared products), "transposed" B as PyTorch's Linear
// stores it, n×k (Sgemm, as Gemm multiplies weights too long for the
// panels, see kernels.rowByPanels), "panels" the transposed weights packed
// by PackVecB (SgemmPackedVecB, as Gemm's prepared products) in a plain
// allocation, "huge" the same panels in huge pages (hugepages.Floats,
// as a plan prepares them). "cold" cycles through copies of the weights
// that together overflow the L3 cache, as a model's weights come from
// memory, "warm" reads one copy from the caches. Each product runs
// inside a burst (parallel.BeginBurst), as in a model's run. It reports
// the weights' bandwidth and the process's CPU time per product.
func BenchmarkGemv(b *testing.B) {
	for _, sh := range gemvShapes {
		for _, path := range []string{"stored", "transposed", "panels", "huge"} {
			for _, cache := range []string{"cold", "warm"} {
				for _, threads := range []int{1, 2} {
					name := fmt.Sprintf("%s_%dx%d/%s/%s/threads%d", sh.name, sh.k, sh.n, path, cache, threads)
					b.Run(name, func(b *testing.B) { benchGemv(b, sh.n, sh.k, path, cache == "cold", threads) })
				}
			}
		}
	}
}

func benchGemv(b *testing.B, n, k int, path string, cold bool, threads int) {
	g := linalg.Fast()
	rng := rand.New(rand.NewPCG(5, 6))
	w := randomSlice(rng, n*k)
	x := randomSlice(rng, k)
	size := n * k
	if path == "panels" || path == "huge" {
		size = linalg.VecPackedLen(k, n)
	}
	copies := make([][]float32, 1)
	if cold {
		copies = make([][]float32, max(1, (96<<20)/(4*size)))
	}
	for i := range copies {
		switch path {
		case "stored", "transposed":
			copies[i] = slices.Clone(w)
		case "panels":
			copies[i] = make([]float32, size)
		case "huge":
			copies[i] = hugepages.Floats(size)
		}
		if path == "panels" || path == "huge" {
			g.PackVecB(true, k, n, w, k, copies[i])
		}
	}
	y := make([]float32, n)
	defer parallel.SetThreads(parallel.Threads())
	parallel.SetThreads(threads)
	parallel.BeginBurst()
	defer parallel.EndBurst()
	b.SetBytes(int64(4 * size))
	b.ResetTimer()
	cpu := processCPUTime()
	i := 0
	for b.Loop() {
		switch b := copies[i%len(copies)]; path {
		case "stored":
			g.Sgemm(false, false, 1, n, k, 1, x, k, b, n, 0, y, n)
		case "transposed":
			g.Sgemm(false, true, 1, n, k, 1, x, k, b, k, 0, y, n)
		default:
			g.SgemmPackedVecB(1, n, k, 1, x, k, b, 0, y, n)
		}
		i++
	}
	b.ReportMetric(float64((processCPUTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
}
