package ort

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/internal/testenv"
	"github.com/onnxkit/onnxkit/native"
	"github.com/onnxkit/onnxkit/native/tensor"
	"github.com/onnxkit/onnxkit/onnx"
)

// loadORT loads ONNX Runtime for a test, or skips it (fails it under CI)
// when the library is missing.
func loadORT(t testing.TB) {
	t.Helper()
	if err := Load(testenv.ORTLibrary(t)); err != nil {
		t.Fatal(err)
	}
}

// model builds a model with the builder, at opset 17, and serialises it.
func model(t testing.TB, build func(b *graph.Builder)) (*graph.Model, []byte) {
	t.Helper()
	b := graph.NewBuilder("test", graph.OpsetID{Version: 17})
	build(b)
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	data, err := onnx.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return m, data
}

// openBoth opens the model in ONNX Runtime and compiles it for the native
// engine.
func openBoth(t testing.TB, m *graph.Model, data []byte, opts Options) (*Session, *native.Program) {
	t.Helper()
	s, err := OpenBytes(data, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	prog, err := native.Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	return s, prog
}

// random returns a tensor of the given type and shape with random
// elements: floats in [-2, 2), integers over a part of their range that
// sums without overflow, finite float16 and bfloat16 values.
func random(rng *rand.Rand, d graph.DType, shape ...int) *tensor.Tensor {
	t := tensor.New(d, shape...)
	switch s := t.Data.(type) {
	case []float32:
		for i := range s {
			s[i] = rng.Float32()*4 - 2
		}
	case []float64:
		for i := range s {
			s[i] = rng.Float64()*4 - 2
		}
	case []uint16:
		for i := range s {
			switch d {
			case graph.Float16: // sign, exponent 1..29 (finite, normal), mantissa
				s[i] = uint16(rng.IntN(2))<<15 | uint16(1+rng.IntN(29))<<10 | uint16(rng.IntN(1024))
			case graph.BFloat16:
				s[i] = uint16(math.Float32bits(rng.Float32()*8-4) >> 16)
			default:
				s[i] = uint16(rng.IntN(1 << 15))
			}
		}
	case []int8:
		for i := range s {
			s[i] = int8(rng.IntN(128) - 64)
		}
	case []int16:
		for i := range s {
			s[i] = int16(rng.IntN(1<<15) - 1<<14)
		}
	case []int32:
		for i := range s {
			s[i] = rng.Int32N(1<<30) - 1<<29
		}
	case []int64:
		for i := range s {
			s[i] = rng.Int64N(1<<62) - 1<<61
		}
	case []uint8:
		for i := range s {
			s[i] = uint8(rng.IntN(128))
		}
	case []uint32:
		for i := range s {
			s[i] = rng.Uint32N(1 << 31)
		}
	case []uint64:
		for i := range s {
			s[i] = rng.Uint64N(1 << 63)
		}
	case []bool:
		for i := range s {
			s[i] = rng.IntN(2) == 1
		}
	case []string:
		for i := range s {
			s[i] = strings.Repeat("ab", rng.IntN(4)) + strconv.Itoa(rng.IntN(1000))
		}
	default:
		panic(fmt.Sprintf("random: %v", d))
	}
	return t
}

// tolerance bounds |got-want| by Abs + Rel*|want| for float elements;
// other elements must be equal.
type tolerance struct{ Rel, Abs float64 }

// exact asks for equal elements of every type.
var exact = tolerance{}

// check fails t unless got and want have the same type and shape and
// elements within tol.
func check(t testing.TB, name string, got, want *tensor.Tensor, tol tolerance) {
	t.Helper()
	if got == nil || want == nil {
		t.Errorf("%s: got %v, want %v", name, got, want)
		return
	}
	if got.DType != want.DType || !reflect.DeepEqual(append([]int{}, got.Shape...), append([]int{}, want.Shape...)) {
		t.Errorf("%s: got %v%v, want %v%v", name, got.DType, got.Shape, want.DType, want.Shape)
		return
	}
	g, gok := floats(got)
	w, wok := floats(want)
	if !gok || !wok || tol == exact {
		if !reflect.DeepEqual(got.Data, want.Data) {
			t.Errorf("%s: %v elements differ:\ngot  %v\nwant %v", name, got.DType, got.Data, want.Data)
		}
		return
	}
	worst, at := 0.0, -1
	for i := range w {
		d := math.Abs(g[i] - w[i])
		if !(d <= tol.Abs+tol.Rel*math.Abs(w[i])) && (at < 0 || d > worst) {
			worst, at = d, i
		}
	}
	if at >= 0 {
		t.Errorf("%s: element %d is %g, want %g (difference %g, tolerance %g + %g*|want|)", name, at, g[at], w[at], worst, tol.Abs, tol.Rel)
	}
}

// floats returns the elements of a float32 or float64 tensor as float64.
func floats(t *tensor.Tensor) ([]float64, bool) {
	switch s := t.Data.(type) {
	case []float32:
		out := make([]float64, len(s))
		for i, v := range s {
			out[i] = float64(v)
		}
		return out, true
	case []float64:
		return s, true
	}
	return nil, false
}

// compare runs both engines on in and checks every output within tol.
func compare(t *testing.T, s *Session, prog *native.Program, in map[string]*tensor.Tensor, tol tolerance) map[string]*tensor.Tensor {
	t.Helper()
	got, err := s.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	want, err := prog.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(s.Outputs()) {
		t.Errorf("%d outputs, want %d", len(got), len(s.Outputs()))
	}
	for name, w := range want {
		check(t, name, got[name], w, tol)
	}
	return got
}

// denseModel is x[N,16] -> MatMul -> Add -> Relu with random weights.
func denseModel(t testing.TB, rng *rand.Rand) (*graph.Model, []byte) {
	return model(t, func(b *graph.Builder) {
		x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(16))
		w := b.Initializer("w", graphTensor(random(rng, graph.Float32, 16, 8)))
		bias := b.Initializer("b", graphTensor(random(rng, graph.Float32, 8)))
		y := b.Node("MatMul", "mm", []string{x, w})
		y = b.Node("Add", "add", []string{y, bias})
		b.Output(b.Node("Relu", "y", []string{y}), nil)
	})
}

