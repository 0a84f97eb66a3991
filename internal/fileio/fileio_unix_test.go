//go:build unix

package fileio

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestOpenRegular checks the refusals (a folder, /dev/zero, a FIFO
// without a writer, a file over the limit) and the one acceptance, and
// that none of them blocks.
func TestOpenRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path  string
		limit int64
		want  any // nil, *NotRegularError or *SizeError
	}{
		{dir, 0, &NotRegularError{}},
		{"/dev/zero", 0, &NotRegularError{}},
		{fifo, 0, &NotRegularError{}},
		{file, 9, &SizeError{}},
		{file, 10, nil},
		{file, 0, nil},
	} {
		done := make(chan error, 1)
		go func() {
			data, err := ReadRegular(c.path, c.limit)
			if err == nil && string(data) != "0123456789" {
				err = errors.New("read " + string(data))
			}
			done <- err
		}()
		var err error
		select {
		case err = <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s blocks", c.path)
		}
		switch c.want.(type) {
		case nil:
			if err != nil {
				t.Errorf("%s (limit %d): %v", c.path, c.limit, err)
			}
		case *NotRegularError:
			var e *NotRegularError
			if !errors.As(err, &e) {
				t.Errorf("%s: %v, want a NotRegularError", c.path, err)
			}
		case *SizeError:
			var e *SizeError
			if !errors.As(err, &e) || e.Size != 10 || e.Limit != 9 {
				t.Errorf("%s (limit %d): %v, want a SizeError", c.path, c.limit, err)
			}
		}
	}
}
