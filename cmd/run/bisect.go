package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
	"github.com/onnxkit/onnxkit/onnx"
)

// runBisect finds the first node, in topological order, whose output
// differs between the engine under test (a, the native engine) and the
// reference (b, ONNX Runtime). Both run a copy of the model, written to a
// temporary folder, in which every intermediate float value is also a
// graph output.
func runBisect(o *options, m *graph.Model, inputs map[string]*tensor.Tensor, stdout io.Writer, a, b opener) error {
	order, err := graph.TopoSort(m.Graph)
	if err != nil {
		return fmt.Errorf("%s: %w", o.model, err)
	}
	exposed, count := exposeIntermediates(m)
	dir, err := os.MkdirTemp("", "onnxkit-bisect-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, filepath.Base(o.model))
	if err := onnx.WriteFile(path, exposed, nil); err != nil {
		return fmt.Errorf("writing the model with exposed values: %w", err)
	}
	outs, err := runBoth(o, exposed, path, inputs, a, b)
	if err != nil {
		return err
	}
	d := findDivergence(order, outs[0], outs[1], tolerance{o.rtol, o.atol})
	rep := bisectReport{Model: o.model, Exposed: count, Checked: d.checked}
	if d.node != nil {
		rep.Divergence = &divergenceReport{
			Node:   d.node.Name,
			Op:     d.node.OpType,
			Domain: d.node.Domain,
			Error:  d.stats,
		}
		for _, in := range d.node.Inputs {
			if in == "" {
				continue
			}
			rep.Divergence.Inputs = append(rep.Divergence.Inputs, inputReport{
				Name:      in,
				Native:    statsOf(valueOf(m, in, inputs, outs[0])),
				Reference: statsOf(valueOf(m, in, inputs, outs[1])),
			})
		}
	}
	if o.jsonOutput {
		if err := writeJSON(stdout, rep); err != nil {
			return err
		}
	} else {
		rep.print(stdout, tolerance{o.rtol, o.atol})
	}
	if rep.Divergence != nil {
		return errOutOfTolerance
	}
	return nil
}

// exposeIntermediates returns a copy of m whose graph also outputs every
// node output that is not yet a graph output and whose inferred type is a
// float tensor (of any shape, scalars and empty tensors included), and the
// number of values so exposed. m is not changed.
//
// Values of unknown type are left out, as they may not be float tensors;
// the outputs of Constant nodes are left out because both engines take
// them from the same attribute. ONNX Runtime accepts outputs declared
// without a type (TestORTAcceptsUntypedOutputs).
func exposeIntermediates(m *graph.Model) (*graph.Model, int) {
	types, _ := graph.InferTypes(m) // a partial map is enough
	out := *m
	g := *m.Graph
	g.Outputs = append([]*graph.Value(nil), m.Graph.Outputs...)
	seen := map[string]bool{}
	for _, v := range g.Outputs {
		seen[v.Name] = true
	}
	added := 0
	for _, n := range m.Graph.Nodes {
		if n.OpType == "Constant" && (n.Domain == graph.DefaultDomain || n.Domain == "ai.onnx") {
			continue
		}
		for _, name := range n.Outputs {
			if name == "" || seen[name] || !exposable(types[name]) {
				continue
			}
			seen[name] = true
			g.Outputs = append(g.Outputs, &graph.Value{Name: name, Type: types[name]})
			added++
		}
	}
	out.Graph = &g
	return &out, added
}

// exposable reports whether t is a float tensor.
func exposable(t *graph.Type) bool {
	return t != nil && t.Kind == graph.TensorKind && t.DType.IsFloat()
}

// divergence is the result of findDivergence.
type divergence struct {
	node    *graph.Node // nil when every value agrees
	stats   errorStats  // of the node's first diverging output
	checked int         // values compared
}

// findDivergence walks the nodes in order and returns the first whose
// float outputs, present in both a and b, differ beyond tol (b being the
// reference).
func findDivergence(order []*graph.Node, a, b map[string]*tensor.Tensor, tol tolerance) divergence {
	var d divergence
	for _, n := range order {
		for _, name := range n.Outputs {
			ta, tb := a[name], b[name]
			if name == "" || ta == nil || tb == nil || !tb.DType.IsFloat() {
				continue
			}
			d.checked++
			if s := compareTensors(name, ta, tb, tol); !s.Pass {
				d.node, d.stats = n, s
				return d
			}
		}
	}
	return d
}

// valueOf finds the value name as an engine saw it: a graph input, an
// initializer or one of the engine's outputs.
func valueOf(m *graph.Model, name string, inputs, outs map[string]*tensor.Tensor) *tensor.Tensor {
	if t := inputs[name]; t != nil {
		return t
	}
	if t := outs[name]; t != nil {
		return t
	}
	if init := m.Graph.Initializer(name); init != nil {
		if t, err := tensor.FromGraph(init); err == nil {
			return t
		}
	}
	return nil
}

// valueStats summarises a tensor.
type valueStats struct {
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
	Min   number `json:"min"`
	Max   number `json:"max"`
	Mean  number `json:"mean"`
}

// statsOf returns t's type, shape, minimum, maximum and mean; nil for a
// missing or non-numeric value. NaNs propagate into min, max and mean.
func statsOf(t *tensor.Tensor) *valueStats {
	if t == nil {
		return nil
	}
	vals, err := t.Float64s()
	if err != nil {
		return nil
	}
	s := &valueStats{DType: t.DType.String(), Shape: t.Shape}
	if len(vals) == 0 {
		return s
	}
	lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
	for _, v := range vals {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
		sum += v
	}
	s.Min, s.Max, s.Mean = number(lo), number(hi), number(sum/float64(len(vals)))
	return s
}

// String writes the statistics on one line, or "unavailable".
func (s *valueStats) String() string {
	if s == nil {
		return "unavailable"
	}
	return fmt.Sprintf("%s%v min %.6g max %.6g mean %.6g", s.DType, s.Shape, float64(s.Min), float64(s.Max), float64(s.Mean))
}

// bisectReport is what --bisect prints.
type bisectReport struct {
	Model string `json:"model"`
	// Exposed counts the intermediate values made graph outputs; Checked
	// those compared before the first divergence, or all.
	Exposed    int               `json:"exposed"`
	Checked    int               `json:"checked"`
	Divergence *divergenceReport `json:"divergence"`
}

// divergenceReport names the first diverging node.
type divergenceReport struct {
	Node   string        `json:"node"`
	Op     string        `json:"op"`
	Domain string        `json:"domain"`
	Error  errorStats    `json:"error"`
	Inputs []inputReport `json:"inputs"`
}

// inputReport describes one input of the diverging node in both engines.
type inputReport struct {
	Name      string      `json:"name"`
	Native    *valueStats `json:"native"`
	Reference *valueStats `json:"onnxruntime"`
}

func (r *bisectReport) print(w io.Writer, tol tolerance) {
	d := r.Divergence
	if d == nil {
		fmt.Fprintf(w, "no divergence: the %d intermediate and output float values compared agree within |a-b| <= %g + %g*|b|\n",
			r.Checked, tol.atol, tol.rtol)
		return
	}
	fmt.Fprintf(w, "first divergence at node %q (%s), after %d value(s) agreed:\n", d.Node, d.Op, r.Checked-1)
	printStats(w, d.Error)
	fmt.Fprintln(w, "inputs of the node (native | ONNX Runtime):")
	for _, in := range d.Inputs {
		fmt.Fprintf(w, "  %s: %v | %v\n", in.Name, in.Native, in.Reference)
	}
}
