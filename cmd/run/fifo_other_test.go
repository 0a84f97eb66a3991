//go:build !unix

package main

import "testing"

// mkfifo skips the test: FIFOs are made on Unix systems only.
func mkfifo(t *testing.T, path string) {
	t.Helper()
	t.Skipf("no FIFO at %s: FIFOs are made on Unix systems only", path)
}
