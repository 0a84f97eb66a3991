package kernels

import (
	"math"
	"os"
	"strconv"
	"testing"

	"github.com/onnxkit/onnxkit/native/internal/leveltest"
)

// pool2D is a pooling of the suite's table, with equal pads on all sides.
func pool2D(n, c, h, w, kh, kw, stride, pad, dilation int, ceil bool) PoolParams {
	return PoolParams{N: n, C: c, H: h, W: w, KH: kh, KW: kw, StrideH: stride, StrideW: stride,
		PadTop: pad, PadLeft: pad, PadBottom: pad, PadRight: pad, DilationH: dilation, DilationW: dilation, CeilMode: ceil}
}

// poolSuiteShapes is the table of edge shapes of the pooling suite: the
// hand-picked cases, 1x1 windows, one output, padding of a window less
// one, every stride the separable path treats apart (1, 2, 3) on planes
// wide enough for the vector loops, with and without padding and ceil
// mode, odd and prime sizes, dilation, windows over padding only, batches
// and many channels, and the poolings of the zoo's CNNs.
func poolSuiteShapes() []PoolParams {
	shapes := append([]PoolParams(nil), poolCases...)
	asymmetric := pool2D(2, 3, 19, 53, 3, 3, 2, 0, 1, true)
	asymmetric.PadTop, asymmetric.PadLeft, asymmetric.PadBottom, asymmetric.PadRight = 2, 1, 0, 2
	return append(shapes, asymmetric,
		pool2D(1, 4, 56, 56, 3, 3, 2, 1, 1, false),  // ResNet's and ShuffleNet's stem
		pool2D(1, 3, 112, 112, 3, 3, 2, 0, 1, true), // GoogLeNet's stem: ceil mode, the last window short
		pool2D(1, 5, 28, 28, 3, 3, 1, 1, 1, true),   // GoogLeNet's inception branches: stride 1, padded
		pool2D(1, 4, 14, 14, 2, 2, 2, 0, 1, true),   // GoogLeNet's 2x2 with ceil mode
		pool2D(1, 2, 13, 13, 3, 3, 2, 0, 1, true),   // SqueezeNet's
		pool2D(3, 2, 17, 41, 3, 3, 1, 1, 1, false),  // stride 1, padded, batch 3, wide
		pool2D(2, 3, 23, 37, 3, 3, 2, 1, 1, true),   // stride 2, padded, ceil mode, odd width
		pool2D(2, 3, 29, 47, 3, 3, 3, 1, 1, true),   // stride 3, padded, ceil mode
		pool2D(1, 2, 11, 43, 5, 5, 1, 4, 1, false),  // padding of the window less one, wide
		pool2D(1, 2, 7, 29, 2, 2, 1, 3, 1, false),   // pads beyond the kernel: windows over padding only
		pool2D(1, 2, 9, 37, 2, 3, 2, 3, 2, true),    // dilated and padded, windows over padding only
		pool2D(1, 1, 1, 2, 1, 2, 1, 1, 3, false),    // the differential fuzzer's find: one window over padding only
		pool2D(1, 2, 3, 5, 3, 3, 1, 2, 1, false),    // narrow, padded: partial vectors
		pool2D(1, 37, 7, 7, 3, 3, 2, 1, 1, true),    // many channels, small planes
		pool2D(2, 16, 9, 9, 1, 1, 2, 0, 1, true),    // 1x1 with stride 2
		pool2D(1, 2, 31, 31, 7, 7, 1, 3, 1, false),  // a large window
		pool2D(1, 1, 67, 67, 3, 3, 2, 1, 1, true),   // prime sizes
		pool2D(1, 2, 17, 17, 2, 2, 3, 1, 1, true),   // stride beyond the kernel: columns skipped
		pool2D(1, 1, 1, 1, 1, 1, 1, 0, 1, false),    // 1x1 input
		pool2D(1, 1, 1, 1, 2, 2, 1, 1, 1, true),     // 1x1 input, padded
		pool2D(2, 3, 5, 7, 1, 1, 1, 0, 1, false),    // 1x1
		pool2D(1, 2, 5, 5, 5, 5, 1, 0, 1, false),    // one output
		pool2D(1, 2, 4, 4, 3, 3, 1, 2, 1, false),    // padding of the window less one
		pool2D(2, 3, 13, 61, 3, 3, 1, 0, 1, false),  // stride 1, wide
		pool2D(2, 3, 13, 61, 3, 3, 2, 0, 1, false),  // stride 2, wide
		pool2D(2, 3, 17, 61, 3, 5, 3, 0, 1, false),  // stride 3, wide
		pool2D(1, 2, 17, 43, 2, 3, 2, 0, 2, false),  // dilated
		pool2D(1, 3, 11, 13, 3, 3, 2, 1, 1, true),   // padded, ceil mode
		pool2D(3, 1, 7, 31, 2, 2, 2, 0, 1, true),    // ceil mode without padding, the last window short
		pool2D(1, 1, 1, 37, 1, 3, 1, 0, 1, false),   // 1-D
		pool2D(1, 2, 6, 19, 3, 2, 2, 0, 1, false),   // AlexNet's 3x3/2 in small, odd width
		pool2D(2, 3, 16, 16, 2, 2, 2, 0, 1, false),  // DenseNet's transition 2x2/2: a plane at a time (halvesSum)
		pool2D(1, 3, 15, 22, 3, 3, 2, 0, 1, false),  // 3x3/2 on an even width, the last rows unread
		pool2D(1, 2, 13, 20, 2, 3, 2, 0, 2, false),  // dilated on an even width
		pool2D(1, 2, 9, 2, 3, 1, 2, 0, 1, true),     // a single column pair
		pool2D(1, 45, 28, 28, 3, 3, 1, 1, 1, true),  // unit strides: batches of planes, a short last one
		pool2D(2, 70, 7, 7, 3, 3, 1, 1, 1, false),   // unit strides: many small planes, batch 2
		pool2D(1, 3, 9, 12, 3, 3, 1, 2, 2, false),   // unit strides, dilated, the planes' size kept
		pool2D(1, 3, 5, 6, 5, 5, 1, 2, 1, false),    // unit strides, a window wider than the plane
		pool2D(1, 3, 6, 1, 3, 3, 1, 1, 1, false),    // unit strides, one column
		unitAsymmetric(),
		pool2D(1, 70, 16, 16, 2, 2, 2, 0, 1, false), // a plane at a time (halvesSum): two batches of planes
		pool2D(2, 5, 15, 20, 2, 2, 2, 0, 1, false),  // halvesSum with an odd height: the last row unread
		pool2D(1, 3, 9, 12, 3, 3, 2, 0, 1, false),   // halvesSum, 3x3/2
	)
}

