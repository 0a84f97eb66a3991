package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/preprocess"
	"github.com/onnxkit/onnxkit/native/tensor"
	"github.com/onnxkit/onnxkit/onnx"
)

// number is a float64 that JSON writes as a string when it is NaN or
// infinite, which JSON numbers cannot be.
type number float64

// MarshalJSON writes n as a JSON number, or "NaN", "+Inf" or "-Inf".
func (n number) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return json.Marshal(strconv.FormatFloat(f, 'g', -1, 64))
	}
	return json.Marshal(f)
}

// outputReport describes one graph output.
type outputReport struct {
	Name  string   `json:"name"`
	DType string   `json:"dtype"`
	Shape []int    `json:"shape"`
	First []number `json:"first"`
	// Top holds, per row of a classifier's output, the best classes.
	Top [][]label `json:"top,omitempty"`
	// File is where --out wrote the output.
	File string `json:"file,omitempty"`
}

// label is a class with its probability.
type label struct {
	Class       string `json:"class"`
	Index       int    `json:"index"`
	Probability number `json:"probability"`
}

// runOnce runs the engine o selects once and reports every output.
func runOnce(o *options, m *graph.Model, inputs map[string]*tensor.Tensor, stdout io.Writer) error {
	e, err := openEngine(o, m)
	if err != nil {
		return fmt.Errorf("%s: %w", o.model, err)
	}
	defer e.Close()
	outs, err := e.Run(inputs)
	if err != nil {
		return fmt.Errorf("%s: %w", o.model, err)
	}
	classes, err := preprocess.Classes(m)
	if err != nil {
		return fmt.Errorf("%s: %w", o.model, err)
	}
	var reports []outputReport
	for i, v := range m.Graph.Outputs {
		t := outs[v.Name]
		if t == nil {
			return fmt.Errorf("%s: the engine gave no value for output %q", o.model, v.Name)
		}
		r := describeOutput(v.Name, t, o.show)
		r.Top = topLabels(t, classes, o.top)
		if o.outDir != "" {
			if r.File, err = writeOutput(o.outDir, i, v.Name, t); err != nil {
				return err
			}
		}
		reports = append(reports, r)
	}
	if o.jsonOutput {
		return writeJSON(stdout, map[string]any{"model": o.model, "engine": o.engine, "outputs": reports})
	}
	for _, r := range reports {
		fmt.Fprintf(stdout, "%s: %s%v\n  first values: %v\n", r.Name, r.DType, r.Shape, formatNumbers(r.First))
		for row, top := range r.Top {
			fmt.Fprintf(stdout, "  top %d of row %d:\n", len(top), row)
			for _, l := range top {
				fmt.Fprintf(stdout, "    %7.4f  %s (%d)\n", float64(l.Probability), l.Class, l.Index)
			}
		}
		if r.File != "" {
			fmt.Fprintf(stdout, "  written to %s\n", r.File)
		}
	}
	return nil
}

// describeOutput gives t's type, shape and first n values (none for
// non-numeric types). A sequence or optional is described by its kind,
// element type and number of elements.
func describeOutput(name string, t *tensor.Tensor, n int) outputReport {
	r := outputReport{Name: name, DType: t.DType.String(), Shape: t.Shape, First: []number{}}
	if t.Kind != tensor.Dense {
		r.DType = fmt.Sprintf("%v of %v, %d element(s)", t.Kind, t.DType, len(t.Elems))
		r.Shape = nil
		return r
	}
	if vals, err := t.Float64s(); err == nil {
		for _, v := range vals[:min(n, len(vals))] {
			r.First = append(r.First, number(v))
		}
	}
	return r
}

func formatNumbers(ns []number) string {
	s := "["
	for i, n := range ns {
		if i > 0 {
			s += " "
		}
		s += strconv.FormatFloat(float64(n), 'g', 6, 64)
	}
	return s + "]"
}

// writeOutput writes output i as dir/output_<i>.pb, named after the graph
// output: a TensorProto, or a SequenceProto or OptionalProto for a
// sequence or an optional.
func writeOutput(dir string, i int, name string, t *tensor.Tensor) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("output_%d.pb", i))
	if err := onnx.WriteValueFile(path, t.ToDatum(), name); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return path, nil
}

// topLabels returns, for a float output of shape [C] or [N, C] with C the
// number of classes, the k most probable classes of each row. A row that
// is already a distribution (values in [0, 1] summing to 1 within 1e-3)
// is taken as probabilities; any other row as logits, which go through a
// softmax. Other outputs give nil.
func topLabels(t *tensor.Tensor, classes []string, k int) [][]label {
	c := len(classes)
	if c == 0 || k == 0 || !t.DType.IsFloat() || t.Rank() < 1 || t.Rank() > 2 || t.Shape[t.Rank()-1] != c {
		return nil
	}
	vals, err := t.Float64s()
	if err != nil {
		return nil
	}
	var out [][]label
	for row := 0; row*c < len(vals); row++ {
		p := probabilities(vals[row*c : (row+1)*c])
		idx := make([]int, c)
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int {
			switch {
			case p[a] > p[b]:
				return -1
			case p[a] < p[b]:
				return 1
			}
			return 0
		})
		var top []label
		for _, i := range idx[:min(k, c)] {
			top = append(top, label{Class: classes[i], Index: i, Probability: number(p[i])})
		}
		out = append(out, top)
	}
	return out
}

// probabilities returns row itself when it is a distribution, else its
// softmax.
func probabilities(row []float64) []float64 {
	sum, isDist := 0.0, true
	for _, v := range row {
		sum += v
		isDist = isDist && v >= 0 && v <= 1
	}
	if isDist && math.Abs(sum-1) <= 1e-3 {
		return row
	}
	hi := math.Inf(-1)
	for _, v := range row {
		hi = max(hi, v)
	}
	p := make([]float64, len(row))
	total := 0.0
	for i, v := range row {
		p[i] = math.Exp(v - hi)
		total += p[i]
	}
	for i := range p {
		p[i] /= total
	}
	return p
}
