package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// xtResizeCase is one configuration of the independent Resize reference.
type xtResizeCase struct {
	mode, coord, rounding string
	cubicA, extrapolation float64
	exclude, antialias    bool
	axes                  []int // resized axes, in order of the scales/sizes
	scales                []float64
	sizes                 []int64
	policy                string
	roi                   []float64 // [starts..., ends...] over axes
}

// xtResizeAxis is the reference's per-axis geometry.
type xtResizeAxis struct {
	in, out      int
	scale, width float64 // width: in*scale, possibly fractional
	start, end   float64
}

// xtResizeGeometry works out the output lengths the way the spec words
// them: floor(in*scale) (times the roi extent for tf_crop_and_resize),
// the sizes as given, or round-half-up(in*scale) under an aspect policy.
func xtResizeGeometry(shape []int, c xtResizeCase) []xtResizeAxis {
	geo := make([]xtResizeAxis, len(shape))
	for d, n := range shape {
		geo[d] = xtResizeAxis{in: n, out: n, scale: 1, width: float64(n), start: 0, end: 1}
	}
	for i, d := range c.axes {
		g := &geo[d]
		if c.roi != nil {
			g.start, g.end = c.roi[i], c.roi[len(c.axes)+i]
		}
		if c.scales != nil {
			g.scale = c.scales[i]
			g.width = float64(g.in) * g.scale
			extent := 1.0
			if c.coord == "tf_crop_and_resize" {
				extent = g.end - g.start
			}
			g.out = int(math.Floor(float64(g.in) * extent * g.scale))
		} else {
			g.out = int(c.sizes[i])
			g.scale = float64(c.sizes[i]) / float64(g.in)
			g.width = float64(c.sizes[i])
		}
	}
	if c.policy == "not_larger" || c.policy == "not_smaller" {
		best := geo[c.axes[0]].scale
		for _, d := range c.axes {
			if c.policy == "not_larger" {
				best = math.Min(best, geo[d].scale)
			} else {
				best = math.Max(best, geo[d].scale)
			}
		}
		for _, d := range c.axes {
			geo[d].scale = best
			geo[d].width = best * float64(geo[d].in)
			geo[d].out = int(geo[d].width + 0.5)
		}
	}
	return geo
}

// xtOriginal is the spec's coordinate transformation for output index i.
func xtOriginal(c xtResizeCase, g xtResizeAxis, i int) float64 {
	x, in := float64(i), float64(g.in)
	switch c.coord {
	case "half_pixel":
		return (x+0.5)/g.scale - 0.5
	case "half_pixel_symmetric":
		adjustment := float64(g.out) / g.width
		center := in / 2
		return center*(1-adjustment) + (x+0.5)/g.scale - 0.5
	case "pytorch_half_pixel":
		if g.out > 1 {
			return (x+0.5)/g.scale - 0.5
		}
		return 0
	case "align_corners":
		if g.width == 1 {
			return 0
		}
		return x * (in - 1) / (g.width - 1)
	case "asymmetric":
		return x / g.scale
	case "tf_half_pixel_for_nn":
		return (x + 0.5) / g.scale
	case "tf_crop_and_resize":
		if g.out > 1 {
			return g.start*(in-1) + x*(g.end-g.start)*(in-1)/float64(g.out-1)
		}
		return 0.5 * (g.start + g.end) * (in - 1)
	}
	panic("unknown mode " + c.coord)
}

