package main

import (
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/onnx"
)

// TestSmallTypesThroughFiles feeds an Identity model each 8-, 4- and
// 2-bit type from a TensorProto file (packed on the wire, one element a
// byte in memory) and reads the output file back: every element,
// including an odd count's padding, survives.
func TestSmallTypesThroughFiles(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, d := range []graph.DType{graph.Float8E4M3FN, graph.Float8E4M3FNUZ, graph.Float8E5M2, graph.Float8E5M2FNUZ,
		graph.Float8E8M0, graph.Float4E2M1, graph.Int4, graph.Uint4, graph.Int2, graph.Uint2} {
		const n = 7 // not a multiple of 2 or 4
		var data any
		switch d {
		case graph.Int4, graph.Int2:
			half := 1 << (d.Bits() - 1)
			s := make([]int8, n)
			for i := range s {
				s[i] = int8(r.IntN(2*half) - half)
			}
			data = s
		default:
			codes := 256
			if d.Bits() < 8 {
				codes = 1 << d.Bits()
			}
			s := make([]uint8, n)
			for i := range s {
				s[i] = uint8(r.IntN(codes))
			}
			data = s
		}
		in := &graph.Tensor{Name: "x", DType: d, Dims: []int64{n}, Data: data}
		inPath := filepath.Join(t.TempDir(), "input_0.pb")
		if err := onnx.WriteTensorFile(inPath, in); err != nil {
			t.Fatal(err)
		}
		path := writeModel(t, identityModel(t, d, graph.Fixed(n)))
		dir := t.TempDir()
		code, stdout, stderr := runCmd(t, "--out", dir, path, inPath)
		if code != exitOK {
			t.Fatalf("%v: exit %d: %s", d, code, stderr)
		}
		mustContain(t, "stdout", stdout, "y: "+d.String()+"[7]")
		out := readOutput(t, dir, 0)
		if out.DType != d || !reflect.DeepEqual(out.Data, in.Data) {
			t.Errorf("%v: output %v %v, want %v", d, out.DType, out.Data, in.Data)
		}
	}
}

// TestRandomSmallTypes checks that random inputs of the small types stay
// within their types: the integers within range, the floats within
// [-1, 1] (float8e8m0 within (0, 1]).
func TestRandomSmallTypes(t *testing.T) {
	for _, d := range []graph.DType{graph.Float8E4M3FN, graph.Float8E5M2FNUZ, graph.Float8E8M0, graph.Float4E2M1,
		graph.Int4, graph.Uint4, graph.Int2, graph.Uint2} {
		in := []*graph.Value{{Name: "x", Type: graph.TensorType(d, graph.Shape{graph.Fixed(256)})}}
		got, err := randomInputs(in, 1, 1)
		if err != nil {
			t.Fatalf("%v: %v", d, err)
		}
		vals, err := got["x"].Float64s()
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := -1.0, 1.0
		switch d {
		case graph.Int4:
			lo, hi = -8, 7
		case graph.Uint4:
			lo, hi = 0, 15
		case graph.Int2:
			lo, hi = -2, 1
		case graph.Uint2:
			lo, hi = 0, 3
		case graph.Float8E8M0:
			lo = 0
		}
		seen := map[float64]bool{}
		for _, v := range vals {
			if v < lo || v > hi || v != v {
				t.Fatalf("%v: random value %v outside [%v, %v]", d, v, lo, hi)
			}
			seen[v] = true
		}
		if len(seen) < 3 {
			t.Errorf("%v: only %d distinct values", d, len(seen))
		}
	}
}
