package tensor

import (
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
)

// Kind says what a Tensor holds: a dense tensor, a sequence of values or
// an optional value.
type Kind uint8

// The kinds of values. Dense is the zero value, so every Tensor built
// without naming a Kind is the dense tensor it always was.
const (
	// Dense is a tensor: DType, Shape and Data.
	Dense Kind = iota
	// Sequence is an ordered list of values, Elems, all of element type
	// DType (ONNX seq(tensor(DType)), or a sequence of sequences).
	Sequence
	// Optional is a value that may be absent: Elems holds the value, or
	// nothing when the optional is empty.
	Optional
)

func (k Kind) String() string {
	switch k {
	case Dense:
		return "tensor"
	case Sequence:
		return "sequence"
	case Optional:
		return "optional"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// NewSequence returns a sequence of element type dtype holding elems,
// which it does not copy.
func NewSequence(dtype graph.DType, elems []*Tensor) *Tensor {
	return &Tensor{DType: dtype, Kind: Sequence, Elems: elems}
}

// NewOptional returns an optional of element type dtype holding elem, or
// an empty optional when elem is nil.
func NewOptional(dtype graph.DType, elem *Tensor) *Tensor {
	t := &Tensor{DType: dtype, Kind: Optional}
	if elem != nil {
		t.Elems = []*Tensor{elem}
	}
	return t
}

// FromDatum converts a value read from a data file into a Tensor,
// sharing the tensors' data.
func FromDatum(d *graph.Datum) (*Tensor, error) {
	switch d.Kind {
	case graph.TensorKind:
		if d.Tensor == nil {
			return nil, fmt.Errorf("tensor value without a tensor")
		}
		return FromGraph(d.Tensor)
	case graph.SequenceKind, graph.OptionalKind:
		kind := Sequence
		if d.Kind == graph.OptionalKind {
			kind = Optional
			if len(d.Elems) > 1 {
				return nil, fmt.Errorf("optional value with %d elements", len(d.Elems))
			}
		}
		t := &Tensor{DType: d.DType, Kind: kind, Elems: make([]*Tensor, len(d.Elems))}
		for i, e := range d.Elems {
			el, err := FromDatum(e)
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			t.Elems[i] = el
		}
		return t, nil
	}
	return nil, fmt.Errorf("values of kind %v are not supported", d.Kind)
}

// ToDatum converts t into a value for a data file, sharing its data; the
// inverse of FromDatum.
func (t *Tensor) ToDatum() *graph.Datum {
	switch t.Kind {
	case Sequence, Optional:
		kind := graph.SequenceKind
		if t.Kind == Optional {
			kind = graph.OptionalKind
		}
		d := &graph.Datum{Kind: kind, DType: t.DType}
		for _, e := range t.Elems {
			d.Elems = append(d.Elems, e.ToDatum())
		}
		return d
	}
	return &graph.Datum{Kind: graph.TensorKind, Tensor: t.ToGraph(""), DType: t.DType}
}
