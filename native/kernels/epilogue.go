package kernels

import (
	"fmt"

	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/vec"
)

// ActivationKind names the function an epilogue applies to each output
// of a Conv, Gemm or MatMul as it is stored, so that the activation that
// reads the output costs no pass of its own over memory.
type ActivationKind uint8

// The activations an epilogue applies, as the ONNX operators of the same
// name compute them on float32 (package vec):
const (
	ActIdentity    ActivationKind = iota // y
	ActRelu                              // max(0, y)
	ActClip                              // y clamped to [Alpha, Beta]
	ActLeakyRelu                         // y < 0 ? Alpha*y : y
	ActHardSigmoid                       // max(0, min(1, Alpha*y + Beta))
	ActHardSwish                         // y * HardSigmoid(y) with alpha 1/6, beta 1/2
	ActSigmoid                           // 1 / (1 + e^-y)
	ActTanh                              // tanh y
	ActSiLU                              // y * Sigmoid(y)
	ActGelu                              // y Φ(y), the exact (erf) form
	// ActErfGelu is Gelu as exporters spell it in elementwise nodes,
	// ((y * (erf(y / Alpha) + 1)) * Beta), each operation rounded as
	// those nodes round it (Alpha √2, Beta 1/2).
	ActErfGelu
	// ActSoftmax is Softmax along y's rows, as SoftmaxForward computes
	// it: Apply takes dst as one row. Only MatMul's epilogues, which
	// see whole rows of its output (applyRows, epilogueRows), apply it;
	// an epilogue over parts of rows must not.
	ActSoftmax
)

// Activation is an epilogue's activation and its parameters. The zero
// value is the identity.
type Activation struct {
	Kind ActivationKind
	// Alpha and Beta are Clip's bounds (low, high), LeakyRelu's slope
	// (Alpha), HardSigmoid's slope and offset; unused otherwise.
	Alpha, Beta float32
}

// Relu is the Activation max(0, ·).
var Relu = Activation{Kind: ActRelu}

// String names a and its parameters.
func (a Activation) String() string {
	names := [...]string{"Identity", "Relu", "Clip", "LeakyRelu", "HardSigmoid", "HardSwish", "Sigmoid", "Tanh", "SiLU", "Gelu", "ErfGelu", "Softmax"}
	if int(a.Kind) >= len(names) {
		return fmt.Sprintf("Activation(%d)", a.Kind)
	}
	switch a.Kind {
	case ActClip, ActHardSigmoid, ActErfGelu:
		return fmt.Sprintf("%s(%g, %g)", names[a.Kind], a.Alpha, a.Beta)
	case ActLeakyRelu:
		return fmt.Sprintf("%s(%g)", names[a.Kind], a.Alpha)
	}
	return names[a.Kind]
}

// Apply stores a(src[i]) in dst[i]; dst and src have the same length
// and may be the same slice. The results are bitwise those of package
// vec's function of the same name (Relu: Go's max(v, 0)), and for
// ActSoftmax those of SoftmaxForward on src as one row.
func (a Activation) Apply(dst, src []float32) {
	switch a.Kind {
	case ActIdentity:
		copy(dst, src)
	case ActRelu:
		vec.Relu(dst, src)
	case ActClip:
		vec.Clip(dst, src, a.Alpha, a.Beta)
	case ActLeakyRelu:
		vec.LeakyRelu(dst, src, a.Alpha)
	case ActHardSigmoid:
		vec.HardSigmoid(dst, src, a.Alpha, a.Beta)
	case ActHardSwish:
		vec.HardSwish(dst, src)
	case ActSigmoid:
		vec.Sigmoid(dst, src)
	case ActTanh:
		vec.Tanh(dst, src)
	case ActSiLU:
		vec.SiLU(dst, src)
	case ActGelu:
		vec.Gelu(dst, src)
	case ActErfGelu:
		vec.ErfGelu(dst, src, a.Alpha, a.Beta)
	case ActSoftmax:
		softmaxRow(dst, src)
	default:
		panic(fmt.Sprintf("kernels: unknown activation kind %d", a.Kind))
	}
}

// after applies a in place to y, just stored, unless a is the identity
// or Relu, which the stores apply themselves (storeEpilogue and the vec
// loops' relu flag).
func (a Activation) after(y []float32) {
	if a.Kind != ActIdentity && a.Kind != ActRelu {
		a.Apply(y, y)
	}
}

// relu reports whether a is Relu, which the stores apply themselves.
func (a Activation) relu() bool { return a.Kind == ActRelu }

// checkBackward panics unless a backward pass can go through a: only the
// identity and Relu (zero where y is 0) have one; executors fuse the
// others in runs that record nothing.
func (a Activation) checkBackward(op string) {
	if a.Kind != ActIdentity && a.Kind != ActRelu {
		panic(fmt.Sprintf("kernels: %s backward through a fused %v", op, a))
	}
}

// Scale multiplies a product's output by By, or divides it by By, as a
// Mul or Div by a scalar would: the first step of MatMul's epilogue
// (attention's scores divided by the square root of the head size).
type Scale struct {
	By     float32
	Divide bool
}

// apply scales row in place; a nil s does nothing.
func (s *Scale) apply(row []float32) {
	switch {
	case s == nil:
	case s.Divide:
		vec.BinaryScalar(vec.OpDiv, row, row, s.By)
	default:
		vec.BinaryScalar(vec.OpMul, row, row, s.By)
	}
}

// applyRows applies a in place to the rows x n matrix y, after scaling
// it by sc when sc is not nil, then adding a length-n bias to each row
// when bias is not nil, then the residual r, of y's shape, when r is not
// nil, the rows spread over the workers: the epilogue of a matrix
// product, while the product is still in cache.
func applyRows(a Activation, sc *Scale, y, bias, r []float32, rows, n int) {
	if sc == nil && bias == nil && r == nil && a.Kind == ActIdentity {
		return
	}
	t := rowEpilogues.Get()
	*t = rowEpilogue{a: a, sc: sc, y: y, bias: bias, r: r, n: n}
	parallel.Run(rows, grainFor(n), t)
	rowEpilogues.Put(t)
}

// rowEpilogue is applyRows' loop over the rows.
type rowEpilogue struct {
	a          Activation
	sc         *Scale
	y, bias, r []float32
	n          int
}

var rowEpilogues parallel.Tasks[rowEpilogue]

func (t *rowEpilogue) Range(lo, hi int) {
	var rr []float32
	if t.r != nil {
		rr = t.r[lo*t.n : hi*t.n]
	}
	epilogueRows(t.a, t.sc, t.y[lo*t.n:hi*t.n], t.bias, rr, t.n)
}

// epilogueRows is applyRows on the rows of y, n long, on this goroutine
// (r, nil or of y's length, holds the residual of the same rows).
func epilogueRows(a Activation, sc *Scale, y, bias, r []float32, n int) {
	if a.Kind == ActSoftmax && sc == nil && bias == nil && r == nil && len(y)%n == 0 {
		// Attention's scores: every row in one call.
		vec.SoftmaxRows(y, y, n)
		return
	}
	for i := 0; i+n <= len(y); i += n {
		row := y[i : i+n]
		sc.apply(row)
		if bias != nil {
			vec.Binary(vec.OpAdd, row, row, bias[:n])
		}
		if r != nil {
			vec.Binary(vec.OpAdd, row, row, r[i:i+n])
		}
		if a.Kind != ActIdentity {
			a.Apply(row, row)
		}
	}
}
