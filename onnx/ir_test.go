package onnx

import (
	"math/rand"
	"reflect"
	"strconv"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
)

// richModel uses every part of the IR: metadata on everything that has
// it, all attribute kinds, all type kinds, symbolic and unknown dims,
// sparse initializers, quantization annotations, functions with attribute
// references and training info. Tensor values are seeded random.
func richModel() *graph.Model {
	rng := rand.New(rand.NewSource(11))
	meta := func(tag string) []graph.StringPair {
		return []graph.StringPair{{Key: "k-" + tag, Value: "v"}, {Key: "", Value: tag}}
	}
	floats := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = rng.Float32()
		}
		return s
	}
	tensor := func(name string) *graph.Tensor {
		return &graph.Tensor{Name: name, DType: graph.Float32, Dims: []int64{2, 3}, Data: floats(6), DocString: "doc " + name, Metadata: meta(name)}
	}
	sparse := &graph.SparseTensor{
		Values:  &graph.Tensor{Name: "sv", DType: graph.Float32, Dims: []int64{2}, Data: floats(2)},
		Indices: &graph.Tensor{Name: "si", DType: graph.Int64, Dims: []int64{2, 2}, Data: []int64{0, 1, 2, 0}},
		Dims:    []int64{3, 2},
	}
	shape := graph.Shape{graph.Symbol("N"), graph.Fixed(0), graph.UnknownDim(), {Size: 3, Denotation: "DATA_CHANNEL"}}
	tensorType := &graph.Type{Kind: graph.TensorKind, DType: graph.Float16, Shape: shape, Denotation: "TENSOR"}
	types := []*graph.Type{
		tensorType,
		{Kind: graph.TensorKind, DType: graph.Int64, Shape: graph.Shape{}}, // scalar
		{Kind: graph.TensorKind, DType: graph.Bool},                        // rank unknown
		{Kind: graph.SparseTensorKind, DType: graph.Float32, Shape: graph.Dims(3, 2)},
		{Kind: graph.SequenceKind, Elem: tensorType},
		{Kind: graph.OptionalKind, Elem: &graph.Type{Kind: graph.SequenceKind, Elem: tensorType}},
		{Kind: graph.MapKind, Key: graph.String, Elem: &graph.Type{Kind: graph.TensorKind, DType: graph.Float32, Shape: graph.Dims()}},
		{Kind: graph.UnknownKind, Denotation: "?"},
	}
	body := &graph.Graph{
		Name:    "body",
		Inputs:  []*graph.Value{{Name: "b_in", Type: types[1]}},
		Outputs: []*graph.Value{{Name: "b_out", Type: types[1]}},
		Nodes:   []*graph.Node{{OpType: "Identity", Inputs: []string{"b_in"}, Outputs: []string{"b_out"}}},
	}
	attrs := []*graph.Attr{
		{Name: "f", Kind: graph.AttrFloat, Float: rng.Float32(), DocString: "a float"},
		{Name: "i", Kind: graph.AttrInt, Int: rng.Int63()},
		{Name: "s", Kind: graph.AttrString, String: "bytes\x00\xff"},
		{Name: "t", Kind: graph.AttrTensor, Tensor: tensor("t")},
		{Name: "g", Kind: graph.AttrGraph, Graph: body},
		{Name: "fs", Kind: graph.AttrFloats, Floats: floats(3)},
		{Name: "is", Kind: graph.AttrInts, Ints: []int64{-1, 0, rng.Int63()}},
		{Name: "ss", Kind: graph.AttrStrings, Strings: []string{"a", ""}},
		{Name: "ts", Kind: graph.AttrTensors, Tensors: []*graph.Tensor{tensor("t1"), tensor("t2")}},
		{Name: "gs", Kind: graph.AttrGraphs, Graphs: []*graph.Graph{body, body}},
		{Name: "st", Kind: graph.AttrSparseTensor, SparseTensor: sparse},
		{Name: "sts", Kind: graph.AttrSparseTensors, SparseTensors: []*graph.SparseTensor{sparse}},
		{Name: "tp", Kind: graph.AttrType, Type: types[5]},
		{Name: "tps", Kind: graph.AttrTypes, Types: types},
	}
	var values []*graph.Value
	for i, ty := range types {
		values = append(values, &graph.Value{Name: string(rune('a' + i)), Type: ty, DocString: "v", Metadata: meta("value")})
	}
	values = append(values, &graph.Value{Name: "untyped"})
	return &graph.Model{
		IRVersion:       10,
		Opsets:          []graph.OpsetID{{Version: 21}, {Domain: "com.example", Version: 1}},
		ProducerName:    "onnxkit",
		ProducerVersion: "0.1",
		Domain:          "org.onnxkit",
		ModelVersion:    7,
		DocString:       "a model",
		Metadata:        meta("model"),
		Graph: &graph.Graph{
			Name:               "main",
			DocString:          "the graph",
			Inputs:             values[:4],
			Outputs:            values[4:7],
			ValueInfo:          values[7:],
			Initializers:       []*graph.Tensor{tensor("w")},
			SparseInitializers: []*graph.SparseTensor{sparse},
			Nodes: []*graph.Node{
				{Name: "n1", OpType: "Custom", Domain: "com.example", Overload: "o", Inputs: []string{"a", "", "w"},
					Outputs: []string{"x", ""}, Attrs: attrs, DocString: "node", Metadata: meta("node")},
			},
			QuantizationAnnotations: []graph.QuantizationAnnotation{{TensorName: "w", Parameters: []graph.StringPair{{Key: "SCALE_TENSOR", Value: "s"}}}},
			Metadata:                meta("graph"),
		},
		Functions: []*graph.Function{{
			Name: "Custom", Domain: "com.example", Overload: "o",
			Inputs: []string{"p", "q"}, Outputs: []string{"r"},
			Attrs:        []string{"alpha"},
			AttrDefaults: []*graph.Attr{{Name: "beta", Kind: graph.AttrFloat, Float: 0.5}},
			Nodes: []*graph.Node{{OpType: "LeakyRelu", Inputs: []string{"p"}, Outputs: []string{"r"},
				Attrs: []*graph.Attr{{Name: "alpha", Kind: graph.AttrFloat, RefAttrName: "alpha"}}}},
			DocString: "fn", Opsets: []graph.OpsetID{{Version: 21}},
			ValueInfo: []*graph.Value{{Name: "r", Type: types[0]}},
			Metadata:  meta("function"),
		}},
		TrainingInfo: []*graph.TrainingInfo{{
			Initialization:        body,
			Algorithm:             body,
			InitializationBinding: []graph.StringPair{{Key: "w", Value: "b_out"}},
			UpdateBinding:         []graph.StringPair{{Key: "w", Value: "b_out"}},
		}},
	}
}

