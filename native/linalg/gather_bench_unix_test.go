//go:build unix

package linalg_test

import (
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/native/linalg"
)

// gatherShapes are the products of the zoo's 3x3 convolutions (stride 1,
// padding 1) at batch 1 as kernels.ConvForward's strided window forms
// them: a chunk of rows output rows of a plane ow wide (the rows of A,
// positions), cout output channels (the columns) and cin*9 taps (k),
// A read through a window of the chunk's padded input planes.
var gatherShapes = []struct {
	name                string
	cin, cout, ow, rows int
}{
	{"sq-16-64@55", 16, 64, 55, 4},
	{"sq-32-128@27", 32, 128, 27, 7},
	{"sq-48-192@13", 48, 192, 13, 13},
	{"sq-64-256@13", 64, 256, 13, 13},
	{"gn-16-32@28", 16, 32, 28, 8},
	{"gn-32-64@14", 32, 64, 14, 14},
	{"gn-96-208@14", 96, 208, 14, 14},
	{"gn-112-224@14", 112, 224, 14, 14},
	{"gn-144-288@14", 144, 288, 14, 14},
	{"gn-48-128@7", 48, 128, 7, 7},
	{"gn-160-320@7", 160, 320, 7, 7},
	{"gn-192-384@7", 192, 384, 7, 7},
}

// BenchmarkSgemmWindowA times the products of gatherShapes on one
// thread (Serial) with the Fast kernel, operands in cache as a chunk's
// are in a model's run, in CPU time per product and GFLOP/s of it.
func BenchmarkSgemmWindowA(b *testing.B) {
	for _, sh := range gatherShapes {
		b.Run(sh.name, func(b *testing.B) {
			g := linalg.Fast().Serial()
			wp, planeRows := sh.ow+2, sh.rows+2
			plane := planeRows * wp
			m, n, k := sh.rows*sh.ow, sh.cout, sh.cin*9
			rng := rand.New(rand.NewPCG(3, 4))
			win := linalg.Window{X: randomSlice(rng, sh.cin*plane), Off: make([]int32, k), RowLen: sh.ow, RowStride: wp}
			for q := range win.Off {
				c, kh, kw := q/9, q%9/3, q%3
				win.Off[q] = int32(c*plane + kh*wp + kw)
			}
			packed := make([]float32, g.PackedLen(k, n))
			g.PackB(true, k, n, randomSlice(rng, n*k), k, packed)
			c := make([]float32, m*n)
			b.ResetTimer()
			cpu := processCPUTime()
			for b.Loop() {
				g.SgemmWindowA(m, n, k, 1, win, packed, 0, c, n)
			}
			ns := float64((processCPUTime() - cpu).Nanoseconds()) / float64(b.N)
			b.ReportMetric(ns, "cpu-ns/op")
			b.ReportMetric(2*float64(m*n*k)/ns, "cpu-GFLOP/s")
		})
	}
}