// graphTensor returns t as an initializer.
func graphTensor(t *tensor.Tensor) *graph.Tensor {
	dims := make([]int64, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = int64(d)
	}
	return &graph.Tensor{DType: t.DType, Dims: dims, Data: t.Data}
}

// float32Tol is the tolerance for float32 results of a few operations
// summed in different orders.
var float32Tol = tolerance{Rel: 1e-5, Abs: 1e-6}

func TestLoad(t *testing.T) {
	loadORT(t)
	if v := Version(); !strings.HasPrefix(v, "1.") {
		t.Errorf("Version() = %q, want 1.x", v)
	}
	if err := Load(testenv.ORTLibrary(t)); err != nil {
		t.Errorf("a second Load of the same library: %v", err)
	}
	if err := Load("/nonexistent/libonnxruntime.so"); err == nil || !strings.Contains(err.Error(), "has loaded it from") {
		t.Errorf("Load of another library: err = %v, want a refusal", err)
	}
}

func TestDense(t *testing.T) {
	loadORT(t)
	rng := rand.New(rand.NewPCG(1, 2))
	m, data := denseModel(t, rng)
	s, prog := openBoth(t, m, data, Options{})
	in, out := s.Inputs(), s.Outputs()
	if len(in) != 1 || in[0].Name != "x" || in[0].Kind != "tensor" || in[0].DType != graph.Float32 || !reflect.DeepEqual(in[0].Shape, []int64{-1, 16}) {
		t.Errorf("Inputs() = %+v", in)
	}
	if len(out) != 1 || out[0].Name != "y" || out[0].DType != graph.Float32 {
		t.Errorf("Outputs() = %+v", out)
	}
	for _, n := range []int{1, 7, 32} {
		compare(t, s, prog, map[string]*tensor.Tensor{"x": random(rng, graph.Float32, n, 16)}, float32Tol)
	}
}

