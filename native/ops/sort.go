package ops

// Ops that order elements: TopK and Unique.

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// sortOps is the operator table of sort.go (see registry.go).
var sortOps = []Entry{
	{OpType: "TopK", Since: []int64{1}, Build: newTopK(1)},
	{OpType: "TopK", Since: []int64{10}, Build: newTopK(10)},
	{OpType: "TopK", Since: []int64{11}, Build: newTopK(11)},
	{OpType: "Unique", Since: []int64{11}, Build: newUnique},
}

// topK is TopK: the k largest (or smallest) elements along axis (default
// -1) and their int64 indices, both of shape X with axis resized to k.
// Equal values keep their order: the lower index comes first. NaN ranks
// above every number. Results are always in sorted order, which sorted=0
// (order unspecified) permits.
// Opset history: 1 (k attribute), 10 (k is input 1, a 1-element int64
// tensor), 11 (largest and sorted attributes, default 1; negative axis).
type topK struct {
	k        int64 // the k attribute, opset 1 only; -1 when k is an input
	axis     int64
	smallest bool
}

func newTopK(since int64) Constructor {
	return func(n *graph.Node, opset int64) (Op, error) {
		op := &topK{k: -1}
		var err error
		if op.axis, err = n.Declared().Int("axis"); err != nil {
			return nil, err
		}
		if since < 10 {
			if !n.HasAttr("k") {
				return nil, attrError(n, "k", "is required")
			}
			if op.k, err = n.Declared().Int("k"); err != nil {
				return nil, err
			}
			if op.k < 0 {
				return nil, attrError(n, "k", "is %d, want at least 0", op.k)
			}
		}
		if since >= 11 {
			largest, err := n.Declared().Int("largest")
			if err != nil {
				return nil, err
			}
			op.smallest = largest == 0
		}
		return op, nil
	}
}

// Forward returns Values and Indices.
func (t *topK) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, -1); err != nil {
		return nil, err
	}
	x := in[0]
	if !isRealDType(x.DType) {
		return nil, fmt.Errorf("input X is %v, want a numeric type", x.DType)
	}
	k := t.k
	if k < 0 {
		if err := checkArity(in, 2, -1); err != nil {
			return nil, err
		}
		kt := in[1]
		if kt.DType != graph.Int64 || kt.Len() != 1 || len(kt.Shape) > 1 {
			return nil, fmt.Errorf("input K is %v, want a 1-element int64 tensor", kt)
		}
		k = kt.Data.([]int64)[0]
	}
	axis, err := resolveAxis(t.axis, len(x.Shape), "axis")
	if err != nil {
		return nil, err
	}
	outer, n, inner := splitAtAxis(x.Shape, axis)
	if k < 0 || k > int64(n) {
		return nil, fmt.Errorf("k is %d, want 0 to %d (the length of axis %d)", k, n, axis)
	}
	shape := append([]int(nil), x.Shape...)
	shape[axis] = int(k)
	var vals any
	var idx []int64
	switch d := computeData(x).(type) {
	case []float32:
		vals, idx = topKKernel(d, outer, n, inner, int(k), t.smallest)
	case []float64:
		vals, idx = topKKernel(d, outer, n, inner, int(k), t.smallest)
	case []int8:
		vals, idx = topKKernel(d, outer, n, inner, int(k), t.smallest)
	case []int16:
		vals, idx = topKKernel(d, outer, n, inner, int(k), t.smallest)
	case []int32:
		vals, idx = topKKernel(d, outer, n, inner, int(k), t.smallest)
	case []int64:
		vals, idx = topKKernel(d, outer, n, inner, int(k), t.smallest)
	case []uint8:
		vals, idx = topKKernel(d, outer, n, inner, int(k), t.smallest)
	case []uint16:
		vals, idx = topKKernel(d, outer, n, inner, int(k), t.smallest)
	case []uint32:
		vals, idx = topKKernel(d, outer, n, inner, int(k), t.smallest)
	case []uint64:
		vals, idx = topKKernel(d, outer, n, inner, int(k), t.smallest)
	}
	return []*tensor.Tensor{
		storeData(x.DType, shape, vals),
		{DType: graph.Int64, Shape: shape, Data: idx},
	}, nil
}

// topKKernel selects, for x viewed as [outer, n, inner], the k extreme
// elements of each line along n.
func topKKernel[T realNumber](x []T, outer, n, inner, k int, smallest bool) ([]T, []int64) {
	vals := make([]T, outer*k*inner)
	idx := make([]int64, outer*k*inner)
	order := make([]int, n)
	for o := range outer {
		for i := range inner {
			start := o*n*inner + i
			for j := range order {
				order[j] = j
			}
			slices.SortStableFunc(order, func(a, b int) int {
				c := compareNaNHigh(x[start+a*inner], x[start+b*inner])
				if smallest {
					return c
				}
				return -c
			})
			for j := range k {
				p := o*k*inner + j*inner + i
				vals[p] = x[start+order[j]*inner]
				idx[p] = int64(order[j])
			}
		}
	}
	return vals, idx
}

