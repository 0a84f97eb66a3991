package graph

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func i64(s string) *Type { return TensorType(Int64, shp(s)) }

func scalarInt(name string, v int64) *Tensor {
	return &Tensor{Name: name, DType: Int64, Data: []int64{v}}
}

func scalarFloat(name string, v float32) *Tensor {
	return &Tensor{Name: name, DType: Float32, Data: []float32{v}}
}

// moreInferTests cover the shape functions of the operators beyond
// AlexNet's; every expected shape is worked out by hand from the ONNX
// definition in the comment.
var moreInferTests = []inferTest{
	// Shape: dims start..end-1; end -1 drops the last.
	{name: "shape slice", op: "Shape", in: []*Type{f32("N,3,224,224")}, attrs: []*Attr{IntAttr("start", 1), IntAttr("end", -1)},
		want: "int64[2]"},
	{name: "size", op: "Size", in: []*Type{f32("N,3")}, want: "int64[]"},
	// Gather axis 1: [2] + [3,7] + [4].
	{name: "gather axis 1", op: "Gather", in: []*Type{f32("2,5,4"), i64("3,7")}, attrs: []*Attr{IntAttr("axis", 1)},
		want: "float32[2,3,7,4]"},
	// GatherND: indices [2,2] pick 2 rows of [.., 4]: [2] + [4].
	{name: "gathernd", op: "GatherND", in: []*Type{f32("2,3,4"), i64("2,2")}, want: "float32[2,4]"},
	{name: "gatherelements", op: "GatherElements", in: []*Type{f32("N,5"), i64("N,2")}, want: "float32[N,2]"},
	// Slice axis 0: 2,4,6 of 10 rows; axis 1: -3 is 17, 17..19 of 20.
	{name: "slice steps", op: "Slice", in: []*Type{f32("10,20")},
		consts: []*Tensor{int64Tensor("starts", 2, -3), int64Tensor("ends", 8, 1000), int64Tensor("axes", 0, 1), int64Tensor("steps", 2, 1)},
		want:   "float32[3,3]"},
	// Step -2 from the last: 9,7,5,3,1.
	{name: "slice backwards", op: "Slice", in: []*Type{f32("10")},
		consts: []*Tensor{int64Tensor("starts", -1), int64Tensor("ends", -1000), int64Tensor("axes", 0), int64Tensor("steps", -2)},
		want:   "float32[5]"},
	// The whole of a symbolic axis keeps its symbol.
	{name: "slice keeps symbol", op: "Slice", in: []*Type{f32("N,8")},
		consts: []*Tensor{int64Tensor("starts", 0, 2), int64Tensor("ends", math.MaxInt64, 4)}, want: "float32[N,2]"},
	{name: "slice step 0", op: "Slice", in: []*Type{f32("10")},
		consts: []*Tensor{int64Tensor("starts", 0), int64Tensor("ends", 5), int64Tensor("axes", 0), int64Tensor("steps", 0)}, err: "step 0"},
	{name: "squeeze", op: "Squeeze", in: []*Type{f32("3,1,4")}, consts: []*Tensor{int64Tensor("axes", 1)}, want: "float32[3,4]"},
	{name: "squeeze not 1", op: "Squeeze", in: []*Type{f32("3,2,4")}, consts: []*Tensor{int64Tensor("axes", 1)}, err: "size 2"},
	{name: "squeeze attr", op: "Squeeze", opset: 11, in: []*Type{f32("1,3,1")}, want: "float32[3]"},
	// Unsqueeze axes of the output (rank 4): 0 and -1 = 3.
	{name: "unsqueeze", op: "Unsqueeze", in: []*Type{f32("3,4")}, consts: []*Tensor{int64Tensor("axes", 0, -1)}, want: "float32[1,3,4,1]"},
	// Expand broadcasts [3,1] with [2,1,6].
	{name: "expand", op: "Expand", in: []*Type{f32("3,1")}, consts: []*Tensor{int64Tensor("shape", 2, 1, 6)}, want: "float32[2,3,6]"},
	// Range: ceil((11-2)/3) = 3; ceil((2-0.5)/0.5) = 3.
	{name: "range int", op: "Range", consts: []*Tensor{scalarInt("a", 2), scalarInt("b", 11), scalarInt("c", 3)}, want: "int64[3]"},
	{name: "range float", op: "Range", consts: []*Tensor{scalarFloat("a", 0.5), scalarFloat("b", 2), scalarFloat("c", 0.5)}, want: "float32[3]"},
	{name: "range down", op: "Range", consts: []*Tensor{scalarInt("a", 10), scalarInt("b", 4), scalarInt("c", -3)}, want: "int64[2]"},
	{name: "constantofshape", op: "ConstantOfShape", consts: []*Tensor{int64Tensor("shape", 2, 3)},
		attrs: []*Attr{{Name: "value", Kind: AttrTensor, Tensor: &Tensor{DType: Int32, Dims: []int64{1}, Data: []int32{7}}}},
		want:  "int32[2,3]"},
	{name: "tile", op: "Tile", in: []*Type{f32("N,3")}, consts: []*Tensor{int64Tensor("repeats", 3, 2)}, want: "float32[3*N,6]"},
	// Pad: 3+1+1 = 5, 4+2+2 = 8.
	{name: "pad", op: "Pad", in: []*Type{f32("N,3,4")}, consts: []*Tensor{int64Tensor("pads", 0, 1, 2, 0, 1, 2)}, want: "float32[N,5,8]"},
	{name: "pad attr", op: "Pad", opset: 2, in: []*Type{f32("2,3")}, attrs: []*Attr{IntsAttr("pads", 1, 0, 1, 0)}, want: "float32[4,3]"},
	{name: "split sizes", op: "Split", in: []*Type{f32("6,4")}, consts: []*Tensor{int64Tensor("split", 2, 4)}, want: "float32[2,4] float32[4,4]"},
	{name: "split equal", op: "Split", in: []*Type{f32("N,6")}, attrs: []*Attr{IntAttr("axis", 1)}, want: "float32[N,2] float32[N,2] float32[N,2]"},
	// num_outputs 3 of 7: ceil(7/3) = 3, 3, then the 1 left.
	{name: "split num_outputs", op: "Split", opset: 18, in: []*Type{f32("7")}, attrs: []*Attr{IntAttr("num_outputs", 3)},
		want: "float32[3] float32[3] float32[1]"},
	{name: "split bad sizes", op: "Split", in: []*Type{f32("5")}, consts: []*Tensor{int64Tensor("split", 6)}, err: "adds up to 6"},
	{name: "nonzero", op: "NonZero", in: []*Type{f32("2,3")}, want: "int64[2,unk__1]"},
	{name: "onehot", op: "OneHot", in: []*Type{i64("N,5")},
		consts: []*Tensor{scalarInt("depth", 10), {Name: "values", DType: Float32, Dims: []int64{2}, Data: []float32{0, 1}}},
		want:   "float32[N,5,10]"},
	{name: "topk", op: "TopK", in: []*Type{f32("N,100")}, consts: []*Tensor{int64Tensor("k", 5)}, want: "float32[N,5] int64[N,5]"},
	{name: "topk too many", op: "TopK", in: []*Type{f32("N,3")}, consts: []*Tensor{int64Tensor("k", 5)}, err: "exceeds"},
	{name: "reduce attr", op: "ReduceMean", in: []*Type{f32("N,3,4")}, attrs: []*Attr{IntsAttr("axes", 1), IntAttr("keepdims", 0)},
		want: "float32[N,4]"},
	{name: "reduce all", op: "ReduceMax", in: []*Type{f32("N,3,4")}, want: "float32[1,1,1]"},
	{name: "reduce input", op: "ReduceSum", in: []*Type{f32("N,3,4")}, consts: []*Tensor{int64Tensor("axes", -1)}, want: "float32[N,3,1]"},
	{name: "reduce 18", op: "ReduceL2", opset: 18, in: []*Type{f32("N,3,4")}, consts: []*Tensor{int64Tensor("axes", 0, 2)},
		attrs: []*Attr{IntAttr("keepdims", 0)}, want: "float32[3]"},
	{name: "reduce noop", op: "ReduceSum", in: []*Type{f32("N,3")}, attrs: []*Attr{IntAttr("noop_with_empty_axes", 1)}, want: "float32[N,3]"},
	{name: "argmax", op: "ArgMax", in: []*Type{f32("N,10")}, attrs: []*Attr{IntAttr("axis", 1), IntAttr("keepdims", 0)}, want: "int64[N]"},
	{name: "cast", op: "Cast", in: []*Type{f32("N,3")}, attrs: []*Attr{IntAttr("to", int64(Int64))}, want: "int64[N,3]"},
	{name: "cast bad", op: "Cast", in: []*Type{f32("N,3")}, attrs: []*Attr{IntAttr("to", 99)}, err: "not a data type"},
	{name: "less", op: "Less", in: []*Type{f32("N,3"), f32("3")}, want: "bool[N,3]"},
	{name: "where", op: "Where", in: []*Type{TensorType(Bool, shp("N,1")), f32("3"), f32("")}, want: "float32[N,3]"},
	{name: "max variadic", op: "Max", in: []*Type{f32("N,1"), f32("3"), f32("1,3")}, want: "float32[N,3]"},
	{name: "isnan", op: "IsNaN", in: []*Type{f32("N,3")}, want: "bool[N,3]"},
	{name: "layernorm", op: "LayerNormalization", in: []*Type{f32("N,S,768"), f32("768"), f32("768")},
		want: "float32[N,S,768] float32[N,S,1] float32[N,S,1]"},
	// LSTM: Y [seq, dirs, batch, hidden], Y_h and Y_c [dirs, batch, hidden].
	{name: "lstm", op: "LSTM", in: []*Type{f32("64,N,40"), f32("1,1024,40"), f32("1,1024,256")}, attrs: []*Attr{IntAttr("hidden_size", 256)},
		want: "float32[64,1,N,256] float32[1,N,256] float32[1,N,256]"},
	// layout 1: X [batch, seq, input], Y [batch, seq, dirs, hidden].
	{name: "gru layout 1", op: "GRU", opset: 14, in: []*Type{f32("N,64,40"), f32("2,48,40"), f32("2,48,16")},
		attrs: []*Attr{StringAttr("direction", "bidirectional"), IntAttr("layout", 1)},
		want:  "float32[N,64,2,16] float32[N,2,16]"},
	{name: "einsum", op: "Einsum", in: []*Type{f32("N,3,4"), f32("N,4,5")}, attrs: []*Attr{StringAttr("equation", "bij,bjk->bik")},
		want: "float32[N,3,5]"},
	{name: "einsum implicit", op: "Einsum", in: []*Type{f32("3,4"), f32("4,5")}, attrs: []*Attr{StringAttr("equation", "ij,jk")},
		want: "float32[3,5]"},
	{name: "einsum ellipsis", op: "Einsum", in: []*Type{f32("N,2,3,4")}, attrs: []*Attr{StringAttr("equation", "...ij->...ji")},
		want: "float32[N,2,4,3]"},
	{name: "resize scales", op: "Resize", in: []*Type{f32("N,3,10,10")},
		consts: []*Tensor{{Name: "roi", DType: Float32, Dims: []int64{0}, Data: []float32{}},
			{Name: "scales", DType: Float32, Dims: []int64{4}, Data: []float32{1, 1, 2, 1.5}}},
		want: "float32[N,3,20,15]"},
	// tf_crop_and_resize: floor(10 * (0.8-0.2) * 0.8) = floor(4.8) = 4.
	{name: "resize crop", op: "Resize", in: []*Type{f32("1,1,10,10")},
		consts: []*Tensor{{Name: "roi", DType: Float32, Dims: []int64{8}, Data: []float32{0, 0, 0.2, 0.2, 1, 1, 0.8, 0.8}},
			{Name: "scales", DType: Float32, Dims: []int64{4}, Data: []float32{1, 1, 0.8, 0.8}}},
		attrs: []*Attr{StringAttr("coordinate_transformation_mode", "tf_crop_and_resize")},
		want:  "float32[1,1,4,4]"},
	{name: "resize sizes", op: "Resize", in: []*Type{f32("N,3,10,10"), nil, nil},
		consts: []*Tensor{int64Tensor("sizes", 1, 3, 32, 32)}, want: "float32[1,3,32,32]"},
	{name: "depthtospace", op: "DepthToSpace", in: []*Type{f32("N,8,3,3")}, attrs: []*Attr{IntAttr("blocksize", 2)}, want: "float32[N,2,6,6]"},
	{name: "spacetodepth", op: "SpaceToDepth", in: []*Type{f32("N,2,6,6")}, attrs: []*Attr{IntAttr("blocksize", 2)}, want: "float32[N,8,3,3]"},
	// Attention: Y [B, q_heads, S, v_head]; present_* absent without past.
	{name: "attention 4d", op: "Attention", opset: 23, in: []*Type{f32("2,8,10,64"), f32("2,8,12,64"), f32("2,8,12,32")},
		want: "float32[2,8,10,32]"},
	// DFT of a real [1,10,1] along axis 1, onesided: 10/2+1 = 6 bins.
	{name: "dft onesided", op: "DFT", in: []*Type{f32("1,10,1")}, attrs: []*Attr{IntAttr("onesided", 1)}, want: "float32[1,6,2]"},
	{name: "det", op: "Det", in: []*Type{f32("N,3,3")}, want: "float32[N]"},
	{name: "compress", op: "Compress", in: []*Type{f32("N,5"), TensorType(Bool, shp("5"))}, attrs: []*Attr{IntAttr("axis", 1)},
		want: "float32[N,unk__1]"},
	{name: "unique", op: "Unique", in: []*Type{f32("2,3")}, want: "float32[unk__1] int64[unk__1] int64[6] int64[unk__1]"},
	{name: "nll none", op: "NegativeLogLikelihoodLoss", in: []*Type{f32("N,5,7"), i64("N,7")}, attrs: []*Attr{StringAttr("reduction", "none")},
		want: "float32[N,7]"},
	{name: "quantize", op: "QuantizeLinear", in: []*Type{f32("N,3"), f32(""), TensorType(Int8, shp(""))}, want: "int8[N,3]"},
	{name: "convinteger", op: "ConvInteger", in: []*Type{TensorType(Uint8, shp("N,1,5,5")), TensorType(Int8, shp("2,1,3,3"))},
		want: "int32[N,2,3,3]"},
	{name: "sequence construct", op: "SequenceConstruct", in: []*Type{f32("2,3"), f32("2,4")}, want: "seq(float32[2,?])"},
	{name: "eyelike", op: "EyeLike", in: []*Type{f32("3,4")}, attrs: []*Attr{IntAttr("dtype", int64(Int32))}, want: "int32[3,4]"},
}

