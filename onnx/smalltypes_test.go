package onnx

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

// TestONNX123SmallTypeFiles reads tensors of the 8-, 4- and 2-bit types
// written by ONNX 1.23 (testdata/onnx123, raw_data and int32_data), checks
// their values against the cases' inputs worked out by hand, and checks
// that writing them back packs the same bytes.
func TestONNX123SmallTypeFiles(t *testing.T) {
	// int4: the floats -9..15 keep their low four bits: ((v+8) mod 16) - 8.
	int4 := make([]int8, 25)
	for i := range int4 {
		v := i - 9
		int4[i] = int8((v+8)&15 - 8)
	}
	cases := []struct {
		file  string
		dtype graph.DType
		want  any
	}{
		// -3..3 keep their low two bits.
		{"int2_raw.pb", graph.Int2, []int8{1, -2, -1, 0, 1, -2, -1}},
		{"int4_raw.pb", graph.Int4, int4},
		// 0.48, 0.25, 1.05, -3.5, -8, 9, inf, 1.2e-7, NaN, inf, inf, -inf, -4, 0.01, -0
		// round to 0.5, 0 (tie to even), 1, -4 (tie), -6, 6, 6, 0, NaN (0x8), 6, 6, -6, -4, 0, -0.
		{"float4e2m1_raw.pb", graph.Float4E2M1, []uint8{1, 0, 2, 0xE, 0xF, 7, 7, 0, 8, 7, 7, 0xF, 0xE, 0, 8}},
		// 0, 0.5, 1, 448, 24 in E4M3FN.
		{"float8e4m3fn_int32data.pb", graph.Float8E4M3FN, []uint8{0x00, 0x30, 0x38, 0x7E, 0x6C}},
		// int32_data 228, 64, 165 = 0b11100100, 0b01000000, 0b10100101,
		// read two bits at a time from the low end.
		{"uint2_int32data.pb", graph.Uint2, []uint8{0, 1, 2, 3, 0, 0, 0, 1, 1, 1, 2, 2}},
		{"float8e5m2fnuz_raw.pb", graph.Float8E5M2FNUZ, nil},
	}
	for _, c := range cases {
		data, err := os.ReadFile(filepath.Join("testdata", "onnx123", c.file))
		if err != nil {
			t.Fatal(err)
		}
		var p onnxpb.TensorProto
		if err := proto.Unmarshal(data, &p); err != nil {
			t.Fatal(err)
		}
		got, err := UnmarshalTensor(data)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if got.DType != c.dtype {
			t.Errorf("%s: dtype %v, want %v", c.file, got.DType, c.dtype)
		}
		want := c.want
		if want == nil {
			want = p.RawData // one byte an element
		}
		if !reflect.DeepEqual(got.Data, want) {
			t.Errorf("%s: got %v, want %v", c.file, got.Data, want)
		}
		// Writing packs the same bytes: raw_data as the file's, or the
		// int32_data entries as bytes.
		again, err := MarshalTensor(got)
		if err != nil {
			t.Fatal(err)
		}
		var q onnxpb.TensorProto
		if err := proto.Unmarshal(again, &q); err != nil {
			t.Fatal(err)
		}
		packed := p.RawData
		if packed == nil {
			for _, v := range p.Int32Data {
				packed = append(packed, byte(v))
			}
		}
		if !bytes.Equal(q.RawData, packed) {
			t.Errorf("%s: written as % x, want % x", c.file, q.RawData, packed)
		}
	}
}

// FuzzTensorRoundTrip checks that any bytes either fail to decode as a
// TensorProto with one of the package's error types, or decode to a
// tensor that writes and reads back to the same bytes. The seeds are the
// ONNX 1.23 small-type files.
func FuzzTensorRoundTrip(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "onnx123", "*.pb"))
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seeds in testdata/onnx123: %v", err)
	}
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := UnmarshalTensor(data)
		if err != nil {
			decodeError(t, err)
			return
		}
		once, err := MarshalTensor(x)
		if err != nil {
			t.Fatalf("MarshalTensor of a decoded tensor: %v", err)
		}
		y, err := UnmarshalTensor(once)
		if err != nil {
			t.Fatalf("reading MarshalTensor's output: %v", err)
		}
		twice, err := MarshalTensor(y)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(once, twice) {
			t.Fatalf("round trip changed the tensor: % x, then % x", once, twice)
		}
	})
}

// TestIR13ModelRoundTrip writes and reads an IR 13 (opset 25) model
// holding int2, uint2 and float8e8m0 initializers and a Cast to
// float8e8m0 with round_mode: the IR version, the data and the attributes
// come back.
func TestIR13ModelRoundTrip(t *testing.T) {
	b := graph.NewBuilder("ir13", graph.OpsetID{Version: 25})
	x := b.Input("x", graph.Float32, graph.Fixed(3))
	inits := []*graph.Tensor{
		{Name: "i2", DType: graph.Int2, Dims: []int64{5}, Data: []int8{-2, -1, 0, 1, -2}},
		{Name: "u2", DType: graph.Uint2, Dims: []int64{3}, Data: []uint8{3, 0, 2}},
		{Name: "e8", DType: graph.Float8E8M0, Dims: []int64{2}, Data: []uint8{127, 0xFF}},
	}
	for _, it := range inits {
		b.Initializer(it.Name, it)
	}
	y := b.Node("Cast", "y", []string{x}, graph.IntAttr("to", int64(graph.Float8E8M0)), graph.StringAttr("round_mode", "nearest"))
	b.Output(y, graph.TensorType(graph.Float8E8M0, graph.Dims(3)))
	m, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	if m.IRVersion != 13 {
		t.Fatalf("builder gave IR %d for opset 25, want 13", m.IRVersion)
	}
	data, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	if back.IRVersion != 13 {
		t.Errorf("IR version %d, want 13", back.IRVersion)
	}
	for i, it := range inits {
		got := back.Graph.Initializers[i]
		if got.Name != it.Name || got.DType != it.DType || !reflect.DeepEqual(got.Data, it.Data) {
			t.Errorf("initializer %s: got %v %v", it.Name, got.DType, got.Data)
		}
	}
	n := back.Graph.Nodes[0]
	if to, _ := n.AttrInt("to", 0); graph.DType(to) != graph.Float8E8M0 {
		t.Errorf("to = %v", graph.DType(to))
	}
	if mode, _ := n.AttrString("round_mode", ""); mode != "nearest" {
		t.Errorf("round_mode = %q", mode)
	}
	if got := back.Graph.Outputs[0].Type.DType; got != graph.Float8E8M0 {
		t.Errorf("output type %v", got)
	}
}
