package conformance

// The differential fuzzer: random small valid graphs, run by the native
// engine and by ONNX Runtime, must agree on every output's shape, type
// and values, or both refuse.
//
//	go test ./conformance -run '^$' -fuzz '^FuzzDifferential$' -fuzztime 1h -parallel 1
//
// Every failure the fuzzer finds is saved under
// testdata/fuzz/FuzzDifferential and runs as a regression case in every
// plain `go test`.

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/internal/ort"
	"github.com/onnxkit/onnxkit/internal/testenv"
	"github.com/onnxkit/onnxkit/native"
	"github.com/onnxkit/onnxkit/native/tensor"
	"github.com/onnxkit/onnxkit/onnx"
)

// dfValue is a float32 value of the graph being built, with its shape.
type dfValue struct {
	name  string
	shape []int64
}

// dfGen builds a random graph from a seed.
type dfGen struct {
	r      *rand.Rand
	b      *graph.Builder
	vals   []dfValue
	inputs map[string]*tensor.Tensor
	n      int // names given so far
}

// dfMaxElements keeps every value small, so that a case runs in
// milliseconds.
const dfMaxElements = 4096

func (g *dfGen) name(prefix string) string {
	g.n++
	return fmt.Sprintf("%s%d", prefix, g.n)
}

func dfCount(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}

// randomShape returns a shape of rank lo..hi with dimensions 1..5.
func (g *dfGen) randomShape(lo, hi int) []int64 {
	s := make([]int64, lo+g.r.IntN(hi-lo+1))
	for i := range s {
		s[i] = 1 + g.r.Int64N(5)
	}
	return s
}

// data returns normal random values for shape.
func (g *dfGen) data(shape []int64) []float32 {
	v := make([]float32, dfCount(shape))
	for i := range v {
		v[i] = float32(g.r.NormFloat64())
	}
	return v
}

// input adds a graph input of the given shape with random values.
func (g *dfGen) input(shape []int64) dfValue {
	name := g.name("in")
	dims := make([]graph.Dim, len(shape))
	ints := make([]int, len(shape))
	for i, d := range shape {
		dims[i], ints[i] = graph.Fixed(d), int(d)
	}
	g.b.Input(name, graph.Float32, dims...)
	g.inputs[name] = tensor.FromFloat32(g.data(shape), ints...)
	v := dfValue{name, shape}
	g.vals = append(g.vals, v)
	return v
}

// initializer adds a float32 initializer of random values.
func (g *dfGen) initializer(shape []int64) string {
	t := &graph.Tensor{Name: g.name("w"), DType: graph.Float32, Dims: slices.Clone(shape), Data: g.data(shape)}
	return g.b.Initializer(t.Name, t)
}

// awayFromZero adds a float32 initializer of values whose magnitude is
// between 0.5 and 1.5, either sign.
func (g *dfGen) awayFromZero(shape []int64) string {
	t := &graph.Tensor{Name: g.name("d"), DType: graph.Float32, Dims: slices.Clone(shape), Data: g.data(shape)}
	for i, v := range t.Data.([]float32) {
		m := float32(0.5 + g.r.Float64())
		if v < 0 {
			m = -m
		}
		t.Data.([]float32)[i] = m
	}
	return g.b.Initializer(t.Name, t)
}

// positive adds a float32 initializer of values between 0.5 and 1.5.
func (g *dfGen) positive(shape []int64) string {
	t := &graph.Tensor{Name: g.name("p"), DType: graph.Float32, Dims: slices.Clone(shape), Data: g.data(shape)}
	for i := range t.Data.([]float32) {
		t.Data.([]float32)[i] = float32(0.5 + g.r.Float64())
	}
	return g.b.Initializer(t.Name, t)
}

// scalarInt adds a rank-0 int64 initializer.
func (g *dfGen) scalarInt(v int64) string {
	t := &graph.Tensor{Name: g.name("k"), DType: graph.Int64, Dims: []int64{}, Data: []int64{v}}
	return g.b.Initializer(t.Name, t)
}

// ints adds an int64 initializer.
func (g *dfGen) ints(v ...int64) string {
	t := &graph.Tensor{Name: g.name("k"), DType: graph.Int64, Dims: []int64{int64(len(v))}, Data: v}
	return g.b.Initializer(t.Name, t)
}

