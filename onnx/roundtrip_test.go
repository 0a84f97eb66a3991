package onnx

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/onnxkit/onnxkit/internal/testenv"
	"github.com/onnxkit/onnxkit/onnx/onnxpb"
)

var suites = []string{"node", "simple", "pytorch-converted", "pytorch-operator"}

// suiteModels lists the model.onnx files of the four backend suites.
func suiteModels(t testing.TB) []string {
	dir := testenv.SuiteDir(t)
	var paths []string
	for _, s := range suites {
		found, err := filepath.Glob(filepath.Join(dir, s, "*", "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		if len(found) == 0 {
			t.Fatalf("no models in suite %s", s)
		}
		paths = append(paths, found...)
	}
	sort.Strings(paths)
	return paths
}

// TestSuiteRoundTrip reads every model of the backend suites, writes it
// back and checks that the rewritten ModelProto means the same as the
// original: same fields everywhere once tensor storage is normalized.
func TestSuiteRoundTrip(t *testing.T) {
	models := suiteModels(t)
	passed := 0
	for _, path := range models {
		name := strings.TrimPrefix(path, testenv.SuiteDir(t)+"/")
		orig, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var want onnxpb.ModelProto
		if err := proto.Unmarshal(orig, &want); err != nil {
			t.Errorf("%s: proto.Unmarshal of the original: %v", name, err)
			continue
		}
		if where := unknownFields(want.ProtoReflect(), "model"); where != "" {
			t.Errorf("%s: the original has fields the schema lacks, at %s", name, where)
		}
		m, err := ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		out, err := Marshal(m)
		if err != nil {
			t.Errorf("%s: Marshal: %v", name, err)
			continue
		}
		var got onnxpb.ModelProto
		if err := proto.Unmarshal(out, &got); err != nil {
			t.Errorf("%s: proto.Unmarshal of the rewritten model: %v", name, err)
			continue
		}
		normalize(t, want.ProtoReflect())
		normalize(t, got.ProtoReflect())
		if !proto.Equal(&want, &got) {
			t.Errorf("%s: the rewritten model differs: %s", name, firstDifference(want.ProtoReflect(), got.ProtoReflect(), "model"))
			continue
		}
		passed++
	}
	t.Logf("%d of %d suite models round-tripped", passed, len(models))
}

// TestSuiteTensorFiles round-trips every input_N.pb and output_N.pb file
// whose graph input or output is a tensor. The others hold a
// SequenceProto, OptionalProto or MapProto of onnx-data.proto; they are
// counted, not read.
func TestSuiteTensorFiles(t *testing.T) {
	tensors, others, passed := 0, 0, 0
	for _, path := range suiteModels(t) {
		var mp onnxpb.ModelProto
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := proto.Unmarshal(data, &mp); err != nil {
			t.Fatal(err)
		}
		files, err := filepath.Glob(filepath.Join(filepath.Dir(path), "test_data_set_*", "*put_*.pb"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if !isTensorFile(&mp, filepath.Base(f)) {
				others++
				continue
			}
			tensors++
			if tensorFileRoundTrips(t, f) {
				passed++
			}
		}
	}
	t.Logf("%d tensor files round-tripped of %d; %d files hold sequences, optionals or maps (not TensorProto)", passed, tensors, others)
	if tensors == 0 || passed != tensors {
		t.Errorf("%d of %d tensor files round-tripped", passed, tensors)
	}
}

// isTensorFile says whether the graph input or output that an input_N.pb
// or output_N.pb file feeds or checks is a tensor.
func isTensorFile(mp *onnxpb.ModelProto, base string) bool {
	list := mp.GetGraph().GetInput()
	if strings.HasPrefix(base, "output_") {
		list = mp.GetGraph().GetOutput()
	}
	var i int
	for _, c := range strings.TrimSuffix(base[strings.IndexByte(base, '_')+1:], ".pb") {
		i = 10*i + int(c-'0')
	}
	if i >= len(list) {
		return true // no declared type: assume a tensor, as the runner does
	}
	return list[i].GetType().GetTensorType() != nil || list[i].GetType().GetValue() == nil
}

func tensorFileRoundTrips(t *testing.T, path string) bool {
	t.Helper()
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want, got onnxpb.TensorProto
	if err := proto.Unmarshal(orig, &want); err != nil {
		t.Errorf("%s: %v", path, err)
		return false
	}
	tensor, err := ReadTensorFile(path)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return false
	}
	out, err := MarshalTensor(tensor)
	if err != nil {
		t.Errorf("%s: MarshalTensor: %v", path, err)
		return false
	}
	if err := proto.Unmarshal(out, &got); err != nil {
		t.Errorf("%s: %v", path, err)
		return false
	}
	normalize(t, want.ProtoReflect())
	normalize(t, got.ProtoReflect())
	if !proto.Equal(&want, &got) {
		t.Errorf("%s: rewritten tensor differs: %s", path, firstDifference(want.ProtoReflect(), got.ProtoReflect(), "tensor"))
		return false
	}
	return true
}

// unknownFields returns the path of the first message with fields that
// the schema does not know, or "".
func unknownFields(m protoreflect.Message, path string) string {
	if len(m.GetUnknown()) > 0 {
		return path
	}
	where := ""
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Message() == nil {
			return true
		}
		if fd.IsList() {
			for i := 0; i < v.List().Len() && where == ""; i++ {
				where = unknownFields(v.List().Get(i).Message(), path+"."+string(fd.Name()))
			}
		} else {
			where = unknownFields(v.Message(), path+"."+string(fd.Name()))
		}
		return where == ""
	})
	return where
}

