package ops

// Resize and Upsample: N-D nearest, N-linear and N-cubic resampling.
//
// Shape legend: X is [d_0, ..., d_{r-1}]; every axis may be resized.
//
// Each output coordinate i along an axis maps to a source coordinate x
// through coordinate_transformation_mode (scale = output length / input
// length, or the scales input):
//
//	half_pixel            x = (i + 0.5)/scale - 0.5
//	half_pixel_symmetric  as half_pixel, shifted by (in/2)(1 - out/(in*scale))
//	pytorch_half_pixel    as half_pixel when out > 1, else 0
//	align_corners         x = i (in-1)/(L-1), L = in*scale (0 when L = 1)
//	asymmetric            x = i/scale
//	tf_half_pixel_for_nn  x = (i + 0.5)/scale (opset 11 only)
//	tf_crop_and_resize    x = start (in-1) + i (end-start)(in-1)/(out-1),
//	                      or (start+end)(in-1)/2 when out = 1; outside
//	                      [0, in-1] the output is extrapolation_value
//
// nearest rounds x by nearest_mode; linear and cubic weigh the inputs
// around x with the hat function or the Keys cubic (coefficient
// cubic_coeff_a), reading indices past an edge as the edge element, or
// leaving them out and renormalising with exclude_outside. With antialias
// the filter is stretched by 1/scale when shrinking. Axes are resampled
// one after the other; the result does not depend on their order.
//
// Opset history: Upsample 7 (scales attribute), 9 (scales input), 10
// (deprecated: rejected); Resize 10 (asymmetric, floor, nearest or linear
// only), 11 (roi/scales/sizes, the coordinate modes, cubic), 13
// (tf_half_pixel_for_nn removed, roi and scales optional), 18 (axes,
// keep_aspect_ratio_policy, antialias), 19 (half_pixel_symmetric).

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// resizeOps is the operator table of resize.go (see registry.go).
var resizeOps = []Entry{
	{OpType: "Resize", Since: []int64{10}, Build: newResize(10)},
	{OpType: "Resize", Since: []int64{11}, Build: newResize(11)},
	{OpType: "Resize", Since: []int64{13}, Build: newResize(13)},
	{OpType: "Resize", Since: []int64{18}, Build: newResize(18)},
	{OpType: "Resize", Since: []int64{19}, Build: newResize(19)},
	{OpType: "Upsample", Since: []int64{7}, Build: newUpsample(7)},
	{OpType: "Upsample", Since: []int64{9}, Build: newUpsample(9)},
	{OpType: "Upsample", Since: []int64{10}, Build: func(n *graph.Node, opset int64) (Op, error) {
		return nil, errors.New("the Upsample operator is deprecated from opset 10: use Resize")
	}},
}

// resizeMaxElements bounds the output of a resize (and of the other ops
// that size their output from input values), so that a wild scale is an
// error and not an allocation failure.
const resizeMaxElements = 1 << 28

type resizeMode int

const (
	resizeNearest resizeMode = iota
	resizeLinear
	resizeCubic
)

// String returns the mode attribute's value.
func (m resizeMode) String() string { return [...]string{"nearest", "linear", "cubic"}[m] }

type coordMode int

const (
	coordHalfPixel coordMode = iota
	coordHalfPixelSymmetric
	coordPytorchHalfPixel
	coordAlignCorners
	coordAsymmetric
	coordTFHalfPixelForNN
	coordTFCropAndResize
)

type nearestRounding int

const (
	roundPreferFloor nearestRounding = iota
	roundPreferCeil
	roundFloor
	roundCeil
)

type aspectPolicy int

const (
	aspectStretch aspectPolicy = iota
	aspectNotLarger
	aspectNotSmaller
)

// resize is a decoded Resize or Upsample node.
type resize struct {
	// inputs says where the sizes come from: 7 Upsample's scales
	// attribute, 9 input 1 is scales (Upsample-9, Resize-10), 11 inputs
	// roi, scales, sizes.
	inputs         int
	scalesAttr     []float32
	mode           resizeMode
	coord          coordMode
	rounding       nearestRounding
	cubicA         float64
	excludeOutside bool
	extrapolation  float64
	antialias      bool
	axes           []int64 // nil: every axis
	policy         aspectPolicy
	minScale       float64 // Upsample: scales below are rejected
}

