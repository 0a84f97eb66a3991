// Package ortrun runs models in ONNX Runtime, the reference that the
// native engine is checked and benchmarked against, through
// github.com/yalue/onnxruntime_go. It converts between the native engine's
// tensors and ONNX Runtime's values.
//
// onnxruntime_go v1.27 mishandles rank-0 tensors, empty tensors and the
// byte size of float16 outputs, so Run refuses those with an error rather
// than return wrong values; comparisons keep to what it handles.
package ortrun

import (
	"errors"
	"fmt"
	"reflect"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

var (
	initOnce sync.Once
	initErr  error
)

// Init loads the ONNX Runtime shared library at libPath and creates the
// process's ONNX Runtime environment. Only the first call has effect;
// later calls return its result.
func Init(libPath string) error {
	initOnce.Do(func() {
		ort.SetSharedLibraryPath(libPath)
		if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
			initErr = fmt.Errorf("ortrun: loading ONNX Runtime from %s: %w", libPath, err)
		}
	})
	return initErr
}

// Version returns the loaded ONNX Runtime's version string.
func Version() string { return ort.GetVersion() }

// Session is a model loaded into ONNX Runtime.
type Session struct {
	session *ort.DynamicAdvancedSession
	inputs  []ort.InputOutputInfo
	outputs []ort.InputOutputInfo
}

// Level is a level of ONNX Runtime's graph optimisations.
type Level int

const (
	// LevelAll is ONNX Runtime's default: every optimisation, including
	// the layout transformation that runs convolutions in its blocked
	// NCHWc format with direct kernels.
	LevelAll Level = iota
	// LevelExtended stops short of the layout transformations, so that
	// convolutions run on NCHW tensors (im2col and SGEMM).
	LevelExtended
)

// Open loads the model at path with the given number of intra-op threads
// (0: ONNX Runtime's default) and every graph optimisation. Init must
// have succeeded.
func Open(path string, threads int) (*Session, error) {
	return OpenAt(path, threads, LevelAll)
}

// OpenAt is Open with the graph optimisations up to level.
func OpenAt(path string, threads int, level Level) (*Session, error) {
	if !ort.IsInitialized() {
		return nil, errors.New("ortrun: Init has not been called")
	}
	inputs, outputs, err := ort.GetInputOutputInfo(path)
	if err != nil {
		return nil, fmt.Errorf("ortrun: %s: %w", path, err)
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	defer opts.Destroy()
	if level == LevelExtended {
		if err := opts.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableExtended); err != nil {
			return nil, err
		}
	}
	if threads > 0 {
		if err := opts.SetIntraOpNumThreads(threads); err != nil {
			return nil, err
		}
		if err := opts.SetInterOpNumThreads(1); err != nil {
			return nil, err
		}
	}
	s, err := ort.NewDynamicAdvancedSession(path, names(inputs), names(outputs), opts)
	if err != nil {
		return nil, fmt.Errorf("ortrun: %s: %w", path, err)
	}
	return &Session{session: s, inputs: inputs, outputs: outputs}, nil
}

func names(infos []ort.InputOutputInfo) []string {
	out := make([]string, len(infos))
	for i, info := range infos {
		out[i] = info.Name
	}
	return out
}

// InputNames returns the names of the inputs Run needs, in model order.
func (s *Session) InputNames() []string { return names(s.inputs) }

// OutputNames returns the names of the model's outputs, in order.
func (s *Session) OutputNames() []string { return names(s.outputs) }

// Close frees the session.
func (s *Session) Close() error { return s.session.Destroy() }

