// Package ort runs models in ONNX Runtime, the reference that onnxkit's
// native engine is checked and benchmarked against. It loads ONNX
// Runtime's shared library at run time without cgo, through
// github.com/ebitengine/purego, and calls its C API: the table of function
// pointers that OrtGetApiBase()->GetApi returns. It converts between the
// native engine's tensors and ONNX Runtime's values, for every element type
// the two share, including scalars (rank 0) and empty tensors.
//
// Load the library once, then open sessions:
//
//	if err := ort.Load(lib); err != nil { ... }
//	s, err := ort.Open("model.onnx", ort.Options{IntraOpThreads: 2})
//	if err != nil { ... }
//	defer s.Close()
//	out, err := s.Run(map[string]*tensor.Tensor{"x": x})
//
// A Session may be run from several goroutines at once, as ONNX Runtime
// allows. Every ONNX Runtime object the package creates is released before
// the call that created it returns, except the process's environment and a
// session's own objects, which Close releases.
package ort

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// LibraryEnv is the environment variable that names ONNX Runtime's shared
// library.
const LibraryEnv = "ONNXRUNTIME_SHARED_LIBRARY_PATH"

// runtimeState is what Load sets up, once per process.
type runtimeState struct {
	api       [apiLength]uintptr // the functions of OrtApi used
	version   string
	env       uintptr // OrtEnv*
	allocator uintptr // OrtAllocator*, the default CPU allocator, not released
}

var (
	loadOnce sync.Once
	loadErr  error
	loadPath string
	rt       runtimeState
)

// Load loads ONNX Runtime's shared library at path and creates the
// process's ONNX Runtime environment, which logs errors only. A process
// loads one library: only the first call has effect, later calls return
// its error, or an error if they name another path.
func Load(path string) error {
	loadOnce.Do(func() {
		loadPath = path
		if err := load(path); err != nil {
			loadErr = fmt.Errorf("ort: loading ONNX Runtime from %s: %w", path, err)
		}
	})
	if loadErr == nil && path != loadPath {
		return fmt.Errorf("ort: cannot load ONNX Runtime from %s: the process has loaded it from %s", path, loadPath)
	}
	return loadErr
}

func load(path string) error {
	getAPIBase, err := openLibrary(path)
	if err != nil {
		return err
	}
	base, _, _ := purego.SyscallN(getAPIBase)
	if base == 0 {
		return errors.New("OrtGetApiBase returned NULL")
	}
	// OrtApiBase is {GetApi, GetVersionString}.
	baseFns := unsafe.Slice((*uintptr)(cPointer(base)), 2)
	version, _, _ := purego.SyscallN(baseFns[1])
	rt.version = goString(version)
	api, _, _ := purego.SyscallN(baseFns[0], apiVersion)
	if api == 0 {
		return fmt.Errorf("ONNX Runtime %s does not provide version %d of its C API", rt.version, apiVersion)
	}
	// An element-wise copy: copy() of this slice into the array crashes
	// the compiler of Go 1.26 (disjointTypes in the AMD64 lowering).
	for i, fn := range unsafe.Slice((*uintptr)(cPointer(api)), apiLength) {
		rt.api[i] = fn
	}
	logID := []byte("onnxkit\x00")
	if err := call(fnCreateEnv, loggingLevelError, uintptr(unsafe.Pointer(&logID[0])), uintptr(unsafe.Pointer(&rt.env))); err != nil {
		return err
	}
	return call(fnGetAllocatorWithDefaultOptions, uintptr(unsafe.Pointer(&rt.allocator)))
}

// loaded returns an error unless Load has succeeded.
func loaded() error {
	if rt.env == 0 {
		if loadErr != nil {
			return loadErr
		}
		return errors.New("ort: Load has not been called")
	}
	return nil
}

// Version returns the loaded ONNX Runtime's version string, such as
// "1.30.0", or "" before Load.
func Version() string { return rt.version }

// Error is an error that ONNX Runtime reported: its OrtErrorCode and its
// message.
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string { return "onnxruntime: " + e.Message }

// call calls the OrtApi function at index fn, which returns an OrtStatus*,
// and turns a status into an *Error, releasing it. Pointers to Go memory
// among args must be converted in the call's argument list
// (uintptr(unsafe.Pointer(&x))): go:uintptrescapes then keeps what they
// point to on the heap and alive until call returns.
//
//go:uintptrescapes
func call(fn int, args ...uintptr) error {
	status, _, _ := purego.SyscallN(rt.api[fn], args...)
	if status == 0 {
		return nil
	}
	code, _, _ := purego.SyscallN(rt.api[fnGetErrorCode], status)
	msg, _, _ := purego.SyscallN(rt.api[fnGetErrorMessage], status)
	err := &Error{Code: int(int32(code)), Message: goString(msg)}
	purego.SyscallN(rt.api[fnReleaseStatus], status)
	return err
}

// release calls the OrtApi release function at index fn on the object p,
// if any.
func release(fn int, p uintptr) {
	if p != 0 {
		purego.SyscallN(rt.api[fn], p)
	}
}

// cPointer turns an address in C memory into a pointer.
func cPointer(p uintptr) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&p))
}

// goString copies the NUL-terminated C string at p.
func goString(p uintptr) string {
	if p == 0 {
		return ""
	}
	n := 0
	for *(*byte)(unsafe.Add(cPointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice((*byte)(cPointer(p)), n))
}

// cString returns s as a NUL-terminated byte string, refusing a NUL inside.
func cString(s string) ([]byte, error) {
	if bytes.IndexByte([]byte(s), 0) >= 0 {
		return nil, fmt.Errorf("ort: %q holds a NUL byte", s)
	}
	return append([]byte(s), 0), nil
}