var (
	resizeModes = map[string]resizeMode{"nearest": resizeNearest, "linear": resizeLinear, "cubic": resizeCubic}
	coordModes  = map[string]coordMode{
		"half_pixel": coordHalfPixel, "half_pixel_symmetric": coordHalfPixelSymmetric,
		"pytorch_half_pixel": coordPytorchHalfPixel, "align_corners": coordAlignCorners,
		"asymmetric": coordAsymmetric, "tf_half_pixel_for_nn": coordTFHalfPixelForNN,
		"tf_crop_and_resize": coordTFCropAndResize,
	}
	nearestModes = map[string]nearestRounding{
		"round_prefer_floor": roundPreferFloor, "round_prefer_ceil": roundPreferCeil,
		"floor": roundFloor, "ceil": roundCeil,
	}
	aspectPolicies = map[string]aspectPolicy{
		"stretch": aspectStretch, "not_larger": aspectNotLarger, "not_smaller": aspectNotSmaller,
	}
)

// stringChoice decodes string attribute attr into one of
// choices, rejecting the names in banned.
func stringChoice[V any](n *graph.Node, attr string, choices map[string]V, banned ...string) (V, error) {
	var zero V
	s, err := n.Declared().String(attr)
	if err != nil {
		return zero, err
	}
	v, ok := choices[s]
	for _, b := range banned {
		ok = ok && s != b
	}
	if !ok {
		return zero, attrError(n, attr, "%q is not supported at this opset version", s)
	}
	return v, nil
}

func newUpsample(since int64) Constructor {
	return func(n *graph.Node, opset int64) (Op, error) {
		op := &resize{inputs: 9, coord: coordAsymmetric, rounding: roundFloor, minScale: 1}
		var err error
		if op.mode, err = stringChoice(n, "mode", resizeModes, "cubic"); err != nil {
			return nil, err
		}
		if since < 9 {
			op.inputs = 7
			if op.scalesAttr, err = n.Declared().Floats("scales"); err != nil {
				return nil, err
			}
			if op.scalesAttr == nil {
				return nil, attrError(n, "scales", "is required")
			}
		}
		return op, nil
	}
}

func newResize(since int64) Constructor {
	return func(n *graph.Node, opset int64) (Op, error) {
		op := &resize{inputs: 11}
		var err error
		if since == 10 {
			op.inputs, op.coord, op.rounding = 9, coordAsymmetric, roundFloor
			if op.mode, err = stringChoice(n, "mode", resizeModes, "cubic"); err != nil {
				return nil, err
			}
			return op, nil
		}
		if op.mode, err = stringChoice(n, "mode", resizeModes); err != nil {
			return nil, err
		}
		var banned []string
		if since >= 13 {
			banned = append(banned, "tf_half_pixel_for_nn")
		}
		if since < 19 {
			banned = append(banned, "half_pixel_symmetric")
		}
		if op.coord, err = stringChoice(n, "coordinate_transformation_mode", coordModes, banned...); err != nil {
			return nil, err
		}
		if op.rounding, err = stringChoice(n, "nearest_mode", nearestModes); err != nil {
			return nil, err
		}
		a, err := n.Declared().Float("cubic_coeff_a")
		if err != nil {
			return nil, err
		}
		op.cubicA = float64(a)
		ex, err := n.Declared().Int("exclude_outside")
		if err != nil {
			return nil, err
		}
		op.excludeOutside = ex != 0
		ev, err := n.Declared().Float("extrapolation_value")
		if err != nil {
			return nil, err
		}
		op.extrapolation = float64(ev)
		if since >= 18 {
			aa, err := n.Declared().Int("antialias")
			if err != nil {
				return nil, err
			}
			op.antialias = aa != 0
			if op.axes, err = n.Declared().Ints("axes"); err != nil {
				return nil, err
			}
			if op.policy, err = stringChoice(n, "keep_aspect_ratio_policy", aspectPolicies); err != nil {
				return nil, err
			}
		}
		return op, nil
	}
}

// resizeAxis is the geometry of one axis: input and output lengths, the
// scale, the fractional target length (in*scale) and the roi.
type resizeAxis struct {
	in, out    int
	scale      float64
	target     float64
	start, end float64
}

