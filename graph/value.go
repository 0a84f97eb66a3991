package graph

// Datum is one value as a data file stores it outside any graph, such as
// the input_0.pb and output_0.pb files of the ONNX backend suite: a
// tensor, a sequence of values or an optional value.
type Datum struct {
	// Kind is TensorKind, SequenceKind or OptionalKind.
	Kind TypeKind
	// Tensor is the value of a TensorKind datum.
	Tensor *Tensor
	// Elems are a sequence's elements in order, or an optional's element
	// (none when it is empty).
	Elems []*Datum
	// DType is the element type of the tensors at the bottom of the
	// value; for an empty sequence or optional it comes from the
	// declared type, and is Undefined when that does not say.
	DType DType
}

var typeKindNames = [...]string{"unknown", "tensor", "sequence", "map", "optional", "sparse tensor"}

func (k TypeKind) String() string {
	if int(k) < len(typeKindNames) {
		return typeKindNames[k]
	}
	return "kind(?)"
}