// TestOptions checks that every optimisation level and a thread count
// give the native engine's results, from a file and from bytes.
func TestOptions(t *testing.T) {
	loadORT(t)
	rng := rand.New(rand.NewPCG(3, 4))
	m, data := denseModel(t, rng)
	path := t.TempDir() + "/dense.onnx"
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	prog, err := native.Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range []Options{{Level: LevelAll}, {Level: LevelExtended, IntraOpThreads: 1}, {Level: LevelBasic, IntraOpThreads: 2}, {Level: LevelDisabled}} {
		s, err := Open(path, opts)
		if err != nil {
			t.Fatalf("%+v: %v", opts, err)
		}
		compare(t, s, prog, map[string]*tensor.Tensor{"x": random(rng, graph.Float32, 5, 16)}, float32Tol)
		s.Close()
	}
	if _, err := OpenBytes(data, Options{Level: 9}); err == nil || !strings.Contains(err.Error(), "level") {
		t.Errorf("level 9: err = %v, want an error about the level", err)
	}
	if _, err := OpenBytes(data, Options{IntraOpThreads: -1}); err == nil {
		t.Error("-1 threads: no error")
	}
}

// TestScalarInput is a model shaped like Silero VAD's interface: a float
// signal and a rank-0 int64 sample rate, with rank-0 outputs of both
// types.
func TestScalarInput(t *testing.T) {
	loadORT(t)
	rng := rand.New(rand.NewPCG(5, 6))
	m, data := model(t, func(b *graph.Builder) {
		x := b.Input("x", graph.Float32, graph.Fixed(1), graph.Symbol("T"))
		sr := b.Input("sr", graph.Int64)
		srf := b.Node("Cast", "srf", []string{sr}, graph.IntAttr("to", int64(graph.Float32)))
		y := b.Node("Mul", "y", []string{x, srf})
		b.Output(y, nil)
		b.Output(b.Node("ReduceSum", "energy", []string{y}, graph.IntAttr("keepdims", 0)), nil)
		b.Output(b.Node("Mul", "sr2", []string{sr, sr}), nil)
	})
	s, prog := openBoth(t, m, data, Options{})
	if in := s.Inputs(); len(in) != 2 || in[1].Name != "sr" || in[1].DType != graph.Int64 || len(in[1].Shape) != 0 {
		t.Errorf("Inputs() = %+v, want sr as an int64 scalar", in)
	}
	for _, rate := range []int64{8000, 16000} {
		sr := tensor.New(graph.Int64)
		sr.Data.([]int64)[0] = rate
		got := compare(t, s, prog, map[string]*tensor.Tensor{"x": random(rng, graph.Float32, 1, 512), "sr": sr}, tolerance{Rel: 1e-5, Abs: 1e-2})
		if e := got["energy"]; e == nil || e.Rank() != 0 || e.Len() != 1 {
			t.Errorf("energy = %v, want a scalar", e)
		}
		if sr2 := got["sr2"]; sr2 == nil || sr2.Rank() != 0 || sr2.Data.([]int64)[0] != rate*rate {
			t.Errorf("sr2 = %v, want the scalar %d", sr2, rate*rate)
		}
	}
}

// TestEmptyTensors passes and returns tensors with a dimension of 0.
func TestEmptyTensors(t *testing.T) {
	loadORT(t)
	rng := rand.New(rand.NewPCG(7, 8))
	m, data := model(t, func(b *graph.Builder) {
		x := b.Input("x", graph.Float32, graph.Symbol("N"), graph.Fixed(4))
		c := b.Initializer("c", graphTensor(random(rng, graph.Float32, 2, 4)))
		b.Output(b.Node("Relu", "relu", []string{x}), nil)
		b.Output(b.Node("Concat", "cat", []string{x, c}, graph.IntAttr("axis", 0)), nil)
		b.Output(b.Node("ReduceSum", "sum", []string{x}, graph.IntAttr("keepdims", 0)), nil)
		b.Output(b.Node("Shape", "shape", []string{x}), nil)
	})
	s, prog := openBoth(t, m, data, Options{})
	for _, n := range []int{0, 3} {
		got := compare(t, s, prog, map[string]*tensor.Tensor{"x": random(rng, graph.Float32, n, 4)}, float32Tol)
		if r := got["relu"]; r == nil || !reflect.DeepEqual(r.Shape, []int{n, 4}) {
			t.Errorf("N=%d: relu = %v, want shape [%d 4]", n, r, n)
		}
	}
}

