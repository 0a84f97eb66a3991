package parallel

import (
	"sync"
	"testing"
)

// TestForCoversEachIndexOnce checks, for a range of sizes, grains and
// thread counts, that the ranges For hands out are disjoint, cover [0, n)
// and respect the grain (except the last).
func TestForCoversEachIndexOnce(t *testing.T) {
	defer SetThreads(0)
	for _, threads := range []int{1, 2, 3, 8} {
		SetThreads(threads)
		for _, n := range []int{0, 1, 2, 7, 64, 1000} {
			for _, grain := range []int{0, 1, 5, 100} {
				var mu sync.Mutex
				seen := make([]int, n)
				var calls int
				For(n, grain, func(lo, hi int) {
					mu.Lock()
					defer mu.Unlock()
					calls++
					if hi < lo {
						t.Errorf("n %d: range [%d, %d)", n, lo, hi)
					}
					for i := lo; i < hi; i++ {
						seen[i]++
					}
				})
				for i, c := range seen {
					if c != 1 {
						t.Fatalf("threads %d, n %d, grain %d: index %d visited %d times", threads, n, grain, i, c)
					}
				}
				if calls > threads {
					t.Fatalf("threads %d, n %d, grain %d: %d calls", threads, n, grain, calls)
				}
				if n > 0 && grain > 0 && n < 2*grain && calls != 1 {
					t.Fatalf("n %d below two grains of %d ran in %d pieces", n, grain, calls)
				}
			}
		}
	}
}

func TestSetThreads(t *testing.T) {
	defer SetThreads(0)
	SetThreads(3)
	if Threads() != 3 {
		t.Fatalf("Threads() = %d after SetThreads(3)", Threads())
	}
	SetThreads(-1)
	if Threads() < 1 {
		t.Fatalf("Threads() = %d after SetThreads(-1); want GOMAXPROCS", Threads())
	}
}
