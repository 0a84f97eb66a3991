package ops

// GridSample (opset 16):
//
//	X [N, C, H, W]   grid [N, Ho, Wo, 2] holding (x, y) in [-1, 1]
//	Y [N, C, Ho, Wo]
//
// A grid point maps to pixel coordinates px = (x+1)/2 * (W-1) with
// align_corners (±1 are the corner pixels' centres), otherwise
// px = ((x+1)*W - 1)/2 (±1 are the image's outer edges); likewise py.
// mode "bilinear" (default) mixes the 2×2 neighbours, "nearest" takes the
// closest pixel (halves round to even), "bicubic" mixes 4×4 neighbours
// with the cubic convolution kernel of A = -0.75. padding_mode "zeros"
// (default) reads 0 outside the image, "border" clamps coordinates into
// it and "reflection" mirrors them at the borders (the corner centres
// with align_corners, the outer edges otherwise). For bilinear and
// nearest the continuous coordinate is clamped or mirrored; for bicubic
// each tap's index is.

import (
	"fmt"
	"math"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// gridMode and gridPadding are GridSample's mode and padding_mode.
type (
	gridMode    int
	gridPadding int
)

const (
	gridBilinear gridMode = iota
	gridNearest
	gridBicubic
)

const (
	gridZeros gridPadding = iota
	gridBorder
	gridReflection
)

type gridSample struct {
	mode         gridMode
	padding      gridPadding
	alignCorners bool
}

func init() {
	Register(graph.DefaultDomain, "GridSample", 16, newGridSample)
}

func newGridSample(n *graph.Node, _ int64) (Op, error) {
	o := &gridSample{}
	mode, err := n.AttrString("mode", "bilinear")
	if err != nil {
		return nil, err
	}
	switch mode {
	case "bilinear":
	case "nearest":
		o.mode = gridNearest
	case "bicubic":
		o.mode = gridBicubic
	default:
		return nil, attrError(n, "mode", "is %q, want bilinear, nearest or bicubic", mode)
	}
	pad, err := n.AttrString("padding_mode", "zeros")
	if err != nil {
		return nil, err
	}
	switch pad {
	case "zeros":
	case "border":
		o.padding = gridBorder
	case "reflection":
		o.padding = gridReflection
	default:
		return nil, attrError(n, "padding_mode", "is %q, want zeros, border or reflection", pad)
	}
	ac, err := n.AttrInt("align_corners", 0)
	if err != nil {
		return nil, err
	}
	o.alignCorners = ac != 0
	return o, nil
}

// unnormalize maps a grid coordinate in [-1, 1] to a pixel coordinate on
// an axis of the given size.
func (o *gridSample) unnormalize(v float64, size int) float64 {
	if o.alignCorners {
		return (v + 1) / 2 * float64(size-1)
	}
	return ((v+1)*float64(size) - 1) / 2
}

// gridReflect mirrors v into [lo, hi] repeatedly.
func gridReflect(v, lo, hi float64) float64 {
	span := hi - lo
	if span <= 0 {
		return lo
	}
	d := math.Abs(v - lo)
	flips := math.Floor(d / span)
	rest := d - flips*span
	if int64(flips)%2 == 0 {
		return lo + rest
	}
	return hi - rest
}

// pad applies the border or reflection rule to coordinate v on an axis of
// the given size; zeros padding leaves it as it is.
func (o *gridSample) pad(v float64, size int) float64 {
	switch o.padding {
	case gridBorder:
		return math.Min(math.Max(v, 0), float64(size-1))
	case gridReflection:
		if o.alignCorners {
			v = gridReflect(v, 0, float64(size-1))
		} else {
			v = gridReflect(v, -0.5, float64(size)-0.5)
		}
		return math.Min(math.Max(v, 0), float64(size-1))
	}
	return v
}

// cubicWeights returns the cubic convolution weights (A = -0.75) of the
// four taps floor(v)-1 ... floor(v)+2 at fractional offset t.
func cubicWeights(t float64) [4]float64 {
	const a = -0.75
	near := func(x float64) float64 { return ((a+2)*x-(a+3))*x*x + 1 }
	far := func(x float64) float64 { return ((a*x-5*a)*x+8*a)*x - 4*a }
	return [4]float64{far(t + 1), near(t), near(1 - t), far(2 - t)}
}

func (o *gridSample) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 2, -1); err != nil {
		return nil, err
	}
	x, grid := in[0], in[1]
	if x.Rank() != 4 {
		return nil, fmt.Errorf("input X %v: want [N, C, H, W]", x.Shape)
	}
	if grid.Rank() != 4 || grid.Shape[0] != x.Shape[0] || grid.Shape[3] != 2 {
		return nil, fmt.Errorf("grid %v does not fit X %v: want [%d, Ho, Wo, 2]", grid.Shape, x.Shape, x.Shape[0])
	}
	xv, err := floatValues(x, "X")
	if err != nil {
		return nil, err
	}
	gv, err := floatValues(grid, "grid")
	if err != nil {
		return nil, err
	}
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	ho, wo := grid.Shape[1], grid.Shape[2]
	if err := ctx.checkOutput(graph.Float64, []int{n, c, ho, wo}); err != nil { // computed in float64
		return nil, err
	}
	y := make([]float64, n*c*ho*wo)
	for b := 0; b < n; b++ {
		for p := 0; p < ho*wo; p++ {
			gx := o.unnormalize(gv[(b*ho*wo+p)*2], w)
			gy := o.unnormalize(gv[(b*ho*wo+p)*2+1], h)
			for ch := 0; ch < c; ch++ {
				plane := xv[(b*c+ch)*h*w : (b*c+ch+1)*h*w]
				y[(b*c+ch)*ho*wo+p] = o.sample(plane, h, w, gy, gx)
			}
		}
	}
	return []*tensor.Tensor{float64sToDType(y, x.DType, []int{n, c, ho, wo})}, nil
}

// gridAt reads plane [h, w] at integer (i, j), or 0 outside.
func gridAt(plane []float64, h, w, i, j int) float64 {
	if i < 0 || i >= h || j < 0 || j >= w {
		return 0
	}
	return plane[i*w+j]
}

// sample interpolates plane [h, w] at pixel coordinates (py, px).
func (o *gridSample) sample(plane []float64, h, w int, py, px float64) float64 {
	switch o.mode {
	case gridNearest:
		py, px = o.pad(py, h), o.pad(px, w)
		return gridAt(plane, h, w, int(math.RoundToEven(py)), int(math.RoundToEven(px)))
	case gridBicubic:
		y0, x0 := math.Floor(py), math.Floor(px)
		wy, wx := cubicWeights(py-y0), cubicWeights(px-x0)
		sum := 0.0
		for i := 0; i < 4; i++ {
			ty := o.pad(y0-1+float64(i), h)
			for j := 0; j < 4; j++ {
				tx := o.pad(x0-1+float64(j), w)
				sum += wy[i] * wx[j] * gridAt(plane, h, w, int(ty), int(tx))
			}
		}
		return sum
	}
	py, px = o.pad(py, h), o.pad(px, w)
	y0, x0 := math.Floor(py), math.Floor(px)
	ly, lx := py-y0, px-x0
	i, j := int(y0), int(x0)
	return (1-ly)*(1-lx)*gridAt(plane, h, w, i, j) + (1-ly)*lx*gridAt(plane, h, w, i, j+1) +
		ly*(1-lx)*gridAt(plane, h, w, i+1, j) + ly*lx*gridAt(plane, h, w, i+1, j+1)
}
