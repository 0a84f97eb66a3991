package ops

// Signal processing ops of opset 17: the Hann, Hamming and Blackman
// windows, DFT, STFT and MelWeightMatrix.
//
// Complex tensors are real tensors with a trailing dimension of 2 (real,
// imaginary); a real signal has a trailing dimension of 1. Transforms are
// fast Fourier transforms in float64, O(n log n) for every length:
//
//	X[k] = sum_n x[n] exp(-2πi kn/N)            forward
//	x[n] = (1/N) sum_k X[k] exp(+2πi kn/N)      inverse

import (
	"fmt"
	"math"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// miscSignalOps is the operator table of misc_signal.go (see registry.go).
// The windows are generalised cosine windows a0 - a1 cos(2πn/N) +
// a2 cos(4πn/N), with the coefficients of the ONNX function bodies.
var miscSignalOps = []Entry{
	{OpType: "HannWindow", Since: []int64{17}, Build: newCosineWindow([3]float64{0.5, 0.5, 0})},
	{OpType: "HammingWindow", Since: []int64{17}, Build: newCosineWindow([3]float64{25.0 / 46, 21.0 / 46, 0})},
	{OpType: "BlackmanWindow", Since: []int64{17}, Build: newCosineWindow([3]float64{0.42, 0.5, 0.08})},
	{OpType: "DFT", Since: []int64{17, 20}, Build: newDFT},
	{OpType: "STFT", Since: []int64{17}, Build: newSTFT},
	{OpType: "MelWeightMatrix", Since: []int64{17}, Build: newMelWeightMatrix},
}

// signalMaxLength bounds generated and transformed lengths, so that a
// wild size input is an error rather than an allocation failure.
const signalMaxLength = 1 << 22

// outputDType decodes the output_datatype attribute (default float32),
// which must name a numeric type.
func outputDType(n *graph.Node) (graph.DType, error) {
	v, err := n.Declared().Int("output_datatype")
	if err != nil {
		return 0, err
	}
	dt := graph.DType(v)
	if !isRealDType(dt) {
		return 0, attrError(n, "output_datatype", "is %d, want a numeric type", v)
	}
	return dt, nil
}

// float64sAs converts float64 values to a tensor of numeric type dt
// (integers truncate toward zero).
func float64sAs(vals []float64, dt graph.DType, shape []int) *tensor.Tensor {
	switch dt {
	case graph.Float32, graph.Float64, graph.Float16, graph.BFloat16:
		return float64sToDType(vals, dt, shape)
	case graph.Int8:
		return storeData(dt, shape, convertAll[int8](vals))
	case graph.Int16:
		return storeData(dt, shape, convertAll[int16](vals))
	case graph.Int32:
		return storeData(dt, shape, convertAll[int32](vals))
	case graph.Int64:
		return storeData(dt, shape, convertAll[int64](vals))
	case graph.Uint8:
		return storeData(dt, shape, convertAll[uint8](vals))
	case graph.Uint16:
		return storeData(dt, shape, convertAll[uint16](vals))
	case graph.Uint32:
		return storeData(dt, shape, convertAll[uint32](vals))
	}
	return storeData(dt, shape, convertAll[uint64](vals))
}

func convertAll[T realNumber](vals []float64) []T {
	out := make([]T, len(vals))
	for i, v := range vals {
		out[i] = fromFloat64[T](v)
	}
	return out
}

// cosineWindow is HannWindow, HammingWindow or BlackmanWindow: input size
// (an int scalar), output [size] of type output_datatype. periodic
// (default 1) divides the phase by size, otherwise by size-1 (a size of 1
// then gives NaN, as the ONNX function body does).
type cosineWindow struct {
	coef     [3]float64
	periodic bool
	dtype    graph.DType
}

func newCosineWindow(coef [3]float64) Constructor {
	return func(n *graph.Node, opset int64) (Op, error) {
		p, err := n.Declared().Int("periodic")
		if err != nil {
			return nil, err
		}
		dt, err := outputDType(n)
		if err != nil {
			return nil, err
		}
		return &cosineWindow{coef: coef, periodic: p != 0, dtype: dt}, nil
	}
}

// Forward returns the window.
func (w *cosineWindow) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, -1); err != nil {
		return nil, err
	}
	size, err := intScalar(in[0], "size")
	if err != nil {
		return nil, err
	}
	if size < 0 || size > signalMaxLength {
		return nil, fmt.Errorf("size %d is out of range", size)
	}
	period := float64(size)
	if !w.periodic {
		period--
	}
	vals := make([]float64, size)
	for i := range vals {
		phase := 2 * math.Pi * float64(i) / period
		vals[i] = w.coef[0] - w.coef[1]*math.Cos(phase) + w.coef[2]*math.Cos(2*phase)
	}
	return []*tensor.Tensor{float64sAs(vals, w.dtype, []int{int(size)})}, nil
}

