// Package ops maps ONNX operators onto the native engine's kernels. Each
// op family file holds one table of Entries (registry.go lists them): an
// operator is registered once per opset version where its meaning
// changed, and a node binds to the newest registration at or below the
// model's opset.
// A constructor decodes the node's attributes once, with the defaults
// that graph declares (graph/attrspec_table.go), into an immutable Op:
// running an op never writes to the op.
package ops

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// Op is one node's operator with its attributes decoded.
type Op interface {
	// Forward computes the node's outputs from its inputs; an absent
	// optional input is nil. It may record what Backward needs with
	// save (saved.go).
	Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error)
}

// Differentiable is an Op with a backward pass.
type Differentiable interface {
	Op
	// Backward returns the gradients of the loss with respect to the
	// inputs, given those with respect to the outputs (nil where an
	// output does not reach the loss). A nil gradient means the input is
	// not differentiable or receives none, or that ctx.Wants says the
	// gradient is not used. ctx is the one Forward saw.
	Backward(ctx *Context, in, out, gradOut []*tensor.Tensor) ([]*tensor.Tensor, error)
}

// Context carries a node's run-time settings and the state its backward
// pass needs.
type Context struct {
	// Training selects training behaviour: Dropout drops and
	// BatchNormalization uses batch statistics.
	Training bool
	// Rand is the node's random source for this run, seeded
	// deterministically by the executor.
	Rand *rand.Rand
	// Saved is the state Forward keeps for Backward, of a type of the
	// op's own; ops write and read it through save and loadSaved, which
	// checks the type. A float32 tensor saved here goes back to Pool
	// once the backward pass has run, so the op must hold no other
	// reference to it.
	Saved any
	// Pool supplies recycled output buffers; nil allocates afresh.
	Pool *Pool
	// Updates lists new values for inputs that are model state, such as
	// BatchNormalization's running statistics in training. The executor
	// writes them into the state after the node has run; an op never
	// writes into its inputs itself.
	Updates []Update
	// Outer holds, by name, the enclosing-scope values that the node's
	// subgraphs read: those its Captures lists, for a Capturer.
	Outer map[string]*tensor.Tensor
	// Wanted, when not nil, says which inputs' gradients the backward
	// pass will use; a Backward may skip the others (see Wants).
	Wanted []bool
	// SpentGradOut, when not nil, says which output gradients nothing
	// reads after this Backward: the backward pass drops them, and no
	// other value, gradient or caller shares their buffers. Backward may
	// overwrite those, e.g. to take them through a fused ReLU in place.
	SpentGradOut []bool
	// Budget bounds the memory the node may ask for; nil means
	// DefaultBudget. The executor sets it from the run's options.
	Budget *Budget
	// Ctx is the run's context: an op that iterates (Loop, Scan) checks
	// it every iteration through Err. Nil means never cancelled.
	Ctx context.Context
	// Escapes says that the node's outputs leave the run (graph outputs,
	// values the caller keeps): Float32 then takes from the pool only a
	// buffer of the exact size, so that the caller never holds on to a
	// larger one, and the pool does not lose it.
	Escapes bool
	// Constants marks, bit i for input i, the inputs that are the
	// program's initializers (or Identity views of one, or values it
	// computed once from Constant nodes), unchanged since
	// the weights' generation Generation: an op may multiply by a form
	// of them it prepared before (packed, transformed) under the same
	// generation. The executor sets none in runs that record, whose
	// weights a training step changes.
	Constants  uint64
	Generation uint64
	// Into, when not nil, is where the program's memory plan wants the
	// node's one float32 output: a view into a larger buffer, such as
	// the part of a Concat's output that this output fills. Float32
	// returns it for the first request of its shape (the op writes its
	// output there and returns it; the Concat then copies nothing), and
	// a fresh tensor otherwise. The op must not hand it to Pool.Put,
	// which ignores it.
	Into *tensor.Tensor
	// IntoStride, when not zero, says that Into's images (its slabs
	// along axis 0) lie IntoStride elements apart, not one after the
	// other: Into is a piece of a channel concatenation of more than
	// one image, its Data running from the first element of image 0 to
	// the last of the last image. Float32 never returns such a view;
	// an op that can write its output's images apart asks for it with
	// Images, and returns it as its output, which only Concats read
	// (the memory plan sees to it).
	IntoStride int
	// outputs holds the output list that Outputs returns.
	outputs [2]*tensor.Tensor
	// ViewStore, when not nil, is where View puts the header of the
	// node's view output: storage of the executor's that lasts as long
	// as the run's values, so that a run in steady state allocates no
	// header for Flatten. View takes it once.
	ViewStore *ViewHeader
}