func TestInferTypesMoreOps(t *testing.T) {
	for _, c := range moreInferTests {
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

// TestInferDataPropagation follows the shape computations that PyTorch
// writes for a vision transformer's reshapes and class token: every
// shape resolves, in terms of the batch N.
func TestInferDataPropagation(t *testing.T) {
	b := NewBuilder("vit", OpsetID{Version: 17})
	x := b.Input("x", Float32, Symbol("N"), Fixed(197), Fixed(768))
	ids := b.Input("ids", Int64, Symbol("N"), Symbol("S"))
	cls := b.Param("cls", Float32, 1, 1, 768)
	konst := func(name string, v ...int64) string {
		return b.Node("Constant", name, nil, IntsAttr("value_ints", v...))
	}
	scalar := func(name string, v int64) string {
		return b.Node("Constant", name, nil, IntAttr("value_int", v))
	}
	s := b.Node("Shape", "s", []string{x})
	n := b.Node("Gather", "n", []string{s, scalar("zero", 0)})
	un := b.Node("Unsqueeze", "un", []string{n, konst("axes0", 0)})
	// x.view(N, 197, 12, 64), heads to the front, then (N*12, 197, 64).
	heads := b.Node("Reshape", "heads", []string{x, b.Node("Concat", "hshape", []string{un, konst("rest", 197, 12, 64)}, IntAttr("axis", 0))})
	perm := b.Node("Transpose", "perm", []string{heads}, IntsAttr("perm", 0, 2, 1, 3))
	// 12*N from the data: Mul(N, 12).
	n12 := b.Node("Mul", "n12", []string{un, konst("twelve", 12)})
	flat := b.Node("Reshape", "flat", []string{perm, b.Node("Concat", "fshape", []string{n12, konst("rest2", 197, 64)}, IntAttr("axis", 0))})
	back := b.Node("Reshape", "back", []string{flat, konst("bshape", -1, 12, 197, 64)})
	// 768/12 = 64 from the input's last dimension.
	last := b.Node("Gather", "last", []string{s, scalar("two", 2)})
	hd := b.Node("Div", "hd", []string{last, scalar("twelve2", 12)})
	split := b.Node("Reshape", "split", []string{x, b.Node("Concat", "sshape",
		[]string{un, konst("m1", -1), konst("twelve3", 12), b.Node("Unsqueeze", "hdu", []string{hd, konst("axes1", 0)})}, IntAttr("axis", 0))})
	// class_token.expand(N, -1, -1): Where(Equal(shape, -1), 1, shape).
	eshape := b.Node("Concat", "eshape", []string{un, konst("m11", -1, -1)}, IntAttr("axis", 0))
	ones := b.Node("ConstantOfShape", "ones", []string{b.Node("Shape", "es", []string{eshape})},
		&Attr{Name: "value", Kind: AttrTensor, Tensor: &Tensor{DType: Int64, Dims: []int64{1}, Data: []int64{1}}})
	eq := b.Node("Equal", "eq", []string{eshape, konst("minus1", -1)})
	w := b.Node("Where", "w", []string{eq, ones, eshape})
	expanded := b.Node("Expand", "expanded", []string{cls, w})
	// Positions: arange(ids.shape[1]).
	seq := b.Node("Gather", "seq", []string{b.Node("Shape", "ids_s", []string{ids}), scalar("one", 1)})
	pos := b.Node("Range", "pos", []string{scalar("r0", 0), seq, scalar("r1", 1)})
	// x.flatten(1) written as Reshape(x, Concat(N, -1)); tail of the
	// shape by Slice.
	flat2 := b.Node("Reshape", "flat2", []string{x, b.Node("Concat", "f2shape", []string{un, konst("m1b", -1)}, IntAttr("axis", 0))})
	tail := b.Node("Slice", "tail", []string{s, konst("st", 1), konst("en", math.MaxInt64)})
	zeros := b.Node("ConstantOfShape", "zeros", []string{tail})
	for _, out := range []string{back, split, expanded, pos, flat2, zeros} {
		b.Output(out, nil)
	}
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	types, err := InferTypes(m)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		heads:    "float32[N,197,12,64]",
		perm:     "float32[N,12,197,64]",
		flat:     "float32[12*N,197,64]",
		back:     "float32[N,12,197,64]",
		split:    "float32[N,197,12,64]",
		w:        "int64[3]",
		expanded: "float32[N,1,768]",
		pos:      "int64[S]",
		flat2:    "float32[N,151296]",
		zeros:    "float32[197,768]",
	} {
		if got := types[name].String(); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
}

// TestInferThroughFunction infers a call of a model-local function
// through its body: y = Gelu-like(x) = x * Sigmoid(1.702 * x) keeps x's
// shape, and Flatten after it sees [N, 3*4].
func TestInferThroughFunction(t *testing.T) {
	f := &Function{Name: "QuickGelu", Domain: "local", Inputs: []string{"a"}, Outputs: []string{"b"},
		Opsets: []OpsetID{{Version: 17}},
		Nodes: []*Node{
			{Name: "k", OpType: "Constant", Outputs: []string{"k"}, Attrs: []*Attr{{Name: "value_float", Kind: AttrFloat, Float: 1.702}}},
			{Name: "m", OpType: "Mul", Inputs: []string{"a", "k"}, Outputs: []string{"m"}},
			{Name: "s", OpType: "Sigmoid", Inputs: []string{"m"}, Outputs: []string{"s"}},
			{Name: "b", OpType: "Mul", Inputs: []string{"a", "s"}, Outputs: []string{"b"}},
		}}
	g := &Graph{Name: "g", Inputs: []*Value{{Name: "x", Type: f32("N,3,4")}}, Outputs: []*Value{{Name: "z"}},
		Nodes: []*Node{
			{Name: "call", OpType: "QuickGelu", Domain: "local", Inputs: []string{"x"}, Outputs: []string{"y"}},
			{Name: "flat", OpType: "Flatten", Inputs: []string{"y"}, Outputs: []string{"z"}},
		}}
	m := &Model{Opsets: []OpsetID{{Version: 17}, {Domain: "local", Version: 1}}, Functions: []*Function{f}, Graph: g}
	types, err := InferTypes(m)
	if err != nil {
		t.Fatal(err)
	}
	if got := types["y"].String(); got != "float32[N,3,4]" {
		t.Errorf("y: %s, want float32[N,3,4]", got)
	}
	if got := types["z"].String(); got != "float32[N,12]" {
		t.Errorf("z: %s, want float32[N,12]", got)
	}
	if len(types) != 3 {
		t.Errorf("types of %d values, want x, y and z: %v", len(types), types)
	}
}

// InferTypesAndInts gives the integer values data propagation knows in full:
// the fixed dimensions of a shape with a symbolic batch, what is
// computed from them, and constants; not the batch nor what depends on
// it, nor float values.
func TestInferTypesAndInts(t *testing.T) {
	b := NewBuilder("g", OpsetID{Version: 17})
	x := b.Input("x", Float32, Symbol("N"), Fixed(128), Fixed(768))
	idx := b.Node("Constant", "idx", nil, IntsAttr("value_ints", -1))
	s := b.Node("Shape", "s", []string{x})
	last := b.Node("Gather", "last", []string{s, idx})
	third := b.Node("Div", "third", []string{b.Node("Add", "plus2", []string{last, b.Node("Constant", "two", nil, IntsAttr("value_ints", 2))}),
		b.Node("Constant", "three", nil, IntsAttr("value_ints", 3))})
	batch := b.Node("Gather", "batch", []string{s, b.Node("Constant", "zero", nil, IntsAttr("value_ints", 0))})
	f := b.Node("Constant", "f", nil, FloatsAttr("value_floats", 1.5))
	for _, o := range []string{third, batch, f} {
		b.Output(o, nil)
	}
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	types, got, err := InferTypesAndInts(m)
	if err != nil {
		t.Fatal(err)
	}
	if ty := types[third]; ty == nil || ty.DType != Int64 {
		t.Errorf("type of %s: %v, want int64", third, ty)
	}
	want := map[string][]int64{idx: {-1}, last: {768}, third: {256}, "two": {2}, "three": {3}, "plus2": {770}, "zero": {0}}
	for name, v := range want {
		if g, ok := got[name]; !ok || len(g) != len(v) || g[0] != v[0] {
			t.Errorf("%s = %v (known %v), want %v", name, g, ok, v)
		}
	}
	for _, name := range []string{s, batch, f, x} {
		if v, ok := got[name]; ok {
			t.Errorf("%s known as %v, want unknown", name, v)
		}
	}
}