// xtWeights1D returns the input positions (possibly outside [0, n)) and
// weights for source coordinate x, in the formulation of the ONNX
// reference: the nearest taps to the left are preferred, so the ratio of
// x to its left neighbour lies in (0, 1]; fixed windows of taps around
// that neighbour; nearest picks one of two taps by nearest_mode.
func xtWeights1D(c xtResizeCase, x, scale float64) ([]int, []float64) {
	left := int(math.Floor(x))
	ratio := x - float64(left)
	if ratio == 0 {
		left, ratio = left-1, 1
	}
	s := 1.0
	if c.antialias {
		s = math.Min(scale, 1)
	}
	var offsets []int
	var w []float64
	switch c.mode {
	case "nearest":
		if ratio == 1 {
			return []int{left + 1}, []float64{1}
		}
		right := map[string]bool{
			"round_prefer_floor": ratio > 0.5, "round_prefer_ceil": ratio >= 0.5,
			"floor": false, "ceil": true,
		}[c.rounding]
		if right {
			return []int{left + 1}, []float64{1}
		}
		return []int{left}, []float64{1}
	case "linear":
		if !c.antialias {
			offsets, w = []int{0, 1}, []float64{1 - ratio, ratio}
			break
		}
		start := int(math.Floor(-1/s)) + 1
		for i := start; i < 2-start; i++ {
			offsets = append(offsets, i)
			w = append(w, math.Max(0, 1-math.Abs(float64(i)-ratio)*s))
		}
	case "cubic":
		a := c.cubicA
		if !c.antialias {
			r := ratio
			offsets = []int{-1, 0, 1, 2}
			w = []float64{
				((a*(r+1)-5*a)*(r+1)+8*a)*(r+1) - 4*a,
				((a+2)*r-(a+3))*r*r + 1,
				((a+2)*(1-r)-(a+3))*(1-r)*(1-r) + 1,
				((a*(2-r)-5*a)*(2-r)+8*a)*(2-r) - 4*a,
			}
			break
		}
		start := int(math.Floor(-2/s)) + 1
		for i := start; i < 2-start; i++ {
			t := math.Abs(float64(i)-ratio) * s
			var v float64
			switch {
			case t <= 1:
				v = (a+2)*t*t*t - (a+3)*t*t + 1
			case t < 2:
				v = a*t*t*t - 5*a*t*t + 8*a*t - 4*a
			}
			offsets = append(offsets, i)
			w = append(w, v)
		}
	}
	if c.antialias {
		sum := 0.0
		for _, v := range w {
			sum += v
		}
		for k := range w {
			w[k] /= sum
		}
	}
	pos := make([]int, len(offsets))
	for k, o := range offsets {
		pos[k] = left + o
	}
	return pos, w
}

// xtResizeRef computes every output element by nested 1-D interpolation,
// outermost axis last, as the ONNX reference does.
func xtResizeRef(x []float64, shape []int, c xtResizeCase) ([]int, []float64) {
	geo := xtResizeGeometry(shape, c)
	outShape := make([]int, len(geo))
	for d, g := range geo {
		outShape[d] = g.out
	}
	var at func(d int, outIdx, inIdx []int) float64
	at = func(d int, outIdx, inIdx []int) float64 {
		if d == len(shape) {
			return x[flatIndex(inIdx, shape)]
		}
		g := geo[d]
		xo := xtOriginal(c, g, outIdx[d])
		if c.coord == "tf_crop_and_resize" && (xo < 0 || xo > float64(g.in-1)) {
			return c.extrapolation
		}
		pos, w := xtWeights1D(c, xo, g.scale)
		if c.exclude {
			sum := 0.0
			for k, p := range pos {
				if p < 0 || p >= g.in {
					w[k] = 0
				}
				sum += w[k]
			}
			for k := range w {
				w[k] /= sum
			}
		}
		v := 0.0
		for k, p := range pos {
			if w[k] == 0 {
				continue
			}
			inIdx[d] = max(0, min(p, g.in-1)) // edge padding
			v += w[k] * at(d+1, outIdx, inIdx)
		}
		return v
	}
	out := make([]float64, tensor.NumElements(outShape))
	for o := range out {
		out[o] = at(0, coordsOf(o, outShape), make([]int, len(shape)))
	}
	return outShape, out
}

