package ort

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// Level is a level of ONNX Runtime's graph optimisations
// (GraphOptimizationLevel).
type Level int

const (
	// LevelAll is ONNX Runtime's default: every optimisation, including
	// the layout transformation that runs convolutions in its blocked
	// NCHWc format with direct kernels.
	LevelAll Level = iota
	// LevelExtended stops short of the layout transformations, so that
	// convolutions run on NCHW tensors (im2col and SGEMM).
	LevelExtended
	// LevelBasic keeps to the optimisations that preserve the graph's
	// semantics exactly, such as constant folding.
	LevelBasic
	// LevelDisabled runs the graph as it is.
	LevelDisabled
)

// ortLevel is the GraphOptimizationLevel value of each Level.
var ortLevel = map[Level]uintptr{LevelAll: 99, LevelExtended: 2, LevelBasic: 1, LevelDisabled: 0}

// Options configure a session.
type Options struct {
	// IntraOpThreads is the number of threads an operator may use;
	// 0 leaves ONNX Runtime's default (one per physical core). When set,
	// operators also run one at a time (one inter-op thread).
	IntraOpThreads int
	// Level is the level of graph optimisations.
	Level Level
	// ProfilePrefix, when set, has ONNX Runtime time every node of
	// every run; EndProfiling writes the times to a JSON trace whose
	// path starts with the prefix (ReadProfile reads it). Timing costs
	// some microseconds a node.
	ProfilePrefix string
}

// Info describes one of a model's inputs or outputs as ONNX Runtime sees
// it.
type Info struct {
	Name string
	// Kind is "tensor", "sequence", "map", "optional", ...; DType and
	// Shape are set for tensors only.
	Kind  string
	DType graph.DType
	// Shape holds the dimensions, -1 where a dimension is not fixed.
	Shape []int64
}

// Session is a model loaded into ONNX Runtime. Its methods may be called
// from several goroutines at once; Close must come after every Run has
// returned.
type Session struct {
	session uintptr // OrtSession*
	inputs  []Info
	outputs []Info
	// inputNames and outputNames are NUL-terminated copies of the names
	// in C memory that ONNX Runtime allocated, as Run passes them.
	inputNames  []uintptr
	outputNames []uintptr
}

// Open loads the model at path. Load must have succeeded.
func Open(path string, opts Options) (*Session, error) {
	if err := loaded(); err != nil {
		return nil, err
	}
	chars, err := pathChars(path)
	if err != nil {
		return nil, fmt.Errorf("ort: %w", err)
	}
	s, err := newSession(opts, func(options uintptr, out *uintptr) error {
		return call(fnCreateSession, rt.env, uintptr(chars), options, uintptr(unsafe.Pointer(out)))
	})
	runtime.KeepAlive(chars)
	if err != nil {
		return nil, fmt.Errorf("ort: %s: %w", path, err)
	}
	return s, nil
}

// OpenBytes loads the model serialised in model. Load must have succeeded.
// A model whose tensors are kept in external files needs Open instead, so
// that ONNX Runtime finds them beside the model.
func OpenBytes(model []byte, opts Options) (*Session, error) {
	if err := loaded(); err != nil {
		return nil, err
	}
	if len(model) == 0 {
		return nil, errors.New("ort: the model is empty")
	}
	s, err := newSession(opts, func(options uintptr, out *uintptr) error {
		return call(fnCreateSessionFromArray, rt.env, uintptr(unsafe.Pointer(&model[0])), uintptr(len(model)), options, uintptr(unsafe.Pointer(out)))
	})
	if err != nil {
		return nil, fmt.Errorf("ort: %w", err)
	}
	return s, nil
}