// dtypes are the element types passed both ways.
var dtypes = []graph.DType{
	graph.Float32, graph.Float64, graph.Float16, graph.BFloat16,
	graph.Int8, graph.Int16, graph.Int32, graph.Int64,
	graph.Uint8, graph.Uint16, graph.Uint32, graph.Uint64,
	graph.Bool, graph.String,
}

// TestDTypes passes a tensor of every type through Identity, whose output
// must equal the input, and checks Add and the casts from float16 and
// bfloat16 against the native engine, at rank 0, 1 and 3 and empty.
func TestDTypes(t *testing.T) {
	loadORT(t)
	rng := rand.New(rand.NewPCG(9, 10))
	m, data := model(t, func(b *graph.Builder) {
		for _, d := range dtypes {
			x := b.Input("x_"+d.String(), d, graph.Symbol("A"), graph.Symbol("B"))
			b.Output(b.Node("Identity", "id_"+d.String(), []string{x}), nil)
			switch d {
			case graph.Float64, graph.Int32, graph.Int64, graph.Uint32, graph.Uint64, graph.Int8, graph.Uint8, graph.Int16, graph.Uint16:
				b.Output(b.Node("Add", "add_"+d.String(), []string{x, x}), nil)
			case graph.Float16, graph.BFloat16:
				b.Output(b.Node("Cast", "cast_"+d.String(), []string{x}, graph.IntAttr("to", int64(graph.Float32))), nil)
			}
		}
	})
	s, prog := openBoth(t, m, data, Options{})
	for _, shape := range [][]int{{1, 1}, {3, 5}, {0, 2}} {
		in := map[string]*tensor.Tensor{}
		for _, d := range dtypes {
			in["x_"+d.String()] = random(rng, d, shape...)
		}
		got := compare(t, s, prog, in, exact)
		for _, d := range dtypes {
			check(t, "id_"+d.String(), got["id_"+d.String()], in["x_"+d.String()], exact)
		}
	}
	// Rank 0 through a model of its own: Identity of each scalar.
	m, data = model(t, func(b *graph.Builder) {
		for _, d := range dtypes {
			b.Output(b.Node("Identity", "id_"+d.String(), []string{b.Input("x_"+d.String(), d)}), nil)
		}
	})
	s, _ = openBoth(t, m, data, Options{})
	in := map[string]*tensor.Tensor{}
	for _, d := range dtypes {
		in["x_"+d.String()] = random(rng, d)
	}
	got, err := s.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dtypes {
		check(t, "scalar id_"+d.String(), got["id_"+d.String()], in["x_"+d.String()], exact)
	}
}