// Forward resamples X.
func (r *resize) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, -1); err != nil {
		return nil, err
	}
	x := in[0]
	geo, err := r.geometry(x.Shape, in)
	if err != nil {
		return nil, err
	}
	outShape := make([]int, len(geo))
	total := 1.0
	for d, g := range geo {
		outShape[d] = g.out
		total *= float64(g.out)
	}
	if total > resizeMaxElements {
		return nil, fmt.Errorf("output shape %v has too many elements", outShape)
	}
	if err := ctx.checkOutput(graph.Float64, outShape); err != nil { // computed in float64
		return nil, err
	}
	if total == 0 || x.Len() == 0 {
		if total != 0 {
			return nil, fmt.Errorf("cannot resize the empty %v to %v", x, outShape)
		}
		return []*tensor.Tensor{tensor.New(x.DType, outShape...)}, nil
	}
	coords := make([][]float64, len(geo))
	outside := make([][]bool, len(geo))
	for d, g := range geo {
		coords[d], outside[d] = r.sourceCoords(g)
	}
	if r.mode == resizeNearest {
		return r.nearest(x, geo, outShape, coords, outside)
	}
	if !isRealDType(x.DType) {
		return nil, fmt.Errorf("input X is %v: %v resizing needs numbers", x.DType, r.mode)
	}
	for d, g := range geo {
		// An antialiasing filter stretched far past the input (a tiny
		// scale with a large roi) would loop over needless taps.
		if r.antialias && g.scale*float64(g.in+4) < 1 {
			return nil, fmt.Errorf("axis %d: scale %g is too small for an antialiasing filter over %d elements", d, g.scale, g.in)
		}
	}
	var out any
	switch d := computeData(x).(type) {
	case []float32:
		out = resampleAs(d, r, geo, coords, outside)
	case []float64:
		out = resampleAs(d, r, geo, coords, outside)
	case []int8:
		out = resampleAs(d, r, geo, coords, outside)
	case []int16:
		out = resampleAs(d, r, geo, coords, outside)
	case []int32:
		out = resampleAs(d, r, geo, coords, outside)
	case []int64:
		out = resampleAs(d, r, geo, coords, outside)
	case []uint8:
		out = resampleAs(d, r, geo, coords, outside)
	case []uint16:
		out = resampleAs(d, r, geo, coords, outside)
	case []uint32:
		out = resampleAs(d, r, geo, coords, outside)
	case []uint64:
		out = resampleAs(d, r, geo, coords, outside)
	}
	return []*tensor.Tensor{storeData(x.DType, outShape, out)}, nil
}