// node adds a node and records its output's shape.
func (g *dfGen) node(op string, in []string, shape []int64, attrs ...*graph.Attr) {
	out := g.b.Node(op, g.name(op+"_"), in, attrs...)
	g.vals = append(g.vals, dfValue{out, shape})
}

// pick returns a random value.
func (g *dfGen) pick() dfValue { return g.vals[g.r.IntN(len(g.vals))] }

// broadcastPartner returns a shape that broadcasts with s to s: some
// dimensions set to 1, some leading ones dropped, of rank 1 at least (a
// limit kept from the first ONNX Runtime wrapper, which could not pass
// rank-0 tensors).
func (g *dfGen) broadcastPartner(s []int64) []int64 {
	if len(s) == 0 {
		return nil
	}
	p := slices.Clone(s[g.r.IntN(len(s)):])
	for i := range p {
		if g.r.IntN(3) == 0 {
			p[i] = 1
		}
	}
	return p
}

// dfOps are the operators the generator draws from, each adding one node
// over existing values (or failing to apply, returning false).
var dfOps = []struct {
	name  string
	apply func(g *dfGen) bool
}{
	{"unary", func(g *dfGen) bool {
		x := g.pick()
		op := []string{"Relu", "Sigmoid", "Tanh", "Abs", "Neg", "Exp", "Softsign", "Floor", "Sin"}[g.r.IntN(9)]
		g.node(op, []string{x.name}, x.shape)
		return true
	}},
	{"binary", func(g *dfGen) bool {
		x := g.pick()
		y := g.broadcastPartner(x.shape)
		yName := g.initializer(y)
		if g.r.IntN(2) == 0 {
			yName = g.input(y).name
		}
		op := []string{"Add", "Sub", "Mul", "Max", "Min", "Div"}[g.r.IntN(6)]
		in := []string{x.name, yName}
		if op == "Div" {
			// A denominator near 0 would turn summation-order rounding
			// into large differences: divide by constants of magnitude
			// 0.5 to 1.5.
			in[1] = g.awayFromZero(y)
		} else if g.r.IntN(2) == 0 {
			in[0], in[1] = in[1], in[0]
		}
		g.node(op, in, x.shape)
		return true
	}},
	{"MatMul", func(g *dfGen) bool {
		x := g.pick()
		k := x.shape[len(x.shape)-1]
		n := 1 + g.r.Int64N(6)
		var w []int64
		out := slices.Clone(x.shape)
		if len(x.shape) == 1 || g.r.IntN(2) == 0 {
			w = []int64{k, n}
		} else {
			w = append(g.broadcastPartner(x.shape[:len(x.shape)-2]), k, n)
		}
		if len(x.shape) == 1 {
			out = []int64{n}
		} else {
			out[len(out)-1] = n
		}
		if dfCount(out) > dfMaxElements {
			return false
		}
		g.node("MatMul", []string{x.name, g.initializer(w)}, out)
		return true
	}},
	{"Transpose", func(g *dfGen) bool {
		x := g.pick()
		perm := g.r.Perm(len(x.shape))
		p64 := make([]int64, len(perm))
		out := make([]int64, len(perm))
		for i, a := range perm {
			p64[i], out[i] = int64(a), x.shape[a]
		}
		g.node("Transpose", []string{x.name}, out, graph.IntsAttr("perm", p64...))
		return true
	}},
	{"Reshape", func(g *dfGen) bool {
		x := g.pick()
		n := dfCount(x.shape)
		// [a, n/a] for a divisor a, or [n], or [-1].
		var divs []int64
		for a := int64(1); a <= n; a++ {
			if n%a == 0 {
				divs = append(divs, a)
			}
		}
		a := divs[g.r.IntN(len(divs))]
		target, out := []int64{a, -1}, []int64{a, n / a}
		if g.r.IntN(3) == 0 {
			target, out = []int64{n}, []int64{n}
		}
		g.node("Reshape", []string{x.name, g.ints(target...)}, out)
		return true
	}},
	{"Concat", func(g *dfGen) bool {
		x := g.pick()
		axis := g.r.IntN(len(x.shape))
		other := slices.Clone(x.shape)
		other[axis] = 1 + g.r.Int64N(3)
		out := slices.Clone(x.shape)
		out[axis] += other[axis]
		if dfCount(out) > dfMaxElements {
			return false
		}
		a := int64(axis)
		if g.r.IntN(2) == 0 {
			a -= int64(len(x.shape))
		}
		g.node("Concat", []string{x.name, g.initializer(other)}, out, graph.IntAttr("axis", a))
		return true
	}},
	{"Slice", func(g *dfGen) bool {
		x := g.pick()
		axis := g.r.IntN(len(x.shape))
		d := x.shape[axis]
		start, end := g.r.Int64N(d+2)-1, g.r.Int64N(d+3)-1
		step := []int64{1, 1, 2, -1, -2}[g.r.IntN(5)]
		// The output length, as the spec computes it.
		clamp := func(v, lo, hi int64) int64 { return max(lo, min(hi, v)) }
		s, e := start, end
		if s < 0 {
			s += d
		}
		if e < 0 {
			e += d
		}
		var n int64
		if step > 0 {
			s, e = clamp(s, 0, d), clamp(e, 0, d)
			n = max(0, (e-s+step-1)/step)
		} else {
			s, e = clamp(s, 0, d-1), clamp(e, -1, d-1)
			n = max(0, (s-e-step-1)/(-step))
		}
		if n == 0 {
			return false // empty tensors are left to the node tests
		}
		out := slices.Clone(x.shape)
		out[axis] = n
		g.node("Slice", []string{x.name, g.ints(start), g.ints(end), g.ints(int64(axis)), g.ints(step)}, out)
		return true
	}},
	{"Reduce", func(g *dfGen) bool {
		x := g.pick()
		axis := g.r.IntN(len(x.shape))
		keep := g.r.IntN(2)
		if len(x.shape) == 1 {
			keep = 1 // no rank-0 values (see broadcastPartner)
		}
		out := slices.Clone(x.shape)
		if keep == 1 {
			out[axis] = 1
		} else {
			out = slices.Delete(out, axis, axis+1)
		}
		op := []string{"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceL2", "ReduceLogSumExp"}[g.r.IntN(6)]
		in := []string{x.name}
		attrs := []*graph.Attr{graph.IntAttr("keepdims", int64(keep))}
		if op == "ReduceSum" {
			in = append(in, g.ints(int64(axis)))
		} else {
			attrs = append(attrs, graph.IntsAttr("axes", int64(axis)))
		}
		g.node(op, in, out, attrs...)
		return true
	}},
	{"Softmax", func(g *dfGen) bool {
		x := g.pick()
		op := []string{"Softmax", "LogSoftmax"}[g.r.IntN(2)]
		axis := g.r.Int64N(int64(2*len(x.shape))) - int64(len(x.shape))
		g.node(op, []string{x.name}, x.shape, graph.IntAttr("axis", axis))
		return true
	}},
	{"Gather", func(g *dfGen) bool {
		x := g.pick()
		axis := g.r.IntN(len(x.shape))
		d := x.shape[axis]
		idx := make([]int64, 1+g.r.IntN(4))
		for i := range idx {
			idx[i] = g.r.Int64N(2*d) - d
		}
		out := slices.Concat(x.shape[:axis], []int64{int64(len(idx))}, x.shape[axis+1:])
		if dfCount(out) > dfMaxElements {
			return false
		}
		g.node("Gather", []string{x.name, g.ints(idx...)}, out, graph.IntAttr("axis", int64(axis)))
		return true
	}},
	{"Conv", func(g *dfGen) bool {
		x := g.pick()
		if len(x.shape) != 4 {
			return false
		}
		c := x.shape[1]
		group := int64(1)
		if c%2 == 0 && g.r.IntN(3) == 0 {
			group = 2
		}
		m := group * (1 + g.r.Int64N(3))
		out, attrs, ok := g.window(x.shape, m)
		if !ok {
			return false
		}
		k := attrs[0].Ints
		in := []string{x.name, g.initializer([]int64{m, c / group, k[0], k[1]})}
		if g.r.IntN(2) == 0 {
			in = append(in, g.initializer([]int64{m}))
		}
		g.node("Conv", in, out, append(attrs, graph.IntAttr("group", group))...)
		return true
	}},
	{"Pool", func(g *dfGen) bool {
		x := g.pick()
		if len(x.shape) != 4 {
			return false
		}
		out, attrs, ok := g.window(x.shape, x.shape[1])
		if !ok {
			return false
		}
		attrs[0].Name = "kernel_shape"
		op := []string{"MaxPool", "AveragePool"}[g.r.IntN(2)]
		if op == "AveragePool" {
			attrs = slices.DeleteFunc(attrs, func(a *graph.Attr) bool { return a.Name == "dilations" })
			attrs = append(attrs, graph.IntAttr("count_include_pad", g.r.Int64N(2)))
			// ONNX Runtime's average pool has no dilations: recompute.
			out, _ = dfWindowOut(x.shape, x.shape[1], attrs)
		}
		g.node(op, []string{x.name}, out, attrs...)
		return true
	}},
	{"Flatten", func(g *dfGen) bool {
		x := g.pick()
		axis := g.r.IntN(len(x.shape) + 1)
		out := []int64{dfCount(x.shape[:axis]), dfCount(x.shape[axis:])}
		g.node("Flatten", []string{x.name}, out, graph.IntAttr("axis", int64(axis)))
		return true
	}},
	{"Expand", func(g *dfGen) bool {
		x := g.pick()
		// Each dimension of 1 may grow; new leading axes may be added.
		out := slices.Clone(x.shape)
		for i := range out {
			if out[i] == 1 && g.r.IntN(2) == 0 {
				out[i] = 1 + g.r.Int64N(4)
			}
		}
		for range g.r.IntN(2) {
			out = append([]int64{1 + g.r.Int64N(3)}, out...)
		}
		if dfCount(out) > dfMaxElements {
			return false
		}
		target := slices.Clone(out)
		for i := len(out) - len(x.shape); i < len(out); i++ {
			if g.r.IntN(3) == 0 && x.shape[i-(len(out)-len(x.shape))] == out[i] {
				target[i] = 1 // 1 keeps the input's size
			}
		}
		g.node("Expand", []string{x.name, g.ints(target...)}, out)
		return true
	}},
	{"Tile", func(g *dfGen) bool {
		x := g.pick()
		reps := make([]int64, len(x.shape))
		out := slices.Clone(x.shape)
		for i := range reps {
			reps[i] = 1 + g.r.Int64N(3)
			out[i] *= reps[i]
		}
		if dfCount(out) > dfMaxElements {
			return false
		}
		g.node("Tile", []string{x.name, g.ints(reps...)}, out)
		return true
	}},
	{"Pad", func(g *dfGen) bool {
		x := g.pick()
		mode := []string{"constant", "reflect", "edge"}[g.r.IntN(3)]
		r := len(x.shape)
		pads := make([]int64, 2*r)
		out := slices.Clone(x.shape)
		for i := range pads {
			d := x.shape[i%r]
			lim := int64(3)
			if mode == "reflect" {
				lim = d - 1 // reflection needs pads below the size
			}
			if lim > 0 {
				pads[i] = g.r.Int64N(lim + 1)
				if mode == "constant" && g.r.IntN(4) == 0 {
					pads[i] = -g.r.Int64N(d) // negative pads crop
				}
			}
			out[i%r] += pads[i]
		}
		if dfCount(out) > dfMaxElements || slices.Contains(out, 0) || slices.ContainsFunc(out, func(d int64) bool { return d < 0 }) {
			return false
		}
		in := []string{x.name, g.ints(pads...)}
		if mode == "constant" && g.r.IntN(2) == 0 {
			in = append(in, g.initializer(nil))
		}
		g.node("Pad", in, out, graph.StringAttr("mode", mode))
		return true
	}},
	{"Unsqueeze", func(g *dfGen) bool {
		x := g.pick()
		axis := g.r.IntN(len(x.shape) + 1)
		out := slices.Insert(slices.Clone(x.shape), axis, 1)
		a := int64(axis)
		if g.r.IntN(2) == 0 {
			a -= int64(len(out))
		}
		g.node("Unsqueeze", []string{x.name, g.ints(a)}, out)
		return true
	}},
	{"activation", func(g *dfGen) bool {
		x := g.pick()
		switch g.r.IntN(4) {
		case 0:
			g.node("LeakyRelu", []string{x.name}, x.shape, graph.FloatAttr("alpha", float32(g.r.Float64())))
		case 1:
			g.node("Elu", []string{x.name}, x.shape, graph.FloatAttr("alpha", float32(g.r.Float64()*2)))
		case 2:
			g.node("HardSigmoid", []string{x.name}, x.shape)
		default:
			lo, hi := g.initializer(nil), g.initializer(nil)
			g.node("Clip", []string{x.name, lo, hi}, x.shape)
		}
		return true
	}},
	{"Gemm", func(g *dfGen) bool {
		x := g.pick()
		if len(x.shape) != 2 {
			return false
		}
		transA, transB := g.r.Int64N(2), g.r.Int64N(2)
		m, k := x.shape[0], x.shape[1]
		if transA == 1 {
			m, k = k, m
		}
		n := 1 + g.r.Int64N(5)
		w := []int64{k, n}
		if transB == 1 {
			w = []int64{n, k}
		}
		in := []string{x.name, g.initializer(w)}
		if g.r.IntN(2) == 0 {
			in = append(in, g.initializer(g.broadcastPartner([]int64{m, n})))
		}
		g.node("Gemm", in, []int64{m, n}, graph.IntAttr("transA", transA), graph.IntAttr("transB", transB),
			graph.FloatAttr("alpha", float32(g.r.Float64()+0.5)), graph.FloatAttr("beta", float32(g.r.Float64()+0.5)))
		return true
	}},
	{"ConvTranspose", func(g *dfGen) bool {
		x := g.pick()
		if len(x.shape) != 4 {
			return false
		}
		c, m := x.shape[1], 1+g.r.Int64N(3)
		k := []int64{1 + g.r.Int64N(3), 1 + g.r.Int64N(3)}
		strides := []int64{1 + g.r.Int64N(2), 1 + g.r.Int64N(2)}
		dil := []int64{1 + g.r.Int64N(2), 1 + g.r.Int64N(2)}
		pads := []int64{g.r.Int64N(k[0]), g.r.Int64N(k[1]), g.r.Int64N(k[0]), g.r.Int64N(k[1])}
		out := []int64{x.shape[0], m, 0, 0}
		for i := range 2 {
			out[2+i] = strides[i]*(x.shape[2+i]-1) + dil[i]*(k[i]-1) + 1 - pads[i] - pads[i+2]
			if out[2+i] < 1 {
				return false
			}
		}
		if dfCount(out) > dfMaxElements {
			return false
		}
		in := []string{x.name, g.initializer([]int64{c, m, k[0], k[1]})}
		if g.r.IntN(2) == 0 {
			in = append(in, g.initializer([]int64{m}))
		}
		g.node("ConvTranspose", in, out, graph.IntsAttr("kernel_shape", k...), graph.IntsAttr("strides", strides...),
			graph.IntsAttr("pads", pads...), graph.IntsAttr("dilations", dil...))
		return true
	}},
	{"normalization", func(g *dfGen) bool {
		x := g.pick()
		switch g.r.IntN(4) {
		case 0: // BatchNormalization, inference
			if len(x.shape) < 2 {
				return false
			}
			c := []int64{x.shape[1]}
			g.node("BatchNormalization", []string{x.name, g.initializer(c), g.initializer(c), g.initializer(c), g.positive(c)},
				x.shape, graph.FloatAttr("epsilon", 1e-3))
		case 1: // LayerNormalization over the axes from axis on
			axis := g.r.IntN(len(x.shape))
			norm := x.shape[axis:]
			if dfCount(norm) < 2 {
				return false // a single element normalises to exactly 0 - mean
			}
			g.node("LayerNormalization", []string{x.name, g.initializer(norm), g.initializer(norm)}, x.shape,
				graph.IntAttr("axis", int64(axis)), graph.FloatAttr("epsilon", 1e-3))
		case 2: // InstanceNormalization
			if len(x.shape) < 3 || dfCount(x.shape[2:]) < 2 {
				return false
			}
			c := []int64{x.shape[1]}
			g.node("InstanceNormalization", []string{x.name, g.initializer(c), g.initializer(c)}, x.shape,
				graph.FloatAttr("epsilon", 1e-3))
		default: // LRN
			if len(x.shape) != 4 {
				return false
			}
			g.node("LRN", []string{x.name}, x.shape, graph.IntAttr("size", 1+2*g.r.Int64N(3)),
				graph.FloatAttr("alpha", 1e-3), graph.FloatAttr("beta", 0.75), graph.FloatAttr("bias", 1))
		}
		return true
	}},
	{"Where", func(g *dfGen) bool {
		x := g.pick()
		y := g.broadcastPartner(x.shape)
		cond := g.b.Node("Less", g.name("Less_"), []string{x.name, g.initializer(y)})
		other := g.initializer(g.broadcastPartner(x.shape))
		g.node("Where", []string{cond, x.name, other}, x.shape)
		return true
	}},
	{"CumSum", func(g *dfGen) bool {
		x := g.pick()
		axis := g.r.Int64N(int64(len(x.shape)))
		g.node("CumSum", []string{x.name, g.scalarInt(axis)}, x.shape,
			graph.IntAttr("exclusive", g.r.Int64N(2)), graph.IntAttr("reverse", g.r.Int64N(2)))
		return true
	}},
	{"Resize", func(g *dfGen) bool {
		x := g.pick()
		if len(x.shape) != 4 {
			return false
		}
		out := slices.Clone(x.shape)
		sizes := slices.Clone(x.shape)
		for i := 2; i < 4; i++ {
			sizes[i] = 1 + g.r.Int64N(2*x.shape[i]+1)
			out[i] = sizes[i]
		}
		if dfCount(out) > dfMaxElements {
			return false
		}
		mode := []string{"nearest", "linear", "cubic"}[g.r.IntN(3)]
		ctm := []string{"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"}[g.r.IntN(4)]
		attrs := []*graph.Attr{graph.StringAttr("mode", mode), graph.StringAttr("coordinate_transformation_mode", ctm)}
		if mode == "nearest" {
			attrs = append(attrs, graph.StringAttr("nearest_mode", []string{"round_prefer_floor", "floor", "ceil"}[g.r.IntN(3)]))
		}
		g.node("Resize", []string{x.name, "", "", g.ints(sizes...)}, out, attrs...)
		return true
	}},
	{"new input", func(g *dfGen) bool {
		g.input(g.randomShape(1, 4))
		return true
	}},
}

