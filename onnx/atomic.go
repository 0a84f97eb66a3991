package onnx

import (
	"os"
	"path/filepath"

	"github.com/onnxkit/onnxkit/internal/fileio"
)

// atomicFile is a temporary file in the folder of its final path, so that
// renaming it over the final path replaces the old file all at once.
type atomicFile struct {
	*os.File
	final string
}

// createAtomic creates the temporary file of final, removing first the
// stale ones that killed writes left (fileio.CreateTemp).
func createAtomic(final string) (*atomicFile, error) {
	f, err := fileio.CreateTemp(final)
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &atomicFile{File: f, final: final}, nil
}

// flush syncs the data to disk and closes the file; abort is still needed
// if a later step fails.
func (a *atomicFile) flush() error {
	if err := a.Sync(); err != nil {
		return err
	}
	return a.Close()
}

// abort closes and removes the temporary file.
func (a *atomicFile) abort() {
	a.Close()
	os.Remove(a.Name())
}

// commit renames the flushed temporary file over the final path.
func (a *atomicFile) commit() error {
	return os.Rename(a.Name(), a.final)
}

// syncDir makes the renames in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeAtomic writes data to path through a temporary file: after a
// failure the old file, if any, is untouched and nothing is left behind.
func writeAtomic(path string, data []byte) error {
	a, err := createAtomic(path)
	if err != nil {
		return err
	}
	if _, err := a.Write(data); err != nil {
		a.abort()
		return err
	}
	if err := a.flush(); err != nil {
		a.abort()
		return err
	}
	if err := a.commit(); err != nil {
		a.abort()
		return err
	}
	return syncDir(filepath.Dir(path))
}