// TestIRRoundTrip writes a model that uses every field of the IR and
// checks that reading it back gives the same model.
func TestIRRoundTrip(t *testing.T) {
	want := richModel()
	data, err := Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("model read back differs:\n%s", firstIRDifference(reflect.ValueOf(got), reflect.ValueOf(want), "model"))
	}
	again, err := Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(data) {
		t.Errorf("the second Marshal gave different bytes")
	}
}

// firstIRDifference names the first field where two IR values differ.
func firstIRDifference(a, b reflect.Value, path string) string {
	if a.Kind() != b.Kind() {
		return path + ": different kinds"
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return path + ": nil in only one"
			}
			return ""
		}
		return firstIRDifference(a.Elem(), b.Elem(), path)
	case reflect.Struct:
		for i := range a.NumField() {
			if d := firstIRDifference(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); d != "" {
				return d
			}
		}
		return ""
	case reflect.Slice:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return path + ": slices differ in length or nil-ness"
		}
		for i := range a.Len() {
			if d := firstIRDifference(a.Index(i), b.Index(i), path+"["+strconv.Itoa(i)+"]"); d != "" {
				return d
			}
		}
		return ""
	}
	if !reflect.DeepEqual(a.Interface(), b.Interface()) {
		return path + ": values differ"
	}
	return ""
}
