package graph

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// shp parses a shape written "N,3,224,224": numbers are fixed sizes, "?"
// an unknown dimension, anything else a symbol. "" is a scalar.
func shp(s string) Shape {
	out := Shape{}
	if s == "" {
		return out
	}
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.ParseInt(f, 10, 64); err == nil {
			out = append(out, Fixed(n))
		} else if f == "?" {
			out = append(out, UnknownDim())
		} else {
			out = append(out, Symbol(f))
		}
	}
	return out
}

func f32(s string) *Type { return TensorType(Float32, shp(s)) }

// inferCase runs InferTypes on a graph holding the single node op, whose
// inputs are graph inputs in0, in1, ... of the types in (a nil type is an
// absent input) followed by the constant initializers consts, and returns
// the types of its outputs (named out0, out1, ...) as strings, "?" where
// unknown.
func inferCase(opset int64, op string, nout int, in []*Type, consts []*Tensor, attrs ...*Attr) ([]string, error) {
	g := &Graph{Name: "g"}
	n := &Node{Name: "n1", OpType: op, Attrs: attrs}
	for i, t := range in {
		name := ""
		if t != nil {
			name = "in" + strconv.Itoa(i)
			g.Inputs = append(g.Inputs, &Value{Name: name, Type: t})
		}
		n.Inputs = append(n.Inputs, name)
	}
	for _, k := range consts {
		g.Initializers = append(g.Initializers, k)
		n.Inputs = append(n.Inputs, k.Name)
	}
	for i := range nout {
		n.Outputs = append(n.Outputs, "out"+strconv.Itoa(i))
	}
	g.Nodes = []*Node{n}
	m := &Model{Opsets: []OpsetID{{Version: opset}}, Graph: g}
	types, err := InferTypes(m)
	var out []string
	for _, o := range n.Outputs {
		out = append(out, types[o].String())
	}
	return out, err
}

type inferTest struct {
	name   string
	op     string
	opset  int64 // 17 when 0
	in     []*Type
	consts []*Tensor
	attrs  []*Attr
	want   string // output types joined by " "; "" when an error is wanted
	err    string // substring of the error
}

func int64Tensor(name string, v ...int64) *Tensor {
	return &Tensor{Name: name, DType: Int64, Dims: []int64{int64(len(v))}, Data: v}
}