// Run runs the model on inputs, given by name, and returns every output
// by name.
func (s *Session) Run(inputs map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	in := make([]ort.Value, len(s.inputs))
	defer func() {
		for _, v := range in {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for i, info := range s.inputs {
		t := inputs[info.Name]
		if t == nil {
			return nil, fmt.Errorf("ortrun: input %q is missing", info.Name)
		}
		v, err := toORT(t)
		if err != nil {
			return nil, fmt.Errorf("ortrun: input %q: %w", info.Name, err)
		}
		in[i] = v
	}
	out := make([]ort.Value, len(s.outputs))
	defer func() {
		for _, v := range out {
			// A failed conversion can leave a typed nil behind.
			if v != nil && !reflect.ValueOf(v).IsNil() {
				v.Destroy()
			}
		}
	}()
	if err := s.session.Run(in, out); err != nil {
		return nil, fmt.Errorf("ortrun: %w", err)
	}
	result := map[string]*tensor.Tensor{}
	for i, info := range s.outputs {
		t, err := fromORT(out[i])
		if err != nil {
			return nil, fmt.Errorf("ortrun: output %q: %w", info.Name, err)
		}
		result[info.Name] = t
	}
	return result, nil
}

func toORT(t *tensor.Tensor) (ort.Value, error) {
	if t.Rank() == 0 || t.Len() == 0 {
		return nil, fmt.Errorf("%v: onnxruntime_go v1.27 mishandles rank-0 and empty tensors", t)
	}
	shape := make(ort.Shape, len(t.Shape))
	for i, d := range t.Shape {
		shape[i] = int64(d)
	}
	switch d := t.Data.(type) {
	case []float32:
		return ort.NewTensor(shape, d)
	case []float64:
		return ort.NewTensor(shape, d)
	case []int8:
		return ort.NewTensor(shape, d)
	case []int16:
		return ort.NewTensor(shape, d)
	case []int32:
		return ort.NewTensor(shape, d)
	case []int64:
		return ort.NewTensor(shape, d)
	case []uint8:
		if t.DType == graph.Uint8 {
			return ort.NewTensor(shape, d)
		}
	case []uint16:
		if t.DType == graph.Uint16 {
			return ort.NewTensor(shape, d)
		}
	case []uint32:
		return ort.NewTensor(shape, d)
	case []uint64:
		return ort.NewTensor(shape, d)
	case []bool:
		return ort.NewTensor(shape, d)
	}
	return nil, fmt.Errorf("%v tensors are not passed to ONNX Runtime", t.DType)
}

func fromORT(v ort.Value) (*tensor.Tensor, error) {
	shape := v.GetShape()
	dims := make([]int, len(shape))
	for i, d := range shape {
		dims[i] = int(d)
	}
	wrap := func(dtype graph.DType, data any) (*tensor.Tensor, error) {
		return &tensor.Tensor{DType: dtype, Shape: dims, Data: data}, nil
	}
	switch t := v.(type) {
	case *ort.Tensor[float32]:
		return wrap(graph.Float32, append([]float32(nil), t.GetData()...))
	case *ort.Tensor[float64]:
		return wrap(graph.Float64, append([]float64(nil), t.GetData()...))
	case *ort.Tensor[int8]:
		return wrap(graph.Int8, append([]int8(nil), t.GetData()...))
	case *ort.Tensor[int16]:
		return wrap(graph.Int16, append([]int16(nil), t.GetData()...))
	case *ort.Tensor[int32]:
		return wrap(graph.Int32, append([]int32(nil), t.GetData()...))
	case *ort.Tensor[int64]:
		return wrap(graph.Int64, append([]int64(nil), t.GetData()...))
	case *ort.Tensor[uint8]:
		return wrap(graph.Uint8, append([]uint8(nil), t.GetData()...))
	case *ort.Tensor[uint16]:
		return wrap(graph.Uint16, append([]uint16(nil), t.GetData()...))
	case *ort.Tensor[uint32]:
		return wrap(graph.Uint32, append([]uint32(nil), t.GetData()...))
	case *ort.Tensor[uint64]:
		return wrap(graph.Uint64, append([]uint64(nil), t.GetData()...))
	case *ort.Tensor[bool]:
		return wrap(graph.Bool, append([]bool(nil), t.GetData()...))
	}
	return nil, fmt.Errorf("ONNX Runtime returned a %T, which is not converted", v)
}