// dft is DFT: a discrete Fourier transform along axis (default 1, never
// the last, complex dimension) of a real [..., 1] or complex [..., 2]
// input. dft_length (optional input) zero-pads or truncates the signal;
// inverse (default 0) transforms back with the 1/N factor; onesided
// (default 0) keeps the floor(N/2)+1 non-redundant bins of a forward
// transform. Output: complex, [..., 2]. An inverse onesided transform
// (numpy's irfft) takes the floor(N/2)+1 bins of a Hermitian spectrum,
// N being dft_length or else 2*(bins-1), and returns the real signal,
// [..., 1]. Opset history: 17; 20 moved axis to an optional third input
// (default -2).
type dft struct {
	axis              int64
	axisInput         bool // opset 20: axis is input 2
	inverse, onesided bool
}

func newDFT(n *graph.Node, opset int64) (Op, error) {
	op := &dft{axis: -2, axisInput: opset >= 20}
	var err error
	if !op.axisInput {
		if op.axis, err = n.Declared().Int("axis"); err != nil {
			return nil, err
		}
	}
	ints, err := n.Declared().IntList("inverse", "onesided")
	if err != nil {
		return nil, err
	}
	inv, one := ints[0], ints[1]
	op.inverse, op.onesided = inv != 0, one != 0
	return op, nil
}

// complexInput returns x's values as interleaved complex pairs, checking
// that its last dimension is 1 (real) or 2 (complex).
func complexInput(x *tensor.Tensor, what string) ([]complex128, error) {
	r := len(x.Shape)
	if r < 2 || x.Shape[r-1] != 1 && x.Shape[r-1] != 2 {
		return nil, fmt.Errorf("%s is %v, want a last dimension of 1 (real) or 2 (complex)", what, x)
	}
	vals, err := floatValues(x, what)
	if err != nil {
		return nil, err
	}
	out := make([]complex128, len(vals)/x.Shape[r-1])
	for i := range out {
		if x.Shape[r-1] == 1 {
			out[i] = complex(vals[i], 0)
		} else {
			out[i] = complex(vals[2*i], vals[2*i+1])
		}
	}
	return out, nil
}

// complexOutput returns complex values as a [..., 2] tensor of type dt.
func complexOutput(vals []complex128, dt graph.DType, shape []int) *tensor.Tensor {
	flat := make([]float64, 2*len(vals))
	for i, v := range vals {
		flat[2*i], flat[2*i+1] = real(v), imag(v)
	}
	return float64sToDType(flat, dt, append(append([]int(nil), shape...), 2))
}