// xtResizeNode builds a Resize node and its inputs for case c.
func xtResizeNode(c xtResizeCase, opset int64, x *tensor.Tensor) (*graph.Node, []*tensor.Tensor) {
	attrs := []*graph.Attr{graph.StringAttr("mode", c.mode)}
	if c.coord != "" {
		attrs = append(attrs, graph.StringAttr("coordinate_transformation_mode", c.coord))
	}
	if c.rounding != "" {
		attrs = append(attrs, graph.StringAttr("nearest_mode", c.rounding))
	}
	attrs = append(attrs, graph.FloatAttr("cubic_coeff_a", float32(c.cubicA)),
		graph.FloatAttr("extrapolation_value", float32(c.extrapolation)))
	if c.exclude {
		attrs = append(attrs, graph.IntAttr("exclude_outside", 1))
	}
	if opset >= 18 {
		if c.antialias {
			attrs = append(attrs, graph.IntAttr("antialias", 1))
		}
		if c.policy != "" {
			attrs = append(attrs, graph.StringAttr("keep_aspect_ratio_policy", c.policy))
		}
		if len(c.axes) != len(x.Shape) {
			axes := make([]int64, len(c.axes))
			for i, a := range c.axes {
				axes[i] = int64(a)
			}
			attrs = append(attrs, graph.IntsAttr("axes", axes...))
		}
	}
	in := []*tensor.Tensor{x, nil, nil, nil}
	if c.roi != nil {
		in[1] = testTensor(graph.Float32, []int{len(c.roi)}, c.roi)
	}
	if c.scales != nil {
		in[2] = testTensor(graph.Float32, []int{len(c.scales)}, c.scales)
	} else {
		in[3] = int64s(c.sizes...)
	}
	return testNode("Resize", attrs...), in
}

// xtF32Round rounds values to float32, as the scales input holds them.
func xtF32Round(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(float32(x))
	}
	return out
}

// TestResizeRandomAgainstReference runs seeded random float64 data through
// every mode, coordinate transformation, nearest mode, exclude_outside,
// antialias, axes subset and aspect policy, against xtResizeRef.
func TestResizeRandomAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	shape := []int{2, 3, 5, 4}
	x := testTensor(graph.Float64, shape, randomFor(rng, graph.Float64, tensor.NumElements(shape)))
	vals := testValues(t, x)
	coords := []string{"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_crop_and_resize"}
	scaleSets := [][]float64{{0.6, 1.7}, {2, 0.5}, {1, 3}, {0.25, 0.8}}
	sizeSets := [][]int64{{3, 7}, {1, 2}, {8, 1}}
	count := 0
	for _, mode := range []string{"nearest", "linear", "cubic"} {
		for _, coord := range coords {
			for _, aa := range []bool{false, true} {
				for _, ex := range []bool{false, true} {
					if mode == "nearest" && (aa || ex) {
						continue
					}
					c := xtResizeCase{mode: mode, coord: coord, rounding: "round_prefer_floor", cubicA: -0.75,
						extrapolation: 7, exclude: ex, antialias: aa, axes: []int{2, 3}}
					if coord == "tf_crop_and_resize" {
						c.roi = []float64{0.1, -0.2, 0.9, 1.3}
						c.roi = xtF32Round(c.roi)
					}
					for _, s := range scaleSets {
						c.scales, c.sizes = xtF32Round(s), nil
						xtResizeCompare(t, c, x, vals, shape)
						count++
					}
					for _, s := range sizeSets {
						c.scales, c.sizes = nil, s
						xtResizeCompare(t, c, x, vals, shape)
						count++
					}
				}
			}
		}
	}
	for _, rounding := range []string{"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"} {
		for _, coord := range coords {
			c := xtResizeCase{mode: "nearest", coord: coord, rounding: rounding, cubicA: -0.75, axes: []int{0, 1, 2, 3},
				scales: xtF32Round([]float64{1.5, 0.7, 2.5, 0.5})}
			if coord == "tf_crop_and_resize" {
				c.roi = xtF32Round([]float64{0, 0, 0.2, 0, 1, 1, 0.9, 1})
			}
			xtResizeCompare(t, c, x, vals, shape)
			count++
		}
	}
	for _, policy := range []string{"stretch", "not_larger", "not_smaller"} {
		for _, mode := range []string{"nearest", "linear", "cubic"} {
			c := xtResizeCase{mode: mode, coord: "half_pixel", rounding: "round_prefer_ceil", cubicA: -0.5,
				axes: []int{3, 1}, sizes: []int64{6, 4}, policy: policy}
			xtResizeCompare(t, c, x, vals, shape)
			count++
		}
	}
	// Opset 11: tf_half_pixel_for_nn exists; no axes attribute, so the
	// scales cover every axis.
	for _, mode := range []string{"nearest", "linear", "cubic"} {
		for _, coord := range []string{"tf_half_pixel_for_nn", "half_pixel", "asymmetric"} {
			c := xtResizeCase{mode: mode, coord: coord, rounding: "round_prefer_ceil", cubicA: -0.75,
				axes: []int{0, 1, 2, 3}, scales: xtF32Round([]float64{1, 2, 0.6, 1.5})}
			wantShape, want := xtResizeRef(vals, shape, c)
			n, in := xtResizeNode(c, 11, x)
			checkTensor(t, "opset 11 "+mode+" "+coord, runNode(t, n, 11, in...)[0], wantShape, want, tolF64)
			count++
		}
	}
	if count < 200 {
		t.Errorf("only %d configurations ran", count)
	}
}

