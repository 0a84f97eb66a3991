package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

func TestNonMaxSuppressionHandWorked(t *testing.T) {
	// Three unit boxes: box 1 is box 0 shifted by 0.1 (IoU 0.9/1.1 = 0.82),
	// box 2 is far away. Scores 0.9, 0.95, 0.5: box 1 is kept first and
	// suppresses box 0 at iou_threshold 0.5; box 2 survives.
	boxes := float32s([]int{1, 3, 4}, 0, 0, 1, 1, 0, 0.1, 1, 1.1, 5, 5, 6, 6)
	scores := float32s([]int{1, 1, 3}, 0.9, 0.95, 0.5)
	n := testNode("NonMaxSuppression")
	got := runNode(t, n, 11, boxes, scores, int64Scalar(10), float32Scalar(0.5), float32Scalar(0))
	checkTensor(t, "NMS", got[0], []int{2, 3}, []float64{0, 0, 1, 0, 0, 2}, tolExact)
	// score_threshold 0.6 drops box 2; max 1 output keeps only box 1.
	got = runNode(t, n, 11, boxes, scores, int64Scalar(10), float32Scalar(0.5), float32Scalar(0.6))
	checkTensor(t, "score threshold", got[0], []int{1, 3}, []float64{0, 0, 1}, tolExact)
	got = runNode(t, n, 11, boxes, scores, int64Scalar(1), float32Scalar(0.5), float32Scalar(0))
	checkTensor(t, "max output", got[0], []int{1, 3}, []float64{0, 0, 1}, tolExact)
	// Without max_output_boxes_per_class nothing is selected.
	got = runNode(t, n, 11, boxes, scores)
	checkTensor(t, "no max", got[0], []int{0, 3}, nil, tolExact)
}

// trNMSRef repeatedly takes the best remaining box of one class, then
// drops every remaining box that overlaps it too much.
func trNMSRef(boxes [][4]float64, scores []float64, maxOut int, iouMax, scoreMin float64) []int {
	alive := map[int]bool{}
	for i, s := range scores {
		if s > scoreMin {
			alive[i] = true
		}
	}
	area := func(b [4]float64) float64 { return (b[2] - b[0]) * (b[3] - b[1]) }
	var out []int
	for len(alive) > 0 && len(out) < maxOut {
		best := -1
		for i := range alive {
			if best < 0 || scores[i] > scores[best] || scores[i] == scores[best] && i < best {
				best = i
			}
		}
		out = append(out, best)
		delete(alive, best)
		for i := range alive {
			a, b := boxes[i], boxes[best]
			ih := math.Max(0, math.Min(a[2], b[2])-math.Max(a[0], b[0]))
			iw := math.Max(0, math.Min(a[3], b[3])-math.Max(a[1], b[1]))
			if inter := ih * iw; inter > 0 && inter/(area(a)+area(b)-inter) > iouMax {
				delete(alive, i)
			}
		}
	}
	return out
}

func TestNonMaxSuppressionRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	for trial := 0; trial < 30; trial++ {
		batches, classes, count := 1+rng.IntN(2), 1+rng.IntN(3), 1+rng.IntN(12)
		center := trial%2 == 1
		raw := make([]float64, batches*count*4)
		corners := make([][4]float64, batches*count)
		for i := range corners {
			y, x, h, w := rng.Float64()*4, rng.Float64()*4, 0.5+rng.Float64()*2, 0.5+rng.Float64()*2
			corners[i] = [4]float64{y, x, y + h, x + w}
			if center {
				copy(raw[i*4:], []float64{x + w/2, y + h/2, w, h})
			} else {
				copy(raw[i*4:], []float64{y + h, x, y, x + w}) // flipped y corners
			}
		}
		scores := make([]float64, batches*classes*count)
		for i := range scores {
			scores[i] = float64(rng.IntN(20)) / 20 // ties happen
		}
		maxOut, iouMax, scoreMin := 1+rng.IntN(count), rng.Float64()*0.7, 0.2
		var want []float64
		for b := 0; b < batches; b++ {
			for c := 0; c < classes; c++ {
				for _, i := range trNMSRef(corners[b*count:(b+1)*count], scores[(b*classes+c)*count:(b*classes+c+1)*count], maxOut, iouMax, scoreMin) {
					want = append(want, float64(b), float64(c), float64(i))
				}
			}
		}
		var attrs []*graph.Attr
		if center {
			attrs = append(attrs, graph.IntAttr("center_point_box", 1))
		}
		got := runNode(t, testNode("NonMaxSuppression", attrs...), 11,
			testTensor(graph.Float64, []int{batches, count, 4}, raw), testTensor(graph.Float64, []int{batches, classes, count}, scores),
			int64Scalar(int64(maxOut)), testTensor(graph.Float64, []int{1}, []float64{iouMax}), testTensor(graph.Float64, []int{1}, []float64{scoreMin}))
		checkTensor(t, "NMS", got[0], []int{len(want) / 3, 3}, want, tolExact)
	}
}

