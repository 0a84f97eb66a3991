package ort

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// Profile is what a trace written by Session.EndProfiling says about the
// runs it timed.
type Profile struct {
	// Runs is the number of runs counted.
	Runs int
	// Nodes holds each node's time summed over those runs, in the order
	// the nodes first ran. The nodes are those of ONNX Runtime's
	// optimised graph: fused nodes and the layout conversions it adds
	// appear under ONNX Runtime's names.
	Nodes []NodeTime
}

// NodeTime is the time one node took.
type NodeTime struct {
	Node string
	// Op is the operator ONNX Runtime ran, such as "Conv" or "FusedConv".
	Op   string
	Time time.Duration
}

// traceEvent is one event of ONNX Runtime's trace, in the Chrome tracing
// format: a node's kernel ("cat": "Node", name ending in _kernel_time)
// or a whole run ("cat": "Session", name "model_run"), with its start
// and duration in microseconds.
type traceEvent struct {
	Category string  `json:"cat"`
	Name     string  `json:"name"`
	Start    float64 `json:"ts"`
	Duration float64 `json:"dur"`
	Args     struct {
		Op string `json:"op_name"`
	} `json:"args"`
}

// kernelSuffix ends the name of a node's kernel event.
const kernelSuffix = "_kernel_time"

// ReadProfile reads the trace at path, leaving out the first skip runs
// (a warm-up, say).
func ReadProfile(path string, skip int) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var events []traceEvent
	if err := json.Unmarshal(data, &events); err != nil {
		return nil, fmt.Errorf("ort: profile %s: %w", path, err)
	}
	// The runs' spans, in order; a node belongs to the run whose span
	// holds its start.
	var runs [][2]float64
	for _, e := range events {
		if e.Category == "Session" && e.Name == "model_run" {
			runs = append(runs, [2]float64{e.Start, e.Start + e.Duration})
		}
	}
	if len(runs) <= skip {
		return nil, fmt.Errorf("ort: profile %s holds %d run(s), not more than the %d to leave out", path, len(runs), skip)
	}
	counted := func(start float64) bool {
		for i, r := range runs {
			if start >= r[0] && start <= r[1] {
				return i >= skip
			}
		}
		return false
	}
	p := &Profile{Runs: len(runs) - skip}
	index := map[string]int{}
	for _, e := range events {
		name, ok := strings.CutSuffix(e.Name, kernelSuffix)
		if e.Category != "Node" || !ok || !counted(e.Start) {
			continue
		}
		i, seen := index[name]
		if !seen {
			i = len(p.Nodes)
			index[name] = i
			p.Nodes = append(p.Nodes, NodeTime{Node: name, Op: e.Args.Op})
		}
		p.Nodes[i].Time += time.Duration(e.Duration * float64(time.Microsecond))
	}
	return p, nil
}