func xtResizeCompare(t *testing.T, c xtResizeCase, x *tensor.Tensor, vals []float64, shape []int) {
	t.Helper()
	wantShape, want := xtResizeRef(vals, shape, c)
	n, in := xtResizeNode(c, 19, x)
	out := runNode(t, n, 19, in...)[0]
	what := fmt.Sprintf("%s %s %s aa=%v ex=%v axes %v scales %v sizes %v policy %q",
		c.mode, c.coord, c.rounding, c.antialias, c.exclude, c.axes, c.scales, c.sizes, c.policy)
	checkTensor(t, what, out, wantShape, want, tolF64)
}

func TestResizeHandWorked(t *testing.T) {
	// Upsample-9 nearest with scales [1, 1, 2, 3] repeats each element
	// twice down and three times across.
	x := float32s([]int{1, 1, 2, 2}, 1, 2, 3, 4)
	scales := float32s([]int{4}, 1, 1, 2, 3)
	got := runNode(t, testNode("Upsample"), 9, x, scales)[0]
	want := []float64{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4}
	checkTensor(t, "Upsample-9", got, []int{1, 1, 4, 6}, want, tolExact)
	// Upsample-7 takes the scales as an attribute.
	got = runNode(t, testNode("Upsample", graph.FloatsAttr("scales", 1, 1, 2, 3)), 7, x)[0]
	checkTensor(t, "Upsample-7", got, []int{1, 1, 4, 6}, want, tolExact)
	// Resize-10 linear is asymmetric: x = i/2 over [1, 2] gives 1, 1.5,
	// then 2 twice (the right neighbour of x = 1.5 is the clamped edge).
	row := float32s([]int{2}, 1, 2)
	got = runNode(t, testNode("Resize", graph.StringAttr("mode", "linear")), 10, row, float32s([]int{1}, 2))[0]
	checkTensor(t, "Resize-10 linear", got, []int{4}, []float64{1, 1.5, 2, 2}, tolExact)
	// Resize-10 nearest rounds down: halving [1, 2, 3, 4] samples x = 0, 2.
	got = runNode(t, testNode("Resize"), 10, float32s([]int{4}, 1, 2, 3, 4), float32s([]int{1}, 0.5))[0]
	checkTensor(t, "Resize-10 nearest", got, []int{2}, []float64{1, 3}, tolExact)
	// Antialiased linear halving of [8, 0, 0, 0] (half_pixel): output 0
	// sits at x = 0.5 and the stretched hat covers -1..2 with weights
	// 1/8, 3/8, 3/8, 1/8 (index -1 reads index 0): 8 * (1/8 + 3/8) = 4.
	// Output 1 at x = 2.5 covers 1..4, all zeros.
	sig := float32s([]int{4}, 8, 0, 0, 0)
	n := testNode("Resize", graph.StringAttr("mode", "linear"), graph.IntAttr("antialias", 1))
	got = runNode(t, n, 18, sig, nil, float32s([]int{1}, 0.5))[0]
	checkTensor(t, "antialias", got, []int{2}, []float64{4, 0}, tolF32)
	// Integers interpolate in float64 and truncate: [0, 3] sampled at
	// x = 0, 0.5, 1 (align_corners, 3 outputs) is 0, 1.5 -> 1, 3.
	ints := testTensor(graph.Int32, []int{2}, []float64{0, 3})
	n = testNode("Resize", graph.StringAttr("mode", "linear"), graph.StringAttr("coordinate_transformation_mode", "align_corners"))
	got = runNode(t, n, 13, ints, nil, nil, int64s(3))[0]
	checkTensor(t, "int32 linear", got, []int{3}, []float64{0, 1, 3}, tolExact)
}

