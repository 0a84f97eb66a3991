package kernels

// The depthwise convolution by rows: each output row of a plane summed
// by vec.DepthwiseRows straight from the input plane where it lies, the
// taps of a kernel row read as (masked) vectors of the input row, the
// columns' zero padding never stored. Rows of output whose kernel rows
// all lie within the input (all but the first and last few) go in one
// call per plane; those whose kernel reaches the padding above or below
// leave those kernel rows out.
//
// The lanes (convlanes.go) and the direct sums (convdirect.go) first
// copy every input row into a padded buffer, transposed for the lanes:
// on MobileNet V2's 96@112x112 with stride 2, the lanes spent half their
// time transposing the input, a copy as long as the sums it feeds, where
// a stride of 2 keeps a quarter of the outputs.

import (
	"math"

	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/simd"
	"github.com/onnxkit/onnxkit/native/vec"
)

// rowsGeometry is the layout of a depthwise convolution by rows.
type rowsGeometry struct {
	p    ConvParams
	runs []rowsRun
}

// rowsRun is a run of output rows whose kernel rows [k0, k1) lie within
// the input, the others in the padding: off holds, for each, the offset
// of the input row it reads for the run's first output row.
type rowsRun struct {
	oy0, rows, k0, k1 int
	off               []int32
}

// depthwiseRows returns the convolution by rows of p, or why it cannot
// compute it (it computes only depthwise convolutions with one output
// channel per input channel), and whether it pays: with AVX-512, whose
// loops it has, as rowsPay says.
func (p *ConvParams) depthwiseRows() (d rowsGeometry, cannot string, pays bool) {
	if p.Group != p.C || p.M != p.C {
		return d, "not depthwise with one output channel per input channel", false
	}
	if float64(p.H)*float64(p.W) > math.MaxInt32 {
		return d, "planes beyond int32 offsets", false
	}
	d.p = *p
	d.p.algorithm = convAuto
	oh, _ := p.OutSize()
	for oy := 0; oy < oh; oy++ {
		// The kernel rows of output row oy within the input.
		k0, k1 := 0, p.KH
		for k0 < k1 && oy*p.StrideH+k0*p.DilationH-p.PadTop < 0 {
			k0++
		}
		for k1 > k0 && oy*p.StrideH+(k1-1)*p.DilationH-p.PadTop >= p.H {
			k1--
		}
		if n := len(d.runs); n > 0 && d.runs[n-1].k0 == k0 && d.runs[n-1].k1 == k1 {
			d.runs[n-1].rows++
			continue
		}
		run := rowsRun{oy0: oy, rows: 1, k0: k0, k1: k1}
		for k := k0; k < k1; k++ {
			run.off = append(run.off, int32((oy*p.StrideH+k*p.DilationH-p.PadTop)*p.W))
		}
		d.runs = append(d.runs, run)
	}
	return d, "", simd.Has(simd.AVX512) && p.rowsPay()
}

// rowsPay reports whether the rows pay against the lanes, as measured:
// where the input, all images, is small enough to be read from the
// caches (the blocks of positions walk down the planes column block by
// column block, which streams badly from memory, where the lanes copy
// the input rows in order): with unit strides on output rows of at
// least rowsMinColumns and up to 2*rowsMaxInputBytes of input, and
// with strides of 2 and kernels of at most 3x3 on output rows of at
// least rowsMinColumnsS2 and up to rowsMaxInputBytes.
//
// One thread, CPU time, two interleaved rounds on a loaded machine
// (BenchmarkConvDepthwiseZoo, batch 1), rows/lanes: with stride 1,
// MobileNet V2's 32@112x112 0.76-0.77 (173-176 vs 228-229 us), but on
// 56x56 and 28x28 planes 1.04-1.16 (V2's 144@56 and 192@28, V3's
// 88@28; ShuffleNet's 58@28, 0.86-0.88, is left out). With stride 2,
// 0.64-0.82 with inputs of 0.3 to 0.8 MB (V2's 192@28 0.80-0.82, V3's
// 16@112 0.68, ShuffleNet's 58@56 0.64-0.67 and 116@28 0.69-0.70;
// 24@56 0.68-0.76 before pairs of kernel columns started at even
// columns), 0.89-0.91 at 0.9 MB (V3's 72@56), but 0.89-1.04 at 1.8 MB
// (V2's 144@56) and 1.17-1.23 at 4.8 MB (V2's 96@112), 1.12 with V3's
// 5x5 kernels (96@28) and 1.55 on 7x7 outputs (576@14), whose rows are
// one masked vector each. At batch 8 (one round): V2's 32@112 1.40
// (12.8 MB), V3's 16@112 s2 1.05 (6.4 MB), 72@56 s2 1.17 (7.2 MB), but
// ShuffleNet's 58@56 0.79, 116@28 0.81, 24@56 0.93 and V2's 192@28
// 0.86 (2.4 to 5.8 MB), left to the lanes too.
//
// Since the lanes interleave their input through AVX-512's masks
// (InterleavePlanes) and store partial blocks straight to the planes,
// with strides of 2 on 14 output columns the lanes took the lead (one
// thread, CPU time, three rounds, load average 9-12): rows/lanes V2's
// 192@28 1.21, ShuffleNet's 116@28 1.13; on 28 and 56 columns the two
// are within the noise, 0.83-1.06 (ShuffleNet's 24@56 0.83, 58@56 1.04,
// V3's 72@56 1.06, 16@112 0.90), left to the rows.
func (p *ConvParams) rowsPay() bool {
	_, ow := p.OutSize()
	input := 4 * float64(p.N) * float64(p.C) * float64(p.H) * float64(p.W)
	if p.StrideH == 1 && p.StrideW == 1 {
		return ow >= rowsMinColumns && input <= 2*rowsMaxInputBytes
	}
	return p.StrideH == 2 && p.StrideW == 2 && p.KH <= 3 && p.KW <= 3 && p.DilationW == 1 && ow >= rowsMinColumnsS2 &&
		input <= rowsMaxInputBytes
}

const (
	// rowsMinColumns is the fewest output columns for which the rows
	// pay with unit strides.
	rowsMinColumns = 112
	// rowsMinColumnsS2 is the fewest output columns for which the rows
	// pay with strides of 2.
	rowsMinColumnsS2 = 28
	// rowsMaxInputBytes is the largest input (all images) for which the
	// rows pay with strides of 2, half the largest with unit strides.
	rowsMaxInputBytes = 1 << 20
)

// run computes y from x and w, with e's bias, residual and activation
// (the forward pass: e does not accumulate). The planes of every image
// are spread over the workers.
func (d *rowsGeometry) run(x, w, y []float32, e slideEpilogue) {
	p := &d.p
	oh, ow := p.OutSize()
	ohw, hw, k := oh*ow, p.H*p.W, p.KH*p.KW
	act, fused := lanesStoreActivation(e)
	parallel.For(p.N*p.C, grainFor(ohw*k), func(lo, hi int) {
		for t := lo; t < hi; t++ {
			c := t % p.C
			src := x[t*hw:][:hw]
			out := y[e.at(t*ohw):][:ohw]
			bias := biasOf(e.bias, c)
			for _, r := range d.runs {
				wr := w[c*k+r.k0*p.KW : c*k+r.k1*p.KW]
				vec.DepthwiseRows(out[r.oy0*ow:], ow, ow, r.rows, src, p.StrideH*p.W, p.W, r.off, p.KW, p.StrideW, p.DilationW, p.PadLeft,
					wr, bias, act, e.act.Alpha, e.act.Beta)
			}
			if !fused {
				e.finish(out, t*ohw)
			}
		}
	})
}