// window draws a 2-D kernel, strides, pads and dilations for x (NCHW)
// whose output is not empty: the first attribute is the kernel shape,
// named "kernel_shape" (Conv infers it from the weight, but accepts it).
func (g *dfGen) window(x []int64, m int64) ([]int64, []*graph.Attr, bool) {
	k := []int64{1 + g.r.Int64N(3), 1 + g.r.Int64N(3)}
	strides := []int64{1 + g.r.Int64N(2), 1 + g.r.Int64N(2)}
	dil := []int64{1 + g.r.Int64N(2), 1 + g.r.Int64N(2)}
	pads := make([]int64, 4)
	for i := range pads {
		pads[i] = g.r.Int64N(k[i%2])
	}
	attrs := []*graph.Attr{graph.IntsAttr("kernel_shape", k...), graph.IntsAttr("strides", strides...),
		graph.IntsAttr("pads", pads...), graph.IntsAttr("dilations", dil...)}
	out, ok := dfWindowOut(x, m, attrs)
	return out, attrs, ok && dfCount(out) <= dfMaxElements
}

// dfWindowOut is the output shape of a convolution or pooling window
// over x with m output channels.
func dfWindowOut(x []int64, m int64, attrs []*graph.Attr) ([]int64, bool) {
	get := func(name string, def []int64) []int64 {
		for _, a := range attrs {
			if a.Name == name {
				return a.Ints
			}
		}
		return def
	}
	k, s, p, d := get("kernel_shape", nil), get("strides", []int64{1, 1}), get("pads", []int64{0, 0, 0, 0}), get("dilations", []int64{1, 1})
	out := []int64{x[0], m, 0, 0}
	for i := range 2 {
		span := d[i]*(k[i]-1) + 1
		n := x[2+i] + p[i] + p[i+2] - span
		if n < 0 {
			return nil, false
		}
		out[2+i] = n/s[i] + 1
	}
	return out, true
}

