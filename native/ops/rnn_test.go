package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/internal/leveltest"
	"github.com/onnxkit/onnxkit/native/linalg"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"
)

func TestRNNHandWorked(t *testing.T) {
	// H = I = 1, W = 0.5, R = 0.25, B = (0.1, -0.1) so the biases cancel,
	// X = [1, 2], h0 = 0:
	//   h1 = tanh(0.5*1) , h2 = tanh(0.5*2 + 0.25*h1).
	h1 := math.Tanh(0.5)
	h2 := math.Tanh(1 + 0.25*h1)
	x := float32s([]int{2, 1, 1}, 1, 2)
	w, r := float32s([]int{1, 1, 1}, 0.5), float32s([]int{1, 1, 1}, 0.25)
	b := float32s([]int{1, 2}, 0.1, -0.1)
	got := runNode(t, testNode("RNN", graph.IntAttr("hidden_size", 1)), 14, x, w, r, b)
	checkTensor(t, "Y", got[0], []int{2, 1, 1, 1}, []float64{h1, h2}, tolF32)
	checkTensor(t, "Y_h", got[1], []int{1, 1, 1}, []float64{h2}, tolF32)
	// Reverse: the steps run 2 then 1.
	g1 := math.Tanh(1)
	g2 := math.Tanh(0.5 + 0.25*g1)
	got = runNode(t, testNode("RNN", graph.IntAttr("hidden_size", 1), graph.StringAttr("direction", "reverse")), 14, x, w, r, b)
	checkTensor(t, "reverse Y", got[0], []int{2, 1, 1, 1}, []float64{g2, g1}, tolF32)
}

// trSigmoid is the logistic function.
func trSigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// trDot returns sum_j m[row*len(v)+j] * v[j].
func trDot(m []float64, row int, v []float64) float64 {
	s := 0.0
	for j, x := range v {
		s += m[row*len(v)+j] * x
	}
	return s
}

// trRecurrentRef runs one direction of a cell over the steps of xs (each
// an input vector) with the spec's formulas and default activations.
// w, r, b, p are that direction's weights; clip 0 means none;
// inputForget couples an LSTM's forget gate to its input gate (f = 1 -
// i). It returns the hidden state after every step and the final cell
// state.
func trRecurrentRef(kind string, xs [][]float64, w, r, b, p, h0, c0 []float64, hs int, clip float64, lbr, inputForget bool) ([][]float64, []float64) {
	cl := func(v float64) float64 {
		if clip > 0 {
			return math.Max(-clip, math.Min(clip, v))
		}
		return v
	}
	sig := func(v float64) float64 { return trSigmoid(cl(v)) }
	tanh := func(v float64) float64 { return math.Tanh(cl(v)) }
	gates := map[string]int{"RNN": 1, "GRU": 3, "LSTM": 4}[kind]
	wb := func(k int) float64 { return b[k] }
	rb := func(k int) float64 { return b[gates*hs+k] }
	h := append([]float64(nil), h0...)
	c := append([]float64(nil), c0...)
	var hist [][]float64
	for _, x := range xs {
		next := make([]float64, hs)
		switch kind {
		case "RNN":
			for i := range next {
				next[i] = tanh(trDot(w, i, x) + wb(i) + trDot(r, i, h) + rb(i))
			}
		case "GRU":
			rh := make([]float64, hs)
			z := make([]float64, hs)
			rg := make([]float64, hs)
			for i := 0; i < hs; i++ {
				z[i] = sig(trDot(w, i, x) + wb(i) + trDot(r, i, h) + rb(i))
				rg[i] = sig(trDot(w, hs+i, x) + wb(hs+i) + trDot(r, hs+i, h) + rb(hs+i))
				rh[i] = rg[i] * h[i]
			}
			for i := 0; i < hs; i++ {
				var n float64
				if lbr {
					n = tanh(trDot(w, 2*hs+i, x) + wb(2*hs+i) + rg[i]*(trDot(r, 2*hs+i, h)+rb(2*hs+i)))
				} else {
					n = tanh(trDot(w, 2*hs+i, x) + wb(2*hs+i) + trDot(r, 2*hs+i, rh) + rb(2*hs+i))
				}
				next[i] = (1-z[i])*n + z[i]*h[i]
			}
		case "LSTM":
			pre := func(g, i int) float64 { return trDot(w, g*hs+i, x) + wb(g*hs+i) + trDot(r, g*hs+i, h) + rb(g*hs+i) }
			newC := make([]float64, hs)
			for i := 0; i < hs; i++ {
				ig := sig(pre(0, i) + p[i]*c[i])
				fg := sig(pre(2, i) + p[2*hs+i]*c[i])
				if inputForget {
					fg = 1 - ig
				}
				newC[i] = fg*c[i] + ig*tanh(pre(3, i))
				og := sig(pre(1, i) + p[hs+i]*newC[i])
				next[i] = og * tanh(newC[i])
			}
			c = newC
		}
		h = next
		hist = append(hist, h)
	}
	return hist, c
}

