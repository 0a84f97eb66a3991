package ops

import (
	"math"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// mvFuzzInts decodes fuzz bytes as small signed integers, with two byte
// values standing for the int64 extremes.
func mvFuzzInts(b []byte) []int64 {
	out := make([]int64, len(b))
	for i, c := range b {
		switch c {
		case 0x7f:
			out[i] = math.MaxInt64
		case 0x80:
			out[i] = math.MinInt64
		default:
			out[i] = int64(int8(c)) % 9
		}
	}
	return out
}

// mvFuzzCases build a node and its inputs from an input tensor x and
// fuzzed integers v (at least 8 of them).
var mvFuzzCases = []func(x *tensor.Tensor, v []int64) (*graph.Node, int64, []*tensor.Tensor){
	func(x *tensor.Tensor, v []int64) (*graph.Node, int64, []*tensor.Tensor) {
		return testNode("Reshape", graph.IntAttr("allowzero", v[0]&1)), 14, []*tensor.Tensor{x, int64s(v[1 : 1+v[0]&3]...)}
	},
	func(x *tensor.Tensor, v []int64) (*graph.Node, int64, []*tensor.Tensor) {
		return testNode("Squeeze"), 13, []*tensor.Tensor{x, int64s(v[:2]...)}
	},
	func(x *tensor.Tensor, v []int64) (*graph.Node, int64, []*tensor.Tensor) {
		return testNode("Unsqueeze"), 13, []*tensor.Tensor{x, int64s(v[:2]...)}
	},
	func(x *tensor.Tensor, v []int64) (*graph.Node, int64, []*tensor.Tensor) {
		return testNode("Flatten", graph.IntAttr("axis", v[0])), 13, []*tensor.Tensor{x}
	},
	func(x *tensor.Tensor, v []int64) (*graph.Node, int64, []*tensor.Tensor) {
		return testNode("Transpose", graph.IntsAttr("perm", v[:x.Rank()]...)), 13, []*tensor.Tensor{x}
	},
	func(x *tensor.Tensor, v []int64) (*graph.Node, int64, []*tensor.Tensor) {
		return testNode("Concat", graph.IntAttr("axis", v[0])), 13, []*tensor.Tensor{x, x}
	},
	func(x *tensor.Tensor, v []int64) (*graph.Node, int64, []*tensor.Tensor) {
		n := testNode("Split", graph.IntAttr("axis", v[0]))
		n.Outputs = []string{"a", "b"}
		return n, 13, []*tensor.Tensor{x, int64s(v[1:3]...)}
	},
	func(x *tensor.Tensor, v []int64) (*graph.Node, int64, []*tensor.Tensor) {
		return testNode("Slice"), 13, []*tensor.Tensor{x, int64s(v[0:2]...), int64s(v[2:4]...), int64s(v[4:6]...), int64s(v[6:8]...)}
	},
	func(x *tensor.Tensor, v []int64) (*graph.Node, int64, []*tensor.Tensor) {
		return testNode("Gather", graph.IntAttr("axis", v[0])), 13, []*tensor.Tensor{x, int64s(v[1:4]...)}
	},
	func(x *tensor.Tensor, v []int64) (*graph.Node, int64, []*tensor.Tensor) {
		idx := &tensor.Tensor{DType: graph.Int64, Shape: x.Shape, Data: make([]int64, x.Len())}
		for i := range idx.Data.([]int64) {
			idx.Data.([]int64)[i] = v[i%len(v)]
		}
		return testNode("ScatterElements", graph.IntAttr("axis", v[0]), graph.StringAttr("reduction", "mul")), 18, []*tensor.Tensor{x, idx, x}
	},
	func(x *tensor.Tensor, v []int64) (*graph.Node, int64, []*tensor.Tensor) {
		idx := &tensor.Tensor{DType: graph.Int64, Shape: []int{2, int(v[0] & 3)}, Data: v[1 : 1+2*(v[0]&3)]}
		return testNode("GatherND", graph.IntAttr("batch_dims", v[7]&1)), 13, []*tensor.Tensor{x, idx}
	},
	func(x *tensor.Tensor, v []int64) (*graph.Node, int64, []*tensor.Tensor) {
		idx := &tensor.Tensor{DType: graph.Int64, Shape: []int{1, int(v[0] & 3)}, Data: v[1 : 1+(v[0]&3)]}
		return testNode("ScatterND"), 13, []*tensor.Tensor{x, idx, x}
	},
	func(x *tensor.Tensor, v []int64) (*graph.Node, int64, []*tensor.Tensor) {
		return testNode("Expand"), 13, []*tensor.Tensor{x, int64s(v[:3]...)}
	},
	func(x *tensor.Tensor, v []int64) (*graph.Node, int64, []*tensor.Tensor) {
		return testNode("Tile"), 13, []*tensor.Tensor{x, int64s(v[:x.Rank()]...)}
	},
	func(x *tensor.Tensor, v []int64) (*graph.Node, int64, []*tensor.Tensor) {
		mode := []string{mvPadConstant, mvPadReflect, mvPadEdge, mvPadWrap}[v[0]&3]
		return testNode("Pad", graph.StringAttr("mode", mode)), 19, []*tensor.Tensor{x, int64s(v[1:5]...), nil, int64s(v[5:7]...)}
	},
	func(x *tensor.Tensor, v []int64) (*graph.Node, int64, []*tensor.Tensor) {
		return testNode("OneHot", graph.IntAttr("axis", v[0])), 11, []*tensor.Tensor{int64s(v[1:4]...), int64s(v[4]), x}
	},
	func(x *tensor.Tensor, v []int64) (*graph.Node, int64, []*tensor.Tensor) {
		return testNode("Trilu", graph.IntAttr("upper", v[0]&1)), 14, []*tensor.Tensor{x, int64s(v[1])}
	},
	func(x *tensor.Tensor, v []int64) (*graph.Node, int64, []*tensor.Tensor) {
		cond := &tensor.Tensor{DType: graph.Bool, Shape: []int{int(v[0] & 7)}, Data: make([]bool, v[0]&7)}
		for i := range cond.Data.([]bool) {
			cond.Data.([]bool)[i] = v[i+1] > 0
		}
		return testNode("Compress", graph.IntAttr("axis", v[7])), 11, []*tensor.Tensor{x, cond}
	},
	func(x *tensor.Tensor, v []int64) (*graph.Node, int64, []*tensor.Tensor) {
		return testNode("DepthToSpace", graph.IntAttr("blocksize", v[0])), 13, []*tensor.Tensor{x}
	},
	func(x *tensor.Tensor, v []int64) (*graph.Node, int64, []*tensor.Tensor) {
		return testNode("SpaceToDepth", graph.IntAttr("blocksize", v[0])), 13, []*tensor.Tensor{x}
	},
	func(x *tensor.Tensor, v []int64) (*graph.Node, int64, []*tensor.Tensor) {
		return testNode("ReverseSequence"), 10, []*tensor.Tensor{x, int64s(v[:2]...)}
	},
	func(x *tensor.Tensor, v []int64) (*graph.Node, int64, []*tensor.Tensor) {
		return testNode("EyeLike", graph.IntAttr("k", v[0]), graph.IntAttr("dtype", v[1])), 9, []*tensor.Tensor{x}
	},
	func(x *tensor.Tensor, v []int64) (*graph.Node, int64, []*tensor.Tensor) {
		return testNode("ConstantOfShape"), 9, []*tensor.Tensor{int64s(v[:3]...)}
	},
	func(x *tensor.Tensor, v []int64) (*graph.Node, int64, []*tensor.Tensor) {
		s, l, d := &tensor.Tensor{DType: graph.Int64, Shape: []int{}, Data: v[0:1]}, &tensor.Tensor{DType: graph.Int64, Shape: []int{}, Data: v[1:2]}, &tensor.Tensor{DType: graph.Int64, Shape: []int{}, Data: v[2:3]}
		return testNode("Range"), 11, []*tensor.Tensor{s, l, d}
	},
	func(x *tensor.Tensor, v []int64) (*graph.Node, int64, []*tensor.Tensor) {
		return testNode("Shape", graph.IntAttr("start", v[0]), graph.IntAttr("end", v[1])), 15, []*tensor.Tensor{x}
	},
}

// FuzzDataMovement runs the data-movement ops on fuzzed shapes, axes,
// indices and pads: they may refuse the input, but must not panic.
func FuzzDataMovement(f *testing.F) {
	for i := range mvFuzzCases {
		f.Add(uint8(i), []byte{2, 3, 4}, []byte{1, 2, 0xff, 0x7f, 0x80, 3, 0, 1})
		f.Add(uint8(i), []byte{1, 0, 2}, []byte{0xfe, 0, 1, 2, 3, 4, 5, 6})
		f.Add(uint8(i), []byte{}, []byte{0, 0, 0, 0, 0, 0, 0, 0})
	}
	f.Fuzz(func(t *testing.T, which uint8, dims, params []byte) {
		if len(dims) > 4 || len(params) < 8 {
			return
		}
		shape := make([]int, len(dims))
		for i, d := range dims {
			shape[i] = int(d % 5)
		}
		x := tensor.Float32(shape...)
		for i := range x.F32() {
			x.F32()[i] = float32(i)
		}
		v := mvFuzzInts(params)
		n, opset, in := mvFuzzCases[int(which)%len(mvFuzzCases)](x, v)
		op, err := Build(n, opset)
		if err != nil {
			return
		}
		_, _ = op.Forward(&Context{}, in)
	})
}