// Forward returns the transform.
func (op *dft) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, -1); err != nil {
		return nil, err
	}
	x := in[0]
	vals, err := complexInput(x, "input")
	if err != nil {
		return nil, err
	}
	shape := x.Shape[:len(x.Shape)-1] // without the complex dimension
	axisArg := op.axis
	if t := optionalInput(in, 2); t != nil && op.axisInput {
		if axisArg, err = intScalar(t, "axis"); err != nil {
			return nil, err
		}
	}
	axis, err := resolveAxis(axisArg, len(x.Shape), "axis")
	if err != nil || axis == len(x.Shape)-1 {
		return nil, fmt.Errorf("axis %d is out of range for input %v (the last dimension holds the complex parts)", axisArg, x)
	}
	if op.inverse && op.onesided {
		return inverseOnesided(vals, shape, axis, optionalInput(in, 1), x.DType)
	}
	n := shape[axis]
	if t := optionalInput(in, 1); t != nil {
		l, err := intScalar(t, "dft_length")
		if err != nil {
			return nil, err
		}
		if l < 1 || l > signalMaxLength {
			return nil, fmt.Errorf("dft_length %d is out of range", l)
		}
		n = int(l)
	}
	if n == 0 {
		return nil, fmt.Errorf("axis %d of input %v is empty: nothing to transform", axis, x)
	}
	bins := n
	if op.onesided {
		if x.Shape[len(x.Shape)-1] == 2 {
			return nil, fmt.Errorf("a onesided transform needs a real input, got %v", x)
		}
		bins = n/2 + 1
	}
	outer, length, inner := splitAtAxis(shape, axis)
	if float64(outer)*float64(inner)*float64(bins) > resizeMaxElements {
		return nil, fmt.Errorf("the output has too many elements")
	}
	out := make([]complex128, outer*bins*inner)
	line := make([]complex128, n)
	res := make([]complex128, bins)
	for o := range outer {
		for i := range inner {
			for k := range line {
				line[k] = 0
				if k < length {
					line[k] = vals[(o*length+k)*inner+i]
				}
			}
			transformInto(line, res, op.inverse)
			for k, v := range res {
				out[(o*bins+k)*inner+i] = v
			}
		}
	}
	outShape := append([]int(nil), shape...)
	outShape[axis] = bins
	return []*tensor.Tensor{complexOutput(out, x.DType, outShape)}, nil
}

// inverseOnesided is DFT's inverse onesided transform of vals, complex
// values of shape, along axis: the real signal whose spectrum's first
// bins vals holds.
func inverseOnesided(vals []complex128, shape []int, axis int, length *tensor.Tensor, dt graph.DType) ([]*tensor.Tensor, error) {
	bins := shape[axis]
	n := 2 * (bins - 1)
	if length != nil {
		l, err := intScalar(length, "dft_length")
		if err != nil {
			return nil, err
		}
		if l < 1 || l > signalMaxLength {
			return nil, fmt.Errorf("dft_length %d is out of range", l)
		}
		n = int(l)
	}
	if n < 1 {
		return nil, fmt.Errorf("axis %d has %d bins: too few for an inverse onesided transform without dft_length", axis, bins)
	}
	outer, _, inner := splitAtAxis(shape, axis)
	if float64(outer)*float64(inner)*float64(n) > resizeMaxElements {
		return nil, fmt.Errorf("the output has too many elements")
	}
	out := make([]float64, outer*n*inner)
	full := make([]complex128, n)
	res := make([]complex128, n)
	bin := func(o, i, k int) complex128 {
		if k >= bins {
			return 0
		}
		return vals[(o*bins+k)*inner+i]
	}
	for o := range outer {
		for i := range inner {
			// The Hermitian spectrum: X[n-k] = conj(X[k]).
			for k := range full {
				if k <= n/2 {
					full[k] = bin(o, i, k)
				} else {
					v := bin(o, i, n-k)
					full[k] = complex(real(v), -imag(v))
				}
			}
			transformInto(full, res, true)
			for k, v := range res {
				out[(o*n+k)*inner+i] = real(v)
			}
		}
	}
	outShape := append([]int(nil), shape...)
	outShape[axis] = n
	return []*tensor.Tensor{float64sToDType(out, dt, append(outShape, 1))}, nil
}

// transformInto writes the first len(out) bins of the transform of x
// into out; inverse uses the positive exponent and the 1/N factor.
func transformInto(x, out []complex128, inverse bool) {
	full := fft(x, inverse)
	scale := complex(1, 0)
	if inverse {
		scale = complex(1/float64(len(x)), 0)
	}
	for k := range out {
		out[k] = full[k] * scale
	}
}