// TestRecurrentRandom checks every cell, direction and layout (and an
// LSTM with and without peepholes and clip, with and without
// input_forget) against the spec's formulas in float64, on double inputs (computed in float64)
// and on float inputs (computed in float32 through matrix products over
// the batch), with sequence lengths that stop batch entries early.
// It runs at every CPU level the machine has (leveltest.Run).
func TestRecurrentRandom(t *testing.T) {
	leveltest.Run(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 14))
		for _, dtype := range []graph.DType{graph.Float64, graph.Float32} {
			for _, kind := range []string{"RNN", "GRU", "LSTM"} {
				for _, dir := range []string{"forward", "reverse", "bidirectional"} {
					for _, layout := range []int{0, 1} {
						for _, lbr := range []bool{false, true} {
							if lbr && kind != "GRU" {
								continue
							}
							trCheckRecurrent(t, rng, trSmall, dtype, kind, dir, layout, lbr)
						}
						if kind != "LSTM" {
							continue
						}
						for _, sz := range trSmallLSTM {
							trCheckRecurrent(t, rng, sz, dtype, kind, dir, layout, false)
						}
					}
				}
			}
		}
	})
}

// trSizes are the sizes of a recurrent test case, with the sequence
// length of each batch entry.
type trSizes struct {
	steps, inSize, hidden int
	lens                  []int32
	// tol32 is the tolerance of float32 results: the error of the
	// recurrent dot products grows with the hidden size.
	tol32 tolerance
	// rScale, a power of two or 0 for 1, scales R so that the steps do
	// not amplify rounding errors: a larger hidden size wants a smaller
	// R, as networks initialise theirs.
	rScale float64
	// plain: no clip and no peepholes, the LSTM whose gates take the
	// input, output and forget gates through one call of the logistic
	// function (rnnStepper.lstmGates).
	plain bool
	// inputForget sets an LSTM's input_forget.
	inputForget bool
}

// trSmall is the case of hand-checkable size, with entries that stop
// early and one that never runs.
var trSmall = trSizes{steps: 4, inSize: 2, hidden: 3, lens: []int32{4, 2, 0}, tol32: tolF32}

// trSmallLSTM are the other cases of trSmall's sizes for an LSTM: without
// clip and peepholes, and with input_forget, with and without them.
var trSmallLSTM = []trSizes{
	{steps: 4, inSize: 2, hidden: 3, lens: []int32{4, 2, 0}, tol32: tolF32, plain: true},
	{steps: 4, inSize: 2, hidden: 3, lens: []int32{4, 2, 0}, tol32: tolF32, inputForget: true},
	{steps: 4, inSize: 2, hidden: 3, lens: []int32{4, 2, 0}, tol32: tolF32, plain: true, inputForget: true},
}