// dfBuild builds the graph of seed: one or two inputs and up to six
// nodes, the last value (and sometimes another) as outputs.
func dfBuild(seed uint64) (*graph.Model, map[string]*tensor.Tensor, error) {
	g := &dfGen{r: rand.New(rand.NewPCG(seed, 0x0d1ff)), b: graph.NewBuilder("difffuzz", graph.OpsetID{Version: 17}),
		inputs: map[string]*tensor.Tensor{}}
	g.input(g.randomShape(1, 4))
	if g.r.IntN(2) == 0 {
		g.input([]int64{1 + g.r.Int64N(3), 1 + g.r.Int64N(4), 1 + g.r.Int64N(6), 1 + g.r.Int64N(6)})
	}
	nodes := 1 + g.r.IntN(6)
	for added, tries := 0, 0; added < nodes && tries < 50; tries++ {
		if dfOps[g.r.IntN(len(dfOps))].apply(g) {
			added++
		}
	}
	last := g.vals[len(g.vals)-1]
	g.b.Output(last.name, nil)
	if other := g.pick(); other.name != last.name && g.r.IntN(3) == 0 && g.inputs[other.name] == nil {
		g.b.Output(other.name, nil)
	}
	m, err := g.b.Model()
	return m, g.inputs, err
}

// dfTolerance: float32 results whose summation orders differ.
const dfRtol, dfAtol = 1e-4, 1e-4

