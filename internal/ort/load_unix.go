//go:build darwin || linux || freebsd || netbsd

package ort

import (
	"unsafe"

	"github.com/ebitengine/purego"
)

// openLibrary loads the shared library at path and returns the address of
// its function OrtGetApiBase.
func openLibrary(path string) (uintptr, error) {
	handle, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		return 0, err
	}
	return purego.Dlsym(handle, "OrtGetApiBase")
}

// pathChars returns path as ORTCHAR_T characters, NUL-terminated: UTF-8
// bytes outside Windows.
func pathChars(path string) (unsafe.Pointer, error) {
	b, err := cString(path)
	if err != nil {
		return nil, err
	}
	return unsafe.Pointer(&b[0]), nil
}
