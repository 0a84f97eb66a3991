package ops

// Detection and unpooling operators: NonMaxSuppression, RoiAlign and
// MaxUnpool.

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// visionOps is the operator table of vision.go (see registry.go).
var visionOps = []Entry{
	{OpType: "NonMaxSuppression", Since: []int64{10}, Build: newNonMaxSuppression},
	{OpType: "RoiAlign", Since: []int64{10, 16}, Build: newRoiAlign},
	{OpType: "MaxUnpool", Since: []int64{9}, Build: newMaxUnpool},
}

// nonMaxSuppression is NonMaxSuppression (opsets 10 and 11, the same
// semantics):
//
//	boxes [B, N, 4]   scores [B, K, N]   max_output_boxes_per_class, iou_threshold,
//	score_threshold: optional scalars (defaults 0, 0, none)
//	selected_indices [M, 3] int64: (batch, class, box)
//
// Per batch and class, boxes scoring above score_threshold are taken in
// order of decreasing score (ties by index) and kept unless their IoU
// with a kept box exceeds iou_threshold, until max_output_boxes_per_class
// are kept. Boxes are [y1, x1, y2, x2] with either diagonal, or
// [x_center, y_center, width, height] when center_point_box is 1.
type nonMaxSuppression struct{ centerPoint bool }

func newNonMaxSuppression(n *graph.Node, _ int64) (Op, error) {
	c, err := n.Declared().Int("center_point_box")
	if err != nil {
		return nil, err
	}
	if c != 0 && c != 1 {
		return nil, attrError(n, "center_point_box", "is %d, want 0 or 1", c)
	}
	return &nonMaxSuppression{centerPoint: c == 1}, nil
}

// corners returns box b as (ymin, xmin, ymax, xmax).
func (o *nonMaxSuppression) corners(b []float64) [4]float64 {
	if o.centerPoint {
		xc, yc, w, h := b[0], b[1], b[2], b[3]
		return [4]float64{yc - h/2, xc - w/2, yc + h/2, xc + w/2}
	}
	return [4]float64{math.Min(b[0], b[2]), math.Min(b[1], b[3]), math.Max(b[0], b[2]), math.Max(b[1], b[3])}
}

// iou is the intersection over union of two boxes given by corners; 0
// when the union is empty.
func iou(a, b [4]float64) float64 {
	h := math.Min(a[2], b[2]) - math.Max(a[0], b[0])
	w := math.Min(a[3], b[3]) - math.Max(a[1], b[1])
	if h <= 0 || w <= 0 {
		return 0
	}
	inter := h * w
	union := (a[2]-a[0])*(a[3]-a[1]) + (b[2]-b[0])*(b[3]-b[1]) - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}

// scalarFloatInput returns the single value of optional float input i, or def.
func scalarFloatInput(in []*tensor.Tensor, i int, name string, def float64) (float64, error) {
	t := optionalInput(in, i)
	if t == nil {
		return def, nil
	}
	v, err := floatValues(t, name)
	if err != nil {
		return 0, err
	}
	if len(v) != 1 {
		return 0, fmt.Errorf("%s has shape %v, want a single value", name, t.Shape)
	}
	return v[0], nil
}

func (o *nonMaxSuppression) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 2, -1); err != nil {
		return nil, err
	}
	boxes, scores := in[0], in[1]
	if boxes.Rank() != 3 || boxes.Shape[2] != 4 {
		return nil, fmt.Errorf("boxes %v: want [batches, boxes, 4]", boxes.Shape)
	}
	if scores.Rank() != 3 || scores.Shape[0] != boxes.Shape[0] || scores.Shape[2] != boxes.Shape[1] {
		return nil, fmt.Errorf("scores %v do not fit boxes %v: want [%d, classes, %d]", scores.Shape, boxes.Shape, boxes.Shape[0], boxes.Shape[1])
	}
	bv, err := floatValues(boxes, "boxes")
	if err != nil {
		return nil, err
	}
	sv, err := floatValues(scores, "scores")
	if err != nil {
		return nil, err
	}
	maxOut := int64(0)
	if t := optionalInput(in, 2); t != nil {
		if maxOut, err = intScalar(t, "max_output_boxes_per_class"); err != nil {
			return nil, err
		}
	}
	iouMax, err := scalarFloatInput(in, 3, "iou_threshold", 0)
	if err != nil {
		return nil, err
	}
	scoreMin, err := scalarFloatInput(in, 4, "score_threshold", math.Inf(-1))
	if err != nil {
		return nil, err
	}
	batches, classes, count := scores.Shape[0], scores.Shape[1], scores.Shape[2]
	var selected []int64
	for b := 0; b < batches; b++ {
		corners := make([][4]float64, count)
		for i := range corners {
			corners[i] = o.corners(bv[(b*count+i)*4 : (b*count+i+1)*4])
		}
		for c := 0; c < classes; c++ {
			s := sv[(b*classes+c)*count : (b*classes+c+1)*count]
			var order []int
			for i, v := range s {
				if v > scoreMin {
					order = append(order, i)
				}
			}
			sort.SliceStable(order, func(i, j int) bool { return s[order[i]] > s[order[j]] })
			var kept []int
			for _, i := range order {
				if int64(len(kept)) >= maxOut {
					break
				}
				ok := true
				for _, k := range kept {
					if iou(corners[i], corners[k]) > iouMax {
						ok = false
						break
					}
				}
				if ok {
					kept = append(kept, i)
					selected = append(selected, int64(b), int64(c), int64(i))
				}
			}
		}
	}
	if selected == nil {
		selected = []int64{}
	}
	return []*tensor.Tensor{{DType: graph.Int64, Shape: []int{len(selected) / 3, 3}, Data: selected}}, nil
}

