package ops

// GridSample (opset 16; 20 over any number r of spatial axes, with modes
// renamed; 22 added types):
//
//	X [N, C, H, W]   grid [N, Ho, Wo, 2] holding (x, y) in [-1, 1]
//	Y [N, C, Ho, Wo]
//
// and from opset 20 X [N, C, D1, ..., Dr], grid [N, O1, ..., Or, r]
// holding the coordinates innermost axis first (x along Dr, y along
// Dr-1, ...), Y [N, C, O1, ..., Or].
//
// A grid point maps to pixel coordinates px = (x+1)/2 * (W-1) with
// align_corners (±1 are the corner pixels' centres), otherwise
// px = ((x+1)*W - 1)/2 (±1 are the image's outer edges); likewise py.
// mode "bilinear" (default; "linear" from opset 20) mixes the 2×2 (2^r)
// neighbours, "nearest" takes the closest pixel (halves round to even),
// "bicubic" ("cubic" from opset 20) mixes 4×4 (4^r) neighbours with the
// cubic convolution kernel of A = -0.75. padding_mode "zeros"
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
	nd           bool // opset 20 and later: any number of spatial axes
}

// visionGridOps is the operator table of vision_grid.go (see registry.go).
var visionGridOps = []Entry{
	{OpType: "GridSample", Since: []int64{16, 20}, Build: newGridSample},
}

func newGridSample(n *graph.Node, opset int64) (Op, error) {
	o := &gridSample{nd: opset >= 20}
	linear, cubic := "bilinear", "bicubic"
	if o.nd {
		linear, cubic = "linear", "cubic"
	}
	mode, err := n.Declared().String("mode")
	if err != nil {
		return nil, err
	}
	switch mode {
	case linear:
	case "nearest":
		o.mode = gridNearest
	case cubic:
		o.mode = gridBicubic
	default:
		return nil, attrError(n, "mode", "is %q, want %s, nearest or %s", mode, linear, cubic)
	}
	pad, err := n.Declared().String("padding_mode")
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
	ac, err := n.Declared().Int("align_corners")
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
	r := x.Rank() - 2
	if !o.nd && r != 2 {
		return nil, fmt.Errorf("input X %v: want [N, C, H, W]", x.Shape)
	}
	if r < 1 {
		return nil, fmt.Errorf("input X %v: want [N, C, D1, ...]", x.Shape)
	}
	if grid.Rank() != r+2 || grid.Shape[0] != x.Shape[0] || grid.Shape[r+1] != r {
		return nil, fmt.Errorf("grid %v does not fit X %v: want [%d, %d output sizes, %d]", grid.Shape, x.Shape, x.Shape[0], r, r)
	}
	xv, err := floatValues(x, "X")
	if err != nil {
		return nil, err
	}
	gv, err := floatValues(grid, "grid")
	if err != nil {
		return nil, err
	}
	n, c := x.Shape[0], x.Shape[1]
	sizes, outSizes := x.Shape[2:], grid.Shape[1:r+1]
	plane, outPlane := tensor.NumElements(sizes), tensor.NumElements(outSizes)
	if err := ctx.checkOutput(graph.Float64, append([]int{n, c}, outSizes...)); err != nil { // computed in float64
		return nil, err
	}
	s := gridSampler{o: o, sizes: sizes, strides: tensor.Strides(sizes), coord: make([]float64, r), tap: make([]int, r)}
	y := make([]float64, n*c*outPlane)
	for b := range n {
		for p := range outPlane {
			g := gv[(b*outPlane+p)*r:]
			for a := range r {
				s.coord[a] = o.unnormalize(g[r-1-a], sizes[a])
			}
			for ch := range c {
				y[(b*c+ch)*outPlane+p] = s.sample(xv[(b*c+ch)*plane : (b*c+ch+1)*plane])
			}
		}
	}
	return []*tensor.Tensor{float64sToDType(y, x.DType, append([]int{n, c}, outSizes...))}, nil
}

// gridSampler interpolates planes of sizes at coord, pixel coordinates
// outermost axis first; tap is scratch.
type gridSampler struct {
	o       *gridSample
	sizes   []int
	strides []int
	coord   []float64
	tap     []int
}

// at reads plane at the integer coordinates s.tap, or 0 outside.
func (s *gridSampler) at(plane []float64) float64 {
	off := 0
	for a, i := range s.tap {
		if i < 0 || i >= s.sizes[a] {
			return 0
		}
		off += i * s.strides[a]
	}
	return plane[off]
}

// sample interpolates plane at s.coord.
func (s *gridSampler) sample(plane []float64) float64 {
	o, r := s.o, len(s.sizes)
	switch o.mode {
	case gridNearest:
		for a, v := range s.coord {
			s.tap[a] = int(math.RoundToEven(o.pad(v, s.sizes[a])))
		}
		return s.at(plane)
	case gridBicubic:
		var weights [][4]float64
		var base []float64
		for _, v := range s.coord {
			f := math.Floor(v)
			weights = append(weights, cubicWeights(v-f))
			base = append(base, f-1)
		}
		sum := 0.0
		for t := range 1 << (2 * r) {
			w := 1.0
			for a := range r {
				k := t >> (2 * (r - 1 - a)) & 3
				w *= weights[a][k]
				s.tap[a] = int(o.pad(base[a]+float64(k), s.sizes[a]))
			}
			sum += w * s.at(plane)
		}
		return sum
	}
	var frac []float64
	var base []int
	for a, v := range s.coord {
		v = o.pad(v, s.sizes[a])
		f := math.Floor(v)
		frac = append(frac, v-f)
		base = append(base, int(f))
	}
	sum := 0.0
	for t := range 1 << r {
		w := 1.0
		for a := range r {
			if t>>(r-1-a)&1 == 1 {
				w *= frac[a]
				s.tap[a] = base[a] + 1
			} else {
				w *= 1 - frac[a]
				s.tap[a] = base[a]
			}
		}
		sum += w * s.at(plane)
	}
	return sum
}