func TestResizeNearestKeepsAnyType(t *testing.T) {
	x := &tensor.Tensor{DType: graph.String, Shape: []int{2}, Data: []string{"a", "b"}}
	got := runNode(t, testNode("Resize"), 13, x, nil, nil, int64s(4))[0]
	// half_pixel, round_prefer_floor: x = -0.25, 0.25, 0.75, 1.25.
	if d := got.Data.([]string); !slices.Equal(d, []string{"a", "a", "b", "b"}) {
		t.Errorf("strings resized to %v, want [a a b b]", d)
	}
	big := testTensor(graph.Int64, []int{2}, []float64{1 << 60, 3})
	got = runNode(t, testNode("Resize"), 13, big, nil, nil, int64s(2))[0]
	if d := got.Data.([]int64); d[0] != 1<<60 {
		t.Errorf("int64 copied as %v, want exact values", d)
	}
	half := testTensor(graph.Float16, []int{2}, []float64{0.5, 1.5})
	got = runNode(t, testNode("Resize", graph.StringAttr("mode", "linear")), 13, half, nil, nil, int64s(4))[0]
	// half_pixel over 4 outputs: x = -0.25, 0.25, 0.75, 1.25 → 0.5,
	// 0.75, 1.25, 1.5.
	checkTensor(t, "float16 linear", got, []int{4}, []float64{0.5, 0.75, 1.25, 1.5}, tolF16)
}

// TestResizeWildRoi checks that coordinates far outside the input, or
// NaN, are extrapolated rather than looped over.
func TestResizeWildRoi(t *testing.T) {
	x := float32s([]int{4}, 1, 2, 3, 4)
	for _, mode := range []string{"nearest", "linear", "cubic"} {
		n := testNode("Resize", graph.StringAttr("mode", mode), graph.StringAttr("coordinate_transformation_mode", "tf_crop_and_resize"),
			graph.FloatAttr("extrapolation_value", -1))
		roi := float32s([]int{2}, 1e30, float32(math.NaN()))
		got := runNode(t, n, 13, x, roi, nil, int64s(3))[0]
		checkTensor(t, mode, got, []int{3}, []float64{-1, -1, -1}, tolExact)
	}
}

