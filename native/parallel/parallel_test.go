package parallel

import (
	"runtime"
	"strconv"
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

// TestWithSetsThreadsPerCall runs loops under With from goroutines with
// different counts at once, and checks that each loop, and each loop
// nested in its workers, splits into the calling With's count of ranges
// while the process-wide count stays as SetThreads left it.
func TestWithSetsThreadsPerCall(t *testing.T) {
	defer SetThreads(0)
	SetThreads(5)
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for _, n := range []int{1, 2, 3, 4, 7, 8} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			With(n, func() {
				for range 20 {
					var mu sync.Mutex
					var outer, nested int
					For(64, 1, func(lo, hi int) {
						mu.Lock()
						outer++
						mu.Unlock()
						if got := Threads(); got != n {
							errs <- "a worker sees " + strconv.Itoa(got) + " threads, With set " + strconv.Itoa(n)
						}
						For(64, 1, func(lo, hi int) {
							mu.Lock()
							nested++
							mu.Unlock()
						})
					})
					if outer != n || nested != n*n {
						errs <- "With(" + strconv.Itoa(n) + "): " + strconv.Itoa(outer) + " ranges and " + strconv.Itoa(nested) + " nested ones"
					}
				}
			})
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if Threads() != 5 {
		t.Fatalf("Threads() = %d after the With calls, SetThreads gave 5", Threads())
	}
	With(2, func() {
		With(3, func() {
			if Threads() != 3 {
				t.Errorf("nested With(3) inside With(2): Threads() = %d", Threads())
			}
		})
		if Threads() != 2 {
			t.Errorf("after a nested With(3), With(2)'s Threads() = %d", Threads())
		}
	})
}

// BenchmarkThreadsInsideWith measures what a loop pays to find its
// count inside With (the goroutine's ID from its stack header).
func BenchmarkThreadsInsideWith(b *testing.B) {
	With(2, func() {
		for range b.N {
			Threads()
		}
	})
}

// sumTask adds up squares of its range's indices into its slot of sums.
type sumTask struct {
	sums []int64 // by range start
}

func (s *sumTask) Range(lo, hi int) {
	var sum int64
	for i := lo; i < hi; i++ {
		sum += int64(i) * int64(i)
	}
	s.sums[lo] = sum
}

var sumTasks Tasks[sumTask]

// TestRunAllocatesNothing runs a loop of a Body from Tasks on four
// workers, nested in a loop of For, and checks its result against the
// closed form of the sum of squares, and that in steady state a loop
// allocates nothing: the workers outlive their loops.
func TestRunAllocatesNothing(t *testing.T) {
	defer SetThreads(0)
	SetThreads(4)
	const n = 1000
	sums := make([]int64, n)
	loop := func() int64 {
		s := sumTasks.Get()
		s.sums = sums
		clear(sums)
		Run(n, 10, s)
		sumTasks.Put(s)
		var total int64
		for _, v := range sums {
			total += v
		}
		return total
	}
	want := int64((n - 1) * n * (2*n - 1) / 6)
	if got := loop(); got != want {
		t.Fatalf("sum of squares below %d: %d, want %d", n, got, want)
	}
	// Nested: every range of an outer loop runs a loop of its own.
	var mu sync.Mutex
	var nested int
	For(4, 1, func(lo, hi int) {
		inner := make([]int64, 100)
		Run(100, 10, &sumTask{sums: inner})
		var total int64
		for _, v := range inner {
			total += v
		}
		mu.Lock()
		defer mu.Unlock()
		if total == 99*100*199/6 {
			nested++
		}
	})
	if nested != 4 {
		t.Fatalf("%d of 4 nested loops summed right", nested)
	}
	if raceEnabled {
		return // the race detector allocates, and makes sync.Pool drop values
	}
	if allocs := testing.AllocsPerRun(50, func() { loop() }); allocs > 0 {
		t.Fatalf("a loop of Run allocates %v times", allocs)
	}
}

// TestShareDividesThreads runs calls of WithShare on one Share side by
// side and checks the thread count that each sees as others start and
// end, and that the loops inside split as that count says.
func TestShareDividesThreads(t *testing.T) {
	s := NewShare(4, 2) // four threads in all, at most two per call
	WithShare(s, func() {
		if got := Threads(); got != 2 {
			t.Errorf("one call alone: %d threads, want its most, 2", got)
		}
	})
	const calls = 3
	var inside, measured, leaving sync.WaitGroup
	inside.Add(calls)
	measured.Add(calls)
	leaving.Add(calls - 1)
	counts := make(chan [3]int, calls)
	for i := range calls {
		go func() {
			WithShare(s, func() {
				inside.Done()
				inside.Wait() // all three running: 4/3 threads each
				var mu sync.Mutex
				ranges := 0
				For(100, 1, func(lo, hi int) {
					mu.Lock()
					ranges++
					mu.Unlock()
				})
				together := Threads()
				measured.Done()
				measured.Wait()
				if i > 0 {
					leaving.Done()
					counts <- [3]int{together, ranges, 0}
					return
				}
				leaving.Wait()
				for s.running.Load() > 1 {
					runtime.Gosched() // the others are on their way out
				}
				counts <- [3]int{together, ranges, Threads()}
			})
		}()
	}
	for range calls {
		c := <-counts
		if c[0] != 1 || c[1] != 1 {
			t.Errorf("three calls at once: %d threads and a loop of %d ranges, want 1 and 1", c[0], c[1])
		}
		if c[2] != 0 && c[2] != 2 {
			t.Errorf("the last call left: %d threads, want 2", c[2])
		}
	}
	if s.running.Load() != 0 {
		t.Fatalf("%d calls still counted after all returned", s.running.Load())
	}
}

// TestRunNeedsNoWorker checks that a loop whose workers have not been
// scheduled yet does not wait for them: on a single processor, where
// the woken worker runs only when the loop's goroutine blocks, the
// loop's goroutine claims and runs every range itself.
func TestRunNeedsNoWorker(t *testing.T) {
	defer SetThreads(0)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	SetThreads(4)
	caller := goroutineKey()
	for range 100 {
		ranges := 0
		For(8, 2, func(lo, hi int) {
			if goroutineKey() != caller {
				t.Fatalf("range [%d, %d) ran on a worker", lo, hi)
			}
			ranges++
		})
		if ranges != 4 {
			t.Fatalf("%d ranges, want 4", ranges)
		}
	}
}

// TestWorth checks the grain rule: loops of at least Grain() operations
// split when there is more than one thread, SetGrain moves the bound
// and returns the previous one, and values below 1 restore GrainFlops.
func TestWorth(t *testing.T) {
	defer SetThreads(0)
	defer SetGrain(SetGrain(0))
	SetThreads(2)
	if Grain() != GrainFlops {
		t.Fatalf("Grain() = %d, want GrainFlops %d", Grain(), GrainFlops)
	}
	if Worth(GrainFlops-1) || !Worth(GrainFlops) {
		t.Fatalf("Worth(GrainFlops-1) = %v, Worth(GrainFlops) = %v", Worth(GrainFlops-1), Worth(GrainFlops))
	}
	if prev := SetGrain(100); prev != GrainFlops {
		t.Fatalf("SetGrain returned %d, want %d", prev, GrainFlops)
	}
	if Worth(99) || !Worth(100) {
		t.Fatalf("after SetGrain(100): Worth(99) = %v, Worth(100) = %v", Worth(99), Worth(100))
	}
	SetThreads(1)
	if Worth(1 << 40) {
		t.Fatal("Worth is true with one thread")
	}
	if SetGrain(-5); Grain() != GrainFlops {
		t.Fatalf("SetGrain(-5) left Grain() = %d, want GrainFlops", Grain())
	}
}

// TestGoroutineKey checks that goroutineKey tells goroutines apart, is
// stable on one goroutine, and allocates nothing: every parallel loop and
// work buffer asks for it, so an allocation here is one per loop on the
// architectures without an assembly version.
func TestGoroutineKey(t *testing.T) {
	mine := goroutineKey()
	if goroutineKey() != mine {
		t.Fatal("the key of one goroutine changed between two calls")
	}
	other := make(chan uintptr)
	go func() { other <- goroutineKey() }()
	if <-other == mine {
		t.Fatal("two running goroutines got the same key")
	}
	if raceEnabled {
		return // the race detector allocates
	}
	if n := testing.AllocsPerRun(100, func() { goroutineKey() }); n != 0 {
		t.Fatalf("goroutineKey allocates %v times a call", n)
	}
}
