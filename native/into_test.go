package native

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// intoModel is x [2,3] -> r = Relu(x), f = Flatten(r, axis 0) (a view of
// r's buffer), s = x + w, xi = Identity(x) (the caller's input), wi =
// Identity(w) (an initializer) and c (a Constant), all graph outputs.
func intoModel(t *testing.T) *graph.Model {
	t.Helper()
	b := graph.NewBuilder("g", graph.OpsetID{Version: 17})
	x := b.Input("x", graph.Float32, graph.Fixed(2), graph.Fixed(3))
	w := b.Initializer("w", &graph.Tensor{DType: graph.Float32, Dims: []int64{3}, Data: []float32{1, 2, 3}})
	r := b.Node("Relu", "r", []string{x})
	for _, o := range []string{
		r,
		b.Node("Flatten", "f", []string{r}, graph.IntAttr("axis", 0)),
		b.Node("Add", "s", []string{x, w}),
		b.Node("Identity", "xi", []string{x}),
		b.Node("Identity", "wi", []string{w}),
		b.Node("Constant", "c", nil, graph.TensorAttr("value", &graph.Tensor{DType: graph.Float32, Dims: []int64{2}, Data: []float32{7, 8}})),
	} {
		b.Output(o, nil)
	}
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// intoExpected computes intoModel's outputs for x in float64, rounded to
// float32 (Relu, one addition and copies are exact).
func intoExpected(x []float32) map[string][]float32 {
	w := []float64{1, 2, 3}
	want := map[string][]float32{"xi": slices.Clone(x), "wi": {1, 2, 3}, "c": {7, 8}}
	for i, v := range x {
		want["r"] = append(want["r"], float32(math.Max(float64(v), 0)))
		want["s"] = append(want["s"], float32(float64(v)+w[i%3]))
	}
	want["f"] = want["r"]
	return want
}

// TestRunIntoMatchesRunWith runs intoModel with RunInto, into the
// caller's tensors for some outputs and handing out the others, on new
// random inputs each run: every output must equal RunWith's bitwise and
// the float64 recomputation, the tensors handed out by one run, by
// RunInto or by Run (f, a view of r's buffer, which RunInto copies and
// must not recycle, and whose header a step of the run made) must keep
// their values through the next runs, and neither the input nor the
// model's constants may change when the caller writes into what it got.
func TestRunIntoMatchesRunWith(t *testing.T) {
	prog, err := Compile(intoModel(t))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var earlier []map[string]*tensor.Tensor // maps of earlier runs, with what they held
	var earlierWant []map[string][]float32
	var inputs, inputCopies [][]float32  // every run's input, and its values
	var refs []map[string]*tensor.Tensor // Run's outputs, and what they held
	var refWants []map[string][]float32
	for run := range 6 {
		x := tensor.Float32(2, 3)
		for i := range x.F32() {
			x.F32()[i] = float32(rng.NormFloat64())
		}
		xCopy := slices.Clone(x.F32())
		inputs, inputCopies = append(inputs, x.F32()), append(inputCopies, xCopy)
		in := map[string]*tensor.Tensor{"x": x}
		ref, err := prog.Run(in)
		if err != nil {
			t.Fatal(err)
		}
		// Run 0: r into the caller's tensor, the rest handed out. Later
		// runs: every output into a tensor of the caller's (the first
		// map's, reused), or a new map like the first.
		out := map[string]*tensor.Tensor{"r": tensor.Float32(2, 3)}
		if run%2 == 1 {
			out = earlier[0]
		}
		if err := prog.RunInto(t.Context(), in, out, Options{}); err != nil {
			t.Fatal(err)
		}
		want := intoExpected(xCopy)
		for name, w := range want {
			got := out[name]
			if got == nil {
				t.Fatalf("run %d: no output %q", run, name)
			}
			for i, v := range got.F32() {
				if math.Float32bits(v) != math.Float32bits(ref[name].F32()[i]) || v != w[i] {
					t.Fatalf("run %d: %s[%d] = %v, RunWith %v, float64 %v", run, name, i, v, ref[name].F32()[i], w[i])
				}
			}
		}
		for k := range inputs {
			// Run 1 (3, 5) writes xi into the input of run 0, whose
			// output it was.
			if k > 0 && !slices.Equal(inputs[k], inputCopies[k]) {
				t.Fatalf("after run %d: the input of run %d is %v, was %v", run, k, inputs[k], inputCopies[k])
			}
		}
		refs, refWants = append(refs, ref), append(refWants, want)
		for k := range refs {
			// Run's outputs too: f is a view whose header a step made.
			for name, w := range refWants[k] {
				if name != "xi" && !slices.Equal(refs[k][name].F32(), w) {
					t.Fatalf("after run %d: Run's %s of run %d is %v, was %v", run, name, k, refs[k][name].F32(), w)
				}
			}
		}
		if run%2 == 0 {
			earlier = append(earlier, out)
			earlierWant = append(earlierWant, want)
		}
		// What earlier runs gave (the maps that later runs did not
		// reuse) is unchanged.
		for k := 1; k < len(earlier); k++ {
			for name, w := range earlierWant[k] {
				if !slices.Equal(earlier[k][name].F32(), w) {
					t.Fatalf("after run %d: %s of run %d is %v, was %v", run, name, 2*k, earlier[k][name].F32(), w)
				}
			}
		}
	}
	// The caller writes into everything it was given: the next run
	// still sees the model's constants.
	for _, out := range earlier {
		for _, v := range out {
			clear(v.F32())
		}
	}
	x := tensor.FromFloat32([]float32{-1, 0, 1, 2, -3, 4}, 2, 3)
	out := map[string]*tensor.Tensor{}
	if err := prog.RunInto(t.Context(), map[string]*tensor.Tensor{"x": x}, out, Options{}); err != nil {
		t.Fatal(err)
	}
	for name, w := range intoExpected(x.F32()) {
		if !slices.Equal(out[name].F32(), w) {
			t.Fatalf("after the caller wrote into its outputs: %s = %v, want %v", name, out[name].F32(), w)
		}
	}
}

// TestRunIntoRejectsMismatches gives RunInto tensors of the wrong shape,
// element type or kind, a malformed one and a name that is no output:
// each is an error naming the output (or the name), and the tensors
// given are left unchanged.
func TestRunIntoRejectsMismatches(t *testing.T) {
	prog, err := Compile(intoModel(t))
	if err != nil {
		t.Fatal(err)
	}
	sentinel := func(shape ...int) *tensor.Tensor {
		s := tensor.Float32(shape...)
		for i := range s.F32() {
			s.F32()[i] = 42
		}
		return s
	}
	for _, tc := range []struct {
		name string
		out  map[string]*tensor.Tensor
		want string
	}{
		{"shape", map[string]*tensor.Tensor{"s": sentinel(2, 3), "r": sentinel(3, 2)}, `output "r" is float32 of shape [2 3], the tensor given for it float32 of shape [3 2]`},
		{"rank", map[string]*tensor.Tensor{"s": sentinel(2, 3), "f": sentinel(2, 3)}, `output "f" is float32 of shape [1 6]`},
		{"dtype", map[string]*tensor.Tensor{"s": sentinel(2, 3), "r": tensor.New(graph.Float64, 2, 3)}, `output "r" is float32 of shape [2 3], the tensor given for it float64 of shape [2 3]`},
		{"kind", map[string]*tensor.Tensor{"r": tensor.NewSequence(graph.Float32, nil)}, `output "r" is given a seq(float32)`},
		{"malformed", map[string]*tensor.Tensor{"r": {DType: graph.Float32, Shape: []int{2, 3}, Data: make([]float32, 5)}}, `the tensor given for output "r"`},
		{"name", map[string]*tensor.Tensor{"logits": sentinel(2)}, `"logits" is not an output of the model`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := map[string]*tensor.Tensor{"x": tensor.Float32(2, 3)}
			given := len(tc.out)
			err := prog.RunInto(t.Context(), in, tc.out, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
			for name, v := range tc.out {
				if data, ok := v.Data.([]float32); ok && len(data) == v.Len() && slices.ContainsFunc(data, func(f float32) bool { return f != 42 }) {
					t.Fatalf("the failed run wrote into %q: %v", name, data)
				}
			}
			if len(tc.out) != given {
				t.Fatalf("the failed run added outputs to the map: %v", tc.out)
			}
		})
	}
	if err := prog.RunInto(t.Context(), map[string]*tensor.Tensor{"x": tensor.Float32(2, 3)}, nil, Options{}); err == nil {
		t.Fatal("RunInto with a nil map of outputs: no error")
	}
}