func TestResizeErrors(t *testing.T) {
	x := float32s([]int{1, 4}, 1, 2, 3, 4)
	sc := float32s([]int{2}, 1, 2)
	sz := int64s(1, 8)
	cases := []struct {
		what  string
		n     *graph.Node
		opset int64
		in    []*tensor.Tensor
		frag  string
	}{
		{"both", testNode("Resize"), 13, []*tensor.Tensor{x, nil, sc, sz}, "exactly one"},
		{"neither", testNode("Resize"), 13, []*tensor.Tensor{x, nil, nil, nil}, "exactly one"},
		{"scales length", testNode("Resize"), 13, []*tensor.Tensor{x, nil, float32s([]int{1}, 2)}, "scales has 1"},
		{"negative scale", testNode("Resize"), 13, []*tensor.Tensor{x, nil, float32s([]int{2}, 1, -2)}, "out of range"},
		{"huge scale", testNode("Resize"), 13, []*tensor.Tensor{x, nil, float32s([]int{2}, 1e30, 1e30)}, "out of range"},
		{"negative size", testNode("Resize"), 13, []*tensor.Tensor{x, nil, nil, int64s(1, -1)}, "out of range"},
		{"symmetric before 19", testNode("Resize", graph.StringAttr("coordinate_transformation_mode", "half_pixel_symmetric")), 18, nil, "half_pixel_symmetric"},
		{"tf_half_pixel_for_nn after 11", testNode("Resize", graph.StringAttr("coordinate_transformation_mode", "tf_half_pixel_for_nn")), 13, nil, "tf_half_pixel_for_nn"},
		{"cubic at 10", testNode("Resize", graph.StringAttr("mode", "cubic")), 10, nil, "cubic"},
		{"bad mode", testNode("Resize", graph.StringAttr("mode", "area")), 13, nil, "area"},
		{"policy with scales", testNode("Resize", graph.StringAttr("keep_aspect_ratio_policy", "not_larger")), 18, []*tensor.Tensor{x, nil, sc}, "keep_aspect_ratio_policy"},
		{"bad axes", testNode("Resize", graph.IntsAttr("axes", 2)), 18, []*tensor.Tensor{x, nil, float32s([]int{1}, 2)}, "axes"},
		{"Upsample-10", testNode("Upsample"), 10, nil, "deprecated"},
		{"antialias span", testNode("Resize", graph.StringAttr("mode", "linear"), graph.IntAttr("antialias", 1),
			graph.StringAttr("coordinate_transformation_mode", "tf_crop_and_resize")), 18,
			[]*tensor.Tensor{float32s([]int{4}, 1, 2, 3, 4), float32s([]int{2}, -1, 1e30), float32s([]int{1}, 1e-30)}, "too small"},
		{"too many elements", testNode("Resize"), 13, []*tensor.Tensor{x, nil, nil, int64s(1<<20, 1<<20)}, "too many"},
		{"Upsample shrink", testNode("Upsample"), 9, []*tensor.Tensor{x, float32s([]int{2}, 1, 0.5)}, "out of range"},
		{"Upsample-7 no scales", testNode("Upsample"), 7, nil, "scales"},
		{"linear strings", testNode("Resize", graph.StringAttr("mode", "linear")), 13,
			[]*tensor.Tensor{{DType: graph.String, Shape: []int{1}, Data: []string{"a"}}, nil, nil, int64s(2)}, "numbers"},
	}
	for _, c := range cases {
		wantErr(t, c.what, runNodeErr(t, c.n, c.opset, c.in...), c.frag)
	}
}

// Benchmark sizes: an ImageNet-sized image upsampled 2x.
const xtBenchImage = 224

func BenchmarkResizeLinear2x(b *testing.B) {
	x := tensor.New(graph.Float32, 1, 3, xtBenchImage, xtBenchImage)
	op, err := Build(testNode("Resize", graph.StringAttr("mode", "linear")), 13)
	if err != nil {
		b.Fatal(err)
	}
	in := []*tensor.Tensor{x, nil, float32s([]int{4}, 1, 1, 2, 2)}
	b.ReportAllocs()
	b.SetBytes(int64(4 * 3 * 4 * xtBenchImage * xtBenchImage))
	for b.Loop() {
		if _, err := op.Forward(&Context{}, in); err != nil {
			b.Fatal(err)
		}
	}
}

// TestResizeNearestExactTies resizes 7 values to 9 with half_pixel and
// floor: output i reads floor((i+0.5)*7/9 - 0.5), which for i = 4 is
// exactly 3 (float64 arithmetic gives 2.9999999999999996). Found by the
// differential fuzzer against ONNX Runtime.
func TestResizeNearestExactTies(t *testing.T) {
	n := testNode("Resize", graph.StringAttr("mode", "nearest"), graph.StringAttr("coordinate_transformation_mode", "half_pixel"),
		graph.StringAttr("nearest_mode", "floor"))
	x := float32s([]int{1, 7}, 0, 1, 2, 3, 4, 5, 6)
	out := runNode(t, n, 13, x, nil, nil, int64s(1, 9))
	want := make([]float64, 9)
	for i := range want {
		// Exact rational arithmetic: floor(((2i+1)*7 - 9) / 18).
		want[i] = float64(max(0, ((2*i+1)*7-9)/18))
	}
	checkTensor(t, "resize 7 -> 9", out[0], []int{1, 9}, want, tolExact)
}
