//go:build unix

package fileio

import (
	"os"
	"syscall"
)

// tryLock takes an exclusive advisory lock on f without waiting, and
// reports whether it got it. The lock goes with the file's closing or its
// process's death.
func tryLock(f *os.File) bool {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
}