// trCheckRecurrent runs one node on random inputs of the given sizes
// and checks it against trRecurrentRef; it returns the node's outputs.
func trCheckRecurrent(t *testing.T, rng *rand.Rand, sz trSizes, dtype graph.DType, kind, dir string, layout int, lbr bool) []*tensor.Tensor {
	t.Helper()
	steps, batch, inSize, hs := sz.steps, len(sz.lens), sz.inSize, sz.hidden
	dirs := 1
	if dir == "bidirectional" {
		dirs = 2
	}
	gates := map[string]int{"RNN": 1, "GRU": 3, "LSTM": 4}[kind]
	tol := tolF64
	rnd := func(n int) []float64 { return randomFor(rng, graph.Float64, n) }
	if dtype == graph.Float32 {
		// Values a float32 holds exactly, so the reference sees the
		// same inputs.
		tol = sz.tol32
		rnd = func(n int) []float64 {
			v := randomFor(rng, graph.Float64, n)
			for i := range v {
				v[i] = float64(float32(v[i]))
			}
			return v
		}
	}
	x := rnd(steps * batch * inSize) // [S, B, I]
	w, r, b := rnd(dirs*gates*hs*inSize), rnd(dirs*gates*hs*hs), rnd(dirs*2*gates*hs)
	if sz.rScale != 0 {
		for i := range r {
			r[i] *= sz.rScale
		}
	}
	h0, c0, p := rnd(dirs*batch*hs), rnd(dirs*batch*hs), rnd(dirs*3*hs) // [D, B, H]
	lens := sz.lens
	clip := 1.5
	if sz.plain {
		clip = 0
		clear(p)
	}

	// Reference in the seq-first layout.
	y := make([]float64, steps*dirs*batch*hs)
	yh := make([]float64, dirs*batch*hs)
	yc := make([]float64, dirs*batch*hs)
	for d := 0; d < dirs; d++ {
		rev := dir == "reverse" || d == 1
		for bi := 0; bi < batch; bi++ {
			n := int(lens[bi])
			var xs [][]float64
			for s := 0; s < n; s++ {
				tt := s
				if rev {
					tt = n - 1 - s
				}
				xs = append(xs, x[(tt*batch+bi)*inSize:(tt*batch+bi+1)*inSize])
			}
			state := func(v []float64) []float64 { return v[(d*batch+bi)*hs : (d*batch+bi+1)*hs] }
			hist, cFinal := trRecurrentRef(kind, xs,
				w[d*gates*hs*inSize:(d+1)*gates*hs*inSize], r[d*gates*hs*hs:(d+1)*gates*hs*hs],
				b[d*2*gates*hs:(d+1)*2*gates*hs], p[d*3*hs:(d+1)*3*hs], state(h0), state(c0), hs, clip, lbr, sz.inputForget)
			copy(state(yh), state(h0))
			copy(state(yc), state(c0))
			for s, hv := range hist {
				tt := s
				if rev {
					tt = n - 1 - s
				}
				copy(y[((tt*dirs+d)*batch+bi)*hs:], hv)
				copy(state(yh), hv)
			}
			if kind == "LSTM" {
				copy(state(yc), cFinal)
			}
		}
	}

	xShape, stateShape, yShape := []int{steps, batch, inSize}, []int{dirs, batch, hs}, []int{steps, dirs, batch, hs}
	xIn, h0In, c0In := x, h0, c0
	if layout == 1 {
		xShape, stateShape, yShape = []int{batch, steps, inSize}, []int{batch, dirs, hs}, []int{batch, steps, dirs, hs}
		xIn = swapFirstAxes(x, steps, batch, inSize)
		h0In, c0In = swapFirstAxes(h0, dirs, batch, hs), swapFirstAxes(c0, dirs, batch, hs)
		y = stepsToBatchFirst(y, steps, dirs, batch, hs)
		yh, yc = swapFirstAxes(yh, dirs, batch, hs), swapFirstAxes(yc, dirs, batch, hs)
	}
	in := []*tensor.Tensor{
		testTensor(dtype, xShape, xIn),
		testTensor(dtype, []int{dirs, gates * hs, inSize}, w),
		testTensor(dtype, []int{dirs, gates * hs, hs}, r),
		testTensor(dtype, []int{dirs, 2 * gates * hs}, b),
		{DType: graph.Int32, Shape: []int{batch}, Data: lens},
		testTensor(dtype, stateShape, h0In),
	}
	if kind == "LSTM" {
		in = append(in, testTensor(dtype, stateShape, c0In))
		if !sz.plain {
			in = append(in, testTensor(dtype, []int{dirs, 3 * hs}, p))
		}
	}
	attrs := []*graph.Attr{graph.IntAttr("hidden_size", int64(hs)), graph.StringAttr("direction", dir),
		graph.IntAttr("layout", int64(layout))}
	if clip > 0 {
		attrs = append(attrs, graph.FloatAttr("clip", float32(clip)))
	}
	if lbr {
		attrs = append(attrs, graph.IntAttr("linear_before_reset", 1))
	}
	if sz.inputForget && kind == "LSTM" {
		attrs = append(attrs, graph.IntAttr("input_forget", 1))
	}
	got := runNode(t, testNode(kind, attrs...), 14, in...)
	what := dtype.String() + " " + kind + " " + dir
	if sz.plain {
		what += " without clip and peepholes"
	}
	if sz.inputForget && kind == "LSTM" {
		what += " input_forget"
	}
	if layout == 1 {
		what += " layout 1"
	}
	if lbr {
		what += " linear_before_reset"
	}
	checkTensor(t, what+" Y", got[0], yShape, y, tol)
	checkTensor(t, what+" Y_h", got[1], stateShape, yh, tol)
	if kind == "LSTM" {
		checkTensor(t, what+" Y_c", got[2], stateShape, yc, tol)
	}
	return got
}

// TestRecurrentSplitUnits checks the cells with enough hidden units and
// batch entries that their steps are split between workers (rnnCell.run),
// at several thread counts, against the reference, and that float32
// results are bitwise the same at every thread count, in both layouts.
// It runs a batch of 8, multiplied by R's row panels at the AVX-512 level
// (VecPanelRows), where two or three threads split it into two groups
// of entries (rnnRunGroups, checked by TestRecurrentBatchGroups),
// elsewhere by R packed for the rows that fill the kernel's tiles and
// by its row panels for the others, and a batch of one; the hidden
// sizes are not multiples of the split's alignment. It runs at every CPU
// level (leveltest.Run).
func TestRecurrentSplitUnits(t *testing.T) {
	defer parallel.SetThreads(parallel.Threads())
	defer parallel.SetGrain(parallel.SetGrain(1)) // steps of groups worth a goroutine
	// Enough Ps for a team of 3, which run caps at GOMAXPROCS.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	leveltest.Run(t, testRecurrentSplitUnits)
}