// roiAlign is RoiAlign:
//
//	X [N, C, H, W]   rois [R, 4] as (x1, y1, x2, y2)   batch_indices [R] int64
//	Y [R, C, output_height, output_width]
//
// Each region, scaled by spatial_scale and shifted by -0.5 in the
// "half_pixel" coordinate mode (the opset 16 default; opset 10 behaves as
// "output_half_pixel", which instead widens regions to at least 1), is
// cut into output bins; each bin samples sampling_ratio² points (or
// ceil(region/bins) per axis when it is 0) bilinearly and takes their
// mean ("avg") or, as the reference implementation does, the largest
// weighted corner value of any sample ("max"). A sample more than one
// pixel outside the image counts as 0.
type roiAlign struct {
	max           bool
	outH, outW    int
	samplingRatio int
	spatialScale  float64
	halfPixel     bool
}

func newRoiAlign(n *graph.Node, opset int64) (Op, error) {
	o := &roiAlign{}
	mode, err := n.Declared().String("mode")
	if err != nil {
		return nil, err
	}
	switch mode {
	case "avg":
	case "max":
		o.max = true
	default:
		return nil, attrError(n, "mode", "is %q, want avg or max", mode)
	}
	ints := []struct {
		name string
		dst  *int
		min  int64
	}{{"output_height", &o.outH, 1}, {"output_width", &o.outW, 1}, {"sampling_ratio", &o.samplingRatio, 0}}
	for _, a := range ints {
		v, err := n.Declared().Int(a.name)
		if err != nil {
			return nil, err
		}
		if v < a.min || v > math.MaxInt32 {
			return nil, attrError(n, a.name, "is %d, want at least %d", v, a.min)
		}
		*a.dst = int(v)
	}
	scale, err := n.Declared().Float("spatial_scale")
	if err != nil {
		return nil, err
	}
	o.spatialScale = float64(scale)
	if opset >= 16 {
		ctm, err := n.Declared().String("coordinate_transformation_mode")
		if err != nil {
			return nil, err
		}
		switch ctm {
		case "half_pixel":
			o.halfPixel = true
		case "output_half_pixel":
		default:
			return nil, attrError(n, "coordinate_transformation_mode", "is %q, want half_pixel or output_half_pixel", ctm)
		}
	}
	return o, nil
}

