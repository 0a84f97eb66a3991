package onnxkit

import (
	"slices"

	"github.com/onnxkit/onnxkit/graph"
)

// ValueInfo describes an input or output of a session.
type ValueInfo struct {
	Name string
	// Kind is what the value is: a tensor, a sequence, an optional...;
	// a value whose type the model does not declare is a tensor of
	// DType graph.Undefined and unknown shape.
	Kind graph.TypeKind
	// DType is a tensor's element type (a sequence's or optional's
	// element type, for those).
	DType graph.DType
	// Shape is a tensor's shape, nil when its rank is unknown. A
	// dimension is a size (Size >= 0), a symbol named by Param (Size -1,
	// as "batch"), or unknown.
	Shape graph.Shape
	// Type is the declared type as the model gives it, nil when it gives
	// none.
	Type *graph.Type
	// Doc is the value's doc string.
	Doc string
}

// Symbols returns the names of the shape's symbolic dimensions, in
// order, each once.
func (v ValueInfo) Symbols() []string {
	var names []string
	for _, d := range v.Shape {
		if d.Param != "" && !slices.Contains(names, d.Param) {
			names = append(names, d.Param)
		}
	}
	return names
}

func (v ValueInfo) String() string { return v.Name + " " + v.Type.String() }

func valueInfo(v *graph.Value) ValueInfo {
	info := ValueInfo{Name: v.Name, Kind: graph.TensorKind, Type: v.Type, Doc: v.DocString}
	t := v.Type
	if t == nil {
		return info
	}
	info.Kind = t.Kind
	for t.Kind == graph.SequenceKind || t.Kind == graph.OptionalKind {
		if t.Elem == nil {
			return info
		}
		t = t.Elem
	}
	info.DType = t.DType
	if v.Type.Kind == graph.TensorKind || v.Type.Kind == graph.SparseTensorKind {
		info.Shape = t.Shape
	}
	return info
}

// Inputs describes the inputs that Run takes: the graph inputs that are
// not initializers, in the model's order.
func (s *Session) Inputs() []ValueInfo { return slices.Clone(s.inputs) }

// Outputs describes the values that Run returns, in order: the graph
// outputs, or those that Options.Outputs named.
func (s *Session) Outputs() []ValueInfo { return slices.Clone(s.outputs) }

// Metadata returns the model's metadata properties (metadata_props) by
// key; for a key given more than once, the last value.
func (s *Session) Metadata() map[string]string {
	props := map[string]string{}
	for _, p := range s.model.Metadata {
		props[p.Key] = p.Value
	}
	return props
}

// Opsets returns the operator-set versions the model imports, by domain
// ("" is the default ONNX domain).
func (s *Session) Opsets() map[string]int64 {
	opsets := map[string]int64{}
	for _, o := range s.model.Opsets {
		d := o.Domain
		if d == "ai.onnx" {
			d = graph.DefaultDomain
		}
		opsets[d] = o.Version
	}
	return opsets
}

// Producer returns the name and version of the tool that wrote the
// model, such as "pytorch" and "1.13.0".
func (s *Session) Producer() (name, version string) {
	return s.model.ProducerName, s.model.ProducerVersion
}

// Model returns the model as it was given, before optimisation. It must
// not be changed.
func (s *Session) Model() *graph.Model { return s.model }

// Description returns the model's and its main graph's doc strings and
// the graph's name, for display.
func (s *Session) Description() (graphName, modelDoc, graphDoc string) {
	return s.model.Graph.Name, s.model.DocString, s.model.Graph.DocString
}