// newSession creates a session through create, given the session
// options, and reads its inputs and outputs.
func newSession(opts Options, create func(options uintptr, out *uintptr) error) (*Session, error) {
	level, ok := ortLevel[opts.Level]
	if !ok {
		return nil, fmt.Errorf("unknown optimisation level %d", opts.Level)
	}
	if opts.IntraOpThreads < 0 {
		return nil, fmt.Errorf("%d intra-op threads", opts.IntraOpThreads)
	}
	var options uintptr
	if err := call(fnCreateSessionOptions, uintptr(unsafe.Pointer(&options))); err != nil {
		return nil, err
	}
	defer release(fnReleaseSessionOptions, options)
	if err := call(fnSetSessionGraphOptimization, options, level); err != nil {
		return nil, err
	}
	if opts.IntraOpThreads > 0 {
		if err := call(fnSetIntraOpNumThreads, options, uintptr(opts.IntraOpThreads)); err != nil {
			return nil, err
		}
		if err := call(fnSetInterOpNumThreads, options, 1); err != nil {
			return nil, err
		}
	}
	if opts.ProfilePrefix != "" {
		chars, err := pathChars(opts.ProfilePrefix)
		if err != nil {
			return nil, err
		}
		err = call(fnEnableProfiling, options, uintptr(chars))
		runtime.KeepAlive(chars)
		if err != nil {
			return nil, err
		}
	}
	s := &Session{}
	if err := create(options, &s.session); err != nil {
		return nil, err
	}
	var err error
	if s.inputs, s.inputNames, err = s.describe(fnSessionGetInputCount, fnSessionGetInputName, fnSessionGetInputTypeInfo); err == nil {
		s.outputs, s.outputNames, err = s.describe(fnSessionGetOutputCount, fnSessionGetOutputName, fnSessionGetOutputTypeInfo)
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// describe reads the session's inputs or outputs through the given
// count, name and type functions, and keeps their names in C memory.
func (s *Session) describe(countFn, nameFn, typeFn int) ([]Info, []uintptr, error) {
	var n uintptr
	if err := call(countFn, s.session, uintptr(unsafe.Pointer(&n))); err != nil {
		return nil, nil, err
	}
	infos := make([]Info, n)
	names := make([]uintptr, 0, n)
	for i := range infos {
		var name uintptr
		if err := call(nameFn, s.session, uintptr(i), rt.allocator, uintptr(unsafe.Pointer(&name))); err != nil {
			freeNames(names)
			return nil, nil, err
		}
		names = append(names, name)
		infos[i].Name = goString(name)
		var typeInfo uintptr
		if err := call(typeFn, s.session, uintptr(i), uintptr(unsafe.Pointer(&typeInfo))); err != nil {
			freeNames(names)
			return nil, nil, err
		}
		err := describeType(typeInfo, &infos[i])
		release(fnReleaseTypeInfo, typeInfo)
		if err != nil {
			freeNames(names)
			return nil, nil, fmt.Errorf("%q: %w", infos[i].Name, err)
		}
	}
	return infos, names, nil
}

// describeType fills info's kind, and for a tensor its type and shape,
// from an OrtTypeInfo.
func describeType(typeInfo uintptr, info *Info) error {
	var kind int32
	if err := call(fnGetOnnxTypeFromTypeInfo, typeInfo, uintptr(unsafe.Pointer(&kind))); err != nil {
		return err
	}
	info.Kind = onnxTypeNames[kind]
	if info.Kind == "" {
		info.Kind = fmt.Sprintf("ONNXType(%d)", kind)
	}
	if kind != onnxTypeTensor {
		return nil
	}
	var tensorInfo uintptr // owned by typeInfo
	if err := call(fnCastTypeInfoToTensorInfo, typeInfo, uintptr(unsafe.Pointer(&tensorInfo))); err != nil {
		return err
	}
	dtype, shape, err := tensorTypeAndShape(tensorInfo)
	info.DType, info.Shape = dtype, shape
	return err
}

// tensorTypeAndShape reads an OrtTensorTypeAndShapeInfo.
func tensorTypeAndShape(tensorInfo uintptr) (graph.DType, []int64, error) {
	var elem int32
	if err := call(fnGetTensorElementType, tensorInfo, uintptr(unsafe.Pointer(&elem))); err != nil {
		return 0, nil, err
	}
	var rank uintptr
	if err := call(fnGetDimensionsCount, tensorInfo, uintptr(unsafe.Pointer(&rank))); err != nil {
		return 0, nil, err
	}
	shape := make([]int64, rank)
	if rank > 0 {
		if err := call(fnGetDimensions, tensorInfo, uintptr(unsafe.Pointer(&shape[0])), rank); err != nil {
			return 0, nil, err
		}
	}
	return graph.DType(elem), shape, nil
}

func freeNames(names []uintptr) {
	for _, p := range names {
		// AllocatorFree's status is an error only for a NULL allocator.
		_ = call(fnAllocatorFree, rt.allocator, p)
	}
}

// Inputs describes the inputs Run needs, in the model's order.
func (s *Session) Inputs() []Info { return s.inputs }

// Outputs describes the model's outputs, in order.
func (s *Session) Outputs() []Info { return s.outputs }

// InputNames returns the names of the inputs Run needs, in the model's
// order.
func (s *Session) InputNames() []string { return infoNames(s.inputs) }

// OutputNames returns the names of the model's outputs, in order.
func (s *Session) OutputNames() []string { return infoNames(s.outputs) }

func infoNames(infos []Info) []string {
	names := make([]string, len(infos))
	for i, info := range infos {
		names[i] = info.Name
	}
	return names
}

// EndProfiling stops the timing that Options.ProfilePrefix started and
// writes the trace, returning its path.
func (s *Session) EndProfiling() (string, error) {
	if s.session == 0 {
		return "", errors.New("ort: the session is closed")
	}
	var name uintptr
	if err := call(fnSessionEndProfiling, s.session, rt.allocator, uintptr(unsafe.Pointer(&name))); err != nil {
		return "", fmt.Errorf("ort: %w", err)
	}
	path := goString(name)
	freeNames([]uintptr{name})
	if path == "" {
		return "", errors.New("ort: the session was not profiled (Options.ProfilePrefix)")
	}
	return path, nil
}

// Close releases the session. It returns nil; a second call does nothing.
func (s *Session) Close() error {
	freeNames(s.inputNames)
	freeNames(s.outputNames)
	s.inputNames, s.outputNames = nil, nil
	release(fnReleaseSession, s.session)
	s.session = 0
	return nil
}

// Run runs the model on inputs, given by name, and returns every output by
// name. Inputs the model does not have are ignored.
func (s *Session) Run(inputs map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	if s.session == 0 {
		return nil, errors.New("ort: the session is closed")
	}
	in := make([]uintptr, len(s.inputs))
	out := make([]uintptr, len(s.outputs))
	defer func() {
		for _, v := range in {
			release(fnReleaseValue, v)
		}
		for _, v := range out {
			release(fnReleaseValue, v)
		}
	}()
	for i, info := range s.inputs {
		t := inputs[info.Name]
		if t == nil {
			return nil, fmt.Errorf("ort: input %q is missing", info.Name)
		}
		v, err := newValue(t)
		if err != nil {
			return nil, fmt.Errorf("ort: input %q: %w", info.Name, err)
		}
		in[i] = v
	}
	if err := call(fnRun, s.session, 0,
		uintptr(firstOrNil(s.inputNames)), uintptr(firstOrNil(in)), uintptr(len(in)),
		uintptr(firstOrNil(s.outputNames)), uintptr(len(out)), uintptr(firstOrNil(out))); err != nil {
		return nil, fmt.Errorf("ort: %w", err)
	}
	result := make(map[string]*tensor.Tensor, len(out))
	for i, info := range s.outputs {
		t, err := valueTensor(out[i])
		if err != nil {
			return nil, fmt.Errorf("ort: output %q: %w", info.Name, err)
		}
		result[info.Name] = t
	}
	return result, nil
}

// firstOrNil returns a pointer to s's first element, or nil when s is
// empty.
func firstOrNil(s []uintptr) unsafe.Pointer {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Pointer(&s[0])
}