// unitAsymmetric is a pooling of unit strides whose pads differ on each
// side, so that the output planes are smaller than the input's in one
// axis and larger in the other.
func unitAsymmetric() PoolParams {
	p := pool2D(2, 5, 10, 13, 3, 4, 1, 0, 1, false)
	p.PadTop, p.PadBottom, p.PadLeft, p.PadRight = 2, 1, 1, 0
	return p
}

// TestPoolAlgorithms is the shared suite of the pooling kernels at every
// CPU level: MaxPool forward (values with and without the argmax)
// against the float64 reference and, bitwise, against the scan of each
// window in order (maxPoolScan), backward against dy scattered to the
// reference's argmax; AveragePool forward against the reference and
// backward by its adjoint identity <AvgPool(x), dy> = <x, AvgPool^T(dy)>
// in float64.
func TestPoolAlgorithms(t *testing.T) {
	for i, p := range poolSuiteShapes() {
		if err := p.Validate(); err != nil {
			t.Fatalf("%s: %v", poolName(p), err)
		}
		rng := newRNG(uint64(200 + i))
		oh, ow := p.OutSize()
		nIn, nOut := p.N*p.C*p.H*p.W, p.N*p.C*oh*ow
		x, dy := uniform(rng, nIn, -1, 1), uniform(rng, nOut, -1, 1)
		ref := ndFromPool2D(p)[0]
		wantMax, wantArg := poolNDRef(ref, x, false)
		wantAvg, _ := poolNDRef(ref, x, true)
		wantDx := make([]float64, nIn)
		for o, at := range wantArg {
			if at >= 0 { // -1: a window over padding only
				wantDx[at] += float64(dy[o])
			}
		}
		scan, scanArg := make([]float32, nOut), make([]int64, nOut)
		for pl := range p.N * p.C {
			p.maxPoolScan(x, pl*p.H*p.W, scan[pl*oh*ow:(pl+1)*oh*ow], scanArg[pl*oh*ow:(pl+1)*oh*ow])
		}
		compare(t, poolName(p)+" scan", tolMaxPool, scan, wantMax)
		t.Run(poolName(p), func(t *testing.T) {
			leveltest.Run(t, func(t *testing.T) {
				what := poolName(p)
				y, arg, values := make([]float32, nOut), make([]int64, nOut), make([]float32, nOut)
				MaxPoolForward(&p, x, y, arg)
				compare(t, what+" max", tolMaxPool, y, wantMax)
				identical(t, what+" max against the scan", y, scan)
				for o := range arg {
					if arg[o] != wantArg[o] || arg[o] != scanArg[o] {
						t.Fatalf("%s: argmax[%d] = %d, want %d", what, o, arg[o], wantArg[o])
					}
				}
				MaxPoolValues(&p, x, values)
				compare(t, what+" values", tolMaxPool, values, wantMax)
				identical(t, what+" values against the scan", values, scan)
				dx := make([]float32, nIn)
				MaxPoolBackward(&p, arg, dy, dx)
				compare(t, what+" dx", tolAvgPool, dx, wantDx)

				AveragePoolForward(&p, x, y)
				compare(t, what+" average", tolAvgPool, y, wantAvg)
				dx = make([]float32, nIn)
				AveragePoolBackward(&p, dy, dx)
				var lhs, rhs, mag float64
				for o, v := range wantAvg {
					lhs += v * float64(dy[o])
					mag += math.Abs(v * float64(dy[o]))
				}
				for j, v := range dx {
					rhs += float64(x[j]) * float64(v)
					mag += math.Abs(float64(x[j]) * float64(v))
				}
				if math.Abs(lhs-rhs) > 1e-5*mag {
					t.Errorf("%s: <AvgPool(x), dy> = %.9g, <x, AvgPool^T(dy)> = %.9g", what, lhs, rhs)
				}
			})
		})
	}
}

