package onnx

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/onnx/onnxpb"
)

var update = flag.Bool("update", false, "regenerate the files of testdata/malformed")

// malformedDir holds one folder per case, each with a model.onnx and any
// external data files it refers to.
var malformedDir = filepath.Join("..", "testdata", "malformed")

// malformedCase is a bad model: make builds its files (model.onnx first)
// in a folder, and reading it, or validating it when validate is set,
// must fail with an error of the given kind containing want.
type malformedCase struct {
	name     string
	make     func(t *testing.T, dir string)
	want     string
	kind     string // "format", "unsupported" or "validation"
	validate bool
	// refused marks external data that must be refused before any
	// file is opened.
	refused bool
}

// baseModel is a valid model: Y = Relu(X + W) with W an initializer.
func baseModel() *onnxpb.ModelProto {
	f := int32(graph.Float32)
	tensorType := func() *onnxpb.TypeProto {
		return &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: &f,
			Shape: &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{
				{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 2}},
				{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 2}},
			}},
		}}}
	}
	return &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Version: proto.Int64(13)}},
		Graph: &onnxpb.GraphProto{
			Name: proto.String("g"),
			Node: []*onnxpb.NodeProto{
				{Name: proto.String("add"), OpType: proto.String("Add"), Input: []string{"X", "W"}, Output: []string{"S"}},
				{Name: proto.String("relu"), OpType: proto.String("Relu"), Input: []string{"S"}, Output: []string{"Y"}},
			},
			Initializer: []*onnxpb.TensorProto{{
				Name: proto.String("W"), Dims: []int64{2, 2}, DataType: &f,
				RawData: []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40}, // 1, 2, 3, 4
			}},
			Input:  []*onnxpb.ValueInfoProto{{Name: proto.String("X"), Type: tensorType()}},
			Output: []*onnxpb.ValueInfoProto{{Name: proto.String("Y"), Type: tensorType()}},
		},
	}
}

func writeModel(t *testing.T, dir string, m *onnxpb.ModelProto) {
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	writeBytes(t, dir, data)
}

