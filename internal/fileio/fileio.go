// Package fileio opens the files that onnxkit reads whole (models,
// tensors, inputs) safely: only regular files, checked before anything
// blocks or is allocated, and no larger than a limit.
//
// /dev/zero, a FIFO or a directory is refused by its mode before it is
// opened (a FIFO would block in open until a writer came); the file is
// opened non-blocking and checked again through the open descriptor, in
// case the path changed in between.
package fileio

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// SizeError says that a file is larger than the reader accepts.
type SizeError struct {
	Path        string
	Size, Limit int64
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("%s: %d bytes, more than the limit of %d", e.Path, e.Size, e.Limit)
}

// NotRegularError says that a path names something other than a regular
// file: a device, a FIFO, a socket or a directory.
type NotRegularError struct {
	Path string
	Mode os.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s: not a regular file (%v)", e.Path, e.Mode.Type())
}

// OpenRegular opens the regular file at path for reading and returns it
// with its size, after checking that it is a regular file of at most
// limit bytes (no limit when limit <= 0).
func OpenRegular(path string, limit int64) (*os.File, int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, 0, err
	}
	if err := check(path, st, limit); err != nil {
		return nil, 0, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, 0, err
	}
	if st, err = f.Stat(); err == nil {
		err = check(path, st, limit)
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

func check(path string, st os.FileInfo, limit int64) error {
	if !st.Mode().IsRegular() {
		return &NotRegularError{Path: path, Mode: st.Mode()}
	}
	if limit > 0 && st.Size() > limit {
		return &SizeError{Path: path, Size: st.Size(), Limit: limit}
	}
	return nil
}

// ReadRegular reads the whole regular file at path, of at most limit
// bytes, into one buffer of its size. A file that grows while it is read
// is refused rather than read past the size checked.
func ReadRegular(path string, limit int64) ([]byte, error) {
	f, size, err := OpenRegular(path, limit)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, size)
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var one [1]byte
	if n, _ := f.Read(one[:]); n > 0 {
		return nil, fmt.Errorf("%s: the file grew while it was read", path)
	}
	return buf, nil
}
