package preprocess

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"github.com/onnxkit/onnxkit/graph"
)

// Classes returns the class names recorded in m's metadata under
// ClassesKey, in output order; nil when m has none.
func Classes(m *graph.Model) ([]string, error) {
	value, ok := m.MetadataValue(ClassesKey)
	if !ok {
		return nil, nil
	}
	var classes []string
	if err := json.Unmarshal([]byte(value), &classes); err != nil {
		return nil, fmt.Errorf("preprocess: metadata %s: want a JSON list of strings: %v", ClassesKey, err)
	}
	return classes, nil
}

// ClassesMetadata returns the metadata entry that Classes reads.
func ClassesMetadata(classes []string) (graph.StringPair, error) {
	b, err := json.Marshal(classes)
	if err != nil {
		return graph.StringPair{}, fmt.Errorf("preprocess: %v", err)
	}
	return graph.StringPair{Key: ClassesKey, Value: string(b)}, nil
}

// Prediction is one class of a classifier's output row.
type Prediction struct {
	// Index is the class's position in the output row.
	Index int
	// Class is its name, or "" when the names are unknown.
	Class string
	// Score is the output's value, a probability for a softmax output.
	Score float32
}

// TopK returns the k highest scores of one output row, best first (ties
// in index order), with their class names when classes has one per
// score. NaN scores rank last.
func TopK(scores []float32, classes []string, k int) []Prediction {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	rank := func(v float32) float64 {
		if math.IsNaN(float64(v)) {
			return math.Inf(-1)
		}
		return float64(v)
	}
	sort.SliceStable(idx, func(a, b int) bool { return rank(scores[idx[a]]) > rank(scores[idx[b]]) })
	k = max(0, min(k, len(scores)))
	out := make([]Prediction, k)
	for i, j := range idx[:k] {
		out[i] = Prediction{Index: j, Score: scores[j]}
		if len(classes) == len(scores) {
			out[i].Class = classes[j]
		}
	}
	return out
}