func TestGridSampleIdentity(t *testing.T) {
	// With align_corners, grid points at (2j/(W-1) - 1, 2i/(H-1) - 1) land
	// on pixel centres, where every mode reproduces X exactly.
	rng := rand.New(rand.NewPCG(1, 2))
	n, c, h, w := 2, 3, 4, 5
	x := randomFor(rng, graph.Float64, n*c*h*w)
	grid := make([]float64, 0, n*h*w*2)
	for b := 0; b < n; b++ {
		for i := 0; i < h; i++ {
			for j := 0; j < w; j++ {
				grid = append(grid, 2*float64(j)/float64(w-1)-1, 2*float64(i)/float64(h-1)-1)
			}
		}
	}
	for _, mode := range []string{"bilinear", "nearest", "bicubic"} {
		for _, pad := range []string{"zeros", "border", "reflection"} {
			node := testNode("GridSample", graph.StringAttr("mode", mode), graph.StringAttr("padding_mode", pad), graph.IntAttr("align_corners", 1))
			got := runNode(t, node, 16, testTensor(graph.Float64, []int{n, c, h, w}, x), testTensor(graph.Float64, []int{n, h, w, 2}, grid))
			checkTensor(t, mode+" "+pad, got[0], []int{n, c, h, w}, x, tolF64)
		}
	}
}

func TestGridSampleHandWorked(t *testing.T) {
	// X = [[1 2] [3 4]]. Without align_corners, x = 0 is the image centre,
	// pixel (0.5, 0.5): bilinear gives the mean 2.5. x = -1 is pixel -0.5:
	//   zeros: half of each weight falls outside: 0.25*1 = 0.25 at (-1, -1)
	//   border: clamped to pixel 0: 1
	//   reflection: -0.5 mirrors to -0.5 -> clamped 0: 1
	x := float32s([]int{1, 1, 2, 2}, 1, 2, 3, 4)
	grid := float32s([]int{1, 1, 2, 2}, 0, 0, -1, -1)
	for pad, corner := range map[string]float64{"zeros": 0.25, "border": 1, "reflection": 1} {
		got := runNode(t, testNode("GridSample", graph.StringAttr("padding_mode", pad)), 16, x, grid)
		checkTensor(t, pad, got[0], []int{1, 1, 1, 2}, []float64{2.5, corner}, tolF32)
	}
	// Nearest at pixel (0.5, 0.5) rounds half to even: (0, 0) -> 1.
	got := runNode(t, testNode("GridSample", graph.StringAttr("mode", "nearest")), 16, x, float32s([]int{1, 1, 1, 2}, 0, 0))
	checkTensor(t, "nearest", got[0], []int{1, 1, 1, 1}, []float64{1}, tolF32)
	// Bicubic reproduces a linear ramp inside the image (the weights sum
	// to 1 and have first moment t): X[i, j] = j on a 4x4 image,
	// align_corners, x = 0 is pixel 1.5.
	ramp := make([]float32, 16)
	for i := range ramp {
		ramp[i] = float32(i % 4)
	}
	got = runNode(t, testNode("GridSample", graph.StringAttr("mode", "bicubic"), graph.IntAttr("align_corners", 1)), 16,
		float32s([]int{1, 1, 4, 4}, ramp...), float32s([]int{1, 1, 1, 2}, 0, 0))
	checkTensor(t, "bicubic ramp", got[0], []int{1, 1, 1, 1}, []float64{1.5}, tolF32)
}

func TestRoiAlignLinearImage(t *testing.T) {
	// Bilinear interpolation of f(y, x) = 2x - 3y + 1 is exact, and the
	// samples of a bin are symmetric about its centre, so each output is
	// f at the bin centre while every sample stays inside the image.
	h, w := 8, 10
	img := make([]float64, 2*h*w)
	for i := 0; i < h; i++ {
		for j := 0; j < w; j++ {
			img[h*w+i*w+j] = 2*float64(j) - 3*float64(i) + 1 // batch 1; batch 0 stays zero
		}
	}
	f := func(y, x float64) float64 { return 2*x - 3*y + 1 }
	for _, mode := range []string{"half_pixel", "output_half_pixel"} {
		x1, y1, x2, y2 := 1.5, 2.0, 7.0, 6.5
		off := 0.0
		if mode == "half_pixel" {
			off = 0.5
		}
		oh, ow := 3, 2
		node := testNode("RoiAlign", graph.StringAttr("coordinate_transformation_mode", mode),
			graph.IntAttr("output_height", int64(oh)), graph.IntAttr("output_width", int64(ow)), graph.IntAttr("sampling_ratio", 2))
		got := runNode(t, node, 16, testTensor(graph.Float64, []int{2, 1, h, w}, img),
			testTensor(graph.Float64, []int{1, 4}, []float64{x1, y1, x2, y2}), int64s(1))
		var want []float64
		bh, bw := (y2-y1)/float64(oh), (x2-x1)/float64(ow)
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				want = append(want, f(y1-off+(float64(i)+0.5)*bh, x1-off+(float64(j)+0.5)*bw))
			}
		}
		checkTensor(t, "RoiAlign "+mode, got[0], []int{1, 1, oh, ow}, want, tolF64)
	}
}