// dfOutcome is what a case came to.
type dfOutcome int

const (
	dfAgree      dfOutcome = iota // both ran and agree
	dfBothRefuse                  // both refused the graph
	dfDisagree                    // a difference, or one engine refused
)

// dfCompare runs seed's graph in both engines and returns the outcome,
// with the reason when they disagree.
func dfCompare(t *testing.T, seed uint64) (dfOutcome, error) {
	m, inputs, err := dfBuild(seed)
	if err != nil {
		return dfDisagree, fmt.Errorf("seed %d: the generator built an invalid graph: %v", seed, err)
	}
	outcome, err := dfCompareModel(t, m, inputs)
	if err != nil {
		err = fmt.Errorf("%w\nseed %d", err, seed)
		if *dfSave != "" {
			if werr := onnx.WriteFile(filepath.Join(*dfSave, fmt.Sprintf("seed%d.onnx", seed)), m, nil); werr != nil {
				t.Error(werr)
			}
		}
	}
	return outcome, err
}

// dfCompareModel runs m on inputs in both engines and returns the
// outcome, with the reason and the graph when they disagree.
func dfCompareModel(t *testing.T, m *graph.Model, inputs map[string]*tensor.Tensor) (dfOutcome, error) {
	path := filepath.Join(t.TempDir(), "model.onnx")
	if err := onnx.WriteFile(path, m, nil); err != nil {
		return dfDisagree, err
	}
	fail := func(format string, args ...any) (dfOutcome, error) {
		return dfDisagree, fmt.Errorf("%s\ngraph:\n%s", fmt.Sprintf(format, args...), dfDescribe(m))
	}

	var nativeOut map[string]*tensor.Tensor
	_, nativeErr := dfNative(m, inputs, &nativeOut)
	s, ortErr := ort.Open(path, ort.Options{IntraOpThreads: 1})
	var ortOut map[string]*tensor.Tensor
	if ortErr == nil {
		ortOut, ortErr = s.Run(inputs)
		s.Close()
	}
	switch {
	case nativeErr != nil && ortErr != nil:
		return dfBothRefuse, nil
	case nativeErr != nil:
		return fail("native refuses what ONNX Runtime runs: %v", nativeErr)
	case ortErr != nil:
		return fail("ONNX Runtime refuses (%v) what native runs", ortErr)
	}
	for _, out := range m.Graph.Outputs {
		a, b := nativeOut[out.Name], ortOut[out.Name]
		if a == nil || b == nil || a.DType != b.DType || !slices.Equal(a.Shape, b.Shape) {
			return fail("output %q: native %v, ONNX Runtime %v", out.Name, a, b)
		}
		av, bv := a.F32(), b.F32()
		for i := range av {
			x, y := float64(av[i]), float64(bv[i])
			if math.IsNaN(x) && math.IsNaN(y) || x == y {
				continue
			}
			if !(math.Abs(x-y) <= dfAtol+dfRtol*math.Abs(y)) {
				return fail("output %q %v element %d: native %g, ONNX Runtime %g (rtol %g, atol %g)",
					out.Name, a.Shape, i, x, y, dfRtol, dfAtol)
			}
		}
	}
	return dfAgree, nil
}

