package vec

//go:generate go run ./internal/arithgen -out arith_amd64.s -stubs arith_amd64.go -pkg vec

import "fmt"

// BinaryOp is one of the float32 operations of Binary, BinaryScalar and
// ScalarBinary.
type BinaryOp int

// The operations, with IEEE single-precision rounding: each result
// equals Go's float32 x + y, x - y, x * y or x / y.
const (
	OpAdd BinaryOp = iota
	OpSub
	OpMul
	OpDiv
)

// apply returns x op y.
func (op BinaryOp) apply(x, y float32) float32 {
	switch op {
	case OpAdd:
		return x + y
	case OpSub:
		return x - y
	case OpMul:
		return x * y
	}
	return x / y
}

// checkBinary panics unless op is an operation and the operands hold
// len(dst) elements.
func checkBinary(name string, op BinaryOp, dst []float32, operands ...[]float32) {
	if op < OpAdd || op > OpDiv {
		panic(fmt.Sprintf("vec: %s with operation %d", name, op))
	}
	for _, v := range operands {
		if len(v) < len(dst) {
			panic(fmt.Sprintf("vec: %s into %d elements from an operand of %d", name, len(dst), len(v)))
		}
	}
}

// Binary stores x[i] op y[i] in dst[i] for i < len(dst); x and y hold
// at least len(dst) elements. dst may be x or y.
func Binary(op BinaryOp, dst, x, y []float32) {
	checkBinary("Binary", op, dst, x, y)
	done := binaryFast(op, dst, x, y)
	x, y = x[:len(dst)], y[:len(dst)]
	for i := done; i < len(dst); i++ {
		dst[i] = op.apply(x[i], y[i])
	}
}

// BinaryScalar stores x[i] op y in dst[i] for i < len(dst); x holds at
// least len(dst) elements. dst may be x.
func BinaryScalar(op BinaryOp, dst, x []float32, y float32) {
	checkBinary("BinaryScalar", op, dst, x)
	done := binaryScalarFast(op, dst, x, y)
	x = x[:len(dst)]
	for i := done; i < len(dst); i++ {
		dst[i] = op.apply(x[i], y)
	}
}

// ScalarBinary stores x op y[i] in dst[i] for i < len(dst); y holds at
// least len(dst) elements. dst may be y.
func ScalarBinary(op BinaryOp, dst []float32, x float32, y []float32) {
	checkBinary("ScalarBinary", op, dst, y)
	done := scalarBinaryFast(op, dst, x, y)
	y = y[:len(dst)]
	for i := done; i < len(dst); i++ {
		dst[i] = op.apply(x, y[i])
	}
}