func writeBytes(t *testing.T, dir string, data []byte) {
	if err := os.WriteFile(filepath.Join(dir, "model.onnx"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// edit returns a maker that writes baseModel changed by f.
func edit(f func(m *onnxpb.ModelProto)) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		m := baseModel()
		f(m)
		writeModel(t, dir, m)
	}
}

func w(m *onnxpb.ModelProto) *onnxpb.TensorProto { return m.Graph.Initializer[0] }

// external makes W's 16 bytes live at location, offset, length, writing
// side files beside the model as given (name -> contents).
func external(location, offset, length string, side map[string]string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		m := baseModel()
		p := w(m)
		p.RawData = nil
		p.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
		p.ExternalData = []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String(location)}}
		for _, kv := range [][2]string{{"offset", offset}, {"length", length}} {
			if kv[1] != "" {
				p.ExternalData = append(p.ExternalData, &onnxpb.StringStringEntryProto{Key: proto.String(kv[0]), Value: proto.String(kv[1])})
			}
		}
		writeModel(t, dir, m)
		for name, contents := range side {
			if target, ok := strings.CutPrefix(contents, "symlink:"); ok {
				if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte(contents), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

var malformedCases = []malformedCase{
	{name: "truncated", kind: "format", want: "not a valid ModelProto", make: func(t *testing.T, dir string) {
		data, err := proto.Marshal(baseModel())
		if err != nil {
			t.Fatal(err)
		}
		writeBytes(t, dir, data[:len(data)*2/3])
	}},
	{name: "wrong_wire_type", kind: "format", want: "field ModelProto.graph has the wrong wire type (0)", make: func(t *testing.T, dir string) {
		// Field 7 (graph) is a message, but here it is a varint.
		data := protowire.AppendTag(nil, 7, protowire.VarintType)
		writeBytes(t, dir, protowire.AppendVarint(data, 150))
	}},
	{name: "bad_attr_type", kind: "format", want: `attribute "alpha": unknown attribute type 99`, make: edit(func(m *onnxpb.ModelProto) {
		m.Graph.Node[1].Attribute = []*onnxpb.AttributeProto{{Name: proto.String("alpha"), F: proto.Float32(0.5)}}
		m.Graph.Node[1].Attribute[0].ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 20, protowire.VarintType), 99))
	})},
	{name: "negative_dims", kind: "format", want: `initializer "W": negative dimension in [-2 -2]`, make: edit(func(m *onnxpb.ModelProto) {
		w(m).Dims = []int64{-2, -2}
	})},
	{name: "dims_overflow", kind: "format", want: "overflow int64", make: edit(func(m *onnxpb.ModelProto) {
		w(m).Dims = []int64{1 << 40, 1 << 40}
	})},
	{name: "raw_data_short", kind: "format", want: "raw_data has 12 bytes, but 4 elements of float32 need 16", make: edit(func(m *onnxpb.ModelProto) {
		w(m).RawData = w(m).RawData[:12]
	})},
	{name: "trillion_elements_raw", kind: "format", want: "raw_data has 16 bytes, but 1000000000000 elements of float32 need 4000000000000", make: edit(func(m *onnxpb.ModelProto) {
		w(m).Dims = []int64{1000000, 1000000}
	})},
	{name: "trillion_elements_typed", kind: "format", want: "int64_data has 2 values, but 1000000000000 elements of int64 need 1000000000000", make: edit(func(m *onnxpb.ModelProto) {
		p := w(m)
		p.Dims, p.DataType, p.RawData, p.Int64Data = []int64{1000000, 1000000}, proto.Int32(int32(graph.Int64)), nil, []int64{1, 2}
	})},
	{name: "unknown_dtype", kind: "unsupported", want: "unknown data type 99", make: edit(func(m *onnxpb.ModelProto) {
		w(m).DataType = proto.Int32(99)
	})},
	{name: "negative_dtype", kind: "format", want: "unknown data type -3", make: edit(func(m *onnxpb.ModelProto) {
		w(m).DataType = proto.Int32(-3)
	})},
	{name: "attr_int_with_floats", kind: "format", want: `node "relu" (Relu), attribute "alpha": attribute type is int but its floats field is set`, make: edit(func(m *onnxpb.ModelProto) {
		m.Graph.Node[1].Attribute = []*onnxpb.AttributeProto{{Name: proto.String("alpha"), Type: onnxpb.AttributeProto_INT.Enum(), Floats: []float32{0.5}}}
	})},
	{name: "attr_no_type", kind: "format", want: `attribute "alpha": attribute has no type`, make: edit(func(m *onnxpb.ModelProto) {
		m.Graph.Node[1].Attribute = []*onnxpb.AttributeProto{{Name: proto.String("alpha"), F: proto.Float32(0.5)}}
	})},
	{name: "attr_ir1_ambiguous", kind: "format", want: "attribute has no type and 2 value fields set", make: edit(func(m *onnxpb.ModelProto) {
		m.IrVersion = proto.Int64(1)
		m.Graph.Node[1].Attribute = []*onnxpb.AttributeProto{{Name: proto.String("alpha"), F: proto.Float32(0.5), I: proto.Int64(1)}}
	})},
	{name: "bad_data_location", kind: "format", want: "unknown data_location 7", make: edit(func(m *onnxpb.ModelProto) {
		w(m).ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 14, protowire.VarintType), 7))
	})},
	{name: "string_in_raw_data", kind: "format", want: "string tensor stored in raw_data", make: edit(func(m *onnxpb.ModelProto) {
		w(m).DataType = proto.Int32(int32(graph.String))
	})},
	{name: "raw_and_typed", kind: "format", want: "has both float_data and raw or external data", make: edit(func(m *onnxpb.ModelProto) {
		w(m).FloatData = []float32{1, 2, 3, 4}
	})},
	{name: "wrong_typed_field", kind: "format", want: "float32 tensor has values in int64_data", make: edit(func(m *onnxpb.ModelProto) {
		w(m).RawData, w(m).Int64Data = nil, []int64{1, 2, 3, 4}
	})},
	{name: "int8_out_of_range", kind: "format", want: "int32_data value 300 at 1 is out of range for int8", make: edit(func(m *onnxpb.ModelProto) {
		p := w(m)
		p.DataType, p.RawData, p.Int32Data = proto.Int32(int32(graph.Int8)), nil, []int32{1, 300, 3, 4}
	})},
	{name: "negative_shape_dim", kind: "format", want: `input "X": dimension 0 is negative (-1)`, make: edit(func(m *onnxpb.ModelProto) {
		m.Graph.Input[0].Type.GetTensorType().Shape.Dim[0].Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: -1}
	})},
	{name: "segment", kind: "unsupported", want: "unsupported: initializer \"W\": tensor segments", make: edit(func(m *onnxpb.ModelProto) {
		w(m).Segment = &onnxpb.TensorProto_Segment{Begin: proto.Int64(0), End: proto.Int64(4)}
	})},
	{name: "external_absolute", kind: "format", refused: true, want: `location "/etc/passwd" is an absolute path`,
		make: external("/etc/passwd", "", "16", nil)},
	{name: "external_dotdot", kind: "format", refused: true, want: `location "data/../../w.bin" leaves the model's folder`,
		make: external("data/../../w.bin", "", "16", nil)},
	{name: "external_symlink", kind: "format", refused: true, want: `location "w.bin" resolves outside the model's folder`,
		make: external("w.bin", "", "16", map[string]string{"w.bin": "symlink:../external_symlink_target.bin"})},
	{name: "external_past_end", kind: "format", refused: true, want: "offset 8, length 16 runs past the end of \"w.bin\" (16 bytes)",
		make: external("w.bin", "8", "16", map[string]string{"w.bin": "0123456789abcdef"})},
	{name: "external_offset_past_end", kind: "format", refused: true, want: "offset 100 is past the end",
		make: external("w.bin", "100", "16", map[string]string{"w.bin": "0123456789abcdef"})},
	{name: "external_length_mismatch", kind: "format", refused: true, want: "external data length is 8 bytes, but the tensor needs 16",
		make: external("w.bin", "0", "8", map[string]string{"w.bin": "0123456789abcdef"})},
	{name: "external_bad_offset", kind: "format", refused: true, want: `external data offset "-4" is not a non-negative integer`,
		make: external("w.bin", "-4", "16", map[string]string{"w.bin": "0123456789abcdef"})},
	{name: "external_missing_file", kind: "format", refused: true, want: `external data file "nothere.bin"`,
		make: external("nothere.bin", "", "16", nil)},

	// Models that decode but that graph.Validate rejects.
	{name: "undefined_input", kind: "validation", validate: true, want: "undefined input", make: edit(func(m *onnxpb.ModelProto) {
		m.Graph.Node[1].Input = []string{"Z"}
	})},
	{name: "cycle", kind: "validation", validate: true, want: "cycle", make: edit(func(m *onnxpb.ModelProto) {
		m.Graph.Node[0].Input = []string{"X", "Y"}
		m.Graph.Initializer = nil
	})},
	{name: "duplicate_outputs", kind: "validation", validate: true, want: "duplicate name", make: edit(func(m *onnxpb.ModelProto) {
		m.Graph.Node[1].Output = []string{"S"}
		m.Graph.Output[0].Name = proto.String("S")
	})},
	{name: "missing_initializer", kind: "validation", validate: true, want: "missing initializer", make: edit(func(m *onnxpb.ModelProto) {
		m.TrainingInfo = []*onnxpb.TrainingInfoProto{{UpdateBinding: []*onnxpb.StringStringEntryProto{
			{Key: proto.String("B"), Value: proto.String("S")},
		}}}
	})},
	{name: "no_outputs", kind: "validation", validate: true, want: "no outputs", make: edit(func(m *onnxpb.ModelProto) {
		m.Graph.Output = nil
	})},
	{name: "dtype_clash", kind: "validation", validate: true, want: "type mismatch", make: edit(func(m *onnxpb.ModelProto) {
		m.Graph.Input = append(m.Graph.Input, &onnxpb.ValueInfoProto{Name: proto.String("W"), Type: &onnxpb.TypeProto{
			Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(graph.Int64))}},
		}})
	})},
}

