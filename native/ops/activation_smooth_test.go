package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// smoothInputs are the points of the activations' tables.
var smoothInputs = []float64{-3, -1, -0.5, 0, 0.5, 1, 2.5}

// The tables were computed with PyTorch 1.13.1 in float64:
// torch.nn.functional.gelu(x), gelu(x, approximate="tanh") and
// x*torch.sigmoid(0.7*x).
var smoothTables = []struct {
	name  string
	node  *graph.Node
	opset int64
	want  []float64
}{
	{"Gelu", testNode("Gelu"), 20, []float64{-0.00404969409489031, -0.15865525393145702, -0.15426876936299344, 0.0, 0.34573123063700656, 0.841344746068543, 2.4844758366855597}},
	{"Gelu tanh", testNode("Gelu", graph.StringAttr("approximate", "tanh")), 20, []float64{-0.0036373920817729943, -0.15880800939172324, -0.15428599017485606, 0.0, 0.34571400982514394, 0.8411919906082768, 2.484915733910001}},
	{"Swish alpha 0.7", testNode("Swish", graph.FloatAttr("alpha", 0.7)), 24, []float64{-0.32729046358683894, -0.3318122278318339, -0.206691210541335, 0.0, 0.29330878945866506, 0.6681877721681662, 2.1298820049207765}},
}

func TestSmoothActivationsMatchPyTorch(t *testing.T) {
	for _, tc := range smoothTables {
		for _, dtype := range []graph.DType{graph.Float32, graph.Float64, graph.Float16} {
			out := runNode(t, tc.node, tc.opset, testTensor(dtype, []int{len(smoothInputs)}, smoothInputs))
			tol := map[graph.DType]tolerance{graph.Float32: tolF32, graph.Float64: tolF64, graph.Float16: tolF16}[dtype]
			if tc.name == "Swish alpha 0.7" && dtype == graph.Float64 {
				// alpha is a float32 attribute: 0.7 is 0.699999988.
				tol = tolerance{name: "float32 alpha", abs: 1e-7, rel: 1e-7}
			}
			checkTensor(t, tc.name+" "+dtype.String(), out[0], []int{len(smoothInputs)}, tc.want, tol)
		}
	}
	swish := runNode(t, testNode("Swish"), 24, float32s([]int{2}, 1, -2))
	checkTensor(t, "Swish default alpha", swish[0], []int{2}, []float64{0.7310585786300049, -0.23840584404423515}, tolF32)
}

// TestSmoothActivationsFloat32 compares the float32 kernels, over chunks
// of the cores, with the float64 definitions on many random inputs, at
// every CPU level (vec's assembly).
func TestSmoothActivationsFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 32))
	x := randomUniform(rng, 1<<17, -12, 12, false)
	defs := map[string]func(float64) float64{
		"Gelu":            func(v float64) float64 { return 0.5 * v * (1 + math.Erf(v/math.Sqrt2)) },
		"Gelu tanh":       func(v float64) float64 { return 0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v))) },
		"Swish alpha 0.7": func(v float64) float64 { return v / (1 + math.Exp(-float64(float32(0.7))*v)) },
	}
	for _, tc := range smoothTables {
		in := testTensor(graph.Float32, []int{len(x)}, x)
		xs := testValues(t, in)
		want := make([]float64, len(xs))
		for i, v := range xs {
			want[i] = defs[tc.name](v)
		}
		leveltest.Run(t, func(t *testing.T) {
			out := runNode(t, tc.node, tc.opset, in)
			checkTensor(t, tc.name+" float32", out[0], in.Shape, want, tolF32)
		})
	}
}

func TestSmoothActivationsBackwardMatchesFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 24))
	for _, tc := range smoothTables {
		op := buildOp(t, tc.node, tc.opset)
		x := testTensor(graph.Float64, []int{3, 5}, randomUniform(rng, 15, -4, 4, false))
		checkGradients64(t, tc.name, op, []*tensor.Tensor{x}, []int{0}, rng, tolFiniteDiff64)
		x32 := testTensor(graph.Float32, []int{3, 5}, randomUniform(rng, 15, -4, 4, false))
		checkGradients(t, tc.name+" float32", op, []*tensor.Tensor{x32}, []int{0}, rng, tolFiniteDiff)
	}
}

func TestGeluRejectsUnknownApproximation(t *testing.T) {
	_, err := Build(testNode("Gelu", graph.StringAttr("approximate", "erf")), 20)
	wantErr(t, "approximate", err, "approximate", "tanh")
	wantErr(t, "int input", runNodeErr(t, testNode("Gelu"), 20, int64s(1)), "float")
}
