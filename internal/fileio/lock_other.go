//go:build !unix

package fileio

import "os"

// tryLock reports true: without flock, staleness rests on StaleAge alone.
func tryLock(*os.File) bool { return true }