// TestMalformed reads each bad model of testdata/malformed and checks the
// error. With -update it first writes the files again.
func TestMalformed(t *testing.T) {
	if *update {
		if err := os.RemoveAll(malformedDir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(malformedDir, 0o755); err != nil {
			t.Fatal(err)
		}
		// The target of external_symlink's link, outside its folder.
		if err := os.WriteFile(filepath.Join(malformedDir, "external_symlink_target.bin"), []byte("0123456789abcdef"), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, c := range malformedCases {
			dir := filepath.Join(malformedDir, c.name)
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			c.make(t, dir)
		}
	}
	for _, c := range malformedCases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(malformedDir, c.name, "model.onnx")
			var opened []string
			m, err := readFileWith(path, func(name string) (*os.File, error) {
				opened = append(opened, name)
				return os.Open(name)
			})
			if c.validate {
				if err != nil {
					t.Fatalf("ReadFile: %v; want a model that decodes", err)
				}
				err = graph.Validate(m)
			}
			if err == nil {
				t.Fatalf("no error; want one containing %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q\ndoes not contain %q", err, c.want)
			}
			var fe *FormatError
			var ue *UnsupportedError
			var ve *graph.ValidationError
			switch {
			case c.kind == "format" && !errors.As(err, &fe),
				c.kind == "unsupported" && !errors.As(err, &ue),
				c.kind == "validation" && !errors.As(err, &ve):
				t.Errorf("error %T, want a %s error", err, c.kind)
			}
			if fe != nil && fe.File != path {
				t.Errorf("FormatError.File is %q, want %q", fe.File, path)
			}
			if c.refused && len(opened) > 0 {
				t.Errorf("opened %v before refusing the location", opened)
			}
		})
	}
}

// readFileWith is ReadFile with the function that opens external data
// files replaced, so that tests can see what is opened.
func readFileWith(path string, open func(string) (*os.File, error)) (*graph.Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	d := &decoder{file: path, dir: filepath.Dir(path), open: open}
	return d.decodeBytes(data)
}

// TestMalformedFilesPresent checks that every case has its committed
// files and that no stray case folder is left.
func TestMalformedFilesPresent(t *testing.T) {
	entries, err := os.ReadDir(malformedDir)
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{"external_symlink_target.bin": true}
	for _, c := range malformedCases {
		known[c.name] = true
		if _, err := os.Stat(filepath.Join(malformedDir, c.name, "model.onnx")); errors.Is(err, fs.ErrNotExist) {
			t.Errorf("case %s has no model.onnx; run go test -run TestMalformed -update", c.name)
		}
	}
	for _, e := range entries {
		if !known[e.Name()] {
			t.Errorf("testdata/malformed/%s belongs to no case", e.Name())
		}
	}
}