// Constant reports whether input i is one of the program's unchanged
// constants (see Constants).
func (c *Context) Constant(i int) bool { return c != nil && i < 64 && c.Constants&(1<<i) != 0 }

// Outputs returns ts as an op's output list, in storage of c's when
// there is room, which the executor reads before the node's next run:
// an op's Forward returns it rather than allocate a slice per call.
func (c *Context) Outputs(ts ...*tensor.Tensor) []*tensor.Tensor {
	if c == nil || len(ts) > len(c.outputs) {
		return append([]*tensor.Tensor(nil), ts...)
	}
	n := copy(c.outputs[:], ts)
	return c.outputs[:n:n]
}

// Err returns the error of the run's context once it is done (cancelled
// or past its deadline), and nil before, or when the run has none.
func (c *Context) Err() error {
	if c == nil || c.Ctx == nil {
		return nil
	}
	return c.Ctx.Err()
}

// Wants reports whether the backward pass uses the gradient of input i.
func (c *Context) Wants(i int) bool { return c.Wanted == nil || i < len(c.Wanted) && c.Wanted[i] }

// Update replaces the value of the node's input Input with Value.
type Update struct {
	Input int
	Value *tensor.Tensor
}

// Float32 returns a float32 tensor for an output, from the pool when there
// is one. Its contents are undefined.
func (c *Context) Float32(shape ...int) *tensor.Tensor {
	if into := c.Into; into != nil && c.IntoStride == 0 && slices.Equal(into.Shape, shape) {
		c.Into = nil
		return into
	}
	if c.Escapes {
		return c.Pool.Exact(shape...)
	}
	return c.Pool.Float32(shape...)
}

// Images returns a float32 tensor for an output of the given shape
// whose images (slabs along axis 0) may lie apart, and the elements from
// the start of one image to the next: Into when the memory plan lends a
// view of that shape with its images apart (IntoStride), else what
// Float32 returns, with a stride of one image. Its contents are
// undefined.
func (c *Context) Images(shape ...int) (*tensor.Tensor, int) {
	if into := c.Into; into != nil && c.IntoStride != 0 && slices.Equal(into.Shape, shape) {
		c.Into = nil
		return into, c.IntoStride
	}
	if len(shape) == 0 {
		return c.Float32(shape...), 0
	}
	return c.Float32(shape...), tensor.NumElements(shape[1:])
}

// ImagesApart returns the elements from the start of one image (slab
// along axis 0) of the float32 tensor x to the next when they lie apart
// (a view that Context.Images returned, of more than one image, whose
// Data holds more than its shape's elements), and 0 for a dense tensor.
func ImagesApart(x *tensor.Tensor) int {
	data, ok := x.Data.([]float32)
	if !ok || len(x.Shape) == 0 || x.Shape[0] < 2 {
		return 0
	}
	image := tensor.NumElements(x.Shape[1:])
	if extra := len(data) - x.Shape[0]*image; extra > 0 {
		return image + extra/(x.Shape[0]-1)
	}
	return 0
}

// ImagesApartReader is an Op whose Forward takes some of its inputs
// with their images apart (ImagesApart): the memory plan may then hand
// it, as such an input, a view of a channel concatenation's part at
// batch N > 1 rather than a copy of it.
type ImagesApartReader interface {
	Op
	// ReadsImagesApart reports whether Forward takes input i with its
	// images apart, in every run.
	ReadsImagesApart(i int) bool
}

// denseImages returns x with its images one after the other: x itself
// when they are (ImagesApart is 0), else a copy of it from ctx's pool,
// which the caller hands back with done (a no-op for x itself).
func denseImages(ctx *Context, x *tensor.Tensor) (dense *tensor.Tensor, done func()) {
	stride := ImagesApart(x)
	if stride == 0 {
		return x, func() {}
	}
	d := ctx.Pool.Float32(x.Shape...)
	image := tensor.NumElements(x.Shape[1:])
	src, dst := x.F32(), d.F32()
	for n := range x.Shape[0] {
		copy(dst[n*image:(n+1)*image], src[n*stride:])
	}
	return d, func() { ctx.Pool.Put(d) }
}