func testRecurrentSplitUnits(t *testing.T) {
	// Five steps of sums of 100 float32 products: the largest error seen
	// was 1.4e-6, against 6e-8 for one rounding; with 260, 5.4e-7.
	sizes := []trSizes{
		{steps: 5, inSize: 3, hidden: 100, lens: []int32{5, 2, 0, 5, 3, 1, 4, 5},
			tol32: tolerance{name: "float32 sums of 100 products", abs: 5e-6, rel: 5e-5}, rScale: 1.0 / 8},
		{steps: 5, inSize: 3, hidden: 260, lens: []int32{5},
			tol32: tolerance{name: "float32 sums of 260 products", abs: 5e-6, rel: 5e-5}, rScale: 1.0 / 16},
		// Inputs wide enough that the projections take several phases
		// (projectionRows). The projections' sums of 200 products of
		// values about 1 (sums about 14) put the largest errors at
		// 7.2e-6 (R by SgemmPackedB's tiles) to 7.5e-6 (by
		// SgemvPackedVecB's panels), 1e-6 for one rounding of such a
		// sum: the outputs of RNN's tanh are within 0.05 of 0.
		{steps: 5, inSize: 200, hidden: 100, lens: []int32{5, 2, 0, 5, 3, 1, 4, 5},
			tol32: tolerance{name: "float32 sums of 200 and 100 products", abs: 1.5e-5, rel: 5e-5}, rScale: 1.0 / 8},
		// Sequences long enough that a group's projection blocks
		// (rnnGroupBlock) are several, which the workers share.
		{steps: 26, inSize: 200, hidden: 100, lens: []int32{26, 2, 0, 26, 3, 1, 4, 25},
			tol32: tolerance{name: "float32 sums of 200 and 100 products", abs: 1.5e-5, rel: 5e-5}, rScale: 1.0 / 8},
		// Without clip and peepholes (the LSTM's input, output and
		// forget gates through one call), over chunks whose units are
		// not a multiple of the vector width.
		{steps: 5, inSize: 3, hidden: 100, lens: []int32{5, 2, 0, 5, 3, 1, 4, 5},
			tol32: tolerance{name: "float32 sums of 100 products", abs: 5e-6, rel: 5e-5}, rScale: 1.0 / 8, plain: true},
		{steps: 5, inSize: 3, hidden: 260, lens: []int32{5},
			tol32: tolerance{name: "float32 sums of 260 products", abs: 5e-6, rel: 5e-5}, rScale: 1.0 / 16, plain: true},
	}
	for _, sz := range sizes {
		for _, kind := range []string{"RNN", "GRU", "LSTM"} {
			for _, dir := range []string{"forward", "bidirectional"} {
				for _, lbr := range []bool{false, true} {
					if lbr && kind != "GRU" {
						continue
					}
					for _, layout := range []int{0, 1} {
						var first []*tensor.Tensor
						for _, threads := range []int{1, 2, 3} {
							gates := map[string]int{"RNN": 1, "GRU": 3, "LSTM": 4}[kind]
							if workers, _ := rnnSplit(threads, len(sz.lens), gates, sz.hidden); threads > 1 && workers < 2 {
								t.Fatalf("%s at %d threads runs on %d worker: the case does not exercise the split", kind, threads, workers)
							}
							parallel.SetThreads(threads)
							got := trCheckRecurrent(t, rand.New(rand.NewPCG(3, 9)), sz, graph.Float32, kind, dir, layout, lbr)
							if first == nil {
								first = got
								continue
							}
							for i := range got {
								if !slices.Equal(got[i].Data.([]float32), first[i].Data.([]float32)) {
									t.Errorf("%s %s lbr=%v layout %d batch %d: output %d at %d threads differs from 1 thread",
										kind, dir, lbr, layout, len(sz.lens), i, threads)
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestRecurrentProjectionRows checks cells with too little recurrent
// work for more than one worker, whose input projections run as a loop
// of their own, split by rows: with the grain lowered so that the rows
// split, the outputs match the float64 reference, and bitwise those on
// one thread. It runs at every CPU level (leveltest.Run).
func TestRecurrentProjectionRows(t *testing.T) {
	defer parallel.SetThreads(parallel.Threads())
	defer parallel.SetGrain(parallel.SetGrain(1))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	leveltest.Run(t, func(t *testing.T) {
		sz := trSizes{steps: 30, inSize: 24, hidden: 8, lens: []int32{30, 17, 30},
			tol32: tolerance{name: "float32 sums of 24 products", abs: 5e-6, rel: 5e-5}}
		for _, kind := range []string{"RNN", "GRU", "LSTM"} {
			gates := map[string]int{"RNN": 1, "GRU": 3, "LSTM": 4}[kind]
			if workers, _ := rnnSplit(2, len(sz.lens), gates, sz.hidden); workers != 1 {
				t.Fatalf("%s runs on %d workers: the case does not exercise the projection by rows", kind, workers)
			}
			var first []*tensor.Tensor
			for _, threads := range []int{1, 2} {
				parallel.SetThreads(threads)
				got := trCheckRecurrent(t, rand.New(rand.NewPCG(4, 8)), sz, graph.Float32, kind, "bidirectional", 0, false)
				if first == nil {
					first = got
					continue
				}
				for i := range got {
					if !slices.Equal(got[i].F32(), first[i].F32()) {
						t.Errorf("%s: output %d at %d threads differs from 1 thread", kind, i, threads)
					}
				}
			}
		}
	})
}

func TestRecurrentActivations(t *testing.T) {
	// An RNN with activation Affine(alpha 2, beta 1) and H = I = 1,
	// W = 1, R = 0: h = 2x + 1 per step.
	n := testNode("RNN", graph.IntAttr("hidden_size", 1), graph.StringsAttr("activations", "Affine"),
		graph.FloatsAttr("activation_alpha", 2), graph.FloatsAttr("activation_beta", 1))
	got := runNode(t, n, 7, float32s([]int{2, 1, 1}, 3, -1), float32s([]int{1, 1, 1}, 1), float32s([]int{1, 1, 1}, 0))
	checkTensor(t, "Affine", got[0], []int{2, 1, 1, 1}, []float64{7, -1}, tolF32)
	// HardSigmoid defaults alpha 0.2, beta 0.5: x = 1 gives 0.7.
	n = testNode("RNN", graph.IntAttr("hidden_size", 1), graph.StringsAttr("activations", "HardSigmoid"))
	got = runNode(t, n, 7, float32s([]int{1, 1, 1}, 1), float32s([]int{1, 1, 1}, 1), float32s([]int{1, 1, 1}, 0))
	checkTensor(t, "HardSigmoid", got[0], []int{1, 1, 1, 1}, []float64{0.7}, tolF32)
	// Bidirectional with one activation per direction: x = -1, W = 1,
	// R = 0 gives Relu(-1) = 0 forward and Tanh(-1) in reverse.
	n = testNode("RNN", graph.IntAttr("hidden_size", 1), graph.StringAttr("direction", "bidirectional"), graph.StringsAttr("activations", "Relu", "Tanh"))
	got = runNode(t, n, 14, float32s([]int{1, 1, 1}, -1), float32s([]int{2, 1, 1}, 1, 1), float32s([]int{2, 1, 1}, 0, 0))
	checkTensor(t, "per-direction activations", got[0], []int{1, 2, 1, 1}, []float64{0, math.Tanh(-1)}, tolF32)
}

func TestRecurrentErrors(t *testing.T) {
	x := float32s([]int{1, 1, 2}, 1, 2)
	n := testNode("GRU", graph.IntAttr("hidden_size", 1))
	wantErr(t, "W shape", runNodeErr(t, n, 14, x, float32s([]int{1, 3, 1}, 1, 1, 1), float32s([]int{1, 3, 1}, 1, 1, 1)), "W")
	w := float32s([]int{1, 3, 2}, 1, 1, 1, 1, 1, 1)
	wantErr(t, "R shape", runNodeErr(t, n, 14, x, w, float32s([]int{1, 1, 1}, 1)), "R")
	wantErr(t, "sequence_lens", runNodeErr(t, n, 14, x, w, float32s([]int{1, 3, 1}, 1, 1, 1), nil, &tensor.Tensor{DType: graph.Int32, Shape: []int{1}, Data: []int32{2}}), "sequence_lens")
	wantErr(t, "rank", runNodeErr(t, n, 14, float32s([]int{2}, 1, 2), w, w), "rank 3")
	for _, attrs := range [][]*graph.Attr{
		{graph.IntAttr("hidden_size", 0)},
		{graph.IntAttr("hidden_size", 1), graph.StringAttr("direction", "sideways")},
		{graph.IntAttr("hidden_size", 1), graph.StringsAttr("activations", "Tanh", "Nope")},
		{graph.IntAttr("hidden_size", 1), graph.StringsAttr("activations", "Tanh")},
		{graph.IntAttr("hidden_size", 1), graph.IntAttr("layout", 2)},
	} {
		_, err := Build(testNode("GRU", attrs...), 14)
		wantErr(t, "attributes", err, "attribute")
	}
}

// TestRecurrentBatchGroups checks which cells rnnRunGroups splits into
// groups of batch entries: float32 ones with at least rnnGroupRows
// entries per group, at most VecPanelRows entries, R of at most
// rnnGroupMaxR bytes, two threads or more and two steps or more, at the
// levels where SgemvPackedVecB has kernels (VecPanelRows > 0), and none
// whose group's step is below package parallel's grain;
// TestRecurrentSplitUnits checks their results.
func TestRecurrentBatchGroups(t *testing.T) {
	defer parallel.SetGrain(parallel.SetGrain(1))
	leveltest.Run(t, func(t *testing.T) {
		blocked, _ := serialGemm().(linalg.Blocked)
		panels := blocked.VecPanelRows()
		cases := []struct {
			kind                   rnnKind
			hidden, batch, threads int
			double                 bool
			want                   int
		}{
			{kind: cellLSTM, hidden: 100, batch: 8, threads: 2, want: 2},
			{kind: cellLSTM, hidden: 256, batch: 12, threads: 3, want: 3},
			{kind: cellGRU, hidden: 100, batch: 9, threads: 4, want: 2},
			{kind: cellLSTM, hidden: 100, batch: 8, threads: 1, want: 1},
			{kind: cellLSTM, hidden: 100, batch: 7, threads: 2, want: 1},
			{kind: cellLSTM, hidden: 100, batch: 13, threads: 2, want: 1},
			{kind: cellLSTM, hidden: 100, batch: 8, threads: 2, double: true, want: 1},
			{kind: cellLSTM, hidden: 600, batch: 8, threads: 2, want: 1}, // R of 5.8 MB
		}
		for _, c := range cases {
			o := &recurrent{kind: c.kind, hidden: c.hidden}
			r := make([]float32, c.kind.gates()*c.hidden*c.hidden)
			lens := slices.Repeat([]int{3}, c.batch)
			var v any = &rnnInputs[float32]{steps: 3, batch: c.batch, r: r, seqLens: lens}
			if c.double {
				v = &rnnInputs[float64]{steps: 3, batch: c.batch, r: make([]float64, len(r)), seqLens: lens}
			}
			want := c.want
			if panels < c.batch {
				want = 1
			}
			if got := o.batchGroups(v, c.threads); got != want {
				t.Errorf("%+v: %d groups, want %d", c, got, want)
			}
			// A step of a group of 4 entries and 100 units is 320
			// kflops: a team's below a grain of 1 Mflop.
			prev := parallel.SetGrain(1 << 20)
			if got := o.batchGroups(v, c.threads); c.hidden <= 100 && got != 1 {
				t.Errorf("%+v with a grain of 1 Mflop: %d groups, want 1", c, got)
			}
			parallel.SetGrain(prev)
			if in, ok := v.(*rnnInputs[float32]); ok {
				clear(in.seqLens[1:]) // sequences of one step and none
				in.seqLens[0] = 1
				if got := o.batchGroups(v, c.threads); got != 1 {
					t.Errorf("%+v with one step: %d groups, want 1", c, got)
				}
			}
		}
	})
}

// BenchmarkLSTM runs the second layer of the zoo's LSTM classifier: 64
// steps of 256 inputs, 256 hidden units, forward, at batch 1 and 8, with
// its weights prepared once as a session's initializers are.
func BenchmarkLSTM(b *testing.B) {
	const steps, inSize, hidden = 64, 256, 256
	for _, batch := range []int{1, 8} {
		b.Run(fmt.Sprintf("batch%d", batch), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			rnd := func(shape ...int) *tensor.Tensor {
				t := tensor.New(graph.Float32, shape...)
				for i, v := range randomFor(rng, graph.Float32, t.Len()) {
					t.Data.([]float32)[i] = float32(v) / 16
				}
				return t
			}
			in := []*tensor.Tensor{rnd(steps, batch, inSize), rnd(1, 4*hidden, inSize), rnd(1, 4*hidden, hidden), rnd(1, 8*hidden)}
			op, err := Build(testNode("LSTM", graph.IntAttr("hidden_size", hidden)), 14)
			if err != nil {
				b.Fatal(err)
			}
			ctx := &Context{Pool: NewPool(), Constants: 1<<1 | 1<<2 | 1<<3, Generation: 1}
			b.ReportAllocs()
			for b.Loop() {
				out, err := op.Forward(ctx, in)
				if err != nil {
					b.Fatal(err)
				}
				for _, t := range out {
					ctx.Pool.Put(t) // as a program's run does once they are read
				}
			}
		})
	}
}

// TestRecurrentPrepared checks that float32 cells whose weights are
// unchanged initializers (W and R prepared, and R's panels kept from
// one run to the next: rnnPrepared) give bitwise the outputs of runs
// that prepare nothing, as recording runs do, on the first run that
// prepares, on a run that reuses the preparation, after a new weights
// generation and at another thread count (another split of the units).
// The unprepared outputs are checked against the float64 reference by
// TestRecurrentSplitUnits and TestRecurrentRandom. Batches of 1, 2, 8
// and 13 multiply by R's row panels, its tiles, or both (13 at the
// AVX-512 level, where batches up to VecPanelRows take the panels). It runs at every CPU
// level (leveltest.Run). The prepared runs take their buffers from one
// pool, the unprepared ones from none.
func TestRecurrentPrepared(t *testing.T) {
	defer parallel.SetThreads(parallel.Threads())
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	leveltest.Run(t, func(t *testing.T) {
		const steps, inSize, hs = 6, 5, 72
		rng := rand.New(rand.NewPCG(5, 11))
		// One pool for every run, so that runs take work buffers that
		// earlier ones left with their values.
		pool := NewPool()
		for _, kind := range []string{"RNN", "GRU", "LSTM"} {
			gates := map[string]int{"RNN": 1, "GRU": 3, "LSTM": 4}[kind]
			for _, dir := range []string{"forward", "bidirectional"} {
				for _, lbr := range []bool{false, true} {
					if lbr && kind != "GRU" {
						continue
					}
					dirs := map[string]int{"forward": 1, "bidirectional": 2}[dir]
					attrs := []*graph.Attr{graph.IntAttr("hidden_size", hs), graph.StringAttr("direction", dir)}
					if lbr {
						attrs = append(attrs, graph.IntAttr("linear_before_reset", 1))
					}
					op := buildOp(t, testNode(kind, attrs...), 14).(*recurrent)
					w := testTensor(graph.Float32, []int{dirs, gates * hs, inSize}, randomFor(rng, graph.Float64, dirs*gates*hs*inSize))
					r := randomFor(rng, graph.Float64, dirs*gates*hs*hs)
					for i := range r {
						r[i] /= 8
					}
					rt := testTensor(graph.Float32, []int{dirs, gates * hs, hs}, r)
					b := testTensor(graph.Float32, []int{dirs, 2 * gates * hs}, randomFor(rng, graph.Float64, dirs*2*gates*hs))
					for _, batch := range []int{1, 2, 8, 13} {
						what := fmt.Sprintf("%s %s lbr=%v batch %d", kind, dir, lbr, batch)
						x := testTensor(graph.Float32, []int{steps, batch, inSize}, randomFor(rng, graph.Float64, steps*batch*inSize))
						in := []*tensor.Tensor{x, w, rt, b}
						run := func(threads int, constants, generation uint64) []*tensor.Tensor {
							parallel.SetThreads(threads)
							ctx := &Context{Pool: pool, Constants: constants, Generation: generation}
							if constants == 0 {
								ctx.Pool = nil // fresh buffers for the reference
							}
							out, err := op.Forward(ctx, in)
							if err != nil {
								t.Fatalf("%s: %v", what, err)
							}
							pool.Settle()
							return out
						}
						const weights = 1<<1 | 1<<2 | 1<<3
						plain := run(2, 0, 0)
						same := func(when string, got []*tensor.Tensor) {
							t.Helper()
							for i := range got {
								if !slices.Equal(got[i].F32(), plain[i].F32()) {
									t.Errorf("%s: output %d %s differs from the unprepared run", what, i, when)
								}
							}
						}
						same("prepared", run(2, weights, 1))
						first := op.prepared[0].plan.Load()
						if first == nil || first.w == nil {
							t.Fatalf("%s: the weights were not prepared", what)
						}
						same("reusing the preparation", run(2, weights, 1))
						if op.prepared[0].plan.Load() != first {
							t.Errorf("%s: the second run packed R again", what)
						}
						same("of a new generation", run(2, weights, 2))
						if op.prepared[0].plan.Load() == first {
							t.Errorf("%s: a new generation reused R's panels", what)
						}
						same("on one thread", run(1, weights, 2))
					}
				}
			}
		}
	})
}

// TestRecurrentLateMember holds back a member of a 2-thread team for 2
// ms at its first task of a step (as the hypervisor takes a vCPU away),
// the helper (until the first member takes its task again) or the first
// member in turn: the other takes the task
// again (rnnTeam's second copies), and the outputs match the float64
// reference and, bitwise, those on one thread. The cells whose steps
// take one phase (LSTM, RNN, GRU with linear_before_reset) must have
// computed some second copy whenever the helper was held back in a step
// (the first member, which takes tasks to the end, is there to take its
// task again; the helper may have left, or not begun, when the first
// member is held back).
// It runs at every CPU level (leveltest.Run).
func TestRecurrentLateMember(t *testing.T) {
	defer parallel.SetThreads(parallel.Threads())
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	defer func() { rnnStepHook = nil }()
	leveltest.Run(t, testRecurrentLateMember)
}

func testRecurrentLateMember(t *testing.T) {
	sizes := []trSizes{
		{steps: 6, inSize: 3, hidden: 100, lens: []int32{6, 2, 0, 6, 3, 1, 4, 5},
			tol32: tolerance{name: "float32 sums of 100 products", abs: 5e-6, rel: 5e-5}, rScale: 1.0 / 8},
		{steps: 6, inSize: 3, hidden: 260, lens: []int32{6},
			tol32: tolerance{name: "float32 sums of 260 products", abs: 5e-6, rel: 5e-5}, rScale: 1.0 / 16, plain: true},
	}
	for _, sz := range sizes {
		for _, kind := range []string{"RNN", "GRU", "LSTM"} {
			for _, lbr := range []bool{false, true} {
				if lbr && kind != "GRU" {
					continue
				}
				for _, dir := range []string{"forward", "bidirectional"} {
					parallel.SetThreads(1)
					rnnStepHook = nil
					want := trCheckRecurrent(t, rand.New(rand.NewPCG(5, 7)), sz, graph.Float32, kind, dir, 0, lbr)
					for late := range 2 {
						var held, copies atomic.Int32
						rnnStepHook = func(w, s, k int) {
							if k == 1 {
								copies.Add(1)
							}
							if w == late && k == 0 && s > 0 && held.CompareAndSwap(0, 1) {
								// Held back 2 ms, and for the helper until
								// the first member takes its task again
								// (200 ms at most: the machine may hold
								// back the first member too).
								time.Sleep(2 * time.Millisecond)
								for end := time.Now().Add(200 * time.Millisecond); late == 1 && copies.Load() == 0 && time.Now().Before(end); {
									time.Sleep(50 * time.Microsecond)
								}
							}
						}
						parallel.SetThreads(2)
						got := trCheckRecurrent(t, rand.New(rand.NewPCG(5, 7)), sz, graph.Float32, kind, dir, 0, lbr)
						rnnStepHook = nil
						for i := range got {
							if !slices.Equal(got[i].Data.([]float32), want[i].Data.([]float32)) {
								t.Errorf("%s lbr=%v %s batch %d, member %d late: output %d differs from 1 thread",
									kind, lbr, dir, len(sz.lens), late, i)
							}
						}
						onePhase := kind != "GRU" || lbr
						if onePhase && late == 1 && held.Load() == 1 && copies.Load() == 0 {
							t.Errorf("%s lbr=%v %s batch %d: member %d was held back 2 ms and no task was taken again",
								kind, lbr, dir, len(sz.lens), late)
						}
					}
				}
			}
		}
	}
}

// BenchmarkLSTMLateMember runs BenchmarkLSTM's layer at a batch of one
// on two threads with the helper held back for late (0, 200 µs or 1 ms)
// once per run, at its first task past the first step, as the
// hypervisor holds a vCPU, during a burst of package parallel (as a
// program's run): median-ns/op is the median run's time, held/op the
// share of runs in which the helper took a step's task (and was held),
// held-median-ns/op the median time of those.
// A team that waits for the held task takes late plus the rest of the
// run alone; one that takes the task again (rnnTeam) goes on meanwhile.
func BenchmarkLSTMLateMember(b *testing.B) {
	const steps, inSize, hidden = 64, 256, 256
	defer parallel.SetThreads(parallel.Threads())
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	defer func() { rnnStepHook = nil }()
	parallel.SetThreads(2)
	rng := rand.New(rand.NewPCG(1, 2))
	rnd := func(shape ...int) *tensor.Tensor {
		t := tensor.New(graph.Float32, shape...)
		for i, v := range randomFor(rng, graph.Float32, t.Len()) {
			t.Data.([]float32)[i] = float32(v) / 16
		}
		return t
	}
	in := []*tensor.Tensor{rnd(steps, 1, inSize), rnd(1, 4*hidden, inSize), rnd(1, 4*hidden, hidden), rnd(1, 8*hidden)}
	op, err := Build(testNode("LSTM", graph.IntAttr("hidden_size", hidden)), 14)
	if err != nil {
		b.Fatal(err)
	}
	for _, late := range []time.Duration{0, 200 * time.Microsecond, time.Millisecond} {
		b.Run(fmt.Sprintf("late=%v", late), func(b *testing.B) {
			var held atomic.Bool
			rnnStepHook = func(w, s, k int) {
				if late > 0 && w == 1 && k == 0 && s > 0 && held.CompareAndSwap(false, true) {
					time.Sleep(late)
				}
			}
			ctx := &Context{Pool: NewPool(), Constants: 1<<1 | 1<<2 | 1<<3, Generation: 1}
			times := make([]time.Duration, 0, b.N)
			var heldTimes []time.Duration
			parallel.BeginBurst()
			defer parallel.EndBurst()
			for b.Loop() {
				held.Store(false)
				start := time.Now()
				out, err := op.Forward(ctx, in)
				if err != nil {
					b.Fatal(err)
				}
				times = append(times, time.Since(start))
				if held.Load() {
					heldTimes = append(heldTimes, times[len(times)-1])
				}
				for _, t := range out {
					ctx.Pool.Put(t)
				}
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Nanoseconds()), "median-ns/op")
			b.ReportMetric(float64(len(heldTimes))/float64(b.N), "held/op")
			if len(heldTimes) > 0 {
				slices.Sort(heldTimes)
				b.ReportMetric(float64(heldTimes[len(heldTimes)/2].Nanoseconds()), "held-median-ns/op")
			}
		})
	}
}