// normalize rewrites m in place into a canonical form that keeps its
// meaning: unknown fields dropped (the originals are checked to have
// none), tensor data as canonical little-endian raw_data (strings stay
// in string_data), scalar fields equal to their default cleared (the IR
// does not keep whether a default was written), and attribute types of
// IR version 1 files, which could leave them out, filled in.
func normalize(t testing.TB, m protoreflect.Message) {
	switch x := m.Interface().(type) {
	case *onnxpb.TensorProto:
		canonicalTensor(t, x)
	case *onnxpb.AttributeProto:
		if x.GetType() == onnxpb.AttributeProto_UNDEFINED {
			x.Type = inferredAttrType(x).Enum()
		}
	}
	m.SetUnknown(nil)
	var clear []protoreflect.FieldDescriptor
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Message() != nil && fd.IsList():
			for i := range v.List().Len() {
				normalize(t, v.List().Get(i).Message())
			}
		case fd.Message() != nil:
			normalize(t, v.Message())
		case fd.IsList():
		case fd.ContainingOneof() != nil:
			// Only an empty dim_param means nothing; dim_value 0 is a size.
			if fd.Kind() == protoreflect.StringKind && v.String() == "" {
				clear = append(clear, fd)
			}
		case v.Equal(fd.Default()):
			clear = append(clear, fd)
		}
		return true
	})
	for _, fd := range clear {
		m.Clear(fd)
	}
}

// inferredAttrType is the type of an IR version 1 attribute, which is
// that of its one set value field.
func inferredAttrType(a *onnxpb.AttributeProto) onnxpb.AttributeProto_AttributeType {
	switch {
	case a.F != nil:
		return onnxpb.AttributeProto_FLOAT
	case a.I != nil:
		return onnxpb.AttributeProto_INT
	case a.S != nil:
		return onnxpb.AttributeProto_STRING
	case a.T != nil:
		return onnxpb.AttributeProto_TENSOR
	case a.G != nil:
		return onnxpb.AttributeProto_GRAPH
	case len(a.Floats) > 0:
		return onnxpb.AttributeProto_FLOATS
	case len(a.Ints) > 0:
		return onnxpb.AttributeProto_INTS
	case len(a.Strings) > 0:
		return onnxpb.AttributeProto_STRINGS
	case len(a.Tensors) > 0:
		return onnxpb.AttributeProto_TENSORS
	case len(a.Graphs) > 0:
		return onnxpb.AttributeProto_GRAPHS
	}
	return onnxpb.AttributeProto_UNDEFINED
}

