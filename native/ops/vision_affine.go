package ops

// AffineGrid (opset 20): the sampling grid of a batch of affine maps, as
// GridSample takes it.
//
//	theta [N, 2, 3], size [N, C, H, W]     ->  grid [N, H, W, 2]
//	theta [N, 3, 4], size [N, C, D, H, W]  ->  grid [N, D, H, W, 3]
//
// Each output point is theta[n] applied to (x, y, 1) (or (x, y, z, 1)),
// the point's normalised coordinates, x along W first. An axis of size S
// has coordinates -1 + 2i/(S-1) with align_corners (-1 when S is 1), and
// (2i+1)/S - 1 otherwise (default align_corners 0).

import (
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// visionAffineOps is the operator table of vision_affine.go (see registry.go).
var visionAffineOps = []Entry{
	{OpType: "AffineGrid", Since: []int64{20}, Build: newAffineGrid},
}

// affineGrid is AffineGrid.
type affineGrid struct {
	alignCorners bool
}

func newAffineGrid(n *graph.Node, _ int64) (Op, error) {
	ac, err := n.Declared().Int("align_corners")
	if err != nil {
		return nil, err
	}
	return &affineGrid{alignCorners: ac != 0}, nil
}

// coordinate returns the normalised coordinate of index i on an axis of
// size s.
func (o *affineGrid) coordinate(i, s int) float64 {
	if o.alignCorners {
		if s == 1 {
			return -1
		}
		return -1 + 2*float64(i)/float64(s-1)
	}
	return (2*float64(i)+1)/float64(s) - 1
}

// Forward builds the grid.
func (o *affineGrid) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 2, 2); err != nil {
		return nil, err
	}
	theta := in[0]
	size, err := intValues(in[1], "size")
	if err != nil {
		return nil, err
	}
	r := len(size) - 2 // spatial axes: 2 or 3
	if r != 2 && r != 3 {
		return nil, fmt.Errorf("size %v: want [N, C, H, W] or [N, C, D, H, W]", size)
	}
	if theta.Rank() != 3 || theta.Shape[1] != r || theta.Shape[2] != r+1 || int64(theta.Shape[0]) != size[0] {
		return nil, fmt.Errorf("theta %v does not fit size %v: want [%d, %d, %d]", theta.Shape, size, size[0], r, r+1)
	}
	th, err := floatValues(theta, "theta")
	if err != nil {
		return nil, err
	}
	spatial := make([]int, r)
	for a := range r {
		if size[2+a] <= 0 {
			return nil, fmt.Errorf("size %v: want positive spatial sizes", size)
		}
		spatial[a] = int(size[2+a])
	}
	shape := append(append([]int{int(size[0])}, spatial...), r)
	if err := mvCheckShape(shape); err != nil {
		return nil, err
	}
	if err := ctx.checkOutput(graph.Float64, shape); err != nil { // computed in float64
		return nil, err
	}
	points := tensor.NumElements(spatial)
	strides := tensor.Strides(spatial)
	grid := make([]float64, int(size[0])*points*r)
	base := make([]float64, r+1) // x, y[, z], 1
	base[r] = 1
	for n := range int(size[0]) {
		t := th[n*r*(r+1) : (n+1)*r*(r+1)]
		for p := range points {
			for a := range r {
				// Spatial axis a (outermost first) is coordinate r-1-a.
				base[r-1-a] = o.coordinate(p/strides[a]%spatial[a], spatial[a])
			}
			out := grid[(n*points+p)*r:]
			for row := range r {
				sum := 0.0
				for k, b := range base {
					sum += t[row*(r+1)+k] * b
				}
				out[row] = sum
			}
		}
	}
	return []*tensor.Tensor{float64sToDType(grid, theta.DType, shape)}, nil
}
