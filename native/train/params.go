package train

import "github.com/onnxkit/onnxkit/graph"

// Params lays a model's float32 initializers out in two flat buffers, as
// llm.c does: Trainable (weights, biases, BatchNorm scale and bias), which
// the optimizer updates in one loop, and State (BatchNorm's running mean
// and variance), which training updates by other means. The model's
// initializers are re-pointed at views of these buffers, so a Program
// compiled from the model reads and writes them directly.
type Params struct {
	Trainable []float32
	State     []float32
	// TrainableNames and StateNames list the initializers in buffer order.
	TrainableNames []string
	StateNames     []string
	// views maps an initializer name to its span of its buffer.
	views map[string]span
}

type span struct {
	state      bool
	start, end int
}

// isState reports whether an initializer is a running statistic rather
// than a trained parameter: BatchNormalization's inputs 3 and 4.
func isState(g *graph.Graph, name string) bool {
	for _, n := range g.Nodes {
		if n.OpType == "BatchNormalization" && (n.Input(3) == name || n.Input(4) == name) {
			return true
		}
	}
	return false
}

// NewParams carves m's float32 initializers into flat buffers and points
// the initializers at them, keeping their values.
func NewParams(m *graph.Model) *Params {
	p := &Params{views: map[string]span{}}
	var trainable, state int
	for _, t := range m.Graph.Initializers {
		if t.DType != graph.Float32 {
			continue
		}
		n := len(t.Data.([]float32))
		if isState(m.Graph, t.Name) {
			p.views[t.Name] = span{true, state, state + n}
			p.StateNames = append(p.StateNames, t.Name)
			state += n
		} else {
			p.views[t.Name] = span{false, trainable, trainable + n}
			p.TrainableNames = append(p.TrainableNames, t.Name)
			trainable += n
		}
	}
	p.Trainable = make([]float32, trainable)
	p.State = make([]float32, state)
	for _, t := range m.Graph.Initializers {
		if view := p.View(t.Name); view != nil {
			copy(view, t.Data.([]float32))
			t.Data = view
		}
	}
	return p
}

// View returns the span of the buffers that holds the initializer name,
// or nil.
func (p *Params) View(name string) []float32 {
	v, ok := p.views[name]
	if !ok {
		return nil
	}
	if v.state {
		return p.State[v.start:v.end:v.end]
	}
	return p.Trainable[v.start:v.end:v.end]
}

// GradView returns the span of a gradient buffer laid out like Trainable
// that belongs to the trainable initializer name.
func (p *Params) GradView(grads []float32, name string) []float32 {
	v := p.views[name]
	return grads[v.start:v.end:v.end]
}
