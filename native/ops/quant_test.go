package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/tensor"
)

func trU8(shape []int, v ...uint8) *tensor.Tensor {
	return &tensor.Tensor{DType: graph.Uint8, Shape: shape, Data: v}
}

func trI8(shape []int, v ...int8) *tensor.Tensor {
	return &tensor.Tensor{DType: graph.Int8, Shape: shape, Data: v}
}

func TestQuantizeLinearHandWorked(t *testing.T) {
	// scale 1, zero point 0: halves round to even (1.5 -> 2, 2.5 -> 2),
	// -3 saturates to 0 and 300 to 255.
	x := float32s([]int{5}, 0, 1.5, 2.5, -3, 300)
	got := runNode(t, testNode("QuantizeLinear"), 13, x, float32s([]int{}, 1), trU8([]int{}, 0))
	checkTensor(t, "uint8", got[0], []int{5}, []float64{0, 2, 2, 0, 255}, tolExact)
	// int8, scale 0.5, zero point -1: x/0.5 = 0, 3, 5, -6, 600 -> -1, 2, 4, -7, 127.
	got = runNode(t, testNode("QuantizeLinear"), 10, x, float32s([]int{}, 0.5), trI8([]int{}, -1))
	checkTensor(t, "int8", got[0], []int{5}, []float64{-1, 2, 4, -7, 127}, tolExact)
	if got[0].DType != graph.Int8 {
		t.Errorf("type %v, want int8", got[0].DType)
	}
	// Without a zero point the output is uint8.
	got = runNode(t, testNode("QuantizeLinear"), 13, x, float32s([]int{}, 1))
	if got[0].DType != graph.Uint8 {
		t.Errorf("type %v, want uint8", got[0].DType)
	}
}

func TestQuantizeDequantizePerAxis(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	shape := []int{2, 3, 4}
	for axis := -3; axis < 3; axis++ {
		ax := (axis + 3) % 3
		size := shape[ax]
		inner := tensor.NumElements(shape[ax+1:])
		scales, zeros := make([]float64, size), make([]int8, size)
		for i := range scales {
			scales[i] = float64(float32(0.05 + rng.Float64()))
			zeros[i] = int8(rng.IntN(41) - 20)
		}
		// x = (q + f)*scale with |f| < 0.4, so the quantized value is
		// q + zero point (saturated) whatever the rounding of x/scale.
		n := tensor.NumElements(shape)
		x, want := make([]float64, n), make([]float64, n)
		for i := range x {
			k := i / inner % size
			q := float64(rng.IntN(301) - 150)
			x[i] = float64(float32((q + 0.8*rng.Float64() - 0.4) * scales[k]))
			want[i] = math.Max(-128, math.Min(127, q+float64(zeros[k])))
		}
		attrs := graph.IntAttr("axis", int64(axis))
		got := runNode(t, testNode("QuantizeLinear", attrs), 13, testTensor(graph.Float32, shape, x),
			testTensor(graph.Float32, []int{size}, scales), trI8([]int{size}, zeros...))
		checkTensor(t, "quantize", got[0], shape, want, tolExact)

		deq := make([]float64, n)
		for i, q := range want {
			k := i / inner % size
			deq[i] = (q - float64(zeros[k])) * scales[k]
		}
		back := runNode(t, testNode("DequantizeLinear", attrs), 13, got[0], testTensor(graph.Float32, []int{size}, scales), trI8([]int{size}, zeros...))
		checkTensor(t, "dequantize", back[0], shape, deq, tolF32)
	}
}

func TestDynamicQuantizeLinear(t *testing.T) {
	// min -55, max 200: scale 255/255 = 1, zero point round(55) = 55;
	// y = round(x) + 55 with halves to even: 10.5 -> 10, 11.5 -> 12.
	x := float32s([]int{5}, -55, 200, 0, 10.5, 11.5)
	got := runNode(t, testNode("DynamicQuantizeLinear"), 11, x)
	checkTensor(t, "y", got[0], []int{5}, []float64{0, 255, 55, 65, 67}, tolExact)
	checkTensor(t, "scale", got[1], []int{}, []float64{1}, tolExact)
	checkTensor(t, "zero point", got[2], []int{}, []float64{55}, tolExact)
	// All-positive input: the range still includes 0, so the zero point is 0.
	got = runNode(t, testNode("DynamicQuantizeLinear"), 11, float32s([]int{2}, 127.5, 255))
	checkTensor(t, "positive y", got[0], []int{2}, []float64{128, 255}, tolExact)
	// All-zero input has no range: everything quantizes to 0.
	got = runNode(t, testNode("DynamicQuantizeLinear"), 11, float32s([]int{2}, 0, 0))
	checkTensor(t, "zero y", got[0], []int{2}, []float64{0, 0}, tolExact)
}

