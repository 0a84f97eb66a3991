package graph

import (
	"fmt"
	"slices"
	"sort"
)

// maxInlineDepth bounds how deeply function bodies may call functions, so
// that a recursive function is an error rather than a hang.
const maxInlineDepth = 64

// InlineFunctions returns a copy of m in which every node of the main
// graph that calls a model-local function (m.Functions, matched by
// domain, name and overload) and for which expand reports true is
// replaced by the function's body, and the sorted names ("domain.name",
// or the name alone in the default domain) of the functions so expanded.
//
// The body's inputs and outputs become the call's; its other values get
// names of their own, prefixed per call, so that two calls never clash.
// Attributes that refer to the caller's (RefAttrName) take the caller's
// value, else the function's default, else are left out. Calls in the
// body are expanded in turn. Domains the functions import that m does
// not are added to the copy's opsets; a domain imported at two versions
// is an error, since the engine binds every node of a domain at one
// version. Subgraphs of the body (If, Loop, Scan) are renamed with it;
// calls inside the main graph's own subgraphs are left as they are.
// m itself is not changed, and when nothing is expanded m is returned.
func InlineFunctions(m *Model, expand func(n *Node) bool) (*Model, []string, error) {
	if m == nil || m.Graph == nil || len(m.Functions) == 0 {
		return m, nil, nil
	}
	in := &inliner{model: m, expand: expand, functions: map[string]*Function{}, used: map[string]bool{}, expanded: map[string]bool{}}
	for _, f := range m.Functions {
		in.functions[functionKey(f.Domain, f.Name, f.Overload)] = f
	}
	collectNames(m.Graph, in.used)
	nodes, err := in.nodes(m.Graph.Nodes, 0)
	if err != nil {
		return nil, nil, err
	}
	if len(in.expanded) == 0 {
		return m, nil, nil
	}
	c := *m
	g := *m.Graph
	g.Nodes = nodes
	c.Graph = &g
	c.Opsets = slices.Clone(m.Opsets)
	for name := range in.expanded {
		f := in.functions[name]
		for _, o := range f.Opsets {
			v, ok := opsetVersion(c.Opsets, o.Domain)
			switch {
			case !ok:
				c.Opsets = append(c.Opsets, o)
			case v != o.Version:
				return nil, nil, fmt.Errorf("function %s imports %s at version %d, the model at %d", f.Name, domainName(o.Domain), o.Version, v)
			}
		}
	}
	names := make([]string, 0, len(in.expanded))
	for k := range in.expanded {
		f := in.functions[k]
		if f.Domain == "" || f.Domain == "ai.onnx" {
			names = append(names, f.Name)
		} else {
			names = append(names, f.Domain+"."+f.Name)
		}
	}
	sort.Strings(names)
	return &c, names, nil
}

func functionKey(domain, name, overload string) string {
	if domain == "ai.onnx" {
		domain = DefaultDomain
	}
	return domain + "\x00" + name + "\x00" + overload
}

// inliner holds the state of one InlineFunctions call.
type inliner struct {
	model     *Model
	expand    func(n *Node) bool
	functions map[string]*Function
	used      map[string]bool // every value name in use, to keep new ones apart
	expanded  map[string]bool // function keys expanded at least once
	calls     int
}

// nodes returns nodes with every call to expand replaced by its body.
func (in *inliner) nodes(nodes []*Node, depth int) ([]*Node, error) {
	var out []*Node
	for _, n := range nodes {
		k := functionKey(n.Domain, n.OpType, n.Overload)
		f := in.functions[k]
		if f == nil || !in.expand(n) {
			out = append(out, n)
			continue
		}
		if depth >= maxInlineDepth {
			return nil, fmt.Errorf("node %q (%s): functions call each other more than %d deep (recursion?)", n.Name, n.OpType, maxInlineDepth)
		}
		body, err := in.call(n, f)
		if err != nil {
			return nil, &NodeError{Node: n.Name, Op: n.OpType, Err: err}
		}
		body, err = in.nodes(body, depth+1)
		if err != nil {
			return nil, err
		}
		in.expanded[k] = true
		out = append(out, body...)
	}
	return out, nil
}

