package parallel

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/onnxkit/onnxkit/native/internal/arena"
)

// TestForCoversEachIndexOnce checks, for a range of sizes, grains and
// thread counts, that the ranges For hands out are disjoint, cover [0, n),
// hold at least grain items each and differ in size by at most one, and
// that there are as many as wantRanges says.
func TestForCoversEachIndexOnce(t *testing.T) {
	defer SetThreads(0)
	for _, threads := range []int{1, 2, 3, 8} {
		SetThreads(threads)
		for _, n := range []int{0, 1, 2, 7, 9, 64, 1000} {
			for _, grain := range []int{0, 1, 5, 100} {
				var mu sync.Mutex
				seen := make([]int, n)
				var calls, least, most int
				For(n, grain, func(lo, hi int) {
					mu.Lock()
					defer mu.Unlock()
					if calls == 0 || hi-lo < least {
						least = hi - lo
					}
					most = max(most, hi-lo)
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
				if want := wantRanges(n, grain, threads); calls != want {
					t.Fatalf("threads %d, n %d, grain %d: %d ranges, want %d", threads, n, grain, calls, want)
				}
				if calls > 1 && (least < max(grain, 1) || most-least > 1) {
					t.Fatalf("threads %d, n %d, grain %d: ranges of %d to %d items", threads, n, grain, least, most)
				}
			}
		}
	}
}

// wantRanges is the number of ranges of a loop of n items with the
// grain on threads goroutines, worked out from the rule: none for no
// items; one when there are fewer than two grains or one thread; else
// w = min(threads, n/grain) goroutines, each with as many ranges of at
// least a grain as fit, up to rangesPerWorker.
func wantRanges(n, grain, threads int) int {
	grain = max(grain, 1)
	switch {
	case n == 0:
		return 0
	case n < 2*grain || threads == 1:
		return 1
	}
	w := min(threads, n/grain)
	per := 1
	for per < rangesPerWorker && (per+1)*w*grain <= n {
		per++
	}
	return w * per
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
// nested in its workers, splits for the calling With's count of
// threads while the process-wide count stays as SetThreads left it.
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
					if want := wantRanges(64, 1, n); outer != want || nested != want*want {
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

// BenchmarkLoopsOfARun times loops of 8 ranges of a few microseconds
// each, as a batch-1 run's are, on two threads during a burst, under
// one arena binding as a session's run has, each range taking a work
// buffer's owner and arena (Scratch) as the kernels do: what such loops
// pay in hand-offs and scope lookups. (Workers that entered and left
// the loop's scope at every loop took the scopes' lock twice a loop,
// and the loop's goroutine, looking its scope up, blocked on it and
// parked.)
func BenchmarkLoopsOfARun(b *testing.B) {
	defer SetThreads(0)
	SetThreads(2)
	run := arena.New()
	bound := BindArena(run)
	defer bound.Unbind()
	BeginBurst()
	defer EndBurst()
	s := &scratchTask{sums: make([]int64, 8)}
	for b.Loop() {
		Run(8, 1, s)
	}
}

// scratchTask does a few microseconds of work for each index of its
// range, after looking up its arena as a kernel taking a work buffer
// does.
type scratchTask struct {
	sums []int64
}

func (s *scratchTask) Range(lo, hi int) {
	for i := lo; i < hi; i++ {
		a, _ := Scratch()
		sum := int64(i)
		for j := range 8000 { // some microseconds of work
			sum += int64(j ^ i)
		}
		if a == nil {
			sum--
		}
		s.sums[i] = sum
	}
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
	defer sensing.Store(sensing.Swap(false)) // see leastMallocs
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
	if allocs := leastMallocs(func() { loop() }); allocs > 0 {
		t.Fatalf("a loop of Run allocates %v times at the least", allocs)
	}
}

// leastMallocs returns the fewest heap allocations of 21 calls of f,
// after 20 more to warm up. A loop allocates when it finds no worker
// waiting, which on a busy machine, whose system holds the workers back,
// some loops do; one call with none shows a loop that allocates nothing
// once its workers keep up. (Unlike testing.AllocsPerRun, it keeps
// GOMAXPROCS: on one processor a loop's workers cannot run until the
// loop's goroutine blocks.) The tests that call it turn the sensing of
// preemption off: runtime.ReadMemStats stops the world, which a polling
// worker can take for preemption, and the pause in polling that follows
// outlasts the test.
func leastMallocs(f func()) uint64 {
	for range 20 {
		f()
	}
	least := uint64(math.MaxUint64)
	var before, after runtime.MemStats
	for range 21 {
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		least = min(least, after.Mallocs-before.Mallocs)
	}
	return least
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
	var returned sync.WaitGroup
	returned.Add(calls)
	for i := range calls {
		go func() {
			defer returned.Done()
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
	returned.Wait()
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

// TestRunSharesAndSteals checks the order in which the goroutines of a
// loop claim its ranges: on two goroutines, the loop's goroutine begins
// with its own share (the first half of the ranges) and a worker with
// its own (the second half), and a goroutine whose share is done takes
// the ranges left in another's. The loop's goroutine is held in its first range until
// every other range has finished, so the worker must run its share and
// then the rest of the first.
func TestRunSharesAndSteals(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs two processors")
	}
	defer SetThreads(0)
	SetThreads(2)
	const ranges = 2 * rangesPerWorker
	var mu sync.Mutex
	var order []int // the ranges that ran on the worker, in order
	done := make(chan struct{}, ranges)
	caller := goroutineKey()
	For(ranges, 1, func(lo, hi int) {
		if hi != lo+1 {
			t.Errorf("range [%d, %d), want one item each", lo, hi)
		}
		if goroutineKey() != caller {
			mu.Lock()
			order = append(order, lo)
			mu.Unlock()
			done <- struct{}{}
			return
		}
		if lo != 0 {
			t.Errorf("the loop's goroutine ran range %d, want only its first, 0", lo)
			return
		}
		for range ranges - 1 {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Error("the worker did not run the other ranges within 10 s")
				return
			}
		}
	})
	want := []int{}
	for i := ranges / 2; i < ranges; i++ {
		want = append(want, i) // its own share first
	}
	for i := 1; i < ranges/2; i++ {
		want = append(want, i) // then what the loop's goroutine left
	}
	if !slices.Equal(order, want) {
		t.Fatalf("the worker ran ranges %v, want %v", order, want)
	}
}

// TestWorth checks the grain rule: loops of at least Grain() operations
// split when there is more than one thread, SetGrain moves the bound
// and returns the previous one, and values below 1 restore GrainFlops.
func TestWorth(t *testing.T) {
	defer sensing.Store(sensing.Swap(false))
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

// TestScratch checks that Scratch returns the arena the goroutine is
// bound to, in a loop's ranges too, and the goroutine that runs the
// range as the owner of its work buffers; no arena outside a binding.
func TestScratch(t *testing.T) {
	if a, _ := Scratch(); a != nil {
		t.Fatal("an arena outside any binding")
	}
	run := arena.New()
	b := BindArena(run)
	defer b.Unbind()
	if a, owner := Scratch(); a != run || owner != goroutineKey() {
		t.Fatalf("bound goroutine: arena %p owner %#x, want %p and its key %#x", a, owner, run, goroutineKey())
	}
	var wrong atomic.Int32
	With(2, func() {
		For(64, 1, func(lo, hi int) {
			if a, owner := Scratch(); a != run || owner != goroutineKey() {
				wrong.Add(1)
			}
		})
	})
	if n := wrong.Load(); n != 0 {
		t.Fatalf("%d ranges of a loop found another arena, or another owner than their goroutine", n)
	}
}

// TestWorkersTakeEachLoopsScope runs, during a burst, loops from one
// goroutine under scopes that change from loop to loop (arenas, thread
// counts, none), so that polling workers, which keep their scope from
// one loop to the next, go from one scope to another. It checks that
// every range sees its loop's arena and thread count, and that once
// the burst has ended and the workers park, none has kept a scope.
func TestWorkersTakeEachLoopsScope(t *testing.T) {
	defer sensing.Store(sensing.Swap(false)) // see leastMallocs
	defer SetThreads(0)
	SetThreads(2)
	first, second := arena.New(), arena.New()
	var wrong, byWorkers atomic.Int32
	caller := goroutineKey()
	check := func(wantArena *arena.Arena, wantThreads int) {
		For(8, 1, func(lo, hi int) {
			if a, _ := Scratch(); a != wantArena || Threads() != wantThreads {
				wrong.Add(1)
			}
			if goroutineKey() != caller {
				byWorkers.Add(1)
			}
			// Long enough a range for a polling worker to join the loop.
			for start := time.Now(); time.Since(start) < 20*time.Microsecond; {
			}
		})
	}
	BeginBurst()
	// Again while no worker has run a range (a machine busy with other
	// tests), for up to ten seconds.
	for start := time.Now(); byWorkers.Load() == 0 && time.Since(start) < 10*time.Second; {
		for i := range 251 { // the last under a scope, which the workers give up as they park
			switch i % 5 {
			case 0, 1: // the same scope twice: kept by the workers
				b := BindArena(first)
				check(first, 2)
				b.Unbind()
			case 2: // another arena, the same count
				b := BindArena(second)
				check(second, 2)
				b.Unbind()
			case 3: // the same arena, another count
				b := BindArena(second)
				With(3, func() { check(second, 3) })
				b.Unbind()
			case 4:
				check(nil, 2)
			}
		}
	}
	EndBurst()
	if n := wrong.Load(); n != 0 {
		t.Fatalf("%d ranges ran under another scope than their loop's", n)
	}
	if byWorkers.Load() == 0 {
		t.Fatal("no worker ran a range")
	}
	deadline := time.Now().Add(10 * time.Second)
	for pollers.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	perGoroutine.RLock()
	left := len(perGoroutine.scopes)
	perGoroutine.RUnlock()
	if n := pollers.Load(); n > 0 || left > 0 || scoped.Load() != 0 {
		t.Fatalf("after the burst: %d workers polling, %d scopes kept, scoped %d", n, left, scoped.Load())
	}
}

// TestTasksValuesOwnTheirCacheLines checks that the values Tasks hands
// out share no cache line with each other, however small they are:
// workers write them on different cores.
func TestTasksValuesOwnTheirCacheLines(t *testing.T) {
	var tasks Tasks[[3]int32]
	var got []*[3]int32
	for range 16 {
		got = append(got, tasks.Get())
	}
	lines := map[uintptr]int{}
	for i, v := range got {
		first := uintptr(unsafe.Pointer(v)) / 64
		last := (uintptr(unsafe.Pointer(v)) + unsafe.Sizeof(*v) - 1) / 64
		for l := first; l <= last; l++ {
			if j, ok := lines[l]; ok && j != i {
				t.Fatalf("values %d and %d share the cache line at %#x", j, i, l*64)
			}
			lines[l] = i
		}
	}
}

// TestBurstKeepsWorkersAndLoopsRight runs loops during a burst, nested
// ones included, from several goroutines at once, and checks their
// sums, that a loop still allocates nothing, and that once the burst
// has ended the workers stop polling and park. (How soon they stop
// depends on the clock; the check only waits for it, for up to a time
// far beyond spinTime.)
func TestBurstKeepsWorkersAndLoopsRight(t *testing.T) {
	defer sensing.Store(sensing.Swap(false)) // see leastMallocs
	defer SetThreads(0)
	SetThreads(2)
	BeginBurst()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				squares := make([]int64, 300)
				For(3, 1, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						row := squares[i*100 : (i+1)*100]
						For(100, 7, func(lo, hi int) {
							for j := lo; j < hi; j++ {
								row[j] += int64(j * j)
							}
						})
					}
				})
				for i, v := range squares {
					if j := int64(i % 100); v != j*j {
						t.Errorf("squares[%d] = %d, want %d", i, v, j*j)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if !raceEnabled {
		s := &sumTask{sums: make([]int64, 1000)}
		if allocs := leastMallocs(func() { Run(1000, 10, s) }); allocs > 0 {
			t.Errorf("a loop during a burst allocates %v times at the least", allocs)
		}
	}
	EndBurst()
	if bursts.Load() != 0 {
		t.Fatalf("%d bursts going on after the last ended", bursts.Load())
	}
	deadline := time.Now().Add(10 * time.Second)
	for pollers.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := pollers.Load(); n > 0 {
		t.Fatalf("%d workers still polling 10 s after the burst ended", n)
	}
}

// TestPreemptedPausesPolling checks the rule that takes the machine for
// oversubscribed: a gap of preemptedGap or more between two looks at
// the clock pauses polling for firstPause; a gap found again less than
// calmAfter after the pause ended doubles the pause, up to lastPause;
// one found during the pause changes nothing; one found later starts
// again from firstPause. Shorter gaps change nothing. While paused, the
// grain is contendedGrain times its value.
func TestPreemptedPausesPolling(t *testing.T) {
	defer func(until, p int64) {
		contendedUntil.Store(until)
		pause.Store(p)
	}(contendedUntil.Load(), pause.Load())
	contendedUntil.Store(0)
	pause.Store(0)
	defer sensing.Store(sensing.Swap(true))
	at := 10 * time.Second
	if preempted(at, at+preemptedGap-1) || contended(at) {
		t.Fatal("a gap just below preemptedGap counts as preemption")
	}
	wantPause := func(seen time.Duration, p time.Duration) {
		t.Helper()
		if !contended(seen+p-1) || contended(seen+p) {
			t.Fatalf("preemption seen at %v: polling paused until %v, want %v", seen, time.Duration(contendedUntil.Load()), seen+p)
		}
	}
	seen := at + preemptedGap
	if !preempted(at, seen) {
		t.Fatal("a gap of preemptedGap does not count as preemption")
	}
	wantPause(seen, firstPause)
	if !preempted(seen, seen+preemptedGap) {
		t.Fatal("a gap during the pause does not count as preemption")
	}
	wantPause(seen, firstPause)
	for p := 2 * firstPause; p < 4*lastPause; p *= 2 {
		at = time.Duration(contendedUntil.Load()) + calmAfter - preemptedGap
		seen = at + preemptedGap
		preempted(at, seen)
		wantPause(seen, min(p, lastPause))
	}
	at = time.Duration(contendedUntil.Load()) + calmAfter
	seen = at + preemptedGap
	preempted(at, seen)
	wantPause(seen, firstPause)

	defer SetGrain(SetGrain(1000))
	contendedUntil.Store(int64(since() + time.Hour))
	if Grain() != 1000*contendedGrain {
		t.Errorf("Grain() = %d while contended, want %d", Grain(), 1000*contendedGrain)
	}
	contendedUntil.Store(0)
	if Grain() != 1000 {
		t.Errorf("Grain() = %d once the pause is over, want 1000", Grain())
	}
}

// spinBody is a loop body of about a microsecond per range, spent
// computing: what the hand-off of a range to a worker is measured
// against.
type spinBody struct{ sink [2]float64 }

func (s *spinBody) Range(lo, hi int) {
	x := 1.0
	for range 1000 {
		x = x*0.999 + 0.001
	}
	s.sink[lo] = x
}

// BenchmarkHandOff times a loop of two one-microsecond ranges on two
// threads, 10 µs apart as a model's small nodes are, with its workers
// parked between loops and polling during a burst: ns/loop is the time
// in the loop alone. The loop takes about a microsecond when the
// worker's range overlaps the caller's, two when the caller runs both
// (on one processor, or with the worker late).
func BenchmarkHandOff(b *testing.B) {
	if runtime.GOMAXPROCS(0) < 2 {
		b.Skip("needs two processors")
	}
	for _, burst := range []bool{false, true} {
		b.Run(map[bool]string{false: "parked", true: "burst"}[burst], func(b *testing.B) {
			body := &spinBody{}
			var inLoops time.Duration
			With(2, func() {
				if burst {
					BeginBurst()
					defer EndBurst()
				}
				for range b.N {
					start := time.Now()
					Run(2, 1, body)
					end := time.Now()
					inLoops += end.Sub(start)
					for time.Since(end) < 10*time.Microsecond {
					}
				}
			})
			b.ReportMetric(float64(inLoops.Nanoseconds())/float64(b.N), "ns/loop")
		})
	}
}

// slowStart is a loop body of 64 items of about half a microsecond
// each, whose first range on a worker takes delay longer: a worker that
// the system held back, or whose core was busy or cold.
type slowStart struct {
	caller  uintptr
	delay   time.Duration
	started atomic.Bool // whether a worker has begun a range of this loop
	sink    [64]float64
}

func (s *slowStart) Range(lo, hi int) {
	if goroutineKey() != s.caller && !s.started.Swap(true) {
		for t := time.Now(); time.Since(t) < s.delay; {
		}
	}
	for i := lo; i < hi; i++ {
		x := 1.0
		for range 2000 {
			x = x*0.999 + 0.001
		}
		s.sink[i] = x
	}
}

// BenchmarkSlowWorker times a loop of 64 items in 8 grains on two
// threads during a burst, whose worker's first range takes delay
// longer, with one range per goroutine (as Run cut loops before) and
// with rangesPerWorker: median-ns/loop is the loop's median time, which
// the loop's goroutine shortens by taking the slow worker's ranges.
// The loop is some 35 µs of work: about 18+delay µs with one range per
// goroutine, (35+delay)/2 with shares once delay exceeds a range (4
// µs). The polling workers stay on (no pause for a busy machine), but
// the figures mean something only with two idle cores: on a busy one
// the loop's goroutine runs every range before the worker is scheduled.
func BenchmarkSlowWorker(b *testing.B) {
	if runtime.GOMAXPROCS(0) < 2 {
		b.Skip("needs two processors")
	}
	defer sensing.Store(sensing.Swap(false))
	for _, delay := range []time.Duration{0, 5 * time.Microsecond, 20 * time.Microsecond} {
		for _, per := range []int{1, rangesPerWorker} {
			b.Run(fmt.Sprintf("late=%v/ranges=%d", delay, per), func(b *testing.B) {
				body := &slowStart{caller: goroutineKey(), delay: delay}
				times := make([]time.Duration, 0, b.N)
				With(2, func() {
					BeginBurst()
					defer EndBurst()
					for range b.N {
						body.started.Store(false)
						start := time.Now()
						run(64, 8, per, body)
						times = append(times, time.Since(start))
					}
				})
				slices.Sort(times)
				b.ReportMetric(float64(times[len(times)/2].Nanoseconds()), "median-ns/loop")
			})
		}
	}
}

// TestBusyPollerLeavesNoPost keeps the only polling worker busy with a
// long range of one loop while another goroutine runs loops of two
// ranges during a burst: they post themselves on the board, nobody
// takes the posts, and each loop's goroutine runs both ranges, takes
// its post back and returns, leaving the board empty. Once the long
// range ends, the worker polls again and takes a loop's range.
func TestBusyPollerLeavesNoPost(t *testing.T) {
	deadline := startOnePoller(t)
	caller := goroutineKey()
	release := make(chan struct{})
	held := make(chan struct{})
	longDone := make(chan struct{})
	go func() {
		defer close(longDone)
		owner := goroutineKey()
		For(2, 1, func(lo, hi int) {
			if goroutineKey() != owner {
				close(held)
				<-release
				return
			}
			// Leave the other range to the worker.
			select {
			case <-held:
			case <-time.After(10 * time.Second):
			}
		})
	}()
	select {
	case <-held:
	case <-time.After(10 * time.Second):
		t.Fatal("the polling worker took no range of the long loop within 10 s")
	}
	for i := range 100 {
		var onWorker atomic.Int32
		For(2, 1, func(lo, hi int) {
			if goroutineKey() != caller {
				onWorker.Add(1)
			}
		})
		if onWorker.Load() != 0 {
			t.Fatalf("loop %d: a range ran on a worker while the only polling worker was held", i)
		}
		for s := range board {
			if board[s].loop.Load() != nil {
				t.Fatalf("loop %d: slot %d of the board still holds a post after the loop returned", i, s)
			}
		}
	}
	close(release)
	<-longDone
	if !rangeReachesWorker(caller, deadline) {
		t.Fatal("no range of a loop ran on the worker within 10 s of its release")
	}
}

// TestBoardSurvivesGOMAXPROCSOne checks that a worker which finds
// GOMAXPROCS at 1 while another worker polls, and so cannot poll itself,
// leaves the board as it was: once GOMAXPROCS is back at 2, the polling
// worker still takes loops' ranges. (It once set the board's size to
// none, and every loop after ran on its goroutine alone.)
func TestBoardSurvivesGOMAXPROCSOne(t *testing.T) {
	deadline := startOnePoller(t)
	runtime.GOMAXPROCS(1)
	polls := startPolling() // as a worker does after its range
	runtime.GOMAXPROCS(2)
	if polls {
		t.Fatal("a second worker started polling on one processor")
	}
	// Loops would still reach a worker once the poller stops polling
	// (as it may after the pause of GOMAXPROCS' change), so the board
	// itself is checked too.
	if n := int(boardSlots.Load()); n != mostPollers() {
		t.Fatalf("the board has %d slots while a worker polls on two processors, want %d", n, mostPollers())
	}
	caller := goroutineKey()
	if !rangeReachesWorker(caller, deadline) {
		t.Fatal("no range of a loop ran on the polling worker within 10 s")
	}
}

// rangeReachesWorker runs loops of two ranges, each 100 µs long, from
// caller until one of their ranges runs on another goroutine, and
// reports whether one did before deadline.
func rangeReachesWorker(caller uintptr, deadline time.Time) bool {
	for time.Now().Before(deadline) {
		var onWorker atomic.Int32
		For(2, 1, func(lo, hi int) {
			if goroutineKey() != caller {
				onWorker.Add(1)
			}
			time.Sleep(100 * time.Microsecond)
		})
		if onWorker.Load() > 0 {
			return true
		}
	}
	return false
}

// startOnePoller brings one worker to the board for the rest of test
// t: two threads and a burst until t ends, with the sensing of an
// oversubscribed machine off (a pause in polling would park the
// worker), and loops run until a worker polls. It returns the deadline
// of t's waits, 10 s on; t is skipped unless GOMAXPROCS is 2.
func startOnePoller(t *testing.T) time.Time {
	if runtime.GOMAXPROCS(0) != 2 {
		t.Skip("needs exactly two processors: one polling worker")
	}
	wasSensing := sensing.Swap(false)
	t.Cleanup(func() { sensing.Store(wasSensing) })
	SetThreads(2)
	t.Cleanup(func() { SetThreads(0) })
	BeginBurst()
	t.Cleanup(EndBurst)
	deadline := time.Now().Add(10 * time.Second)
	for pollers.Load() == 0 && time.Now().Before(deadline) {
		For(2, 1, func(lo, hi int) {})
	}
	if pollers.Load() != 1 {
		t.Fatalf("%d polling workers, want 1", pollers.Load())
	}
	return deadline
}
