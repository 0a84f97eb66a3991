package graph

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Data propagation. Exporters compute shapes at run time: PyTorch writes
// x.view(x.size(0), -1) as Shape -> Gather -> Unsqueeze -> Concat ->
// Reshape. To give such a Reshape a shape, inference follows the elements
// of small integer tensors (rank 0 or 1, at most maxDataElems elements)
// through the ops that build shapes, as ONNX's infer_shapes(data_prop=True)
// does. An element is a known integer, a symbolic size such as N, or
// unknown.

// maxDataElems bounds the values whose elements inference follows.
const maxDataElems = 64

// symInt is one element of a followed integer value: a known integer of
// any sign (Known), a symbolic size (Sym), or unknown (neither).
type symInt struct {
	N     int64
	Sym   string
	Known bool
}

// symInts are the elements of a followed value in row-major order.
type symInts []symInt

func knownInt(n int64) symInt { return symInt{N: n, Known: true} }

// dimInt is the element holding size d.
func dimInt(d Dim) symInt {
	switch {
	case d.Known():
		return knownInt(d.Size)
	case d.Param != "":
		return symInt{Sym: d.Param}
	}
	return symInt{}
}

// dim is e as a dimension: a negative integer is no size, so unknown.
func (e symInt) dim() Dim {
	switch {
	case e.Known && e.N >= 0:
		return Fixed(e.N)
	case e.Sym != "":
		return Symbol(e.Sym)
	}
	return UnknownDim()
}

// ints returns the elements as integers when all are known.
func (v symInts) ints() ([]int64, bool) {
	out := make([]int64, len(v))
	for i, e := range v {
		if !e.Known {
			return nil, false
		}
		out[i] = e.N
	}
	return out, true
}

