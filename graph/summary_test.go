package graph

import (
	"strings"
	"testing"
)

// buildAlexNet builds the reference Keras AlexNet for 224x224 RGB images in
// NCHW layout and 17 classes, weights zero-filled.
func buildAlexNet(t testing.TB) *Model {
	t.Helper()
	b := NewBuilder("alexnet", OpsetID{Version: 17})
	x := b.Input("input", Float32, Symbol("N"), Fixed(3), Fixed(224), Fixed(224))
	channels := int64(3) // of the value last produced
	conv := func(name, x string, out, k, stride, pad int64) string {
		w := b.Param(name+".weight", Float32, out, channels, k, k)
		bias := b.Param(name+".bias", Float32, out)
		channels = out
		return b.Node("Conv", name, []string{x, w, bias},
			IntsAttr("kernel_shape", k, k), IntsAttr("strides", stride, stride), IntsAttr("pads", pad, pad, pad, pad))
	}
	dense := func(name, x string, out int64) string {
		w := b.Param(name+".weight", Float32, out, channels)
		bias := b.Param(name+".bias", Float32, out)
		channels = out
		return b.Node("Gemm", name, []string{x, w, bias}, IntAttr("transB", 1))
	}
	bn := func(name, x string) string {
		in := []string{x}
		for _, p := range []string{"scale", "bias", "mean", "var"} {
			in = append(in, b.Param(name+"."+p, Float32, channels))
		}
		return b.Node("BatchNormalization", name, in)
	}
	relu := func(name, x string) string { return b.Node("Relu", name, []string{x}) }
	pool := func(name, x string) string {
		return b.Node("MaxPool", name, []string{x}, IntsAttr("kernel_shape", 3, 3), IntsAttr("strides", 2, 2))
	}

	y := conv("conv1", x, 96, 11, 4, 0)
	y = bn("bn1", pool("pool1", relu("relu1", y)))
	y = conv("conv2", y, 256, 5, 1, 2)
	y = bn("bn2", pool("pool2", relu("relu2", y)))
	y = bn("bn3", relu("relu3", conv("conv3", y, 384, 3, 1, 0)))
	y = bn("bn4", relu("relu4", conv("conv4", y, 384, 3, 1, 0)))
	y = conv("conv5", y, 256, 3, 1, 0)
	y = bn("bn5", pool("pool5", relu("relu5", y)))
	y = b.Node("Flatten", "flatten", []string{y})
	channels = 256 * 2 * 2
	y = bn("bn6", b.Node("Dropout", "drop6", []string{relu("relu6", dense("fc6", y, 4096))}))
	y = bn("bn7", b.Node("Dropout", "drop7", []string{relu("relu7", dense("fc7", y, 4096))}))
	y = b.Node("Softmax", "softmax", []string{dense("fc8", y, 17)})
	b.Output(y, nil)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// alexNetCounts counts AlexNet's parameters and MACs from the layer
// dimensions alone. Spatial sizes, out = (in + 2*pad - k)/stride + 1:
// conv1 (224-11)/4+1 = 54, pool (54-3)/2+1 = 26, conv2 26, pool 12,
// conv3 10, conv4 8, conv5 6, pool 2; flattened 256*2*2 = 1024.
func alexNetCounts() (params, macs int64) {
	size, in := int64(224), int64(3)
	for _, l := range []struct {
		out, k, stride, pad int64
		pool                bool
	}{
		{96, 11, 4, 0, true}, {256, 5, 1, 2, true}, {384, 3, 1, 0, false},
		{384, 3, 1, 0, false}, {256, 3, 1, 0, true},
	} {
		size = (size+2*l.pad-l.k)/l.stride + 1
		params += l.out*in*l.k*l.k + l.out // weight and bias
		macs += l.out * size * size * in * l.k * l.k
		params += 4 * l.out // BatchNormalization scale, bias, mean, var
		if l.pool {
			size = (size-3)/2 + 1
		}
		in = l.out
	}
	in *= size * size
	for _, out := range []int64{4096, 4096, 17} {
		params += in*out + out
		macs += in * out
		if out != 17 {
			params += 4 * out
		}
		in = out
	}
	return params, macs
}

func TestSummarizeAlexNet(t *testing.T) {
	// The published figures, which the independent count must reproduce.
	const wantParams, wantMACs = 24_834_833, 743_251_072
	if p, m := alexNetCounts(); p != wantParams || m != wantMACs {
		t.Fatalf("independent count %d params, %d MACs; published %d, %d", p, m, wantParams, wantMACs)
	}
	// The published MACs leave out the normalizations, which Summarize
	// counts as one MAC per output element of the seven
	// BatchNormalization layers.
	const bnMACs = 96*26*26 + 256*12*12 + 384*10*10 + 384*8*8 + 256*2*2 + 4096 + 4096
	s, err := Summarize(buildAlexNet(t))
	if err != nil {
		t.Fatal(err)
	}
	if s.Params != wantParams || s.MACs != wantMACs+bnMACs {
		t.Errorf("Summarize: %d params, %d MACs; want %d, %d + %d\n%s", s.Params, s.MACs, wantParams, wantMACs, bnMACs, s)
	}
	byName := make(map[string]NodeSummary)
	for _, n := range s.Nodes {
		byName[n.Name] = n
	}
	for name, want := range map[string]struct {
		shape        string
		params, macs int64
	}{
		// 96*3*11*11 + 96 = 34944; 96*54*54 outputs * 3*11*11 = 101616768.
		"conv1": {"float32[N,96,54,54]", 34944, 101_616_768},
		"pool1": {"float32[N,96,26,26]", 0, 0},
		"bn1":   {"float32[N,96,26,26]", 4 * 96, 96 * 26 * 26},
		// 256*26*26 * 96*5*5 = 415334400.
		"conv2":   {"float32[N,256,26,26]", 256*96*25 + 256, 415_334_400},
		"pool5":   {"float32[N,256,2,2]", 0, 0},
		"flatten": {"float32[N,1024]", 0, 0},
		// 1024*4096 weights + 4096 biases; M*N*K = 1*4096*1024.
		"fc6":     {"float32[N,4096]", 1024*4096 + 4096, 4_194_304},
		"fc8":     {"float32[N,17]", 4096*17 + 17, 69632},
		"softmax": {"float32[N,17]", 0, 0},
	} {
		n := byName[name]
		if len(n.Outputs) == 0 || n.Outputs[0].String() != want.shape || n.Params != want.params || n.MACs != want.macs {
			t.Errorf("%s: %v, %d params, %d MACs; want %s, %d, %d", name, n.Outputs, n.Params, n.MACs, want.shape, want.params, want.macs)
		}
	}
	if s.OpCounts["Conv"] != 5 || s.OpCounts["Gemm"] != 3 || s.OpCounts["BatchNormalization"] != 7 ||
		s.OpCounts["Relu"] != 7 || s.OpCounts["MaxPool"] != 3 || s.OpCounts["Dropout"] != 2 || len(s.OpCounts) != 8 {
		t.Errorf("op histogram %v", s.OpCounts)
	}
	text := s.String()
	for _, want := range []string{"24834833", "743425024", "ops: BatchNormalization 7 Relu 7 Conv 5"} {
		if !strings.Contains(text, want) {
			t.Errorf("String() lacks %q:\n%s", want, text)
		}
	}
}

func TestSummarizeSmall(t *testing.T) {
	// Hand-worked counts on small layers, batch N taken as 1.
	//   conv: X [N,4,8,8], W [6,2,3,3], group 2 -> [N,6,6,6]:
	//         216 outputs * 2*3*3 = 3888 MACs; 108 weights + 6 biases.
	//   reshape: its int64 shape initializer is not a parameter.
	b := NewBuilder("small", OpsetID{Version: 17})
	x := b.Input("x", Float32, Symbol("N"), Fixed(4), Fixed(8), Fixed(8))
	cw := b.Param("conv.weight", Float32, 6, 2, 3, 3)
	cb := b.Param("conv.bias", Float32, 6)
	y := b.Node("Conv", "conv", []string{x, cw, cb}, IntAttr("group", 2))
	shape := b.Initializer("shape", &Tensor{DType: Int64, Dims: []int64{3}, Data: []int64{0, 6, 36}})
	y = b.Node("Reshape", "reshape", []string{y, shape})
	// [N,6,36] x [36,5] -> [N,6,5]: 30 outputs * K=36 = 1080 MACs, 180 params.
	mw := b.Param("mm.weight", Float32, 36, 5)
	y = b.Node("MatMul", "mm", []string{y, mw})
	// wt reads mm.weight again: counted at mm only. mm2: [N,6,5] x [5,36]
	// -> [N,6,36]: 216 outputs * K=5 = 1080 MACs.
	wt := b.Node("Transpose", "wt", []string{mw})
	y = b.Node("MatMul", "mm2", []string{y, wt})
	b.Output(y, nil)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Summarize(m)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]int64{ // params, MACs
		"conv": {6*2*3*3 + 6, 3888}, "reshape": {0, 0}, "mm": {180, 1080}, "wt": {0, 0}, "mm2": {0, 1080},
	}
	for _, n := range s.Nodes {
		if w := want[n.Name]; n.Params != w[0] || n.MACs != w[1] {
			t.Errorf("%s: %d params, %d MACs; want %d, %d", n.Name, n.Params, n.MACs, w[0], w[1])
		}
	}
	if s.Params != 114+180 || s.MACs != 3888+1080+1080 {
		t.Errorf("totals %d params, %d MACs", s.Params, s.MACs)
	}
}

func TestSummarizeConvTranspose(t *testing.T) {
	// ConvTranspose X [N,2,3,3], W [2,4,3,3]: each of the 18 input elements
	// feeds 4*3*3 outputs: 18*36 = 648 MACs; 72 weight params.
	b := NewBuilder("ct", OpsetID{Version: 17})
	x := b.Input("x", Float32, Symbol("N"), Fixed(2), Fixed(3), Fixed(3))
	w := b.Param("ct.weight", Float32, 2, 4, 3, 3)
	y := b.Node("ConvTranspose", "ct", []string{x, w})
	b.Output(y, nil)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Summarize(m)
	if err != nil {
		t.Fatal(err)
	}
	if s.MACs != 648 || s.Params != 72 {
		t.Errorf("%d MACs, %d params; want 648, 72", s.MACs, s.Params)
	}
	// (3-1) + (3-1) + 1 = 5 with stride 1 and no padding.
	if got := s.Nodes[0].Outputs[0].String(); got != "float32[N,4,5,5]" {
		t.Errorf("output %s, want float32[N,4,5,5]", got)
	}
}
