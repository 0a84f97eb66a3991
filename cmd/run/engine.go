package main

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"

	"github.com/onnxkit/onnxkit/conformance/ortrun"
	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native"
	"github.com/onnxkit/onnxkit/native/data"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// engine runs one model.
type engine interface {
	// Run returns every graph output by name.
	Run(inputs map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error)
	Close() error
}

// opener loads a model into an engine. path is the model's file, which m
// was read from.
type opener func(path string, m *graph.Model) (engine, error)

// nativeEngine is the pure-Go engine.
type nativeEngine struct{ prog *native.Program }

// Run runs the compiled program in inference mode.
func (e nativeEngine) Run(in map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	return e.prog.Run(in)
}

// Close does nothing: the program holds no outside resources.
func (nativeEngine) Close() error { return nil }

// openNative compiles m after a preflight that lists every operator the
// engine lacks.
func openNative(_ string, m *graph.Model) (engine, error) {
	if missing := preflight(m); len(missing) > 0 {
		return nil, &unsupportedOpsError{missing}
	}
	prog, err := native.Compile(m)
	if err != nil {
		return nil, err
	}
	return nativeEngine{prog}, nil
}

// ortEngine is ONNX Runtime.
type ortEngine struct {
	s *ortrun.Session
	// inits are the initializers that ONNX Runtime lists as inputs (those
	// also declared as graph inputs, as before IR version 4), passed
	// unless the caller overrides them.
	inits map[string]*tensor.Tensor
}

// Run runs the session, adding the initializers it lists as inputs.
func (e ortEngine) Run(in map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	if len(e.inits) > 0 {
		all := maps.Clone(e.inits)
		maps.Copy(all, in)
		in = all
	}
	return e.s.Run(in)
}

// Close frees the session.
func (e ortEngine) Close() error { return e.s.Close() }

// openORT returns an opener for ONNX Runtime with o's library and
// threads.
func openORT(o *options) opener {
	return func(path string, m *graph.Model) (engine, error) {
		if err := ortCanReturn(m); err != nil {
			return nil, err
		}
		lib, err := ortLibrary(o.ortLib)
		if err != nil {
			return nil, err
		}
		if err := ortrun.Init(lib); err != nil {
			return nil, err
		}
		s, err := ortrun.Open(path, o.threads)
		if err != nil {
			return nil, err
		}
		e := ortEngine{s: s, inits: map[string]*tensor.Tensor{}}
		for _, name := range s.InputNames() {
			if init := m.Graph.Initializer(name); init != nil {
				t, err := tensor.FromGraph(init)
				if err != nil {
					s.Close()
					return nil, err
				}
				e.inits[name] = t
			}
		}
		return e, nil
	}
}

// ortCanReturn refuses a model with an output that onnxruntime_go v1.27
// mishandles, a scalar or an empty tensor, as far as the declared or
// inferred types tell: conformance/ortrun would fail on it.
func ortCanReturn(m *graph.Model) error {
	types, _ := graph.InferTypes(m) // a partial map is enough
	for _, v := range m.Graph.Outputs {
		t := v.Type
		if t == nil || t.Shape == nil {
			t = types[v.Name]
		}
		if t == nil || t.Kind != graph.TensorKind || t.Shape == nil {
			continue
		}
		empty := len(t.Shape) == 0
		for _, d := range t.Shape {
			empty = empty || (d.Known() && d.Size == 0)
		}
		if empty {
			return fmt.Errorf("output %q is %v: onnxruntime_go v1.27 cannot return scalars or empty tensors", v.Name, t)
		}
	}
	return nil
}

// ortLibrary finds the ONNX Runtime library: flag, then
// $ONNXRUNTIME_SHARED_LIBRARY_PATH, then the repository's cache.
func ortLibrary(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if env := os.Getenv("ONNXRUNTIME_SHARED_LIBRARY_PATH"); env != "" {
		return env, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	repo, err := data.FindRepo(wd)
	if err != nil {
		return "", errors.New("no ONNX Runtime library: give --ort-lib or set ONNXRUNTIME_SHARED_LIBRARY_PATH")
	}
	lib := filepath.Join(repo, ".cache", "onnxruntime", "libonnxruntime.so.1")
	if _, err := os.Stat(lib); err != nil {
		return "", fmt.Errorf("no ONNX Runtime library at %s: give --ort-lib or set ONNXRUNTIME_SHARED_LIBRARY_PATH", lib)
	}
	return lib, nil
}

// openEngine opens the engine o selects.
func openEngine(o *options, m *graph.Model) (engine, error) {
	if o.engine == "ort" {
		return openORT(o)(o.model, m)
	}
	return openNative(o.model, m)
}
