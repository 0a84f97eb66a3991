package native

import (
	"cmp"
	"slices"
	"time"
)

// Profile accumulates, over the runs given it through Options.Profile,
// the time each step of a program took: the op's Forward, from its call
// to its return, which includes the threads it fans out to. A Relu that
// its producer applies in its epilogue takes no time of its own: the
// producer's time includes it. A Profile serves one run at a time.
type Profile struct {
	prog  *Program
	steps []time.Duration
	runs  int
}

// NewProfile returns an empty profile for runs of p.
func (p *Program) NewProfile() *Profile {
	return &Profile{prog: p, steps: make([]time.Duration, len(p.steps))}
}

// Runs is the number of runs the profile has accumulated.
func (f *Profile) Runs() int { return f.runs }

// OpTime is the time spent in the nodes of one operator type, or in one
// node, summed over the profile's runs.
type OpTime struct {
	// Op is the operator type; Node the node's name, empty in a table by
	// operator type.
	Op   string `json:"op"`
	Node string `json:"node,omitempty"`
	// Nodes is the number of nodes of the type (1 for a node).
	Nodes int           `json:"nodes"`
	Time  time.Duration `json:"time_ns"`
}

// Total is the time spent in all the steps, summed over the runs.
func (f *Profile) Total() time.Duration {
	var total time.Duration
	for _, d := range f.steps {
		total += d
	}
	return total
}

// ByOp returns the time per operator type (with its domain, if not the
// default one, as "domain:Op"), longest first; every operator type of the
// program appears, even one that took no time.
func (f *Profile) ByOp() []OpTime {
	return SumByOp(f.ByNode(len(f.steps)))
}

// SumByOp sums a table of nodes by operator type, longest first, as
// Profile.ByOp does; it also tabulates the nodes of another engine's
// profile.
func SumByOp(nodes []OpTime) []OpTime {
	index := map[string]int{}
	var table []OpTime
	for _, n := range nodes {
		j, ok := index[n.Op]
		if !ok {
			j = len(table)
			index[n.Op] = j
			table = append(table, OpTime{Op: n.Op})
		}
		table[j].Nodes += n.Nodes
		table[j].Time += n.Time
	}
	SortByTime(table)
	return table
}

// ByNode returns the n nodes that took the longest, longest first (all
// of them when n exceeds the program's nodes).
func (f *Profile) ByNode(n int) []OpTime {
	table := make([]OpTime, len(f.prog.steps))
	for i, s := range f.prog.steps {
		table[i] = OpTime{Op: opName(s), Node: s.node.Name, Nodes: 1, Time: f.steps[i]}
	}
	SortByTime(table)
	return table[:min(n, len(table))]
}

func opName(s step) string {
	if s.node.Domain == "" || s.node.Domain == "ai.onnx" {
		return s.node.OpType
	}
	return s.node.Domain + ":" + s.node.OpType
}

// SortByTime sorts t longest first, ties by name, so that the order is
// stable.
func SortByTime(t []OpTime) {
	slices.SortStableFunc(t, func(a, b OpTime) int {
		if c := cmp.Compare(b.Time, a.Time); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.Op, b.Op), cmp.Compare(a.Node, b.Node))
	})
}

// start returns the time a step starts, or the zero time when f is nil
// (no profiling: no clock read).
func (f *Profile) start() time.Time {
	if f == nil {
		return time.Time{}
	}
	return time.Now()
}

// stop adds the time since began to step i's.
func (f *Profile) stop(i int, began time.Time) {
	if f != nil {
		f.steps[i] += time.Since(began)
	}
}

// finish counts a run that went to its end.
func (f *Profile) finish() {
	if f != nil {
		f.runs++
	}
}