// TestErrors checks that ONNX Runtime's failures come back as errors
// carrying its message, and that bad calls are refused.
func TestErrors(t *testing.T) {
	loadORT(t)
	var ortErr *Error
	_, err := Open("/nonexistent/model.onnx", Options{})
	if !errors.As(err, &ortErr) || ortErr.Message == "" || !strings.Contains(err.Error(), "/nonexistent/model.onnx") {
		t.Errorf("missing file: err = %v, want an *Error naming the file", err)
	}
	_, err = OpenBytes([]byte("not a model"), Options{})
	if !errors.As(err, &ortErr) || ortErr.Message == "" {
		t.Errorf("garbage: err = %v, want an *Error", err)
	}
	if _, err := OpenBytes(nil, Options{}); err == nil {
		t.Error("empty model: no error")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	m, data := denseModel(t, rng)
	s, _ := openBoth(t, m, data, Options{})
	if _, err := s.Run(nil); err == nil || !strings.Contains(err.Error(), `input "x" is missing`) {
		t.Errorf("no inputs: err = %v", err)
	}
	_, err = s.Run(map[string]*tensor.Tensor{"x": random(rng, graph.Int32, 2, 16)})
	if !errors.As(err, &ortErr) || !strings.Contains(ortErr.Message, "data type") {
		t.Errorf("int32 input: err = %v, want ONNX Runtime's complaint about the data type", err)
	}
	_, err = s.Run(map[string]*tensor.Tensor{"x": random(rng, graph.Float32, 2, 15)})
	if !errors.As(err, &ortErr) || !strings.Contains(ortErr.Message, "dimension") {
		t.Errorf("[2 15] input: err = %v, want ONNX Runtime's complaint about the dimension", err)
	}
	bad := &tensor.Tensor{DType: graph.Float32, Shape: []int{2, 16}, Data: make([]float32, 3)}
	if _, err := s.Run(map[string]*tensor.Tensor{"x": bad}); err == nil || !strings.Contains(err.Error(), "holds 3 elements") {
		t.Errorf("short data: err = %v", err)
	}
	int4 := tensor.New(graph.Int4, 2, 16)
	if _, err := s.Run(map[string]*tensor.Tensor{"x": int4}); err == nil || !strings.Contains(err.Error(), "int4") {
		t.Errorf("int4 input: err = %v", err)
	}
	s.Close()
	if _, err := s.Run(map[string]*tensor.Tensor{"x": random(rng, graph.Float32, 2, 16)}); err == nil {
		t.Error("Run after Close: no error")
	}
}

// TestConcurrentRun runs one session from several goroutines at once, each
// result checked against the native engine's, computed beforehand.
func TestConcurrentRun(t *testing.T) {
	loadORT(t)
	rng := rand.New(rand.NewPCG(13, 14))
	m, data := denseModel(t, rng)
	s, prog := openBoth(t, m, data, Options{IntraOpThreads: 1})
	const goroutines, runs = 8, 25
	inputs := make([]*tensor.Tensor, goroutines*runs)
	wants := make([]*tensor.Tensor, len(inputs))
	for i := range inputs {
		inputs[i] = random(rng, graph.Float32, 1+i%9, 16)
		out, err := prog.Run(map[string]*tensor.Tensor{"x": inputs[i]})
		if err != nil {
			t.Fatal(err)
		}
		wants[i] = out["y"]
	}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < len(inputs); i += goroutines {
				out, err := s.Run(map[string]*tensor.Tensor{"x": inputs[i]})
				if err != nil {
					errs <- err
					return
				}
				check(t, fmt.Sprintf("run %d", i), out["y"], wants[i], float32Tol)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// rss returns the process's resident set size in bytes, from
// /proc/self/statm, after a garbage collection.
func rss(t *testing.T) int64 {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(b))
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

// TestNoLeaks runs a session 1,000 times on 1 MiB inputs and outputs, and
// opens and closes 100 sessions holding a 1 MiB weight, and checks that
// the resident memory grows by less than 64 MiB across each: a leaked
// input, output or session would add 1 MiB or more per iteration.
func TestNoLeaks(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/statm")
	}
	loadORT(t)
	rng := rand.New(rand.NewPCG(15, 16))
	const side = 512 // 512*512 float32: 1 MiB
	_, data := model(t, func(b *graph.Builder) {
		x := b.Input("x", graph.Float32, graph.Fixed(side), graph.Fixed(side))
		w := b.Initializer("w", graphTensor(random(rng, graph.Float32, side, side)))
		b.Output(b.Node("Add", "y", []string{x, w}), nil)
	})
	s, err := OpenBytes(data, Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in := map[string]*tensor.Tensor{"x": random(rng, graph.Float32, side, side)}
	run := func(n int) {
		for range n {
			if _, err := s.Run(in); err != nil {
				t.Fatal(err)
			}
		}
	}
	const limit = 64 << 20
	run(50) // ONNX Runtime's arena and Go's heap settle
	before := rss(t)
	run(1000)
	if grown := rss(t) - before; grown > limit {
		t.Errorf("1,000 runs grew the resident memory by %d MiB", grown>>20)
	}
	open := func(n int) {
		for range n {
			s, err := OpenBytes(data, Options{IntraOpThreads: 1})
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
		}
	}
	open(10)
	before = rss(t)
	open(100)
	if grown := rss(t) - before; grown > limit {
		t.Errorf("100 sessions opened and closed grew the resident memory by %d MiB", grown>>20)
	}
}
