// Package parallel spreads loops of the native engine over the machine's
// cores. The number of workers is fixed, so that a run is reproducible
// for a given thread count: by SetThreads for the whole process (default:
// GOMAXPROCS), or by With for the loops of one call, such as one run of
// a session, whatever other goroutines use at the same time.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

var threads atomic.Int32

func init() { threads.Store(int32(runtime.GOMAXPROCS(0))) }

// SetThreads sets how many goroutines For uses outside With; n < 1 means
// GOMAXPROCS.
func SetThreads(n int) {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	threads.Store(int32(n))
}

// Threads returns the number of goroutines For uses on the calling
// goroutine: With's count inside a call of With, SetThreads' outside.
func Threads() int {
	if scoped.Load() > 0 {
		key := goroutineKey()
		perGoroutine.RLock()
		n, ok := perGoroutine.count[key]
		perGoroutine.RUnlock()
		if ok {
			return n
		}
	}
	return int(threads.Load())
}

// The thread counts that With sets, by goroutine. The engine's kernels
// call For without a thread count (their signatures have none), so With
// ties the count to the goroutine that runs the call and to the workers
// For starts from it. scoped counts the goroutines with a count of their
// own, so that outside With, Threads reads one atomic. (A plain map
// under a lock rather than a sync.Map: storing a key again allocates
// nothing.)
var (
	scoped       atomic.Int32
	perGoroutine = struct {
		sync.RWMutex
		count map[uintptr]int // by goroutineKey()
	}{count: map[uintptr]int{}}
)

// With calls f with For using n goroutines (n < 1: SetThreads' count)
// for every loop that f starts on the calling goroutine, nested loops in
// For's workers included, and returns when f returns. Calls of With on
// different goroutines, each with its own count, may run at once.
func With(n int, f func()) {
	if n < 1 {
		n = int(threads.Load())
	}
	key, prev, had := enter(n)
	defer leave(key, prev, had)
	f()
}

// enter gives the calling goroutine the count n, and returns what leave
// needs to restore the one it had.
func enter(n int) (key uintptr, prev int, had bool) {
	key = goroutineKey()
	perGoroutine.Lock()
	prev, had = perGoroutine.count[key]
	perGoroutine.count[key] = n
	perGoroutine.Unlock()
	scoped.Add(1)
	return key, prev, had
}

// leave undoes enter.
func leave(key uintptr, prev int, had bool) {
	perGoroutine.Lock()
	if had {
		perGoroutine.count[key] = prev
	} else {
		delete(perGoroutine.count, key)
	}
	perGoroutine.Unlock()
	scoped.Add(-1)
}

// For calls body on disjoint ranges [lo, hi) that together cover [0, n),
// using up to Threads() goroutines, and returns when all calls have
// returned. Ranges hold at least grain items (grain < 1 counts as 1), so
// that small loops stay on the calling goroutine. The split depends only
// on n, grain and Threads(), never on timing.
func For(n, grain int, body func(lo, hi int)) {
	if grain < 1 {
		grain = 1
	}
	if n/grain <= 1 {
		if n > 0 {
			body(0, n)
		}
		return
	}
	threads := Threads()
	workers := min(threads, n/grain) // each range gets at least grain items
	if workers <= 1 {
		body(0, n)
		return
	}
	// Inside With, the workers' own loops use the same count.
	inherit := scoped.Load() > 0
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := chunk; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if inherit {
				key, prev, had := enter(threads)
				defer leave(key, prev, had)
			}
			body(lo, hi)
		}()
	}
	body(0, min(chunk, n))
	wg.Wait()
}