// canonicalTensor moves the data of a TensorProto into raw_data as the
// little-endian bytes that the ONNX specification defines for its type,
// converting from whichever field held it.
func canonicalTensor(t testing.TB, p *onnxpb.TensorProto) {
	if p.GetDataType() == int32(onnxpb.TensorProto_STRING) {
		return
	}
	n := int64(1)
	for _, d := range p.Dims {
		n *= d
	}
	var raw []byte
	le := binary.LittleEndian
	switch dt := onnxpb.TensorProto_DataType(p.GetDataType()); {
	case p.RawData != nil:
		raw = append([]byte{}, p.RawData...)
	case len(p.FloatData) > 0:
		for _, v := range p.FloatData {
			raw = le.AppendUint32(raw, math.Float32bits(v))
		}
	case len(p.DoubleData) > 0:
		for _, v := range p.DoubleData {
			raw = le.AppendUint64(raw, math.Float64bits(v))
		}
	case len(p.Int64Data) > 0:
		for _, v := range p.Int64Data {
			raw = le.AppendUint64(raw, uint64(v))
		}
	case len(p.Uint64Data) > 0:
		for _, v := range p.Uint64Data {
			if dt == onnxpb.TensorProto_UINT32 {
				raw = le.AppendUint32(raw, uint32(v))
			} else {
				raw = le.AppendUint64(raw, v)
			}
		}
	case len(p.Int32Data) > 0:
		for _, v := range p.Int32Data {
			switch dt {
			case onnxpb.TensorProto_INT32:
				raw = le.AppendUint32(raw, uint32(v))
			case onnxpb.TensorProto_INT16, onnxpb.TensorProto_UINT16, onnxpb.TensorProto_FLOAT16, onnxpb.TensorProto_BFLOAT16:
				raw = le.AppendUint16(raw, uint16(v))
			default: // one byte an element, or two 4-bit elements packed
				raw = append(raw, byte(v))
			}
		}
	case p.GetDataLocation() == onnxpb.TensorProto_EXTERNAL:
		t.Fatalf("tensor %q: external data is not expected here", p.GetName())
	}
	switch onnxpb.TensorProto_DataType(p.GetDataType()) {
	case onnxpb.TensorProto_BOOL: // any non-zero byte is true
		for i, b := range raw {
			if b != 0 {
				raw[i] = 1
			}
		}
	case onnxpb.TensorProto_INT4, onnxpb.TensorProto_UINT4, onnxpb.TensorProto_FLOAT4E2M1:
		if n%2 == 1 && len(raw) > 0 {
			raw[len(raw)-1] &= 0x0f // the unused high nibble
		}
	}
	if raw == nil {
		raw = []byte{}
	}
	p.RawData = raw
	p.FloatData, p.DoubleData, p.Int32Data, p.Int64Data, p.Uint64Data = nil, nil, nil, nil, nil
}

// firstDifference describes where two messages first differ.
func firstDifference(a, b protoreflect.Message, path string) string {
	fields := a.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		p := path + "." + string(fd.Name())
		if a.Has(fd) != b.Has(fd) {
			return p + ": present in only one"
		}
		if !a.Has(fd) {
			continue
		}
		va, vb := a.Get(fd), b.Get(fd)
		switch {
		case fd.IsList():
			la, lb := va.List(), vb.List()
			if la.Len() != lb.Len() {
				return p + ": lists of different lengths"
			}
			for j := range la.Len() {
				if fd.Message() != nil {
					if d := firstDifference(la.Get(j).Message(), lb.Get(j).Message(), p); d != "" {
						return d
					}
				} else if !la.Get(j).Equal(lb.Get(j)) {
					return p + ": element differs: " + la.Get(j).String() + " vs " + lb.Get(j).String()
				}
			}
		case fd.Message() != nil:
			if d := firstDifference(va.Message(), vb.Message(), p); d != "" {
				return d
			}
		case !va.Equal(vb):
			return p + ": " + va.String() + " vs " + vb.String()
		}
	}
	return ""
}