// dfNative compiles and runs m natively, turning a panic into an error
// (a panic is a find too, and must not end a sweep).
func dfNative(m *graph.Model, inputs map[string]*tensor.Tensor, out *map[string]*tensor.Tensor) (prog *native.Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	if prog, err = native.Compile(m); err != nil {
		return nil, err
	}
	*out, err = prog.Run(inputs)
	return prog, err
}

// dfDescribe lists a graph's nodes, one a line.
func dfDescribe(m *graph.Model) string {
	s := ""
	for _, v := range m.Graph.Inputs {
		s += fmt.Sprintf("  input %s %v\n", v.Name, v.Type)
	}
	for _, n := range m.Graph.Nodes {
		s += fmt.Sprintf("  %s = %s(%v)", n.Outputs[0], n.OpType, n.Inputs)
		for _, a := range n.Attrs {
			s += fmt.Sprintf(" %s=%v", a.Name, a.Ints)
			if a.Kind == graph.AttrInt {
				s += fmt.Sprint(a.Int)
			}
		}
		s += "\n"
	}
	return s
}

// dfInitORT loads ONNX Runtime or skips (fails under CI).
func dfInitORT(t testing.TB) {
	if err := ort.Load(testenv.ORTLibrary(t)); err != nil {
		t.Fatal(err)
	}
}