func TestRoiAlignMaxOnPixels(t *testing.T) {
	// output_half_pixel, region x, y in [-0.5, 1.5], one 2x2 bin with two
	// samples per axis: the samples fall on pixels (0|1, 0|1) exactly,
	// where bilinear weights are (1, 0, 0, 0). So "avg" is the mean of the
	// top-left 2x2 block and "max" its largest value (positive pixels, as
	// the zero-weight corner terms count in "max").
	img := float32s([]int{1, 1, 3, 3}, 1, 5, 2, 3, 4, 9, 8, 7, 6)
	rois := float32s([]int{1, 4}, -0.5, -0.5, 1.5, 1.5)
	for mode, want := range map[string]float64{"avg": (1 + 5 + 3 + 4) / 4.0, "max": 5} {
		n := testNode("RoiAlign", graph.StringAttr("mode", mode), graph.IntAttr("sampling_ratio", 2),
			graph.StringAttr("coordinate_transformation_mode", "output_half_pixel"))
		checkTensor(t, "RoiAlign "+mode, runNode(t, n, 16, img, rois, int64s(0))[0], []int{1, 1, 1, 1}, []float64{want}, tolF32)
	}
}

func TestMaxUnpool(t *testing.T) {
	// Unpooling [[5 6] [7 8]] with indices 5, 7, 13, 15 of a 4x4 plane
	// (kernel 2, stride 2) puts them at (1,1), (1,3), (3,1), (3,3).
	x := float32s([]int{1, 1, 2, 2}, 5, 6, 7, 8)
	idx := &tensor.Tensor{DType: graph.Int64, Shape: []int{1, 1, 2, 2}, Data: []int64{5, 7, 13, 15}}
	n := testNode("MaxUnpool", graph.IntsAttr("kernel_shape", 2, 2), graph.IntsAttr("strides", 2, 2))
	want := make([]float64, 16)
	want[5], want[7], want[13], want[15] = 5, 6, 7, 8
	checkTensor(t, "unpool", runNode(t, n, 11, x, idx)[0], []int{1, 1, 4, 4}, want, tolExact)
	// output_shape 5x5 keeps the coordinates: (1,1) is now flat 6.
	want = make([]float64, 25)
	want[6], want[8], want[16], want[18] = 5, 6, 7, 8
	checkTensor(t, "output_shape", runNode(t, n, 11, x, idx, int64s(1, 1, 5, 5))[0], []int{1, 1, 5, 5}, want, tolExact)
	bad := &tensor.Tensor{DType: graph.Int64, Shape: []int{1, 1, 2, 2}, Data: []int64{5, 7, 13, 16}}
	wantErr(t, "index range", runNodeErr(t, n, 11, x, bad), "outside")
}

func TestVisionErrors(t *testing.T) {
	wantErr(t, "NMS boxes", runNodeErr(t, testNode("NonMaxSuppression"), 11, float32s([]int{1, 1, 3}, 0, 0, 1), float32s([]int{1, 1, 1}, 1)), "boxes")
	wantErr(t, "NMS scores", runNodeErr(t, testNode("NonMaxSuppression"), 11, float32s([]int{1, 1, 4}, 0, 0, 1, 1), float32s([]int{1, 1, 2}, 1, 1)), "scores")
	x := float32s([]int{1, 1, 2, 2}, 1, 2, 3, 4)
	wantErr(t, "grid shape", runNodeErr(t, testNode("GridSample"), 16, x, float32s([]int{1, 1, 1, 3}, 0, 0, 0)), "grid")
	wantErr(t, "batch index", runNodeErr(t, testNode("RoiAlign"), 16, x, float32s([]int{1, 4}, 0, 0, 1, 1), int64s(1)), "batch_indices")
	for _, n := range []*graph.Node{
		testNode("GridSample", graph.StringAttr("mode", "linear")),
		testNode("GridSample", graph.StringAttr("padding_mode", "wrap")),
		testNode("RoiAlign", graph.StringAttr("mode", "min")),
		testNode("MaxUnpool"),
	} {
		_, err := Build(n, 16)
		wantErr(t, n.OpType, err, "attribute")
	}
}
