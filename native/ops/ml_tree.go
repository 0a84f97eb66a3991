package ops

// TreeEnsemble (ai.onnx.ml opset 5): X [N, F] -> Y [N, n_targets], X's
// type. Each tree of tree_roots is walked from its root: node i compares
// feature nodes_featureids[i] of the row with nodes_splits[i] by
// nodes_modes[i] (0 <=, 1 <, 2 >=, 3 >, 4 ==, 5 !=, 6 member of the
// node's set in membership_values, the sets in the order of the member
// nodes and separated by NaN); a NaN feature goes the true way when
// nodes_missing_value_tracks_true[i] is 1. The true (false) branch leads
// to node nodes_truenodeids[i] (nodes_falsenodeids[i]), or to that leaf
// when nodes_trueleafs[i] (nodes_falseleafs[i]) is 1. Leaf j adds
// leaf_weights[j] to target leaf_targetids[j]; aggregate_function
// combines the trees' contributions (0 average, 1 sum (default), 2
// minimum, 3 maximum), then post_transform (0 none (default), 1 softmax,
// 2 softmax with zeros kept at zero, 3 logistic, 4 probit) maps each row.

import (
	"fmt"
	"math"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// mlTreeOps is the operator table of ml_tree.go (see registry.go).
var mlTreeOps = []Entry{
	{Domain: graph.MLDomain, OpType: "TreeEnsemble", Since: []int64{5}, Build: newTreeEnsemble},
}

// treeEnsemble is TreeEnsemble.
type treeEnsemble struct {
	roots                      []int
	features, trueIDs, falseID []int
	trueLeaf, falseLeaf        []bool
	missingTrue                []bool
	modes                      []uint8
	splits                     []float64
	sets                       []map[float64]bool // per node; nil unless a member node
	leafTargets                []int
	leafWeights                []float64
	targets                    int
	aggregate, post            int64
}

// treeInts reads a list of count (any when count is negative)
// non-negative ints, each below limit when limit > 0.
func treeInts(n *graph.Node, name string, count, limit int) ([]int, error) {
	v, err := n.Declared().Ints(name)
	if err != nil {
		return nil, err
	}
	if count >= 0 && len(v) != count {
		return nil, attrError(n, name, "has %d values, want %d", len(v), count)
	}
	out := make([]int, len(v))
	for i, x := range v {
		if x < 0 || limit > 0 && x >= int64(limit) {
			return nil, attrError(n, name, "value %d is out of range", x)
		}
		out[i] = int(x)
	}
	return out, nil
}

// treeTensor reads a tensor attribute's values as float64s; absent gives
// nil.
func treeTensor(n *graph.Node, name string) ([]float64, error) {
	if !n.HasAttr(name) {
		return nil, nil
	}
	g, err := n.Declared().Tensor(name)
	if err != nil {
		return nil, err
	}
	t, err := tensor.FromGraph(g)
	if err != nil {
		return nil, attrError(n, name, "%v", err)
	}
	v, err := t.Float64s()
	if err != nil {
		return nil, attrError(n, name, "%v", err)
	}
	return v, nil
}

func newTreeEnsemble(n *graph.Node, _ int64) (Op, error) {
	o := &treeEnsemble{}
	splits, err := treeTensor(n, "nodes_splits")
	if err != nil {
		return nil, err
	}
	count := len(splits)
	o.splits = splits
	modes, err := treeTensor(n, "nodes_modes")
	if err != nil {
		return nil, err
	}
	if len(modes) != count {
		return nil, attrError(n, "nodes_modes", "has %d values for %d nodes", len(modes), count)
	}
	for _, m := range modes {
		if m < 0 || m > 6 {
			return nil, attrError(n, "nodes_modes", "mode %g is not 0 to 6", m)
		}
		o.modes = append(o.modes, uint8(m))
	}
	targets, err := n.Declared().Int("n_targets")
	if err != nil {
		return nil, err
	}
	if targets < 1 {
		return nil, attrError(n, "n_targets", "is %d, want at least 1", targets)
	}
	o.targets = int(targets)
	if o.features, err = treeInts(n, "nodes_featureids", count, 0); err != nil {
		return nil, err
	}
	if o.aggregate, err = n.Declared().Int("aggregate_function"); err != nil {
		return nil, err
	}
	if o.post, err = n.Declared().Int("post_transform"); err != nil {
		return nil, err
	}
	if o.aggregate < 0 || o.aggregate > 3 || o.post < 0 || o.post > 4 {
		return nil, attrError(n, "aggregate_function", "aggregate_function %d or post_transform %d is out of range", o.aggregate, o.post)
	}
	weights, err := treeTensor(n, "leaf_weights")
	if err != nil {
		return nil, err
	}
	o.leafWeights = weights
	if o.leafTargets, err = treeInts(n, "leaf_targetids", len(weights), o.targets); err != nil {
		return nil, err
	}
	flags := func(name string, optional bool) ([]bool, error) {
		if optional && !n.HasAttr(name) {
			return make([]bool, count), nil
		}
		v, err := treeInts(n, name, count, 2)
		if err != nil {
			return nil, err
		}
		out := make([]bool, count)
		for i, x := range v {
			out[i] = x == 1
		}
		return out, nil
	}
	if o.trueLeaf, err = flags("nodes_trueleafs", false); err != nil {
		return nil, err
	}
	if o.falseLeaf, err = flags("nodes_falseleafs", false); err != nil {
		return nil, err
	}
	if o.missingTrue, err = flags("nodes_missing_value_tracks_true", true); err != nil {
		return nil, err
	}
	if o.trueIDs, err = treeInts(n, "nodes_truenodeids", count, 0); err != nil {
		return nil, err
	}
	if o.falseID, err = treeInts(n, "nodes_falsenodeids", count, 0); err != nil {
		return nil, err
	}
	for i := range count {
		for _, c := range []struct {
			id   int
			leaf bool
		}{{o.trueIDs[i], o.trueLeaf[i]}, {o.falseID[i], o.falseLeaf[i]}} {
			if c.leaf && c.id >= len(weights) || !c.leaf && c.id >= count {
				return nil, attrError(n, "nodes_truenodeids", "node %d leads to %d, past the %d nodes or %d leaves", i, c.id, count, len(weights))
			}
		}
	}
	if o.roots, err = treeInts(n, "tree_roots", -1, count); err != nil {
		return nil, err
	}
	members, err := treeTensor(n, "membership_values")
	if err != nil {
		return nil, err
	}
	o.sets = make([]map[float64]bool, count)
	for i, m := range o.modes {
		if m != 6 {
			continue
		}
		set := map[float64]bool{}
		for len(members) > 0 && !math.IsNaN(members[0]) {
			set[members[0]] = true
			members = members[1:]
		}
		if len(members) > 0 {
			members = members[1:] // the NaN that ends the set
		}
		o.sets[i] = set
	}
	return o, nil
}

// branch reports whether node i sends feature value x the true way.
func (o *treeEnsemble) branch(i int, x float64) bool {
	if math.IsNaN(x) && o.missingTrue[i] {
		return true
	}
	s := o.splits[i]
	switch o.modes[i] {
	case 0:
		return x <= s
	case 1:
		return x < s
	case 2:
		return x >= s
	case 3:
		return x > s
	case 4:
		return x == s
	case 5:
		return x != s
	}
	return o.sets[i][x]
}

// leaf walks the tree from root for row and returns the leaf reached.
func (o *treeEnsemble) leaf(root int, row []float64) (int, error) {
	node := root
	for steps := 0; steps <= len(o.splits); steps++ {
		f := o.features[node]
		if f >= len(row) {
			return 0, fmt.Errorf("node %d reads feature %d of %d", node, f, len(row))
		}
		if o.branch(node, row[f]) {
			if o.trueLeaf[node] {
				return o.trueIDs[node], nil
			}
			node = o.trueIDs[node]
		} else {
			if o.falseLeaf[node] {
				return o.falseID[node], nil
			}
			node = o.falseID[node]
		}
	}
	return 0, fmt.Errorf("the tree from node %d has a cycle", root)
}

// Forward evaluates the ensemble on every row of X.
func (o *treeEnsemble) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if !isFloatDType(x.DType) || x.Rank() != 2 {
		return nil, fmt.Errorf("input X is %v, want a floating-point [N, F]", x)
	}
	vals, err := floatValues(x, "X")
	if err != nil {
		return nil, err
	}
	rows, feats := x.Shape[0], x.Shape[1]
	if err := ctx.checkOutput(graph.Float64, []int{rows, o.targets}); err != nil {
		return nil, err
	}
	y := make([]float64, rows*o.targets)
	seen := make([]bool, o.targets)
	for r := range rows {
		out := y[r*o.targets : (r+1)*o.targets]
		clear(seen)
		for _, root := range o.roots {
			leaf, err := o.leaf(root, vals[r*feats:(r+1)*feats])
			if err != nil {
				return nil, err
			}
			t, w := o.leafTargets[leaf], o.leafWeights[leaf]
			switch {
			case o.aggregate == 2 && seen[t]:
				out[t] = math.Min(out[t], w)
			case o.aggregate == 3 && seen[t]:
				out[t] = math.Max(out[t], w)
			case o.aggregate == 2 || o.aggregate == 3:
				out[t] = w
			default:
				out[t] += w
			}
			seen[t] = true
		}
		if o.aggregate == 0 && len(o.roots) > 0 {
			for t := range out {
				out[t] /= float64(len(o.roots))
			}
		}
		postTransform(out, o.post)
	}
	return []*tensor.Tensor{float64sToDType(y, x.DType, []int{rows, o.targets})}, nil
}

// postTransform applies TreeEnsemble's post_transform to one row.
func postTransform(row []float64, post int64) {
	switch post {
	case 1, 2: // softmax; 2 keeps zeros at zero
		peak := math.Inf(-1)
		for _, v := range row {
			peak = math.Max(peak, v)
		}
		sum := 0.0
		for i, v := range row {
			if post == 2 && v == 0 {
				row[i] = 0
				continue
			}
			row[i] = math.Exp(v - peak)
			sum += row[i]
		}
		for i := range row {
			if sum > 0 {
				row[i] /= sum
			}
		}
	case 3:
		for i, v := range row {
			row[i] = 1 / (1 + math.Exp(-v))
		}
	case 4:
		for i, v := range row {
			row[i] = math.Sqrt2 * math.Erfinv(2*v-1)
		}
	}
}