// FuzzDifferential compares the engines on the random graph of each
// seed. The seeds below and the saved finds run in every `go test`.
func FuzzDifferential(f *testing.F) {
	for seed := range uint64(64) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		dfInitORT(t)
		if _, err := dfCompare(t, seed); err != nil {
			t.Fatal(err)
		}
	})
}

// TestDifferentialFinds replays the fuzzer's finds kept as models in
// testdata/difffuzz (inputs drawn from their declared shapes): each must
// agree with ONNX Runtime, or, while the find is open (README.md there),
// be refused natively with an error that names the node: never a panic
// or a wrong number.
func TestDifferentialFinds(t *testing.T) {
	dfInitORT(t)
	paths, err := filepath.Glob(filepath.Join("testdata", "difffuzz", "*.onnx"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no finds in testdata/difffuzz (%v)", err)
	}
	for _, path := range paths {
		m, err := onnx.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(1, 2))
		inputs := map[string]*tensor.Tensor{}
		for _, v := range m.Graph.Inputs {
			shape := make([]int, len(v.Type.Shape))
			for i, d := range v.Type.Shape {
				shape[i] = int(d.Size)
			}
			x := tensor.Float32(shape...)
			for i := range x.F32() {
				x.F32()[i] = float32(r.NormFloat64())
			}
			inputs[v.Name] = x
		}
		outcome, err := dfCompareModel(t, m, inputs)
		if outcome == dfDisagree && !(strings.HasPrefix(err.Error(), "native refuses") && strings.Contains(err.Error(), "node ")) {
			t.Errorf("%s: %v", path, err)
		}
	}
}

