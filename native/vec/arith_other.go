//go:build !amd64

package vec

// binaryFast leaves Binary to Go outside amd64.
func binaryFast(op BinaryOp, dst, x, y []float32) int { return 0 }

// binaryScalarFast leaves BinaryScalar to Go outside amd64.
func binaryScalarFast(op BinaryOp, dst, x []float32, y float32) int { return 0 }

// scalarBinaryFast leaves ScalarBinary to Go outside amd64.
func scalarBinaryFast(op BinaryOp, dst []float32, x float32, y []float32) int { return 0 }
