package graph

import "testing"

func TestTypeKindString(t *testing.T) {
	for k, want := range map[TypeKind]string{
		TensorKind: "tensor", SequenceKind: "sequence", OptionalKind: "optional",
		MapKind: "map", UnknownKind: "unknown", SparseTensorKind: "sparse tensor", 99: "kind(?)",
	} {
		if got := k.String(); got != want {
			t.Errorf("TypeKind(%d).String() = %q, want %q", k, got, want)
		}
	}
}