var (
	dfSweep = flag.Int("difffuzz.sweep", 1000, "TestDifferentialSweep: number of seeds to try")
	dfStart = flag.Uint64("difffuzz.start", 1<<32, "TestDifferentialSweep: the first seed")
	dfSave  = flag.String("difffuzz.save", "", "TestDifferentialSweep: a folder to write every disagreeing graph to, as seedN.onnx")
)

// dfKind is the kind of a disagreement: its first line without names and
// numbers.
func dfKind(err error) string {
	line, _, _ := strings.Cut(err.Error(), "\n")
	line = regexp.MustCompile(`"[^"]*"`).ReplaceAllString(line, "_")
	return regexp.MustCompile(`[-+]?[0-9][0-9.e+-]*`).ReplaceAllString(line, "#")
}

// TestDifferentialSweep runs -difffuzz.sweep consecutive seeds (1,000 by
// default, about 3 s) without stopping at the first disagreement, and
// reports the counts. The long run of the differential fuzzer is the same
// test with more seeds:
//
//	go test ./conformance -run TestDifferentialSweep -difffuzz.sweep 1000000 -timeout 0
func TestDifferentialSweep(t *testing.T) {
	dfInitORT(t)
	var counts [3]int
	kinds := map[string]int{} // disagreements by kind, each printed three times at most
	start := time.Now()
	for i := range *dfSweep {
		seed := *dfStart + uint64(i)
		outcome, err := dfCompare(t, seed)
		counts[outcome]++
		if err != nil {
			kind := dfKind(err)
			if kinds[kind]++; kinds[kind] <= 3 {
				t.Errorf("%v", err)
			}
		}
		if (i+1)%1000 == 0 {
			t.Logf("%d seeds in %v: %d agree, %d both refuse, %d disagree", i+1, time.Since(start).Round(time.Second), counts[dfAgree], counts[dfBothRefuse], counts[dfDisagree])
		}
	}
	for kind, n := range kinds {
		t.Logf("%6d x %s", n, kind)
	}
	t.Logf("done: %d seeds from %d in %v: %d agree, %d both refuse, %d disagree", *dfSweep, *dfStart,
		time.Since(start).Round(time.Second), counts[dfAgree], counts[dfBothRefuse], counts[dfDisagree])
}
