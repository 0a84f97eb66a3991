package main

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/ops"
)

// missingOp is an operator of the model that the native engine has no
// kernel for, with the nodes that use it.
type missingOp struct {
	Domain string `json:"domain"`
	Op     string `json:"op"`
	// Opset is the version of Domain the model imports; 0 when it
	// imports none.
	Opset int64    `json:"opset"`
	Nodes []string `json:"nodes"`
}

// String reads like `Frobnicate (com.example, opset 3): node(s) "a", "b"`.
func (mo missingOp) String() string {
	d := mo.Domain
	if d == "" {
		d = "ai.onnx"
	}
	var b strings.Builder
	if mo.Opset == 0 {
		fmt.Fprintf(&b, "%s (%s, domain not imported by the model)", mo.Op, d)
	} else {
		fmt.Fprintf(&b, "%s (%s, opset %d)", mo.Op, d, mo.Opset)
	}
	known := ""
	if _, ok := graph.KnownDomain(mo.Domain); ok {
		if _, ok := graph.OpVersion(mo.Domain, mo.Op, mo.Opset); !ok {
			known = ", not an operator of that opset"
		}
	}
	fmt.Fprintf(&b, "%s: node(s) %s", known, quoteAll(mo.Nodes))
	return b.String()
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// preflight lists every operator of m's main graph that the native
// engine cannot bind at the opset m imports for its domain, grouped by
// domain, op and opset, in the order of first use.
func preflight(m *graph.Model) []missingOp {
	var out []missingOp
	type key struct {
		domain, op string
		opset      int64
	}
	index := map[key]int{}
	for _, n := range m.Graph.Nodes {
		opset, ok := m.OpsetVersion(n.Domain)
		if ok {
			if _, ok := ops.Lookup(n.Domain, n.OpType, opset); ok {
				continue
			}
		}
		domain := n.Domain
		if domain == "ai.onnx" {
			domain = graph.DefaultDomain
		}
		k := key{domain, n.OpType, opset}
		i, seen := index[k]
		if !seen {
			i = len(out)
			index[k] = i
			out = append(out, missingOp{Domain: domain, Op: n.OpType, Opset: opset})
		}
		out[i].Nodes = append(out[i].Nodes, n.Name)
	}
	return out
}

// unsupportedOpsError reports every operator the native engine lacks.
type unsupportedOpsError struct{ missing []missingOp }

// Error lists the operators, one a line.
func (e *unsupportedOpsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the native engine does not support %d operator(s) of this model:", len(e.missing))
	for _, mo := range e.missing {
		b.WriteString("\n\t" + mo.String())
	}
	return b.String()
}

// sortedOpCounts returns the op histogram, most frequent first.
func sortedOpCounts(counts map[string]int) []opCount {
	out := make([]opCount, 0, len(counts))
	for op, n := range counts {
		out = append(out, opCount{op, n})
	}
	slices.SortFunc(out, func(a, b opCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Op, b.Op))
	})
	return out
}

// opCount is one line of the op histogram.
type opCount struct {
	Op    string `json:"op"`
	Count int    `json:"count"`
}
