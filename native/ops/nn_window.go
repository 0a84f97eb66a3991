package ops

import (
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/kernels"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// window holds the attributes that Conv and the pooling ops share:
// kernel_shape, strides, pads, dilations and auto_pad, decoded once. One
// and two spatial axes run on the 2-D kernels (1-D as height 1), more on
// the N-D kernels.
type window struct {
	kernel    []int64 // empty for Conv without kernel_shape: taken from the weight
	strides   []int64
	pads      []int64 // begin values, then end values
	dilations []int64
	autoPad   kernels.AutoPad
	ceil      bool
}

// decodeWindow reads the window attributes of n; withCeil also reads
// ceil_mode.
func decodeWindow(n *graph.Node, withCeil bool) (*window, error) {
	w := &window{}
	var err error
	if w.kernel, err = n.Declared().Ints("kernel_shape"); err != nil {
		return nil, err
	}
	if w.strides, err = n.Declared().Ints("strides"); err != nil {
		return nil, err
	}
	if w.pads, err = n.Declared().Ints("pads"); err != nil {
		return nil, err
	}
	if w.dilations, err = n.Declared().Ints("dilations"); err != nil {
		return nil, err
	}
	mode, err := n.Declared().String("auto_pad")
	if err != nil {
		return nil, err
	}
	switch mode {
	case "NOTSET", "":
		w.autoPad = kernels.AutoPadNotSet
	case "SAME_UPPER":
		w.autoPad = kernels.AutoPadSameUpper
	case "SAME_LOWER":
		w.autoPad = kernels.AutoPadSameLower
	case "VALID":
		w.autoPad = kernels.AutoPadValid
	default:
		return nil, fmt.Errorf("attribute auto_pad: unknown mode %q", mode)
	}
	if withCeil {
		ceil, err := n.Declared().Int("ceil_mode")
		if err != nil {
			return nil, err
		}
		w.ceil = ceil != 0
	}
	for _, v := range append(append(append([]int64{}, w.kernel...), w.strides...), w.dilations...) {
		if v < 1 {
			return nil, fmt.Errorf("kernel_shape, strides and dilations must be positive, got %v", v)
		}
	}
	for _, v := range w.pads {
		if v < 0 {
			return nil, fmt.Errorf("attribute pads: negative padding %d", v)
		}
	}
	return w, nil
}

// geometry is a window resolved for one input: two spatial axes, height
// first, with explicit pads.
type geometry struct {
	n, c, h, w                           int
	kh, kw                               int
	strideH, strideW                     int
	padTop, padLeft, padBottom, padRight int
	dilationH, dilationW                 int
}

// resolve fits the window to an input x of rank 3 or more (N, C, then
// the spatial axes), with explicit pads per axis; kernel gives the
// kernel's spatial sizes when the attribute is absent (Conv reads them
// from the weight).
func (w *window) resolve(x *tensor.Tensor, kernel []int) (*kernels.Window, error) {
	spatial := x.Rank() - 2
	if spatial < 1 {
		return nil, fmt.Errorf("input %v has no spatial axes", x.Shape)
	}
	k := make([]int, spatial)
	switch {
	case len(w.kernel) == spatial:
		for i, v := range w.kernel {
			k[i] = int(v)
		}
	case len(w.kernel) == 0 && len(kernel) == spatial:
		copy(k, kernel)
	default:
		return nil, fmt.Errorf("kernel_shape %v does not fit an input with %d spatial axes", w.kernel, spatial)
	}
	at := func(list []int64, i, def int) (int, error) {
		switch len(list) {
		case 0:
			return def, nil
		case spatial:
			return int(list[i]), nil
		}
		return 0, fmt.Errorf("attribute list %v does not fit %d spatial axes", list, spatial)
	}
	r := &kernels.Window{In: append([]int(nil), x.Shape[2:]...), Kernel: k, Strides: make([]int, spatial),
		PadsBegin: make([]int, spatial), PadsEnd: make([]int, spatial), Dilations: make([]int, spatial)}
	for i := range spatial {
		var err error
		if r.Strides[i], err = at(w.strides, i, 1); err != nil {
			return nil, err
		}
		if r.Dilations[i], err = at(w.dilations, i, 1); err != nil {
			return nil, err
		}
	}
	for i := range spatial {
		if w.autoPad != kernels.AutoPadNotSet {
			var err error
			if r.PadsBegin[i], r.PadsEnd[i], err = kernels.ResolveAutoPad(w.autoPad, r.In[i], k[i], r.Strides[i], r.Dilations[i]); err != nil {
				return nil, err
			}
			continue
		}
		switch len(w.pads) {
		case 0:
		case 2 * spatial:
			r.PadsBegin[i], r.PadsEnd[i] = int(w.pads[i]), int(w.pads[spatial+i])
		default:
			return nil, fmt.Errorf("attribute pads %v does not fit %d spatial axes", w.pads, spatial)
		}
	}
	return r, nil
}

// planar packs a window of one or two spatial axes over an input of n
// images and c channels into the geometry of the 2-D kernels, a 1-D
// window as height 1.
func planar(n, c int, r *kernels.Window) *geometry {
	last := len(r.In) - 1
	g := &geometry{n: n, c: c, h: 1, w: r.In[last], kh: 1, kw: r.Kernel[last],
		strideH: 1, strideW: r.Strides[last], dilationH: 1, dilationW: r.Dilations[last],
		padLeft: r.PadsBegin[last], padRight: r.PadsEnd[last]}
	if last == 1 {
		g.h, g.kh, g.strideH, g.dilationH = r.In[0], r.Kernel[0], r.Strides[0], r.Dilations[0]
		g.padTop, g.padBottom = r.PadsBegin[0], r.PadsEnd[0]
	}
	return g
}

// outShape returns the output shape [N, channels, spatial...] in the
// input's rank.
func outShape(x *tensor.Tensor, channels, oh, ow int) []int {
	if x.Rank() == 3 {
		return []int{x.Shape[0], channels, ow}
	}
	return []int{x.Shape[0], channels, oh, ow}
}

// outShapeND returns the output shape [N, channels, out...].
func outShapeND(x *tensor.Tensor, channels int, out []int) []int {
	return append([]int{x.Shape[0], channels}, out...)
}

// maxPlanarAxes is the number of spatial axes up to which Conv and the
// pooling ops run the 1-D/2-D kernels; more axes take the N-D kernels.
const maxPlanarAxes = 2

// UnsupportedInputError says that an op is supported but not for this
// input, such as a convolution over float64 data.
type UnsupportedInputError struct {
	Msg string
}

func (e *UnsupportedInputError) Error() string { return "unsupported input: " + e.Msg }

// float32Input checks that input i is present and float32.
func float32Input(in []*tensor.Tensor, i int, name string) (*tensor.Tensor, error) {
	if i >= len(in) || in[i] == nil {
		return nil, fmt.Errorf("input %s is missing", name)
	}
	if in[i].DType != graph.Float32 {
		return nil, &UnsupportedInputError{Msg: fmt.Sprintf("input %s is %v; the native kernels of this op take float32", name, in[i].DType)}
	}
	return in[i], nil
}