// tensorData is the followed value of constant t, nil when t is not a
// small integer or boolean tensor of rank 0 or 1.
func tensorData(t *Tensor) symInts {
	if len(t.Dims) > 1 || t.NumElements() > maxDataElems {
		return nil
	}
	var v symInts
	switch d := t.Data.(type) {
	case []int64:
		for _, x := range d {
			v = append(v, knownInt(x))
		}
	case []int32:
		for _, x := range d {
			v = append(v, knownInt(int64(x)))
		}
	case []bool:
		for _, x := range d {
			v = append(v, knownInt(boolInt(x)))
		}
	default:
		return nil
	}
	if int64(len(v)) != t.NumElements() {
		return nil
	}
	if v == nil {
		v = symInts{}
	}
	return v
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// data returns the followed elements of input i, nil when not known.
func (c *inferCtx) data(i int) symInts {
	if i < len(c.vals) {
		return c.vals[i]
	}
	return nil
}

// ints returns the elements of input i when all are known integers.
func (c *inferCtx) ints(i int) ([]int64, bool) {
	if v := c.data(i); v != nil {
		return v.ints()
	}
	return nil, false
}

// setData records output 0's elements, when the output is small enough
// to follow.
func (c *inferCtx) setData(v symInts) {
	if v != nil && len(v) <= maxDataElems {
		c.out = v
	}
}

// freshDim is a new symbol for a size known only at run time, such as
// the number of elements NonZero finds.
func (c *inferCtx) freshDim() Dim {
	c.state.fresh++
	return Symbol(fmt.Sprintf("unk__%d", c.state.fresh))
}

// Symbolic products. A symbol may be a product of factors written
// "12*N": Reshape(x [N,12,197,64], [-1,197,64]) gives [12*N,197,64], and
// the product cancels again when divided by 12.

// productOf is the product of dims.
func productOf(dims []Dim) product {
	p := product{known: 1, symbols: map[string]int{}}
	for _, d := range dims {
		switch {
		case d.Known():
			p.known *= d.Size
		case d.Param != "":
			for _, f := range strings.Split(d.Param, "*") {
				if n, err := strconv.ParseInt(f, 10, 64); err == nil && n > 0 {
					p.known *= n
				} else {
					p.symbols[f]++
				}
			}
		default:
			p.unknown = true
		}
	}
	return p
}

// SizeAt returns the dimension's size when every symbol, and an unknown
// dimension, stands for n: a product of symbols such as "12*N" gives 12*n.
func (d Dim) SizeAt(n int64) int64 {
	p := productOf([]Dim{d})
	size := p.known
	times := func() {
		if n > 0 && size > math.MaxInt64/n {
			size = math.MaxInt64 // saturate: a hostile shape must not wrap around
			return
		}
		size *= n
	}
	for _, k := range p.symbols {
		for range k {
			times()
		}
	}
	if p.unknown {
		times()
	}
	return size
}

// dim returns the product as one dimension: known, a symbol or a product
// of symbols written with "*", or unknown.
func (p product) dim() Dim {
	switch {
	case p.unknown:
		return UnknownDim()
	case len(p.symbols) == 0 || p.known == 0:
		return Fixed(p.known)
	}
	var parts []string
	if p.known != 1 {
		parts = append(parts, strconv.FormatInt(p.known, 10))
	}
	for _, s := range slices.Sorted(maps.Keys(p.symbols)) {
		for range p.symbols[s] {
			parts = append(parts, s)
		}
	}
	return Symbol(strings.Join(parts, "*"))
}

// Element arithmetic: exact on known integers, and on symbols where the
// result is a size again (N*12, 12*N/12, N+0); unknown otherwise.

func (e symInt) isZero() bool { return e.Known && e.N == 0 }
func (e symInt) isOne() bool  { return e.Known && e.N == 1 }

func intAdd(a, b symInt) symInt {
	switch {
	case a.Known && b.Known:
		return knownInt(a.N + b.N)
	case a.isZero():
		return b
	case b.isZero():
		return a
	}
	return symInt{}
}

func intSub(a, b symInt) symInt {
	switch {
	case a.Known && b.Known:
		return knownInt(a.N - b.N)
	case b.isZero():
		return a
	case a.Sym != "" && a.Sym == b.Sym:
		return knownInt(0)
	}
	return symInt{}
}

func intMul(a, b symInt) symInt {
	switch {
	case a.Known && b.Known:
		return knownInt(a.N * b.N)
	case a.isZero() || b.isZero():
		return knownInt(0)
	case a.isOne():
		return b
	case b.isOne():
		return a
	case a.Known && a.N < 0 || b.Known && b.N < 0:
		return symInt{}
	}
	return dimInt(productOf([]Dim{a.dim(), b.dim()}).dim())
}

// intDiv is integer division as ONNX's Div does it on integers,
// truncating, and symbolic only where exact.
func intDiv(a, b symInt) symInt {
	switch {
	case a.Known && b.Known && b.N != 0:
		return knownInt(a.N / b.N)
	case b.isOne():
		return a
	case a.Sym != "" && (b.Sym != "" || b.Known && b.N > 0):
		return dimInt(quotient(productOf([]Dim{a.dim()}), productOf([]Dim{b.dim()})))
	}
	return symInt{}
}

func intMod(a, b symInt) symInt {
	if a.Known && b.Known && b.N != 0 {
		m := a.N % b.N
		if m != 0 && (m < 0) != (b.N < 0) {
			m += b.N // ONNX Mod with fmod=0 takes the divisor's sign
		}
		return knownInt(m)
	}
	return symInt{}
}

// intCompare compares two elements; ok is false when it cannot be known.
// A symbol is a size, so never negative.
func intCompare(a, b symInt) (cmp int, ok bool) {
	switch {
	case a.Known && b.Known:
		return compareInt(a.N, b.N), true
	case a.Sym != "" && a.Sym == b.Sym:
		return 0, true
	case a.Sym != "" && b.Known && b.N < 0:
		return 1, true
	case b.Sym != "" && a.Known && a.N < 0:
		return -1, true
	}
	return 0, false
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// broadcastData applies f elementwise to two followed values of rank at
// most 1 with numpy broadcasting; nil when either is unknown or their
// lengths do not broadcast.
func broadcastData(a, b symInts, f func(x, y symInt) symInt) symInts {
	if a == nil || b == nil {
		return nil
	}
	n := max(len(a), len(b))
	if len(a) != n && len(a) != 1 || len(b) != n && len(b) != 1 {
		return nil
	}
	out := make(symInts, n)
	for i := range out {
		out[i] = f(a[min(i, len(a)-1)], b[min(i, len(b)-1)])
	}
	return out
}

// shapeOfData is the shape a followed value gives as a shape input
// (Reshape's, Expand's, ConstantOfShape's): each element a dimension.
func shapeOfData(v symInts) Shape {
	s := make(Shape, len(v))
	for i, e := range v {
		s[i] = e.dim()
	}
	return s
}

// dataOfShape is the value Shape makes of s.
func dataOfShape(s Shape) symInts {
	v := make(symInts, len(s))
	for i, d := range s {
		v[i] = dimInt(d)
	}
	return v
}