// call returns the body of f instantiated for node n.
func (in *inliner) call(n *Node, f *Function) ([]*Node, error) {
	if len(n.Inputs) > len(f.Inputs) || len(n.Outputs) > len(f.Outputs) {
		return nil, fmt.Errorf("%d inputs and %d outputs given; function %s has %d and %d", len(n.Inputs), len(n.Outputs), f.Name, len(f.Inputs), len(f.Outputs))
	}
	in.calls++
	prefix := fmt.Sprintf("%s__call%d__", f.Name, in.calls)
	rename := map[string]string{}
	for i, formal := range f.Inputs {
		rename[formal] = n.Input(i)
	}
	for i, formal := range f.Outputs {
		actual := ""
		if i < len(n.Outputs) {
			actual = n.Outputs[i]
		}
		if actual == "" {
			actual = in.fresh(prefix + formal) // an output the caller drops
		}
		rename[formal] = actual
	}
	name := func(v string) string {
		if v == "" {
			return ""
		}
		if r, ok := rename[v]; ok {
			return r
		}
		r := in.fresh(prefix + v)
		rename[v] = r
		return r
	}
	attrs := map[string]*Attr{}
	for _, a := range f.AttrDefaults {
		attrs[a.Name] = a
	}
	for _, a := range n.Attrs {
		attrs[a.Name] = a
	}
	body := make([]*Node, 0, len(f.Nodes))
	for _, bn := range f.Nodes {
		c := *bn
		if c.Name != "" {
			c.Name = n.Name + "/" + bn.Name
		}
		c.Inputs = make([]string, len(bn.Inputs))
		for i, v := range bn.Inputs {
			c.Inputs[i] = name(v)
		}
		c.Outputs = make([]string, len(bn.Outputs))
		for i, v := range bn.Outputs {
			c.Outputs[i] = name(v)
		}
		c.Attrs = nil
		for _, a := range bn.Attrs {
			if a.RefAttrName != "" {
				given := attrs[a.RefAttrName]
				if given == nil {
					continue // neither given nor defaulted: absent
				}
				ac := *given
				ac.Name, ac.RefAttrName = a.Name, ""
				c.Attrs = append(c.Attrs, &ac)
				continue
			}
			ac := *a
			if a.Graph != nil {
				ac.Graph = renameSubgraph(a.Graph, rename)
			}
			if a.Graphs != nil {
				ac.Graphs = make([]*Graph, len(a.Graphs))
				for i, sub := range a.Graphs {
					ac.Graphs[i] = renameSubgraph(sub, rename)
				}
			}
			c.Attrs = append(c.Attrs, &ac)
		}
		body = append(body, &c)
	}
	return body, nil
}

// fresh returns name, or name with a number appended, unused so far, and
// marks it used.
func (in *inliner) fresh(name string) string {
	r := name
	for k := 2; in.used[r]; k++ {
		r = fmt.Sprintf("%s_%d", name, k)
	}
	in.used[r] = true
	return r
}

// renameSubgraph returns a copy of g whose reads of enclosing values are
// renamed by rename; names g defines itself (inputs, initializers, node
// outputs) shadow the enclosing ones and are kept.
func renameSubgraph(g *Graph, rename map[string]string) *Graph {
	own := map[string]bool{}
	for _, v := range g.Inputs {
		own[v.Name] = true
	}
	for _, t := range g.Initializers {
		own[t.Name] = true
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			own[o] = true
		}
	}
	inner := map[string]string{}
	for k, v := range rename {
		if !own[k] {
			inner[k] = v
		}
	}
	c := *g
	c.Nodes = make([]*Node, len(g.Nodes))
	for i, n := range g.Nodes {
		nc := *n
		nc.Inputs = make([]string, len(n.Inputs))
		for j, v := range n.Inputs {
			if r, ok := inner[v]; ok {
				v = r
			}
			nc.Inputs[j] = v
		}
		nc.Attrs = make([]*Attr, len(n.Attrs))
		for j, a := range n.Attrs {
			ac := *a
			if a.Graph != nil {
				ac.Graph = renameSubgraph(a.Graph, inner)
			}
			if a.Graphs != nil {
				ac.Graphs = make([]*Graph, len(a.Graphs))
				for k, sub := range a.Graphs {
					ac.Graphs[k] = renameSubgraph(sub, inner)
				}
			}
			nc.Attrs[j] = &ac
		}
		c.Nodes[i] = &nc
	}
	outs := make([]*Value, len(g.Outputs))
	for i, v := range g.Outputs {
		vc := *v
		if r, ok := inner[v.Name]; ok {
			vc.Name = r
		}
		outs[i] = &vc
	}
	c.Outputs = outs
	return &c
}

// collectNames adds every value name of g and its subgraphs to names.
func collectNames(g *Graph, names map[string]bool) {
	for _, v := range g.Inputs {
		names[v.Name] = true
	}
	for _, t := range g.Initializers {
		names[t.Name] = true
	}
	for _, n := range g.Nodes {
		for _, v := range slices.Concat(n.Inputs, n.Outputs) {
			names[v] = true
		}
		for _, a := range n.Attrs {
			if a.Graph != nil {
				collectNames(a.Graph, names)
			}
			for _, sub := range a.Graphs {
				collectNames(sub, names)
			}
		}
	}
}