func (o *roiAlign) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 3, -1); err != nil {
		return nil, err
	}
	x, rois := in[0], in[1]
	if x.Rank() != 4 {
		return nil, fmt.Errorf("input X %v: want [N, C, H, W]", x.Shape)
	}
	if rois.Rank() != 2 || rois.Shape[1] != 4 {
		return nil, fmt.Errorf("rois %v: want [num_rois, 4]", rois.Shape)
	}
	xv, err := floatValues(x, "X")
	if err != nil {
		return nil, err
	}
	rv, err := floatValues(rois, "rois")
	if err != nil {
		return nil, err
	}
	idx, err := intValues(in[2], "batch_indices")
	if err != nil {
		return nil, err
	}
	nr := rois.Shape[0]
	if len(idx) != nr {
		return nil, fmt.Errorf("batch_indices has %d values for %d rois", len(idx), nr)
	}
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	if err := checkOutputSize(nr, c, o.outH, o.outW); err != nil {
		return nil, err
	}
	y := make([]float64, nr*c*o.outH*o.outW)
	offset := 0.0
	if o.halfPixel {
		offset = 0.5
	}
	for r := 0; r < nr; r++ {
		b := idx[r]
		if b < 0 || b >= int64(n) {
			return nil, fmt.Errorf("batch_indices[%d] = %d is outside [0, %d)", r, b, n)
		}
		x1, y1 := rv[r*4]*o.spatialScale-offset, rv[r*4+1]*o.spatialScale-offset
		x2, y2 := rv[r*4+2]*o.spatialScale-offset, rv[r*4+3]*o.spatialScale-offset
		rw, rh := x2-x1, y2-y1
		if !o.halfPixel {
			rw, rh = math.Max(rw, 1), math.Max(rh, 1)
		}
		binH, binW := rh/float64(o.outH), rw/float64(o.outW)
		gh, gw := o.samplingRatio, o.samplingRatio
		if gh == 0 {
			gh, gw = int(math.Ceil(binH)), int(math.Ceil(binW))
		}
		count := float64(max(gh*gw, 1))
		for ch := 0; ch < c; ch++ {
			plane := xv[(int(b)*c+ch)*h*w : (int(b)*c+ch+1)*h*w]
			out := y[(r*c+ch)*o.outH*o.outW : (r*c+ch+1)*o.outH*o.outW]
			for ph := 0; ph < o.outH; ph++ {
				for pw := 0; pw < o.outW; pw++ {
					acc := 0.0
					if o.max {
						acc = math.Inf(-1)
					}
					for iy := 0; iy < gh; iy++ {
						sy := y1 + float64(ph)*binH + (float64(iy)+0.5)*binH/float64(gh)
						for ix := 0; ix < gw; ix++ {
							sx := x1 + float64(pw)*binW + (float64(ix)+0.5)*binW/float64(gw)
							v := bilinearCorners(plane, h, w, sy, sx)
							if o.max {
								acc = math.Max(acc, math.Max(math.Max(v[0], v[1]), math.Max(v[2], v[3])))
							} else {
								acc += v[0] + v[1] + v[2] + v[3]
							}
						}
					}
					if !o.max {
						acc /= count
					} else if gh*gw == 0 {
						acc = 0
					}
					out[ph*o.outW+pw] = acc
				}
			}
		}
	}
	return []*tensor.Tensor{float64sToDType(y, x.DType, []int{nr, c, o.outH, o.outW})}, nil
}

// bilinearCorners returns the four weighted corner terms whose sum is the
// bilinear interpolation of plane [h, w] at (y, x), clamped at the edges;
// all zero when the point lies more than one pixel outside.
func bilinearCorners(plane []float64, h, w int, y, x float64) [4]float64 {
	if y < -1 || y > float64(h) || x < -1 || x > float64(w) {
		return [4]float64{}
	}
	y, x = math.Max(y, 0), math.Max(x, 0)
	y0, x0 := int(y), int(x)
	y1, x1 := y0+1, x0+1
	if y0 >= h-1 {
		y0, y1, y = h-1, h-1, float64(h-1)
	}
	if x0 >= w-1 {
		x0, x1, x = w-1, w-1, float64(w-1)
	}
	ly, lx := y-float64(y0), x-float64(x0)
	hy, hx := 1-ly, 1-lx
	return [4]float64{
		hy * hx * plane[y0*w+x0], hy * lx * plane[y0*w+x1],
		ly * hx * plane[y1*w+x0], ly * lx * plane[y1*w+x1],
	}
}

// maxUnpool is MaxUnpool (opsets 9 and 11, the same semantics):
//
//	X [N, C, D1, ...]   I like X, int64 flat indices into Y (as MaxPool's Indices)
//	output_shape (optional) [N, C, O1, ...]
//	Y [N, C, O1, ...], zero but Y.flat[I[i]] = X.flat[i]
//
// Without output_shape, O = (D-1)*stride - pad_begin - pad_end + kernel.
type maxUnpool struct {
	kernel, strides, pads []int64
}

func newMaxUnpool(n *graph.Node, _ int64) (Op, error) {
	o := &maxUnpool{}
	var err error
	if o.kernel, err = n.Declared().Ints("kernel_shape"); err != nil {
		return nil, err
	}
	if len(o.kernel) == 0 {
		return nil, attrError(n, "kernel_shape", "is required")
	}
	if o.strides, err = n.Declared().Ints("strides"); err != nil {
		return nil, err
	}
	if o.pads, err = n.Declared().Ints("pads"); err != nil {
		return nil, err
	}
	k := len(o.kernel)
	if len(o.strides) != 0 && len(o.strides) != k {
		return nil, attrError(n, "strides", "has %d values for %d spatial axes", len(o.strides), k)
	}
	if len(o.pads) != 0 && len(o.pads) != 2*k {
		return nil, attrError(n, "pads", "has %d values for %d spatial axes", len(o.pads), k)
	}
	return o, nil
}

