package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/onnxkit/onnxkit"
	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/internal/ort"
	"github.com/onnxkit/onnxkit/internal/repo"
	"github.com/onnxkit/onnxkit/native"
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
type nativeEngine struct {
	s *onnxkit.Session
	// timeout, when positive, bounds each run (--timeout).
	timeout time.Duration
	// profile, when not nil, accumulates the time of each node of the
	// runs (--bench).
	profile *native.Profile
}

// Run runs the session, within the timeout when there is one.
func (e nativeEngine) Run(in map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	ctx := context.Background()
	if e.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.timeout)
		defer cancel()
	}
	var out map[string]*tensor.Tensor
	var err error
	if e.profile == nil {
		out, err = e.s.Run(ctx, in)
	} else {
		var tape *native.Tape
		if tape, err = e.s.Forward(ctx, in, native.Options{Profile: e.profile}); err == nil {
			out = tape.Outputs()
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("the run took longer than --timeout %v", e.timeout)
	}
	return out, err
}

// Close does nothing: the session holds no outside resources.
func (nativeEngine) Close() error { return nil }

// openNative returns an opener for the native engine with o's threads
// and optimisation level (the graph as given for --bisect, which reads
// every node's output), its calls of model-local functions without a
// kernel expanded into their bodies, after a preflight that lists every
// operator the engine lacks.
func openNative(o *options) opener {
	return func(_ string, m *graph.Model) (engine, error) {
		m, _, err := native.ExpandFunctions(m)
		if err != nil {
			return nil, err
		}
		if missing := preflight(m); len(missing) > 0 {
			return nil, &unsupportedOpsError{missing}
		}
		level := o.optimize
		if o.bisect {
			level = onnxkit.OptimizeNone
		}
		s, err := onnxkit.NewSession(m, onnxkit.Options{Threads: o.threads, Optimization: level})
		if err != nil {
			return nil, err
		}
		return nativeEngine{s: s, timeout: o.timeout}, nil
	}
}

// ortEngine is ONNX Runtime.
type ortEngine struct {
	s *ort.Session
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
		if err := loadORT(o); err != nil {
			return nil, err
		}
		return newORTEngine(path, m, ort.Options{IntraOpThreads: o.threads})
	}
}

// newORTEngine opens the model at path, which m was read from, in ONNX
// Runtime, which must be loaded.
func newORTEngine(path string, m *graph.Model, opts ort.Options) (ortEngine, error) {
	s, err := ort.Open(path, opts)
	if err != nil {
		return ortEngine{}, err
	}
	e := ortEngine{s: s, inits: map[string]*tensor.Tensor{}}
	for _, name := range s.InputNames() {
		if init := m.Graph.Initializer(name); init != nil {
			t, err := tensor.FromGraph(init)
			if err != nil {
				s.Close()
				return ortEngine{}, err
			}
			e.inits[name] = t
		}
	}
	return e, nil
}

// needsORT reports whether o's mode runs ONNX Runtime.
func needsORT(o *options) bool {
	return !o.summary && (o.compare || o.bisect || o.engine == "ort")
}

// loadORT finds and loads the ONNX Runtime library that o names, or the
// default one (see ortLibrary).
func loadORT(o *options) error {
	lib, err := ortLibrary(o.ortLib)
	if err != nil {
		return err
	}
	if err := ort.Load(lib); err != nil {
		return fmt.Errorf("%w (give --ort-lib or set %s)", err, ort.LibraryEnv)
	}
	return nil
}

// ortLibraryName is the file name of ONNX Runtime's shared library on each
// system, as its releases ship it.
var ortLibraryName = map[string]string{
	"linux":   "libonnxruntime.so.1",
	"darwin":  "libonnxruntime.dylib",
	"windows": "onnxruntime.dll",
}

// ortLibrary finds the ONNX Runtime library: the flag, else
// $ONNXRUNTIME_SHARED_LIBRARY_PATH, else the copy that test.sh unpacks
// into .cache/onnxruntime when run from inside onnxkit's repository, else
// the bare library name, which the system's loader searches for
// (LD_LIBRARY_PATH, the system's library folders).
func ortLibrary(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if env := os.Getenv(ort.LibraryEnv); env != "" {
		return env, nil
	}
	name, ok := ortLibraryName[runtime.GOOS]
	if !ok {
		return "", fmt.Errorf("no default ONNX Runtime library on %s: give --ort-lib or set %s", runtime.GOOS, ort.LibraryEnv)
	}
	if wd, err := os.Getwd(); err == nil {
		if root, err := repo.Root(wd); err == nil {
			lib := filepath.Join(root, ".cache", "onnxruntime", name)
			if _, err := os.Stat(lib); err == nil {
				return lib, nil
			}
		}
	}
	return name, nil
}

// openEngine opens the engine o selects.
func openEngine(o *options, m *graph.Model) (engine, error) {
	if o.engine == "ort" {
		return openORT(o)(o.model, m)
	}
	return openNative(o)(o.model, m)
}