// Zeros returns a float32 tensor of zeros, from the pool when there is
// one: backward passes accumulate into their gradients.
func (c *Context) Zeros(shape ...int) *tensor.Tensor {
	t := c.Float32(shape...)
	clear(t.F32())
	return t
}

// Constructor builds an Op for node n, declared under the given opset
// version of its domain.
type Constructor func(n *graph.Node, opset int64) (Op, error)

type registration struct {
	since int64
	build Constructor
	// scoped is set, instead of build, for operators with subgraphs
	// (Entry.Scoped).
	scoped ScopedConstructor
}

var registry = map[string][]registration{}

func key(domain, opType string) string {
	if domain == "ai.onnx" {
		domain = graph.DefaultDomain
	}
	return domain + "\x00" + opType
}

// Register makes build the constructor of opType in domain from opset
// version since on, until a later registration. The engine's own
// operators are registered from their family tables (registry.go);
// Register adds an operator of the caller's.
func Register(domain, opType string, since int64, build Constructor) {
	register(domain, opType, registration{since: since, build: build})
}

func register(domain, opType string, r registration) {
	k := key(domain, opType)
	regs := append(registry[k], r)
	sort.Slice(regs, func(i, j int) bool { return regs[i].since < regs[j].since })
	registry[k] = regs
}

// Lookup returns the constructor for opType in domain at the given opset
// version: the newest registration whose version is at most opset.
// An operator with subgraphs (Entry.Scoped) is looked up like any other,
// but its Constructor fails: it must be built with BuildIn.
func Lookup(domain, opType string, opset int64) (Constructor, bool) {
	r, ok := find(domain, opType, opset)
	if !ok {
		return nil, false
	}
	if r.scoped != nil {
		return func(n *graph.Node, opset int64) (Op, error) { return r.scoped(n.AtOpset(opset), opset, nil) }, true
	}
	return func(n *graph.Node, opset int64) (Op, error) { return r.build(n.AtOpset(opset), opset) }, true
}

func find(domain, opType string, opset int64) (registration, bool) {
	regs := registry[key(domain, opType)]
	for i := len(regs) - 1; i >= 0; i-- {
		if regs[i].since <= opset {
			return regs[i], true
		}
	}
	return registration{}, false
}

// Build constructs the Op of node n under opset, with an error naming the
// node when the op is unsupported or its attributes are malformed. It is
// BuildIn without a Scope, enough for every operator without subgraphs.
func Build(n *graph.Node, opset int64) (Op, error) { return BuildIn(n, opset, nil) }

// BuildIn constructs the Op of node n under opset as Build does, handing
// scope to the constructors of operators with subgraphs (Entry.Scoped).
func BuildIn(n *graph.Node, opset int64, scope Scope) (Op, error) {
	r, ok := find(n.Domain, n.OpType, opset)
	if !ok {
		return nil, &graph.NodeError{Node: n.Name, Op: n.OpType, Err: &UnsupportedError{Domain: n.Domain, OpType: n.OpType, Opset: opset}}
	}
	// The constructors read n's attributes as its operator declares them
	// at opset (graph/attrspec_table.go). An attribute the operator lacks
	// there is ignored, as it always was here; graph.Validate reports it.
	n = n.AtOpset(opset)
	var (
		op  Op
		err error
	)
	if r.scoped != nil {
		op, err = r.scoped(n, opset, scope)
	} else {
		op, err = r.build(n, opset)
	}
	var named *graph.NodeError
	if errors.As(err, &named) && named.Node == n.Name && named.Op == n.OpType {
		return nil, err // the attribute getters named the node already
	}
	if err != nil {
		return nil, &graph.NodeError{Node: n.Name, Op: n.OpType, Err: err}
	}
	return op, nil
}

// UnsupportedError says that the engine has no kernel for an operator at
// an opset version.
type UnsupportedError struct {
	Domain string
	OpType string
	Opset  int64
}

func (e *UnsupportedError) Error() string {
	d := e.Domain
	if d == "" {
		d = "ai.onnx"
	}
	return fmt.Sprintf("operator %s (%s, opset %d) is not supported by the native engine", e.OpType, d, e.Opset)
}
