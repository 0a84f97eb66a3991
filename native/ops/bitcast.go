package ops

// BitCast (opset 26): the bits of X reinterpreted as elements of the type
// named by attribute to, which must have X's element width; the shape is
// X's. Unlike Cast, no value is converted: BitCast(float32 1.0) to int32
// is 0x3f800000. Bytes are laid out little-endian, as ONNX stores tensors.

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// bitcastOps is the operator table of bitcast.go (see registry.go).
var bitcastOps = []Entry{
	{OpType: "BitCast", Since: []int64{26}, Build: newBitCast},
}

// bitCastOp is BitCast.
type bitCastOp struct {
	to graph.DType
}

func newBitCast(n *graph.Node, _ int64) (Op, error) {
	if !n.HasAttr("to") {
		return nil, attrError(n, "to", "is missing")
	}
	to, err := n.Declared().Int("to")
	if err != nil {
		return nil, err
	}
	dt := graph.DType(to)
	if !dt.Valid() || dt.WireSize() == 0 {
		return nil, attrError(n, "to", "is %v, want a type of fixed byte width", dt)
	}
	return &bitCastOp{to: dt}, nil
}

// Forward reinterprets the bits of X.
func (op *bitCastOp) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if x.DType.WireSize() == 0 {
		return nil, fmt.Errorf("input is %v; want a type of fixed byte width", x.DType)
	}
	if x.DType.WireSize() != op.to.WireSize() {
		return nil, fmt.Errorf("input is %v (%d bytes an element) and to is %v (%d): want one width", x.DType, x.DType.WireSize(), op.to, op.to.WireSize())
	}
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.LittleEndian, x.Data); err != nil {
		return nil, fmt.Errorf("input %v: %w", x.DType, err)
	}
	y := tensor.New(op.to, x.Shape...)
	if err := binary.Read(&buf, binary.LittleEndian, y.Data); err != nil {
		return nil, fmt.Errorf("output %v: %w", op.to, err)
	}
	return []*tensor.Tensor{y}, nil
}
