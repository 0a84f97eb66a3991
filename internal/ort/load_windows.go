package ort

import (
	"syscall"
	"unsafe"
)

// openLibrary loads the DLL at path and returns the address of its
// function OrtGetApiBase.
func openLibrary(path string) (uintptr, error) {
	handle, err := syscall.LoadLibrary(path)
	if err != nil {
		return 0, err
	}
	return syscall.GetProcAddress(handle, "OrtGetApiBase")
}

// pathChars returns path as ORTCHAR_T characters, NUL-terminated: UTF-16
// on Windows, where ORTCHAR_T is wchar_t.
func pathChars(path string) (unsafe.Pointer, error) {
	p, err := syscall.UTF16PtrFromString(path)
	if err != nil {
		return nil, err
	}
	return unsafe.Pointer(p), nil
}