// compareNaNHigh orders numbers ascending with NaN above all of them.
func compareNaNHigh[T realNumber](a, b T) int {
	an, bn := isNaNElem(a), isNaNElem(b)
	switch {
	case an || bn:
		if an && bn {
			return 0
		}
		if an {
			return 1
		}
		return -1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// unique is Unique: the distinct elements of X (flattened when axis is
// absent) or its distinct slices along axis, in ascending (lexicographic
// for slices) order when sorted (default 1) and in order of first
// occurrence otherwise. Outputs: Y; indices, the int64 position in X of
// each Y entry's first occurrence; inverse_indices, for each position of
// X the index of its entry in Y; counts, the number of occurrences of
// each entry. Floats compare by value (-0 equals 0; NaNs equal each
// other). Opset history: 11.
type unique struct {
	hasAxis bool
	axis    int64
	sorted  bool
}

func newUnique(n *graph.Node, opset int64) (Op, error) {
	op := &unique{hasAxis: n.HasAttr("axis")}
	var err error
	if op.axis, err = n.Declared().Int("axis"); err != nil {
		return nil, err
	}
	s, err := n.Declared().Int("sorted")
	if err != nil {
		return nil, err
	}
	op.sorted = s != 0
	return op, nil
}

// Forward returns Y, indices, inverse_indices and counts.
func (u *unique) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, -1); err != nil {
		return nil, err
	}
	x := in[0]
	shape := []int{x.Len()}
	axis := 0
	if u.hasAxis {
		var err error
		if axis, err = resolveAxis(u.axis, len(x.Shape), "axis"); err != nil {
			return nil, err
		}
		shape = x.Shape
	}
	outer, m, inner := splitAtAxis(shape, axis)
	var g uniqueGroups
	switch d := computeData(x).(type) {
	case []float32:
		g = groupSlices(d, outer, m, inner, u.sorted)
	case []float64:
		g = groupSlices(d, outer, m, inner, u.sorted)
	case []int8:
		g = groupSlices(d, outer, m, inner, u.sorted)
	case []int16:
		g = groupSlices(d, outer, m, inner, u.sorted)
	case []int32:
		g = groupSlices(d, outer, m, inner, u.sorted)
	case []int64:
		g = groupSlices(d, outer, m, inner, u.sorted)
	case []uint8:
		g = groupSlices(d, outer, m, inner, u.sorted)
	case []uint16:
		g = groupSlices(d, outer, m, inner, u.sorted)
	case []uint32:
		g = groupSlices(d, outer, m, inner, u.sorted)
	case []uint64:
		g = groupSlices(d, outer, m, inner, u.sorted)
	case []string:
		g = groupSlices(d, outer, m, inner, u.sorted)
	case []bool:
		b := make([]uint8, len(d))
		for i, v := range d {
			if v {
				b[i] = 1
			}
		}
		g = groupSlices(b, outer, m, inner, u.sorted)
	default:
		return nil, fmt.Errorf("input X is %v, which Unique does not handle", x.DType)
	}
	yShape := append([]int(nil), shape...)
	yShape[axis] = len(g.first)
	y := tensor.New(x.DType, yShape...)
	src, dst := reflect.ValueOf(x.Data), reflect.ValueOf(y.Data)
	for o := range outer {
		for j, s := range g.first {
			from := (o*m + int(s)) * inner
			to := (o*len(g.first) + j) * inner
			reflect.Copy(dst.Slice(to, to+inner), src.Slice(from, from+inner))
		}
	}
	nu := len(g.first)
	return []*tensor.Tensor{
		y,
		{DType: graph.Int64, Shape: []int{nu}, Data: g.first},
		{DType: graph.Int64, Shape: []int{m}, Data: g.inverse},
		{DType: graph.Int64, Shape: []int{nu}, Data: g.counts},
	}, nil
}

// uniqueGroups describes the distinct slices of a tensor: the index of
// each one's first occurrence, in output order; for every slice the
// output index of its group; and each group's size.
type uniqueGroups struct {
	first, inverse, counts []int64
}

// groupSlices finds the distinct slices along m of x viewed as
// [outer, m, inner], comparing slices lexicographically.
func groupSlices[T cmp.Ordered](x []T, outer, m, inner int, sorted bool) uniqueGroups {
	compare := func(a, b int) int {
		for o := range outer {
			for i := range inner {
				base := o * m * inner
				if c := cmp.Compare(x[base+a*inner+i], x[base+b*inner+i]); c != 0 {
					return c
				}
			}
		}
		return 0
	}
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	// Stable: within a run of equal slices the first occurrence leads.
	slices.SortStableFunc(order, compare)
	var groups [][]int
	for j, s := range order {
		if j == 0 || compare(order[j-1], s) != 0 {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], s)
	}
	if !sorted {
		slices.SortFunc(groups, func(a, b []int) int { return a[0] - b[0] })
	}
	g := uniqueGroups{
		first:   make([]int64, len(groups)),
		inverse: make([]int64, m),
		counts:  make([]int64, len(groups)),
	}
	for j, members := range groups {
		g.first[j] = int64(members[0])
		g.counts[j] = int64(len(members))
		for _, s := range members {
			g.inverse[s] = int64(j)
		}
	}
	return g
}