// trRandU8 returns n random uint8 values.
func trRandU8(rng *rand.Rand, n int) []uint8 {
	v := make([]uint8, n)
	for i := range v {
		v[i] = uint8(rng.IntN(256))
	}
	return v
}

func TestMatMulIntegerRandom(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(8, 9))
		aShape, bShape := []int{2, 1, 3, 4}, []int{3, 4, 5}
		a, b := trRandU8(rng, tensor.NumElements(aShape)), trRandU8(rng, tensor.NumElements(bShape))
		az, bz := trRandU8(rng, 3), trRandU8(rng, 5) // per row of A, per column of B
		got := runNode(t, testNode("MatMulInteger"), 10, trU8(aShape, a...), trU8(bShape, b...), trU8([]int{3}, az...), trU8([]int{5}, bz...))
		outShape := []int{2, 3, 3, 5}
		want := make([]float64, tensor.NumElements(outShape))
		for i := range want {
			c := coordsOf(i, outShape) // batch0, batch1, row, column
			s := 0
			for k := 0; k < 4; k++ {
				av := int(a[flatIndex([]int{c[0], 0, c[2], k}, aShape)]) - int(az[c[2]])
				bv := int(b[flatIndex([]int{c[1], k, c[3]}, bShape)]) - int(bz[c[3]])
				s += av * bv
			}
			want[i] = float64(s)
		}
		checkTensor(t, "MatMulInteger", got[0], outShape, want, tolExact)

		// QLinearMatMul requantizes the same products of the first batch.
		a2, b2 := trU8([]int{3, 4}, a[:12]...), trU8([]int{4, 5}, b[:20]...)
		as, bs, ys := float32(0.02), float32(0.03), float32(0.5)
		got = runNode(t, testNode("QLinearMatMul"), 10, a2, float32s([]int{}, as), trU8([]int{}, 7), b2, float32s([]int{}, bs), trU8([]int{}, 9),
			float32s([]int{}, ys), trU8([]int{}, 100))
		want = make([]float64, 15)
		for i := range want {
			s := 0
			for k := 0; k < 4; k++ {
				s += (int(a[i/5*4+k]) - 7) * (int(b[k*5+i%5]) - 9)
			}
			v := math.RoundToEven(float64(float32(s)*(as*bs/ys))) + 100
			want[i] = math.Max(0, math.Min(255, v))
		}
		checkTensor(t, "QLinearMatMul", got[0], []int{3, 5}, want, tolExact)
	})
}

// trConvIntRef is a 2-D convolution of uint8 data written as a sum over
// the window, padding with the zero point (which contributes 0).
func trConvIntRef(x, w []uint8, xs, ws []int, xz uint8, wz []uint8, stride, pad int) ([]int, []int) {
	n, c, h, wd := xs[0], xs[1], xs[2], xs[3]
	m, kh, kw := ws[0], ws[2], ws[3]
	oh, ow := (h+2*pad-kh)/stride+1, (wd+2*pad-kw)/stride+1
	out := make([]int, n*m*oh*ow)
	for i := range out {
		co := coordsOf(i, []int{n, m, oh, ow})
		s := 0
		for ci := 0; ci < c; ci++ {
			for ky := 0; ky < kh; ky++ {
				for kx := 0; kx < kw; kx++ {
					y, xx := co[2]*stride-pad+ky, co[3]*stride-pad+kx
					xv := int(xz)
					if y >= 0 && y < h && xx >= 0 && xx < wd {
						xv = int(x[((co[0]*c+ci)*h+y)*wd+xx])
					}
					s += (xv - int(xz)) * (int(w[((co[1]*c+ci)*kh+ky)*kw+kx]) - int(wz[co[1]]))
				}
			}
		}
		out[i] = s
	}
	return out, []int{n, m, oh, ow}
}

func TestConvIntegerRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(30, 31))
	xs, ws := []int{2, 3, 5, 6}, []int{4, 3, 3, 2}
	x, w := trRandU8(rng, tensor.NumElements(xs)), trRandU8(rng, tensor.NumElements(ws))
	wz := trRandU8(rng, 4)
	for _, stride := range []int{1, 2} {
		for _, pad := range []int{0, 1} {
			ref, shape := trConvIntRef(x, w, xs, ws, 11, wz, stride, pad)
			attrs := []*graph.Attr{graph.IntsAttr("strides", int64(stride), int64(stride)), graph.IntsAttr("pads", int64(pad), int64(pad), int64(pad), int64(pad))}
			got := runNode(t, testNode("ConvInteger", attrs...), 10, trU8(xs, x...), trU8(ws, w...), trU8([]int{}, 11), trU8([]int{4}, wz...))
			want := make([]float64, len(ref))
			for i, v := range ref {
				want[i] = float64(v)
			}
			checkTensor(t, "ConvInteger", got[0], shape, want, tolExact)

			// QLinearConv: bias per channel, per-channel weight scales.
			bias := []int32{5, -300, 0, 1000}
			wScale := []float64{0.01, 0.02, 0.03, 0.005}
			xScale, yScale := float32(0.05), float32(0.25)
			got = runNode(t, testNode("QLinearConv", attrs...), 10, trU8(xs, x...), float32s([]int{}, xScale), trU8([]int{}, 11),
				trU8(ws, w...), testTensor(graph.Float32, []int{4}, wScale), trU8([]int{4}, wz...), float32s([]int{}, yScale), trU8([]int{}, 128),
				&tensor.Tensor{DType: graph.Int32, Shape: []int{4}, Data: bias})
			per := shape[2] * shape[3]
			for i, v := range ref {
				m := i / per % 4
				scale := xScale * float32(wScale[m]) / yScale
				q := math.RoundToEven(float64(float32(v+int(bias[m]))*scale)) + 128
				want[i] = math.Max(0, math.Min(255, q))
			}
			checkTensor(t, "QLinearConv", got[0], shape, want, tolExact)
		}
	}
}

func TestQuantErrors(t *testing.T) {
	x := float32s([]int{2, 3}, 1, 2, 3, 4, 5, 6)
	wantErr(t, "axis size", runNodeErr(t, testNode("QuantizeLinear"), 13, x, float32s([]int{2}, 1, 1)), "axis")
	wantErr(t, "zero point count", runNodeErr(t, testNode("QuantizeLinear"), 13, x, float32s([]int{3}, 1, 1, 1), trU8([]int{2}, 1, 1)), "zero point")
	wantErr(t, "float x", runNodeErr(t, testNode("DequantizeLinear"), 13, float32s([]int{1}, 1), float32s([]int{}, 1)), "x is float32")
	wantErr(t, "inner dims", runNodeErr(t, testNode("MatMulInteger"), 10, trU8([]int{2, 3}, 1, 2, 3, 4, 5, 6), trU8([]int{2, 3}, 1, 2, 3, 4, 5, 6)), "inner")
	wantErr(t, "conv channels", runNodeErr(t, testNode("ConvInteger"), 10, trU8([]int{1, 2, 2, 2}, 1, 2, 3, 4, 5, 6, 7, 8), trU8([]int{1, 1, 1, 1}, 1)), "channels")
	wantErr(t, "QLinearConv inputs", runNodeErr(t, testNode("QLinearConv"), 10, trU8([]int{1, 1, 1, 1}, 1)), "inputs")
}

func TestConvIntegerMatchesFloatConv(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		// The float Conv (native/kernels) on the zero-point-free values is an
		// independent reference; the sums stay well inside float32's exact
		// integers (< 2^24).
		rng := rand.New(rand.NewPCG(50, 51))
		for _, c := range []struct {
			group   int
			autoPad string
			dil     int64
		}{{1, "NOTSET", 1}, {2, "NOTSET", 2}, {1, "SAME_UPPER", 1}, {2, "SAME_LOWER", 1}, {1, "VALID", 2}} {
			xs, ws := []int{2, 4, 7, 6}, []int{6, 4 / c.group, 3, 2}
			x, w := trRandU8(rng, tensor.NumElements(xs)), trRandU8(rng, tensor.NumElements(ws))
			const xz, wz = 100, 120
			attrs := []*graph.Attr{graph.IntAttr("group", int64(c.group)), graph.StringAttr("auto_pad", c.autoPad),
				graph.IntsAttr("strides", 2, 1), graph.IntsAttr("dilations", c.dil, 1)}
			if c.autoPad == "NOTSET" {
				attrs = append(attrs, graph.IntsAttr("pads", 1, 0, 2, 1))
			}
			got := runNode(t, testNode("ConvInteger", attrs...), 10, trU8(xs, x...), trU8(ws, w...), trU8([]int{}, xz), trU8([]int{}, wz))
			xf, wf := make([]float32, len(x)), make([]float32, len(w))
			for i, v := range x {
				xf[i] = float32(int(v) - xz)
			}
			for i, v := range w {
				wf[i] = float32(int(v) - wz)
			}
			want := runNode(t, testNode("Conv", attrs...), 11, tensor.FromFloat32(xf, xs...), tensor.FromFloat32(wf, ws...))
			checkTensor(t, "ConvInteger "+c.autoPad, got[0], want[0].Shape, testValues(t, want[0]), tolExact)
		}
	})
}