// fft returns the unnormalised transform of x, len(x) >= 1: radix-2
// Cooley-Tukey when the length is a power of two, otherwise Bluestein's
// algorithm, which rewrites the transform as a convolution computed with
// power-of-two transforms. Either way O(n log n).
func fft(x []complex128, inverse bool) []complex128 {
	n := len(x)
	if n&(n-1) == 0 {
		out := append([]complex128(nil), x...)
		radix2FFT(out, inverse)
		return out
	}
	// X[k] = conj(w[k]) sum_j (x[j] conj(w[j])) w[k-j], w[j] = exp(±iπj²/n)
	// with the sign of the transform's exponent flipped.
	sign := 1.0
	if inverse {
		sign = -1
	}
	chirp := make([]complex128, n)
	for j := range chirp {
		// j² mod 2n keeps the angle small, and exact for large j.
		angle := sign * math.Pi * float64(j*j%(2*n)) / float64(n)
		chirp[j] = complex(math.Cos(angle), math.Sin(angle))
	}
	m := 1
	for m < 2*n-1 {
		m *= 2
	}
	a := make([]complex128, m)
	b := make([]complex128, m)
	for j, v := range x {
		a[j] = v * cmplxConj(chirp[j])
	}
	b[0] = chirp[0]
	for j := 1; j < n; j++ {
		b[j], b[m-j] = chirp[j], chirp[j]
	}
	radix2FFT(a, false)
	radix2FFT(b, false)
	for i := range a {
		a[i] *= b[i]
	}
	radix2FFT(a, true)
	out := make([]complex128, n)
	for k := range out {
		out[k] = a[k] / complex(float64(m), 0) * cmplxConj(chirp[k])
	}
	return out
}

func cmplxConj(v complex128) complex128 { return complex(real(v), -imag(v)) }

// radix2FFT transforms x in place without normalisation; len(x) is a
// power of two. The forward transform uses exp(-2πi kn/N).
func radix2FFT(x []complex128, inverse bool) {
	n := len(x)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j |= bit
		if i < j {
			x[i], x[j] = x[j], x[i]
		}
	}
	sign := -1.0
	if inverse {
		sign = 1
	}
	for size := 2; size <= n; size <<= 1 {
		half := size / 2
		for k := range half {
			angle := sign * 2 * math.Pi * float64(k) / float64(size)
			w := complex(math.Cos(angle), math.Sin(angle))
			for start := 0; start < n; start += size {
				u, v := x[start+k], x[start+k+half]*w
				x[start+k], x[start+k+half] = u+v, u-v
			}
		}
	}
}

// stft is STFT: the transforms of successive frames of a signal
// [batch, length, 1 or 2]. Frame f covers samples [f*frame_step,
// f*frame_step + frame_length), weighted by window (default all ones);
// there are 1 + (length - frame_length)/frame_step frames. frame_length
// defaults to the window's length, or the signal's. onesided (default 1)
// keeps frame_length/2 + 1 bins. Output: [batch, frames, bins, 2].
// Opset history: 17.
type stft struct{ onesided bool }

func newSTFT(n *graph.Node, opset int64) (Op, error) {
	one, err := n.Declared().Int("onesided")
	if err != nil {
		return nil, err
	}
	return &stft{onesided: one != 0}, nil
}

// Forward returns the spectrogram.
func (op *stft) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 2, -1); err != nil {
		return nil, err
	}
	x := in[0]
	if len(x.Shape) != 3 {
		return nil, fmt.Errorf("signal is %v, want [batch, length, 1 or 2]", x)
	}
	vals, err := complexInput(x, "signal")
	if err != nil {
		return nil, err
	}
	batch, length := x.Shape[0], x.Shape[1]
	step, err := intScalar(in[1], "frame_step")
	if err != nil {
		return nil, err
	}
	if step < 1 {
		return nil, fmt.Errorf("frame_step %d is not positive", step)
	}
	var window []float64
	if w := optionalInput(in, 2); w != nil {
		if len(w.Shape) != 1 {
			return nil, fmt.Errorf("window is %v, want rank 1", w)
		}
		if window, err = floatValues(w, "window"); err != nil {
			return nil, err
		}
	}
	frameLen := int64(length)
	if window != nil {
		frameLen = int64(len(window))
	}
	if t := optionalInput(in, 3); t != nil {
		if frameLen, err = intScalar(t, "frame_length"); err != nil {
			return nil, err
		}
		if window != nil && int64(len(window)) != frameLen {
			return nil, fmt.Errorf("window has %d values but frame_length is %d", len(window), frameLen)
		}
	}
	if frameLen < 1 || frameLen > int64(length) {
		return nil, fmt.Errorf("frame_length %d is out of range for a signal of length %d", frameLen, length)
	}
	if window == nil {
		window = make([]float64, frameLen)
		for i := range window {
			window[i] = 1
		}
	}
	bins := int(frameLen)
	if op.onesided {
		if x.Shape[2] == 2 {
			return nil, fmt.Errorf("a onesided transform needs a real signal, got %v", x)
		}
		bins = bins/2 + 1
	}
	frames := 1 + (int64(length)-frameLen)/step
	if float64(batch)*float64(frames)*float64(bins) > resizeMaxElements {
		return nil, fmt.Errorf("the output [%d, %d, %d, 2] has too many elements", batch, frames, bins)
	}
	out := make([]complex128, int64(batch)*frames*int64(bins))
	frame := make([]complex128, frameLen)
	for b := range batch {
		for f := range int(frames) {
			start := f * int(step)
			for k := range frame {
				frame[k] = vals[b*length+start+k] * complex(window[k], 0)
			}
			off := (b*int(frames) + f) * bins
			transformInto(frame, out[off:off+bins], false)
		}
	}
	return []*tensor.Tensor{complexOutput(out, x.DType, []int{batch, int(frames), bins})}, nil
}

