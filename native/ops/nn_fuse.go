package ops

// Variants of operators for inference runs, which keep nothing for a
// backward pass. The executor picks them; the model is not changed.

// ReLUFuser is an Op that can apply a Relu reading its first output
// itself, as Conv and Gemm do in their epilogue.
type ReLUFuser interface {
	Op
	// FuseReLU returns the op followed by max(0, ·) on its first output.
	// The result equals the Relu applied to the op's output bitwise.
	FuseReLU() Op
}

// Leaner is an Op with a cheaper variant for runs that keep nothing for
// Backward: MaxPool without Indices need not record where each maximum
// was.
type Leaner interface {
	Op
	// Lean returns the variant, with the same outputs, or the op itself
	// when it has none.
	Lean() Op
}
