package onnx

import (
	"google.golang.org/protobuf/proto"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/onnx/onnxpb"
)

// MarshalValue encodes d, named name, as the message of its kind: a
// TensorProto, a SequenceProto or an OptionalProto, as ReadValueFile and
// UnmarshalValue read them back.
func MarshalValue(d *graph.Datum, name string) ([]byte, error) {
	if d == nil {
		return nil, formatErr("nil value")
	}
	var msg proto.Message
	switch d.Kind {
	case graph.TensorKind:
		if d.Tensor == nil {
			return nil, formatErr("tensor value without a tensor")
		}
		t := *d.Tensor
		t.Name = name
		p, err := encodeTensor(&t, nil)
		if err != nil {
			return nil, err
		}
		msg = p
	case graph.SequenceKind:
		p, err := encodeSequence(d)
		if err != nil {
			return nil, err
		}
		p.Name = proto.String(name)
		msg = p
	case graph.OptionalKind:
		p, err := encodeOptional(d)
		if err != nil {
			return nil, err
		}
		p.Name = proto.String(name)
		msg = p
	default:
		return nil, &UnsupportedError{Msg: "values of kind " + d.Kind.String()}
	}
	return marshalLimited(msg)
}

// WriteValueFile writes d, named name, to the file at path as
// MarshalValue encodes it, atomically as WriteFile does.
func WriteValueFile(path string, d *graph.Datum, name string) error {
	data, err := MarshalValue(d, name)
	if err != nil {
		return &FormatError{File: path, Msg: "cannot encode the value", Err: err}
	}
	return writeAtomic(path, data)
}

// elemKindOf is the SequenceProto/OptionalProto element kind of d's
// elements; an empty container's kind is tensor.
func elemKindOf(elems []*graph.Datum) int32 {
	if len(elems) == 0 {
		return elemTensor
	}
	switch elems[0].Kind {
	case graph.SequenceKind:
		return elemSequence
	case graph.OptionalKind:
		return elemOptional
	}
	return elemTensor
}

func encodeSequence(d *graph.Datum) (*onnxpb.SequenceProto, error) {
	kind := elemKindOf(d.Elems)
	p := &onnxpb.SequenceProto{ElemType: proto.Int32(kind)}
	for i, e := range d.Elems {
		if elemKindOf([]*graph.Datum{e}) != kind {
			return nil, formatErr("sequence element %d is a %v, element 0 a %v", i, e.Kind, d.Elems[0].Kind)
		}
		switch e.Kind {
		case graph.TensorKind:
			t, err := encodeTensor(e.Tensor, nil)
			if err != nil {
				return nil, within(err, "sequence element")
			}
			p.TensorValues = append(p.TensorValues, t)
		case graph.SequenceKind:
			s, err := encodeSequence(e)
			if err != nil {
				return nil, within(err, "sequence element")
			}
			p.SequenceValues = append(p.SequenceValues, s)
		case graph.OptionalKind:
			o, err := encodeOptional(e)
			if err != nil {
				return nil, within(err, "sequence element")
			}
			p.OptionalValues = append(p.OptionalValues, o)
		default:
			return nil, &UnsupportedError{Msg: "sequences of " + e.Kind.String() + " values"}
		}
	}
	return p, nil
}

func encodeOptional(d *graph.Datum) (*onnxpb.OptionalProto, error) {
	if len(d.Elems) > 1 {
		return nil, formatErr("optional value with %d elements", len(d.Elems))
	}
	p := &onnxpb.OptionalProto{ElemType: proto.Int32(elemKindOf(d.Elems))}
	if len(d.Elems) == 0 {
		return p, nil
	}
	e := d.Elems[0]
	var err error
	switch e.Kind {
	case graph.TensorKind:
		p.TensorValue, err = encodeTensor(e.Tensor, nil)
	case graph.SequenceKind:
		p.SequenceValue, err = encodeSequence(e)
	case graph.OptionalKind:
		p.OptionalValue, err = encodeOptional(e)
	default:
		return nil, &UnsupportedError{Msg: "optionals of " + e.Kind.String() + " values"}
	}
	if err != nil {
		return nil, within(err, "optional element")
	}
	return p, nil
}