// geometry works out every axis's lengths, scale and roi from the
// inputs and attributes.
func (r *resize) geometry(shape []int, in []*tensor.Tensor) ([]resizeAxis, error) {
	rank := len(shape)
	geo := make([]resizeAxis, rank)
	for d, n := range shape {
		geo[d] = resizeAxis{in: n, out: n, scale: 1, target: float64(n), start: 0, end: 1}
	}
	axes := make([]int, rank)
	for i := range axes {
		axes[i] = i
	}
	if r.axes != nil {
		var err error
		if axes, err = resolveAxes(r.axes, rank); err != nil {
			return nil, fmt.Errorf("attribute axes: %w", err)
		}
	}
	var scales []float64
	var sizes []int64
	var err error
	switch r.inputs {
	case 7:
		scales = make([]float64, len(r.scalesAttr))
		for i, s := range r.scalesAttr {
			scales[i] = float64(s)
		}
	case 9:
		if err := checkArity(in, 2, -1); err != nil {
			return nil, err
		}
		if scales, err = floatValues(in[1], "scales"); err != nil {
			return nil, err
		}
	default:
		if t := optionalInput(in, 2); t != nil && t.Len() > 0 {
			if scales, err = floatValues(t, "scales"); err != nil {
				return nil, err
			}
		}
		if t := optionalInput(in, 3); t != nil && t.Len() > 0 {
			if t.DType != graph.Int64 {
				return nil, fmt.Errorf("sizes is %v, want int64", t.DType)
			}
			sizes = t.Data.([]int64)
		}
		if (scales == nil) == (sizes == nil) {
			return nil, fmt.Errorf("exactly one of scales and sizes must be given")
		}
		if t := optionalInput(in, 1); t != nil && t.Len() > 0 && r.coord == coordTFCropAndResize {
			roi, err := floatValues(t, "roi")
			if err != nil {
				return nil, err
			}
			if len(roi) != 2*len(axes) {
				return nil, fmt.Errorf("roi has %d values, want %d", len(roi), 2*len(axes))
			}
			for i, d := range axes {
				geo[d].start, geo[d].end = roi[i], roi[len(axes)+i]
			}
		}
	}
	switch {
	case scales != nil:
		if len(scales) != len(axes) {
			return nil, fmt.Errorf("scales has %d values, want %d", len(scales), len(axes))
		}
		if r.policy != aspectStretch {
			return nil, fmt.Errorf("keep_aspect_ratio_policy applies to sizes only, and scales are given")
		}
		for i, d := range axes {
			s := scales[i]
			if !(s > 0) || math.IsInf(s, 0) || s < r.minScale {
				return nil, fmt.Errorf("scale %v for axis %d is out of range", s, d)
			}
			g := &geo[d]
			g.scale, g.target = s, float64(g.in)*s
			extent := 1.0
			if r.coord == coordTFCropAndResize {
				extent = g.end - g.start
			}
			out := math.Floor(float64(g.in) * extent * s)
			if !(out >= 0 && out <= resizeMaxElements) {
				return nil, fmt.Errorf("axis %d: output length %v is out of range", d, out)
			}
			g.out = int(out)
		}
	default:
		if len(sizes) != len(axes) {
			return nil, fmt.Errorf("sizes has %d values, want %d", len(sizes), len(axes))
		}
		for i, d := range axes {
			if sizes[i] < 0 || sizes[i] > resizeMaxElements {
				return nil, fmt.Errorf("size %d for axis %d is out of range", sizes[i], d)
			}
			g := &geo[d]
			g.out, g.target = int(sizes[i]), float64(sizes[i])
			g.scale = float64(sizes[i]) / float64(g.in)
		}
		if r.policy != aspectStretch {
			scale := geo[axes[0]].scale
			for _, d := range axes[1:] {
				if s := geo[d].scale; r.policy == aspectNotLarger && s < scale || r.policy == aspectNotSmaller && s > scale {
					scale = s
				}
			}
			for _, d := range axes {
				g := &geo[d]
				g.scale, g.target = scale, scale*float64(g.in)
				g.out = int(math.Floor(g.target + 0.5))
			}
		}
	}
	return geo, nil
}

// sourceCoords maps every output position of an axis to its source
// coordinate, and flags the positions that tf_crop_and_resize puts
// outside the input.
func (r *resize) sourceCoords(g resizeAxis) ([]float64, []bool) {
	coords := make([]float64, g.out)
	outside := make([]bool, g.out)
	in := float64(g.in)
	for i := range coords {
		fi := float64(i)
		var x float64
		switch r.coord {
		case coordHalfPixel:
			x = (fi+0.5)/g.scale - 0.5
		case coordHalfPixelSymmetric:
			offset := in / 2 * (1 - float64(g.out)/g.target)
			x = offset + (fi+0.5)/g.scale - 0.5
		case coordPytorchHalfPixel:
			if g.out > 1 {
				x = (fi+0.5)/g.scale - 0.5
			}
		case coordAlignCorners:
			if g.target != 1 {
				x = fi * (in - 1) / (g.target - 1)
			}
		case coordAsymmetric:
			x = fi / g.scale
		case coordTFHalfPixelForNN:
			x = (fi + 0.5) / g.scale
		case coordTFCropAndResize:
			if g.out > 1 {
				x = g.start*(in-1) + fi*(g.end-g.start)*(in-1)/float64(g.out-1)
			} else {
				x = 0.5 * (g.start + g.end) * (in - 1)
			}
			outside[i] = !(x >= 0 && x <= in-1) // NaN lies outside too
		}
		coords[i] = x
	}
	return coords, outside
}