var inferTests = []inferTest{
	// Conv. NOTSET: out = floor((in + pads - ((k-1)*d+1)) / s) + 1.
	// AlexNet conv1: (224 - 11)/4 + 1 = 53 + 1 = 54.
	{name: "conv stride", op: "Conv", in: []*Type{f32("N,3,224,224"), f32("96,3,11,11"), f32("96")},
		attrs: []*Attr{IntsAttr("strides", 4, 4)}, want: "float32[N,96,54,54]"},
	// H: (5 + 1+1 - 3)/2 + 1 = 3; W: (5 + 2+2 - 3)/2 + 1 = 4.
	{name: "conv pads", op: "Conv", in: []*Type{f32("N,1,5,5"), f32("8,1,3,3")},
		attrs: []*Attr{IntsAttr("strides", 2, 2), IntsAttr("pads", 1, 2, 1, 2)}, want: "float32[N,8,3,4]"},
	// Dilation 2 makes a 3-kernel span 5: (10 - 5)/1 + 1 = 6; (12-5)/1+1 = 8.
	{name: "conv dilations", op: "Conv", in: []*Type{f32("N,1,10,12"), f32("4,1,3,3")},
		attrs: []*Attr{IntsAttr("dilations", 2, 2)}, want: "float32[N,4,6,8]"},
	// SAME: ceil(7/2) = 4, ceil(8/2) = 4, whatever the kernel.
	{name: "conv same upper", op: "Conv", in: []*Type{f32("N,2,7,8"), f32("4,2,3,3")},
		attrs: []*Attr{IntsAttr("strides", 2, 2), StringAttr("auto_pad", "SAME_UPPER")}, want: "float32[N,4,4,4]"},
	{name: "conv same lower", op: "Conv", in: []*Type{f32("N,2,7,8"), f32("4,2,3,3")},
		attrs: []*Attr{IntsAttr("strides", 2, 2), StringAttr("auto_pad", "SAME_LOWER")}, want: "float32[N,4,4,4]"},
	// VALID: floor((7 - 3)/2) + 1 = 3, floor((8-3)/2) + 1 = 3; pads ignored.
	{name: "conv valid", op: "Conv", in: []*Type{f32("N,2,7,8"), f32("4,2,3,3")},
		attrs: []*Attr{IntsAttr("strides", 2, 2), StringAttr("auto_pad", "VALID"), IntsAttr("pads", 5, 5, 5, 5)},
		want:  "float32[N,4,3,3]"},
	// Groups: 4 input channels in 2 groups of 2; (8-3)+1 = 6.
	{name: "conv groups", op: "Conv", in: []*Type{f32("N,4,8,8"), f32("6,2,3,3")},
		attrs: []*Attr{IntAttr("group", 2)}, want: "float32[N,6,6,6]"},
	{name: "conv symbolic spatial", op: "Conv", in: []*Type{f32("N,3,H,W"), f32("8,3,3,3")}, want: "float32[N,8,?,?]"},
	{name: "conv 1d", op: "Conv", in: []*Type{f32("N,3,10"), f32("8,3,3")}, want: "float32[N,8,8]"},
	{name: "conv group mismatch", op: "Conv", in: []*Type{f32("N,4,8,8"), f32("6,4,3,3")},
		attrs: []*Attr{IntAttr("group", 2)}, err: "input has 4 channels"},
	{name: "conv bias shape", op: "Conv", in: []*Type{f32("N,3,8,8"), f32("6,3,3,3"), f32("5")}, err: "bias shape [5]"},
	{name: "conv strides kind", op: "Conv", in: []*Type{f32("N,3,8,8"), f32("6,3,3,3")},
		attrs: []*Attr{IntAttr("strides", 2)}, err: `attribute "strides": is of kind int, want ints`},
	{name: "conv strides length", op: "Conv", in: []*Type{f32("N,3,8,8"), f32("6,3,3,3")},
		attrs: []*Attr{IntsAttr("strides", 2)}, err: `attribute "strides": has 1 values, want 2`},
	{name: "conv auto_pad", op: "Conv", in: []*Type{f32("N,3,8,8"), f32("6,3,3,3")},
		attrs: []*Attr{StringAttr("auto_pad", "SAME")}, err: `attribute "auto_pad": unknown value "SAME"`},
	{name: "conv kernel too big", op: "Conv", in: []*Type{f32("N,3,2,8"), f32("6,3,3,3")}, err: "kernel extent 3 exceeds"},
	{name: "conv dtype", op: "Conv", in: []*Type{f32("N,3,8,8"), TensorType(Float64, shp("6,3,3,3"))}, err: "is float64"},

	// ConvTranspose: 2*(3-1) + 0 + (3-1)*1 + 1 - (1+1) = 5; M = 4*group.
	{name: "convtranspose", op: "ConvTranspose", in: []*Type{f32("N,2,3,3"), f32("2,4,3,3")},
		attrs: []*Attr{IntsAttr("strides", 2, 2), IntsAttr("pads", 1, 1, 1, 1)}, want: "float32[N,4,5,5]"},
	// output_padding 1 on W: 2*(3-1) + 1 + 2 + 1 = 8 (H: 7); groups 2: M = 2*4.
	{name: "convtranspose output_padding", op: "ConvTranspose", in: []*Type{f32("N,2,3,3"), f32("2,4,3,3")},
		attrs: []*Attr{IntsAttr("strides", 2, 2), IntsAttr("output_padding", 0, 1), IntAttr("group", 2)},
		want:  "float32[N,8,7,8]"},
	{name: "convtranspose same", op: "ConvTranspose", in: []*Type{f32("N,2,3,3"), f32("2,4,3,3")},
		attrs: []*Attr{IntsAttr("strides", 2, 2), StringAttr("auto_pad", "SAME_UPPER")}, want: "float32[N,4,6,6]"},
	{name: "convtranspose output_shape", op: "ConvTranspose", in: []*Type{f32("N,2,3,3"), f32("2,4,3,3")},
		attrs: []*Attr{IntsAttr("strides", 2, 2), IntsAttr("output_shape", 6, 7)}, want: "float32[N,4,6,7]"},
	{name: "convtranspose channels", op: "ConvTranspose", in: []*Type{f32("N,3,3,3"), f32("2,4,3,3")}, err: "input has 3 channels"},

	// Pooling: (54 - 3)/2 + 1 = 26; MaxPool's second output is int64 indices.
	{name: "maxpool", op: "MaxPool", in: []*Type{f32("N,96,54,54")},
		attrs: []*Attr{IntsAttr("kernel_shape", 3, 3), IntsAttr("strides", 2, 2)},
		want:  "float32[N,96,26,26] int64[N,96,26,26]"},
	// ceil_mode: ceil((6 - 3)/2) + 1 = 3 where floor gives 2.
	{name: "averagepool ceil", op: "AveragePool", in: []*Type{f32("N,1,6,6")},
		attrs: []*Attr{IntsAttr("kernel_shape", 3, 3), IntsAttr("strides", 2, 2), IntAttr("ceil_mode", 1)},
		want:  "float32[N,1,3,3]"},
	{name: "averagepool floor", op: "AveragePool", in: []*Type{f32("N,1,6,6")},
		attrs: []*Attr{IntsAttr("kernel_shape", 3, 3), IntsAttr("strides", 2, 2)}, want: "float32[N,1,2,2]"},
	// ceil_mode with end padding: span 4 + 1 - 2 = 3, ceil(3/2) + 1 = 3,
	// but the third window would start at 4, in the padding: 2 remain.
	// Without the padding on W: (4-2)/2 + 1 = 2 either way.
	{name: "maxpool ceil drops padded window", op: "MaxPool", in: []*Type{f32("N,1,4,4")},
		attrs: []*Attr{IntsAttr("kernel_shape", 2, 2), IntsAttr("strides", 2, 2), IntsAttr("pads", 0, 0, 1, 0), IntAttr("ceil_mode", 1)},
		want:  "float32[N,1,2,2]"},
	{name: "maxpool no kernel", op: "MaxPool", in: []*Type{f32("N,1,4,4")}, err: `attribute "kernel_shape": is required`},
	{name: "globalaveragepool", op: "GlobalAveragePool", in: []*Type{f32("N,256,6,6")}, want: "float32[N,256,1,1]"},

	// Element-wise and normalisation ops keep the input type.
	{name: "relu", op: "Relu", in: []*Type{f32("N,96,54,54")}, want: "float32[N,96,54,54]"},
	{name: "leakyrelu", op: "LeakyRelu", in: []*Type{f32("N,10")}, attrs: []*Attr{FloatAttr("alpha", 0.1)}, want: "float32[N,10]"},
	{name: "sigmoid", op: "Sigmoid", in: []*Type{f32("N,10")}, want: "float32[N,10]"},
	{name: "tanh", op: "Tanh", in: []*Type{f32("N,10")}, want: "float32[N,10]"},
	{name: "identity", op: "Identity", in: []*Type{TensorType(Int64, shp("N"))}, want: "int64[N]"},
	{name: "lrn", op: "LRN", in: []*Type{f32("N,96,54,54")}, attrs: []*Attr{IntAttr("size", 5)}, want: "float32[N,96,54,54]"},
	{name: "lrn no size", op: "LRN", in: []*Type{f32("N,96,54,54")}, err: `attribute "size": is required`},
	{name: "batchnorm", op: "BatchNormalization", in: []*Type{f32("N,96,26,26"), f32("96"), f32("96"), f32("96"), f32("96")},
		want: "float32[N,96,26,26]"},
	{name: "batchnorm training outputs", op: "BatchNormalization", in: []*Type{f32("N,4"), f32("4"), f32("4"), f32("4"), f32("4")},
		want: "float32[N,4] float32[4] float32[4]"},
	{name: "batchnorm channels", op: "BatchNormalization", in: []*Type{f32("N,96,26,26"), f32("95"), f32("96"), f32("96"), f32("96")},
		err: "scale shape [95]"},
	{name: "dropout", op: "Dropout", in: []*Type{f32("N,4096")}, want: "float32[N,4096] bool[N,4096]"},
	{name: "dropout opset 9", op: "Dropout", opset: 9, in: []*Type{f32("N,4096")}, want: "float32[N,4096] float32[N,4096]"},
	{name: "softmax", op: "Softmax", in: []*Type{f32("N,17")}, want: "float32[N,17]"},
	{name: "logsoftmax", op: "LogSoftmax", in: []*Type{f32("N,17")}, attrs: []*Attr{IntAttr("axis", 1)}, want: "float32[N,17]"},
	{name: "softmax axis", op: "Softmax", in: []*Type{f32("N,17")}, attrs: []*Attr{IntAttr("axis", 2)}, err: "axis 2 out of range for rank 2"},

	// Flatten: [d0*..*d(axis-1), d(axis)*..]: N*1024 is not one dimension.
	{name: "flatten", op: "Flatten", in: []*Type{f32("N,256,2,2")}, want: "float32[N,1024]"},
	{name: "flatten axis 0", op: "Flatten", in: []*Type{f32("N,256,2,2")}, attrs: []*Attr{IntAttr("axis", 0)}, want: "float32[1,1024*N]"},
	{name: "flatten axis -1", op: "Flatten", in: []*Type{f32("2,3,4")}, attrs: []*Attr{IntAttr("axis", -1)}, want: "float32[6,4]"},
	{name: "flatten axis range", op: "Flatten", in: []*Type{f32("2,3")}, attrs: []*Attr{IntAttr("axis", 3)}, err: "axis 3 out of range"},

	// Reshape: 0 copies, -1 takes the rest; N*256*6*6 / N = 9216.
	{name: "reshape zero and free", op: "Reshape", in: []*Type{f32("N,256,6,6")}, consts: []*Tensor{int64Tensor("shape", 0, -1)},
		want: "float32[N,9216]"},
	{name: "reshape free", op: "Reshape", in: []*Type{f32("2,3,4")}, consts: []*Tensor{int64Tensor("shape", 4, -1)}, want: "float32[4,6]"},
	// N*6/3 = 2N, not a dimension we can name.
	{name: "reshape symbolic quotient", op: "Reshape", in: []*Type{f32("N,6")}, consts: []*Tensor{int64Tensor("shape", -1, 3)},
		want: "float32[2*N,3]"},
	{name: "reshape keeps symbol", op: "Reshape", in: []*Type{f32("N,6")}, consts: []*Tensor{int64Tensor("shape", 0, 2, -1)},
		want: "float32[N,2,3]"},
	{name: "reshape indivisible", op: "Reshape", in: []*Type{f32("2,3")}, consts: []*Tensor{int64Tensor("shape", 4, -1)},
		err: "cannot reshape [2,3]"},
	{name: "reshape count", op: "Reshape", in: []*Type{f32("2,3")}, consts: []*Tensor{int64Tensor("shape", 5)},
		err: "cannot reshape [2,3]"},
	{name: "reshape two free", op: "Reshape", in: []*Type{f32("2,3")}, consts: []*Tensor{int64Tensor("shape", -1, -1)},
		err: "more than one -1"},
	{name: "reshape unknown shape values", op: "Reshape", in: []*Type{f32("2,3"), TensorType(Int64, shp("3"))},
		want: "float32[?,?,?]"},

	// Gemm: [M,K] x [K,N]; transB=1 takes B as [N,K].
	{name: "gemm transB", op: "Gemm", in: []*Type{f32("N,9216"), f32("4096,9216"), f32("4096")},
		attrs: []*Attr{IntAttr("transB", 1)}, want: "float32[N,4096]"},
	{name: "gemm transA", op: "Gemm", in: []*Type{f32("9216,N"), f32("9216,4096")},
		attrs: []*Attr{IntAttr("transA", 1)}, want: "float32[N,4096]"},
	{name: "gemm K", op: "Gemm", in: []*Type{f32("N,10"), f32("11,4")}, err: "disagree on K"},
	{name: "gemm C", op: "Gemm", in: []*Type{f32("N,10"), f32("10,4"), f32("3")}, err: "C shape [3]"},

	// MatMul: batch dimensions broadcast; 1-D operands lose their added 1.
	{name: "matmul batch", op: "MatMul", in: []*Type{f32("N,3,4"), f32("4,5")}, want: "float32[N,3,5]"},
	{name: "matmul broadcast", op: "MatMul", in: []*Type{f32("2,1,3,4"), f32("5,4,6")}, want: "float32[2,5,3,6]"},
	{name: "matmul vector left", op: "MatMul", in: []*Type{f32("4"), f32("N,4,5")}, want: "float32[N,5]"},
	{name: "matmul vector right", op: "MatMul", in: []*Type{f32("N,3,4"), f32("4")}, want: "float32[N,3]"},
	{name: "matmul dot", op: "MatMul", in: []*Type{f32("4"), f32("4")}, want: "float32[]"},
	{name: "matmul K", op: "MatMul", in: []*Type{f32("N,3,4"), f32("5,6")}, err: "disagree on K"},

	// Broadcasting: 1 stretches, a symbol meets a fixed size as that size.
	{name: "add", op: "Add", in: []*Type{f32("N,3,1"), f32("4")}, want: "float32[N,3,4]"},
	{name: "sub same symbol", op: "Sub", in: []*Type{f32("N,3"), f32("N,1")}, want: "float32[N,3]"},
	{name: "mul different symbols", op: "Mul", in: []*Type{f32("N,3"), f32("M,3")}, want: "float32[?,3]"},
	{name: "div symbol and size", op: "Div", in: []*Type{f32("N,3"), f32("5,1")}, want: "float32[5,3]"},
	{name: "add mismatch", op: "Add", in: []*Type{f32("3"), f32("4")}, err: "do not broadcast"},
	{name: "add dtype", op: "Add", in: []*Type{f32("3"), TensorType(Int64, shp("3"))}, err: "is int64"},

	// Concat adds up the axis; 3 + 4 = 7.
	{name: "concat", op: "Concat", in: []*Type{f32("N,3,5"), f32("N,4,5")}, attrs: []*Attr{IntAttr("axis", 1)}, want: "float32[N,7,5]"},
	{name: "concat symbolic axis", op: "Concat", in: []*Type{f32("N,3"), f32("2,3")}, attrs: []*Attr{IntAttr("axis", 0)}, want: "float32[?,3]"},
	{name: "concat mismatch", op: "Concat", in: []*Type{f32("N,3"), f32("N,4")}, attrs: []*Attr{IntAttr("axis", 0)}, err: "differ off axis 0"},
	{name: "concat no axis", op: "Concat", in: []*Type{f32("N,3")}, err: `attribute "axis": is required`},

	{name: "transpose default", op: "Transpose", in: []*Type{f32("N,3,5")}, want: "float32[5,3,N]"},
	{name: "transpose perm", op: "Transpose", in: []*Type{f32("N,3,5")}, attrs: []*Attr{IntsAttr("perm", 0, 2, 1)}, want: "float32[N,5,3]"},
	{name: "transpose bad perm", op: "Transpose", in: []*Type{f32("N,3,5")}, attrs: []*Attr{IntsAttr("perm", 0, 0, 1)}, err: "not a permutation"},

	// An op without a shape function: outputs unknown, no error.
	{name: "unknown op", op: "Frobnicate", in: []*Type{f32("N,3")}, want: "?"},
	// An unknown input type leaves the outputs unknown.
	{name: "unknown input", op: "Conv", in: []*Type{{Kind: UnknownKind}, f32("8,3,3,3")}, want: "?"},
}