// melWeightMatrix is MelWeightMatrix: a [dft_length/2 + 1, num_mel_bins]
// matrix of triangular filters, equally spaced on the mel scale
// mel(f) = 2595 log10(1 + f/700) between lower_edge_hertz and
// upper_edge_hertz, each peaking at 1. As in the ONNX reference, the
// num_mel_bins+2 band edges are lower + i*(upper-lower)/(num_mel_bins+2)
// in mel, mapped to spectrogram bins floor((dft_length+1) f /
// sample_rate). Output type: output_datatype (default float32).
// Opset history: 17.
type melWeightMatrix struct{ dtype graph.DType }

func newMelWeightMatrix(n *graph.Node, opset int64) (Op, error) {
	dt, err := outputDType(n)
	if err != nil {
		return nil, err
	}
	return &melWeightMatrix{dtype: dt}, nil
}

// Forward returns the filter bank matrix.
func (op *melWeightMatrix) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 5, -1); err != nil {
		return nil, err
	}
	var ints [3]int64
	for i, what := range []string{"num_mel_bins", "dft_length", "sample_rate"} {
		v, err := intScalar(in[i], what)
		if err != nil {
			return nil, err
		}
		if v < 1 || v > signalMaxLength {
			return nil, fmt.Errorf("%s %d is out of range", what, v)
		}
		ints[i] = v
	}
	melBins, dftLength, rate := int(ints[0]), ints[1], float64(ints[2])
	var edges [2]float64
	for i, what := range []string{"lower_edge_hertz", "upper_edge_hertz"} {
		v, err := floatValues(in[3+i], what)
		if err != nil {
			return nil, err
		}
		if len(v) != 1 {
			return nil, fmt.Errorf("%s has %d values, want a scalar", what, len(v))
		}
		edges[i] = v[0]
	}
	specBins := int(dftLength/2 + 1)
	if float64(specBins)*float64(melBins) > resizeMaxElements {
		return nil, fmt.Errorf("the output has too many elements")
	}
	lowMel := 2595 * math.Log10(1+edges[0]/700)
	highMel := 2595 * math.Log10(1+edges[1]/700)
	step := (highMel - lowMel) / float64(melBins+2)
	points := make([]int, melBins+2)
	for i := range points {
		hz := 700 * (math.Pow(10, (float64(i)*step+lowMel)/2595) - 1)
		points[i] = int(math.Floor(float64(dftLength+1) * hz / rate))
		if points[i] < 0 || points[i] >= specBins {
			return nil, fmt.Errorf("band edge %d falls on bin %d, outside the %d spectrogram bins", i, points[i], specBins)
		}
	}
	out := make([]float64, specBins*melBins)
	for m := range melBins {
		left, center, right := points[m], points[m+1], points[m+2]
		if center == left {
			out[center*melBins+m] = 1
		} else {
			for j := left; j <= center; j++ {
				out[j*melBins+m] = float64(j-left) / float64(center-left)
			}
		}
		for j := center; j < right; j++ {
			out[j*melBins+m] = float64(right-j) / float64(right-center)
		}
	}
	return []*tensor.Tensor{float64sAs(out, op.dtype, []int{specBins, melBins})}, nil
}