// nearestIndex rounds a source coordinate to an input index in [0, n).
// A coordinate within 1e-9 of an integer or a half-integer is taken as
// that value first: those are the exact ties and integers of the spec's
// rational arithmetic (half_pixel from 7 to 9 maps output 4 to exactly
// 3, which float64 computes as 2.9999999999999996 and would floor to 2).
func (r *resize) nearestIndex(x float64, n int) int {
	if half := math.Round(2*x) / 2; math.Abs(x-half) <= 1e-9*max(1, math.Abs(x)) {
		x = half
	}
	var v float64
	switch r.rounding {
	case roundPreferFloor:
		v = math.Ceil(x - 0.5)
	case roundPreferCeil:
		v = math.Floor(x + 0.5)
	case roundFloor:
		v = math.Floor(x)
	case roundCeil:
		v = math.Ceil(x)
	}
	return int(max(0, min(v, float64(n-1))))
}

// nearest resizes by copying the nearest input element, for any element
// type; extrapolated positions take extrapolation_value.
func (r *resize) nearest(x *tensor.Tensor, geo []resizeAxis, outShape []int, coords [][]float64, outside [][]bool) ([]*tensor.Tensor, error) {
	strides := tensor.Strides(x.Shape)
	// perAxis[d][i] is the input offset contribution of output index i
	// along d, or -1 when it lies outside.
	perAxis := make([][]int, len(geo))
	for d, g := range geo {
		perAxis[d] = make([]int, g.out)
		for i, c := range coords[d] {
			if outside[d][i] {
				perAxis[d][i] = -1
			} else {
				perAxis[d][i] = r.nearestIndex(c, g.in) * strides[d]
			}
		}
	}
	src := make([]int, tensor.NumElements(outShape))
	idx := make([]int, len(outShape))
	for o := range src {
		off := 0
		for d, i := range idx {
			p := perAxis[d][i]
			if p < 0 {
				off = -1
				break
			}
			off += p
		}
		src[o] = off
		for d := len(idx) - 1; d >= 0; d-- {
			if idx[d]++; idx[d] < outShape[d] {
				break
			}
			idx[d] = 0
		}
	}
	var data any
	switch d := x.Data.(type) {
	case []float32:
		data = gatherOrFill(d, src, float32(r.extrapolation))
	case []float64:
		data = gatherOrFill(d, src, r.extrapolation)
	case []uint16:
		fill := fromFloat64[uint16](r.extrapolation)
		if isHalfFloat(x.DType) {
			fill = float32ToHalf([]float32{float32(r.extrapolation)}, x.DType)[0]
		}
		data = gatherOrFill(d, src, fill)
	case []int8:
		data = gatherOrFill(d, src, fromFloat64[int8](r.extrapolation))
	case []int16:
		data = gatherOrFill(d, src, fromFloat64[int16](r.extrapolation))
	case []int32:
		data = gatherOrFill(d, src, fromFloat64[int32](r.extrapolation))
	case []int64:
		data = gatherOrFill(d, src, fromFloat64[int64](r.extrapolation))
	case []uint8:
		data = gatherOrFill(d, src, fromFloat64[uint8](r.extrapolation))
	case []uint32:
		data = gatherOrFill(d, src, fromFloat64[uint32](r.extrapolation))
	case []uint64:
		data = gatherOrFill(d, src, fromFloat64[uint64](r.extrapolation))
	case []bool:
		data = gatherOrFill(d, src, r.extrapolation != 0)
	case []string:
		data = gatherOrFill(d, src, "")
	default:
		return nil, fmt.Errorf("input X is %v, which Resize does not handle", x.DType)
	}
	return []*tensor.Tensor{{DType: x.DType, Shape: outShape, Data: data}}, nil
}

// gatherOrFill returns out[i] = x[src[i]], or fill where src[i] < 0.
func gatherOrFill[T any](x []T, src []int, fill T) []T {
	out := make([]T, len(src))
	for i, s := range src {
		if s < 0 {
			out[i] = fill
		} else {
			out[i] = x[s]
		}
	}
	return out
}

// resampleAs runs the linear or cubic resampling in float64 and converts
// the result back to T.
func resampleAs[T realNumber](x []T, r *resize, geo []resizeAxis, coords [][]float64, outside [][]bool) []T {
	buf := make([]float64, len(x))
	for i, v := range x {
		buf[i] = float64(v)
	}
	buf = r.resample(buf, geo, coords, outside)
	out := make([]T, len(buf))
	if isFloatElem[T]() {
		for i, v := range buf {
			out[i] = T(v)
		}
		return out
	}
	for i, v := range buf {
		out[i] = fromFloat64[T](v)
	}
	return out
}