func TestInferTypes(t *testing.T) {
	for _, c := range inferTests {
		t.Run(c.name, func(t *testing.T) {
			opset := c.opset
			if opset == 0 {
				opset = 17
			}
			nout := 1
			if c.want != "" {
				nout = len(strings.Fields(c.want))
			}
			got, err := inferCase(opset, c.op, nout, c.in, c.consts, c.attrs...)
			if c.err != "" {
				var ne *NodeError
				if err == nil || !strings.Contains(err.Error(), c.err) || !errors.As(err, &ne) {
					t.Fatalf("error %v, want a *NodeError containing %q", err, c.err)
				}
				if ne.Node != "n1" || ne.Op != c.op {
					t.Errorf("error names node %q (%s), want \"n1\" (%s)", ne.Node, ne.Op, c.op)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := strings.Join(got, " "); s != c.want {
				t.Errorf("got %s, want %s", s, c.want)
			}
		})
	}
}

func TestInferTypesThroughGraph(t *testing.T) {
	// Constant feeds Reshape's shape; the graph is out of order in the file.
	// x [N,2,3] -> Reshape(0,-1) -> [N,6] -> Relu.
	shape := &Node{Name: "shape", OpType: "Constant", Outputs: []string{"shape"},
		Attrs: []*Attr{IntsAttr("value_ints", 0, -1)}}
	g := &Graph{
		Name:    "g",
		Inputs:  []*Value{{Name: "x", Type: f32("N,2,3")}},
		Outputs: []*Value{{Name: "y"}},
		Nodes: []*Node{
			node("Relu", "y", "r"),
			{Name: "r", OpType: "Reshape", Inputs: []string{"x", "shape"}, Outputs: []string{"r"}},
			shape,
		},
	}
	m := &Model{Opsets: []OpsetID{{Version: 17}}, Graph: g}
	types, err := InferTypes(m)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"x": "float32[N,2,3]", "shape": "int64[2]", "r": "float32[N,6]", "y": "float32[N,6]"} {
		if got := types[name].String(); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
}

func TestInferTypesReportsAllNodes(t *testing.T) {
	// Two bad nodes: both are reported, and the good node after them still
	// gets its type.
	g := &Graph{
		Name:   "g",
		Inputs: []*Value{{Name: "x", Type: f32("N,3")}},
		Nodes: []*Node{
			{Name: "bad1", OpType: "Softmax", Inputs: []string{"x"}, Outputs: []string{"a"}, Attrs: []*Attr{IntAttr("axis", 9)}},
			{Name: "bad2", OpType: "Transpose", Inputs: []string{"x"}, Outputs: []string{"b"}, Attrs: []*Attr{IntsAttr("perm", 5, 0)}},
			node("Relu", "good", "x"),
		},
	}
	types, err := InferTypes(&Model{Opsets: []OpsetID{{Version: 17}}, Graph: g})
	if err == nil || !strings.Contains(err.Error(), `"bad1" (Softmax)`) || !strings.Contains(err.Error(), `"bad2" (Transpose)`) {
		t.Fatalf("error %v, want both bad nodes named", err)
	}
	if types["good"].String() != "float32[N,3]" || types["a"] != nil {
		t.Errorf("types good %s, a %s", types["good"], types["a"])
	}
}