// BenchmarkMaxPool times MaxPool without the argmax (inference) on the
// poolings of the zoo's CNNs at batch 1 and on small planes: by
// separableMax on large planes, flatMax on small ones (flatMaxWidth).
func BenchmarkMaxPool(b *testing.B) {
	for _, bc := range []struct {
		name string
		p    PoolParams
	}{
		{"resnet_64x112x112_k3s2p1", pool2D(1, 64, 112, 112, 3, 3, 2, 1, 1, false)},
		{"googlenet_64x112x112_k3s2_ceil", pool2D(1, 64, 112, 112, 3, 3, 2, 0, 1, true)},
		{"googlenet_192x28x28_k3s1p1_ceil", pool2D(1, 192, 28, 28, 3, 3, 1, 1, 1, true)},
		{"googlenet_832x7x7_k3s1p1_ceil", pool2D(1, 832, 7, 7, 3, 3, 1, 1, 1, true)},
		{"squeezenet_128x55x55_k3s2_ceil", pool2D(1, 128, 55, 55, 3, 3, 2, 0, 1, true)},
		{"squeezenet_256x27x27_k3s2_ceil", pool2D(1, 256, 27, 27, 3, 3, 2, 0, 1, true)},
		{"256x7x7_k3s2p1", pool2D(1, 256, 7, 7, 3, 3, 2, 1, 1, false)},
		{"256x3x3_k3s1p1", pool2D(1, 256, 3, 3, 3, 3, 1, 1, 1, false)},
	} {
		p := bc.p
		oh, ow := p.OutSize()
		x := uniform(newRNG(7), p.N*p.C*p.H*p.W, -1, 1)
		y := make([]float32, p.N*p.C*oh*ow)
		b.Run(bc.name, func(b *testing.B) {
			leveltest.Bench(b, func(b *testing.B) {
				b.SetBytes(int64(4 * (len(x) + len(y))))
				b.ReportAllocs()
				for b.Loop() {
					MaxPoolValues(&p, x, y)
				}
			})
		})
	}
}

// TestMaxPoolValuesNaN checks at every CPU level, on the suite's shapes,
// that MaxPool's values (inference's paths) are a NaN where a window
// holds one, and bitwise the scan's elsewhere: inputs with about one NaN
// in thirty.
func TestMaxPoolValuesNaN(t *testing.T) {
	for i, p := range poolSuiteShapes() {
		rng := newRNG(uint64(400 + i))
		oh, ow := p.OutSize()
		x := uniform(rng, p.N*p.C*p.H*p.W, -1, 1)
		for j := range x {
			if rng.IntN(30) == 0 {
				x[j] = float32(math.NaN())
			}
		}
		scan := make([]float32, p.N*p.C*oh*ow)
		for pl := range p.N * p.C {
			p.maxPoolScan(x, pl*p.H*p.W, scan[pl*oh*ow:(pl+1)*oh*ow], nil)
		}
		t.Run(poolName(p), func(t *testing.T) {
			leveltest.Run(t, func(t *testing.T) {
				y := make([]float32, len(scan))
				MaxPoolValues(&p, x, y)
				for o, want := range scan {
					got := y[o]
					if (got != got) != (want != want) || want == want && math.Float32bits(got) != math.Float32bits(want) {
						t.Fatalf("%s: y[%d] = %v, want %v", poolName(p), o, got, want)
					}
				}
			})
		})
	}
}