// resample applies the interpolation filter along each resized axis in
// turn, then writes extrapolation_value where any axis lies outside.
func (r *resize) resample(buf []float64, geo []resizeAxis, coords [][]float64, outside [][]bool) []float64 {
	shape := make([]int, len(geo))
	for d, g := range geo {
		shape[d] = g.in
	}
	anyOutside := false
	// Shrinking axes go first, so that no intermediate result is larger
	// than both the input and the output.
	order := make([]int, len(geo))
	for d := range order {
		order[d] = d
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Compare(float64(geo[a].out)/float64(geo[a].in), float64(geo[b].out)/float64(geo[b].in))
	})
	for _, d := range order {
		g := geo[d]
		for _, o := range outside[d] {
			anyOutside = anyOutside || o
		}
		if g.out == g.in && (g.scale == 1 || !r.antialias) && mapsOntoItself(coords[d]) {
			continue
		}
		taps := make([]resizeTaps, g.out)
		for i, c := range coords[d] {
			taps[i] = r.filterTaps(c, g)
		}
		outer, n, inner := splitAtAxis(shape, d)
		next := make([]float64, outer*g.out*inner)
		for o := range outer {
			for j, t := range taps {
				dst := next[(o*g.out+j)*inner : (o*g.out+j+1)*inner]
				for k, idx := range t.index {
					w := t.weight[k]
					src := buf[(o*n+idx)*inner : (o*n+idx+1)*inner]
					for i, v := range src {
						dst[i] += w * v
					}
				}
			}
		}
		buf, shape[d] = next, g.out
	}
	if anyOutside {
		for d := range geo {
			outer, n, inner := splitAtAxis(shape, d)
			for j, o := range outside[d] {
				if !o {
					continue
				}
				for p := range outer {
					for i := range inner {
						buf[(p*n+j)*inner+i] = r.extrapolation
					}
				}
			}
		}
	}
	return buf
}

// mapsOntoItself reports whether every output position i has source
// coordinate i, so that resampling the axis leaves it unchanged.
func mapsOntoItself(coords []float64) bool {
	for i, c := range coords {
		if c != float64(i) {
			return false
		}
	}
	return true
}

// resizeTaps are the input indices and weights that make one output
// element along an axis.
type resizeTaps struct {
	index  []int
	weight []float64
}

// filterTaps returns the taps of the linear or cubic filter centred on
// source coordinate x. The filter reaches support/s to each side, where s
// is min(1, scale) with antialias and 1 otherwise.
func (r *resize) filterTaps(x float64, g resizeAxis) resizeTaps {
	support, s := 1.0, 1.0
	if r.mode == resizeCubic {
		support = 2
	}
	if r.antialias && g.scale < 1 {
		s = g.scale
	}
	reach := support / s
	// Past the edges every tap reads the edge element (or is excluded),
	// so a far-off x gives the result of one just beyond reach.
	x = max(-reach-1, min(x, float64(g.in)+reach))
	if math.IsNaN(x) {
		x = -reach - 1 // only tf_crop_and_resize makes NaN, and extrapolates it
	}
	lo, hi := int(math.Floor(x-reach))+1, int(math.Ceil(x+reach))-1
	var t resizeTaps
	sum := 0.0
	for i := lo; i <= hi; i++ {
		if r.excludeOutside && (i < 0 || i >= g.in) {
			continue
		}
		dist := math.Abs(x-float64(i)) * s
		var w float64
		if r.mode == resizeCubic {
			w = keysCubic(dist, r.cubicA)
		} else {
			w = max(0, 1-dist)
		}
		if w == 0 {
			continue
		}
		t.index = append(t.index, max(0, min(i, g.in-1)))
		t.weight = append(t.weight, w)
		sum += w
	}
	if (r.antialias || r.excludeOutside) && sum != 0 {
		for k := range t.weight {
			t.weight[k] /= sum
		}
	}
	return t
}

// keysCubic is the Keys cubic convolution kernel with coefficient a at
// distance t >= 0.
func keysCubic(t, a float64) float64 {
	switch {
	case t <= 1:
		return ((a+2)*t-(a+3))*t*t + 1
	case t < 2:
		return ((a*t-5*a)*t+8*a)*t - 4*a
	}
	return 0
}
