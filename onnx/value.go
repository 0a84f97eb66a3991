package onnx

import (
	"fmt"
	"path/filepath"

	"google.golang.org/protobuf/proto"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/internal/fileio"
	"github.com/onnxkit/onnxkit/onnx/onnxpb"
)

// The element kinds of SequenceProto.DataType and OptionalProto.DataType.
const (
	elemTensor       = 1
	elemSparseTensor = 2
	elemSequence     = 3
	elemMap          = 4
	elemOptional     = 5
)

// ReadValueFile reads a file holding one value of the declared type: a
// serialized TensorProto for a tensor (or when declared is nil or of
// unknown kind), a SequenceProto for a sequence, an OptionalProto for an
// optional. The declared type also gives the element type of empty
// sequences and optionals.
func ReadValueFile(path string, declared *graph.Type) (*graph.Datum, error) {
	data, err := fileio.ReadRegular(path, MaxFileSize)
	if err != nil {
		return nil, err
	}
	d := &decoder{file: path, dir: filepath.Dir(path), open: openData}
	return d.decodeValueBytes(data, declared)
}

// UnmarshalValue decodes one serialized value of the declared type, as
// ReadValueFile does.
func UnmarshalValue(data []byte, declared *graph.Type) (*graph.Datum, error) {
	d := &decoder{}
	return d.decodeValueBytes(data, declared)
}

func (d *decoder) decodeValueBytes(data []byte, declared *graph.Type) (*graph.Datum, error) {
	var (
		msg  proto.Message
		name string
	)
	switch kindOf(declared) {
	case graph.TensorKind:
		msg, name = &onnxpb.TensorProto{}, "TensorProto"
	case graph.SequenceKind:
		msg, name = &onnxpb.SequenceProto{}, "SequenceProto"
	case graph.OptionalKind:
		msg, name = &onnxpb.OptionalProto{}, "OptionalProto"
	default:
		return nil, &UnsupportedError{File: d.file, Msg: fmt.Sprintf("values of type %v", declared)}
	}
	if err := proto.Unmarshal(data, msg); err != nil {
		return nil, &FormatError{File: d.file, Msg: "not a valid " + name, Err: err}
	}
	if err := checkUnknown(msg.ProtoReflect()); err != nil {
		return nil, locate(err, d.file, "", "", "")
	}
	var (
		v   *graph.Datum
		err error
	)
	switch p := msg.(type) {
	case *onnxpb.TensorProto:
		v, err = d.tensorDatum(p)
	case *onnxpb.SequenceProto:
		v, err = d.sequence(p, declared)
	case *onnxpb.OptionalProto:
		v, err = d.optional(p, declared)
	}
	if err != nil {
		return nil, locate(err, d.file, "", "", "")
	}
	return v, nil
}

// kindOf is the kind of value a file of the declared type holds: a
// tensor unless the type says otherwise.
func kindOf(t *graph.Type) graph.TypeKind {
	if t == nil || t.Kind == graph.UnknownKind {
		return graph.TensorKind
	}
	return t.Kind
}

// elemOf returns the declared element type of a sequence or optional
// type, or nil.
func elemOf(t *graph.Type) *graph.Type {
	if t == nil {
		return nil
	}
	return t.Elem
}

// bottomDType is the tensor element type at the bottom of t, or Undefined.
func bottomDType(t *graph.Type) graph.DType {
	for t != nil {
		if t.Kind == graph.TensorKind || t.Kind == graph.SparseTensorKind {
			return t.DType
		}
		t = t.Elem
	}
	return graph.Undefined
}

func (d *decoder) tensorDatum(p *onnxpb.TensorProto) (*graph.Datum, error) {
	t, err := d.tensor(p)
	if err != nil {
		return nil, err
	}
	return &graph.Datum{Kind: graph.TensorKind, Tensor: t, DType: t.DType}, nil
}

// checkElemKind checks that an element kind of the file agrees with the
// declared element type, when that is known.
func checkElemKind(what string, elemType int32, declared *graph.Type) error {
	want := map[graph.TypeKind]int32{
		graph.TensorKind:       elemTensor,
		graph.SparseTensorKind: elemSparseTensor,
		graph.SequenceKind:     elemSequence,
		graph.MapKind:          elemMap,
		graph.OptionalKind:     elemOptional,
	}[kindOf(declared)]
	if declared != nil && declared.Kind != graph.UnknownKind && elemType != want {
		return formatErr("%s holds elements of kind %d, the declared type %v wants %d", what, elemType, declared, want)
	}
	return nil
}

