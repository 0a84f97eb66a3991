package graph

import (
	"container/heap"
	"fmt"
	"slices"
	"strings"
)

// CycleError reports a cycle in a graph: Nodes are its members in data-flow
// order, each reading an output of the one before it, and the first reading
// an output of the last.
type CycleError struct {
	Graph string
	Nodes []*Node
}

// Error lists the members, as in
// `graph "g": cycle "a" (Relu) -> "b" (Add) -> "a"`.
func (e *CycleError) Error() string {
	return fmt.Sprintf("graph %q: cycle %s", e.Graph, e.path())
}

// path writes the members as `"a" (Relu) -> "b" (Add) -> "a"`.
func (e *CycleError) path() string {
	var b strings.Builder
	for _, n := range e.Nodes {
		fmt.Fprintf(&b, "%q (%s) -> ", n.Name, n.OpType)
	}
	if len(e.Nodes) > 0 {
		fmt.Fprintf(&b, "%q", e.Nodes[0].Name)
	}
	return b.String()
}

// TopoSort returns the nodes of g in an order in which every node comes
// after the nodes whose outputs it reads. The sort is stable: of the nodes
// that are ready at any point, the one earliest in g.Nodes comes first, so
// a graph already in order comes back unchanged.
//
// Graph inputs, initializers and the empty name (an absent optional input)
// are available from the start. A name read inside a node's subgraphs (the
// bodies of If, Loop and Scan) that the subgraph does not define itself is
// an outer-scope value and counts as an input of that node.
//
// A name that neither the graph nor any node defines puts no constraint on
// the order: it is not a sort error, and Validate reports it. A cycle is
// returned as a *CycleError naming its members.
func TopoSort(g *Graph) ([]*Node, error) {
	available := make(map[string]bool, len(g.Inputs)+len(g.Initializers))
	for _, v := range g.Inputs {
		available[v.Name] = true
	}
	for _, t := range g.Initializers {
		available[t.Name] = true
	}
	for _, s := range g.SparseInitializers {
		if s.Values != nil {
			available[s.Values.Name] = true
		}
	}
	producer := make(map[string]int)
	for i, n := range g.Nodes {
		for _, o := range n.Outputs {
			if _, dup := producer[o]; !dup && o != "" {
				producer[o] = i
			}
		}
	}

	// preds[i] lists the nodes node i reads from, once each.
	preds := make([][]int, len(g.Nodes))
	succs := make([][]int, len(g.Nodes))
	for i, n := range g.Nodes {
		seen := make(map[int]bool)
		for _, name := range nodeReads(n) {
			if name == "" || available[name] {
				continue
			}
			p, ok := producer[name]
			if !ok || seen[p] {
				continue
			}
			seen[p] = true
			preds[i] = append(preds[i], p)
			succs[p] = append(succs[p], i)
		}
	}

	indegree := make([]int, len(g.Nodes))
	ready := &intHeap{}
	for i := range g.Nodes {
		indegree[i] = len(preds[i])
		if indegree[i] == 0 {
			heap.Push(ready, i)
		}
	}
	order := make([]*Node, 0, len(g.Nodes))
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		order = append(order, g.Nodes[i])
		for _, s := range succs[i] {
			indegree[s]--
			if indegree[s] == 0 {
				heap.Push(ready, s)
			}
		}
	}
	if len(order) == len(g.Nodes) {
		return order, nil
	}
	return nil, &CycleError{Graph: g.Name, Nodes: findCycle(g, preds, indegree)}
}

// findCycle returns the members of one cycle among the nodes left with a
// positive indegree. Each such node has a predecessor that is also left, so
// walking predecessors must come back to a node already seen.
func findCycle(g *Graph, preds [][]int, indegree []int) []*Node {
	start := -1
	for i, d := range indegree {
		if d > 0 {
			start = i
			break
		}
	}
	step := make(map[int]int) // node -> position in the walk
	var walk []int
	for i := start; ; {
		if at, seen := step[i]; seen {
			walk = walk[at:]
			break
		}
		step[i] = len(walk)
		walk = append(walk, i)
		for _, p := range preds[i] {
			if indegree[p] > 0 {
				i = p
				break
			}
		}
	}
	// The walk went against the data flow: reverse it, and rotate it to
	// start at the member earliest in the file.
	slices.Reverse(walk)
	first := slices.Index(walk, slices.Min(walk))
	walk = slices.Concat(walk[first:], walk[:first])
	nodes := make([]*Node, len(walk))
	for k, i := range walk {
		nodes[k] = g.Nodes[i]
	}
	return nodes
}

// nodeReads returns the names n reads: its inputs, then the outer-scope
// names its subgraphs read.
func nodeReads(n *Node) []string {
	names := append([]string(nil), n.Inputs...)
	for _, a := range n.Attrs {
		for _, sub := range attrGraphs(a) {
			names = append(names, outerNames(sub)...)
		}
	}
	return names
}

// attrGraphs returns the subgraphs an attribute holds.
func attrGraphs(a *Attr) []*Graph {
	var gs []*Graph
	if a.Graph != nil {
		gs = append(gs, a.Graph)
	}
	for _, g := range a.Graphs {
		if g != nil {
			gs = append(gs, g)
		}
	}
	return gs
}

// outerNames returns the names that g and its nested subgraphs read but do
// not define, in order of first use.
func outerNames(g *Graph) []string {
	defined := make(map[string]bool)
	for _, v := range g.Inputs {
		defined[v.Name] = true
	}
	for _, t := range g.Initializers {
		defined[t.Name] = true
	}
	for _, s := range g.SparseInitializers {
		if s.Values != nil {
			defined[s.Values.Name] = true
		}
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			defined[o] = true
		}
	}
	var outer []string
	seen := make(map[string]bool)
	use := func(name string) {
		if name != "" && !defined[name] && !seen[name] {
			seen[name] = true
			outer = append(outer, name)
		}
	}
	for _, n := range g.Nodes {
		for _, name := range nodeReads(n) {
			use(name)
		}
	}
	for _, v := range g.Outputs {
		use(v.Name)
	}
	return outer
}

// intHeap is a min-heap of node indices.
type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