// zooPools are the distinct poolings of the zoo's CNNs at batch 1
// (GoogLeNet, SqueezeNet 1.1, DenseNet-121, ResNet-18), named by model.
var zooPools = []struct {
	name    string
	average bool
	p       PoolParams
}{
	{"googlenet_maxpool1_64x112x112_k3s2_ceil", false, pool2D(1, 64, 112, 112, 3, 3, 2, 0, 1, true)},
	{"googlenet_maxpool2_192x56x56_k3s2_ceil", false, pool2D(1, 192, 56, 56, 3, 3, 2, 0, 1, true)},
	{"googlenet_3b_256x28x28_k3s1p1", false, pool2D(1, 256, 28, 28, 3, 3, 1, 1, 1, true)},
	{"googlenet_maxpool3_480x28x28_k3s2_ceil", false, pool2D(1, 480, 28, 28, 3, 3, 2, 0, 1, true)},
	{"googlenet_4b_512x14x14_k3s1p1", false, pool2D(1, 512, 14, 14, 3, 3, 1, 1, 1, true)},
	{"googlenet_maxpool4_832x14x14_k2s2_ceil", false, pool2D(1, 832, 14, 14, 2, 2, 2, 0, 1, true)},
	{"googlenet_5a_832x7x7_k3s1p1", false, pool2D(1, 832, 7, 7, 3, 3, 1, 1, 1, true)},
	{"squeezenet_64x111x111_k3s2_ceil", false, pool2D(1, 64, 111, 111, 3, 3, 2, 0, 1, true)},
	{"squeezenet_128x55x55_k3s2_ceil", false, pool2D(1, 128, 55, 55, 3, 3, 2, 0, 1, true)},
	{"squeezenet_256x27x27_k3s2_ceil", false, pool2D(1, 256, 27, 27, 3, 3, 2, 0, 1, true)},
	{"resnet_densenet_64x112x112_k3s2p1", false, pool2D(1, 64, 112, 112, 3, 3, 2, 1, 1, false)},
	{"densenet_avg_128x56x56_k2s2", true, pool2D(1, 128, 56, 56, 2, 2, 2, 0, 1, false)},
	{"densenet_avg_256x28x28_k2s2", true, pool2D(1, 256, 28, 28, 2, 2, 2, 0, 1, false)},
	{"densenet_avg_512x14x14_k2s2", true, pool2D(1, 512, 14, 14, 2, 2, 2, 0, 1, false)},
}

// zooPoolBatch returns the batch BenchmarkZooPools runs at: the
// environment variable ONNXKIT_POOL_BATCH, else 0 (the shapes' own, 1).
func zooPoolBatch() int {
	n, _ := strconv.Atoi(os.Getenv("ONNXKIT_POOL_BATCH"))
	return n
}

// BenchmarkZooPools times inference's pooling (MaxPool without the
// argmax, AveragePool) on the zoo's shapes at batch 1 (or
// ONNXKIT_POOL_BATCH), reporting the
// process's CPU time per pooling (cpu-ns/op) beside the wall time: on a
// shared machine the CPU time is the steadier measure.
func BenchmarkZooPools(b *testing.B) {
	for _, bc := range zooPools {
		p := bc.p
		if batch := zooPoolBatch(); batch > 0 {
			p.N = batch
		}
		oh, ow := p.OutSize()
		x := uniform(newRNG(9), p.N*p.C*p.H*p.W, -1, 1)
		y := make([]float32, p.N*p.C*oh*ow)
		b.Run(bc.name, func(b *testing.B) {
			leveltest.Bench(b, func(b *testing.B) {
				b.SetBytes(int64(4 * (len(x) + len(y))))
				cpu := processCPUTime()
				for b.Loop() {
					if bc.average {
						AveragePoolForward(&p, x, y)
					} else {
						MaxPoolValues(&p, x, y)
					}
				}
				b.ReportMetric(float64((processCPUTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
			})
		})
	}
}

// BenchmarkAveragePool times AveragePool on DenseNet's transition
// pooling and an Inception-style padded 3x3 at batch 1.
func BenchmarkAveragePool(b *testing.B) {
	for _, bc := range []struct {
		name string
		p    PoolParams
	}{
		{"densenet_128x56x56_k2s2", pool2D(1, 128, 56, 56, 2, 2, 2, 0, 1, false)},
		{"inception_192x35x35_k3s1p1", pool2D(1, 192, 35, 35, 3, 3, 1, 1, 1, false)},
		{"256x7x7_k3s2p1", pool2D(1, 256, 7, 7, 3, 3, 2, 1, 1, true)},
	} {
		p := bc.p
		oh, ow := p.OutSize()
		x := uniform(newRNG(8), p.N*p.C*p.H*p.W, -1, 1)
		y := make([]float32, p.N*p.C*oh*ow)
		b.Run(bc.name, func(b *testing.B) {
			leveltest.Bench(b, func(b *testing.B) {
				b.SetBytes(int64(4 * (len(x) + len(y))))
				b.ReportAllocs()
				for b.Loop() {
					AveragePoolForward(&p, x, y)
				}
			})
		})
	}
}
