package graph

import (
	"strconv"
	"strings"
)

// TypeKind says which kind of value a Type describes.
type TypeKind uint8

// The kinds of ONNX types.
const (
	// UnknownKind is a type the file left unset.
	UnknownKind TypeKind = iota
	TensorKind
	SequenceKind
	MapKind
	OptionalKind
	SparseTensorKind
)

// Type is the type of a value. A tensor or sparse tensor has an element
// type and, when Shape is non-nil, a shape; a sequence or optional has an
// element type Elem; a map has a key type Key and a value type Elem.
type Type struct {
	Kind TypeKind
	// DType is the element type of a tensor or sparse tensor.
	DType DType
	// Shape is nil when the rank is unknown; an empty non-nil Shape is a
	// scalar.
	Shape Shape
	Key   DType
	Elem  *Type
	// Denotation is the type's standard denotation, such as "IMAGE".
	Denotation string
}

// TensorType returns the type of a tensor of dtype d with the given shape.
func TensorType(d DType, shape Shape) *Type {
	return &Type{Kind: TensorKind, DType: d, Shape: shape}
}

// String writes the type as, for example, "float32[N,3,224,224]",
// "seq(int64[])" or "map(string,float32[?])".
func (t *Type) String() string {
	if t == nil {
		return "?"
	}
	switch t.Kind {
	case TensorKind, SparseTensorKind:
		prefix := ""
		if t.Kind == SparseTensorKind {
			prefix = "sparse "
		}
		if t.Shape == nil {
			return prefix + t.DType.String() + "[*]"
		}
		return prefix + t.DType.String() + t.Shape.String()
	case SequenceKind:
		return "seq(" + t.Elem.String() + ")"
	case OptionalKind:
		return "optional(" + t.Elem.String() + ")"
	case MapKind:
		return "map(" + t.Key.String() + "," + t.Elem.String() + ")"
	}
	return "?"
}

// Dim is one dimension of a shape: a known size, a named symbol such as
// "N", or unknown (no size and no symbol).
type Dim struct {
	// Size is the dimension's size when Known; -1 otherwise.
	Size int64
	// Param is the symbol of a symbolic dimension.
	Param string
	// Denotation is the dimension's standard denotation, such as
	// "DATA_BATCH".
	Denotation string
}

// Known reports whether the dimension has a fixed size.
func (d Dim) Known() bool { return d.Size >= 0 }

// Fixed returns a dimension of size n.
func Fixed(n int64) Dim { return Dim{Size: n} }

// Symbol returns a symbolic dimension named p.
func Symbol(p string) Dim { return Dim{Size: -1, Param: p} }

// UnknownDim returns a dimension of unknown size with no name.
func UnknownDim() Dim { return Dim{Size: -1} }

func (d Dim) String() string {
	switch {
	case d.Known():
		return strconv.FormatInt(d.Size, 10)
	case d.Param != "":
		return d.Param
	}
	return "?"
}

// Shape is a list of dimensions, outermost first.
type Shape []Dim

// Dims returns a shape of fixed dimensions.
func Dims(sizes ...int64) Shape {
	s := make(Shape, len(sizes))
	for i, n := range sizes {
		s[i] = Fixed(n)
	}
	return s
}

// Known reports whether every dimension has a fixed size.
func (s Shape) Known() bool {
	for _, d := range s {
		if !d.Known() {
			return false
		}
	}
	return true
}

// Sizes returns the sizes of a fully known shape, and false when a
// dimension is not known.
func (s Shape) Sizes() ([]int64, bool) {
	out := make([]int64, len(s))
	for i, d := range s {
		if !d.Known() {
			return nil, false
		}
		out[i] = d.Size
	}
	return out, true
}

func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return "[" + strings.Join(parts, ",") + "]"
}