func (d *decoder) sequence(p *onnxpb.SequenceProto, declared *graph.Type) (*graph.Datum, error) {
	elem := elemOf(declared)
	v := &graph.Datum{Kind: graph.SequenceKind, DType: bottomDType(elem)}
	if len(p.GetSparseTensorValues()) > 0 || len(p.GetMapValues()) > 0 {
		return nil, &UnsupportedError{Msg: "sequences of sparse tensors or maps"}
	}
	counts := map[int32]int{
		elemTensor:   len(p.GetTensorValues()),
		elemSequence: len(p.GetSequenceValues()),
		elemOptional: len(p.GetOptionalValues()),
	}
	for kind, n := range counts {
		if n > 0 && kind != p.GetElemType() {
			return nil, formatErr("sequence of element kind %d holds %d values of kind %d", p.GetElemType(), n, kind)
		}
	}
	if counts[p.GetElemType()] == 0 {
		return v, nil // empty: the element kind may be left undefined
	}
	if err := checkElemKind("sequence", p.GetElemType(), elem); err != nil {
		return nil, err
	}
	add := func(e *graph.Datum, err error) error {
		if err != nil {
			return within(err, fmt.Sprintf("sequence element %d", len(v.Elems)))
		}
		if err := agree(v, e); err != nil {
			return err
		}
		v.Elems = append(v.Elems, e)
		return nil
	}
	for _, t := range p.GetTensorValues() {
		if err := add(d.tensorDatum(t)); err != nil {
			return nil, err
		}
	}
	for _, s := range p.GetSequenceValues() {
		if err := add(d.sequence(s, elem)); err != nil {
			return nil, err
		}
	}
	for _, o := range p.GetOptionalValues() {
		if err := add(d.optional(o, elem)); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// agree gives a container the element type of its first element, and
// checks that the later ones share it.
func agree(container, e *graph.Datum) error {
	switch {
	case e.DType == graph.Undefined:
	case container.DType == graph.Undefined:
		container.DType = e.DType
	case container.DType != e.DType:
		return formatErr("element %d is of type %v, the earlier elements or the declared type say %v",
			len(container.Elems), e.DType, container.DType)
	}
	return nil
}

func (d *decoder) optional(p *onnxpb.OptionalProto, declared *graph.Type) (*graph.Datum, error) {
	elem := elemOf(declared)
	v := &graph.Datum{Kind: graph.OptionalKind, DType: bottomDType(elem)}
	if p.SparseTensorValue != nil || p.MapValue != nil {
		return nil, &UnsupportedError{Msg: "optionals of sparse tensors or maps"}
	}
	set := 0
	for _, present := range []bool{p.TensorValue != nil, p.SequenceValue != nil, p.OptionalValue != nil} {
		if present {
			set++
		}
	}
	if set > 1 {
		return nil, formatErr("optional holds %d values, want at most 1", set)
	}
	if set == 0 {
		return v, nil // empty
	}
	if err := checkElemKind("optional", p.GetElemType(), elem); err != nil {
		return nil, err
	}
	var (
		e   *graph.Datum
		err error
	)
	switch p.GetElemType() {
	case elemTensor:
		if p.TensorValue == nil {
			return nil, formatErr("optional of element kind tensor holds no tensor_value")
		}
		e, err = d.tensorDatum(p.TensorValue)
	case elemSequence:
		if p.SequenceValue == nil {
			return nil, formatErr("optional of element kind sequence holds no sequence_value")
		}
		e, err = d.sequence(p.SequenceValue, elem)
	case elemOptional:
		if p.OptionalValue == nil {
			return nil, formatErr("optional of element kind optional holds no optional_value")
		}
		e, err = d.optional(p.OptionalValue, elem)
	default:
		return nil, formatErr("optional holds a value but its element kind is %d", p.GetElemType())
	}
	if err != nil {
		return nil, within(err, "optional element")
	}
	if err := agree(v, e); err != nil {
		return nil, err
	}
	v.Elems = []*graph.Datum{e}
	return v, nil
}
