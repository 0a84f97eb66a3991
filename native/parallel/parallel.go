// Package parallel spreads loops of the native engine over the machine's
// cores. The number of workers is fixed by SetThreads (default: GOMAXPROCS)
// so that a run is reproducible for a given thread count.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

var threads atomic.Int32

func init() { threads.Store(int32(runtime.GOMAXPROCS(0))) }

// SetThreads sets how many goroutines For uses; n < 1 means GOMAXPROCS.
func SetThreads(n int) {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	threads.Store(int32(n))
}

// Threads returns the number of goroutines For uses.
func Threads() int { return int(threads.Load()) }

// For calls body on disjoint ranges [lo, hi) that together cover [0, n),
// using up to Threads() goroutines, and returns when all calls have
// returned. Ranges hold at least grain items (grain < 1 counts as 1), so
// that small loops stay on the calling goroutine. The split depends only
// on n, grain and Threads(), never on timing.
func For(n, grain int, body func(lo, hi int)) {
	if grain < 1 {
		grain = 1
	}
	workers := min(Threads(), n/grain) // each range gets at least grain items
	if workers <= 1 {
		if n > 0 {
			body(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := chunk; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			body(lo, hi)
		}()
	}
	body(0, min(chunk, n))
	wg.Wait()
}