func (o *maxUnpool) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 2, -1); err != nil {
		return nil, err
	}
	x, ind := in[0], in[1]
	k := len(o.kernel)
	if x.Rank() != k+2 {
		return nil, fmt.Errorf("input X %v: want rank %d for kernel_shape %v", x.Shape, k+2, o.kernel)
	}
	if !slices.Equal(ind.Shape, x.Shape) {
		return nil, fmt.Errorf("indices %v do not match X %v", ind.Shape, x.Shape)
	}
	outShape := optionalInput(in, 2)
	shape := append([]int(nil), x.Shape...)
	for a := 0; a < k; a++ {
		s, pb, pe := int64(1), int64(0), int64(0)
		if len(o.strides) > 0 {
			s = o.strides[a]
		}
		if len(o.pads) > 0 && outShape == nil {
			pb, pe = o.pads[a], o.pads[a+k]
		}
		shape[2+a] = int((int64(x.Shape[2+a])-1)*s - pb - pe + o.kernel[a])
		if shape[2+a] < 0 {
			return nil, fmt.Errorf("output shape %v is negative", shape)
		}
	}
	idx, err := intValues(ind, "I")
	if err != nil {
		return nil, err
	}
	idx = append([]int64(nil), idx...)
	if outShape != nil {
		dims, err := intValues(outShape, "output_shape")
		if err != nil {
			return nil, err
		}
		if len(dims) != len(shape) {
			return nil, fmt.Errorf("output_shape %v: want %d values", dims, len(shape))
		}
		target := make([]int, len(dims))
		for i, d := range dims {
			if d < 0 || d > math.MaxInt32 {
				return nil, fmt.Errorf("output_shape %v: bad dimension", dims)
			}
			target[i] = int(d)
		}
		if err := reindexFlat(idx, shape, target); err != nil {
			return nil, err
		}
		shape = target
	}
	if err := checkOutputSize(shape...); err != nil {
		return nil, err
	}
	y := tensor.New(x.DType, shape...)
	total := int64(y.Len())
	src, dst := computeData(x), computeData(y)
	for i, at := range idx {
		if at < 0 || at >= total {
			return nil, fmt.Errorf("index %d at %d is outside the output of %d elements", at, i, total)
		}
	}
	if err := unpoolScatter(src, dst, idx); err != nil {
		return nil, err
	}
	return []*tensor.Tensor{storeData(x.DType, shape, dst)}, nil
}

// reindexFlat maps flat indices into shape from onto the element at the
// same coordinates in shape to (the explicit output_shape, whose extra
// elements are padding at the end of each axis).
func reindexFlat(idx []int64, from, to []int) error {
	total := int64(tensor.NumElements(from))
	c := make([]int, len(from))
	for i, at := range idx {
		if at < 0 || at >= total {
			return fmt.Errorf("index %d at %d is outside the %v unpooled tensor", at, i, from)
		}
		unflatten(int(at), from, c)
		flat := int64(0)
		for a, v := range c {
			if v >= to[a] {
				return fmt.Errorf("index %d at %d lies outside output_shape %v", at, i, to)
			}
			flat = flat*int64(to[a]) + int64(v)
		}
		idx[i] = flat
	}
	return nil
}

// unpoolScatter sets dst[idx[i]] = src[i] for slices of the same type.
func unpoolScatter(src, dst any, idx []int64) error {
	switch s := src.(type) {
	case []float32:
		unpoolInto(s, dst.([]float32), idx)
	case []float64:
		unpoolInto(s, dst.([]float64), idx)
	case []int8:
		unpoolInto(s, dst.([]int8), idx)
	case []int16:
		unpoolInto(s, dst.([]int16), idx)
	case []int32:
		unpoolInto(s, dst.([]int32), idx)
	case []int64:
		unpoolInto(s, dst.([]int64), idx)
	case []uint8:
		unpoolInto(s, dst.([]uint8), idx)
	case []uint16:
		unpoolInto(s, dst.([]uint16), idx)
	case []uint32:
		unpoolInto(s, dst.([]uint32), idx)
	case []uint64:
		unpoolInto(s, dst.([]uint64), idx)
	default:
		return fmt.Errorf("input X of type %T is not numeric", src)
	}
	return nil
}

// unpoolInto sets dst[idx[i]] = src[i].
func unpoolInto[T any](src, dst []T, idx []int64) {
	for i, at := range idx {
		dst[at] = src[i]
	}
}
