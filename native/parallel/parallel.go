// Package parallel spreads loops of the native engine over the machine's
// cores. The number of workers of a loop is set, never taken from
// timing: by SetThreads for the whole process (default: GOMAXPROCS), by
// With for the loops of one call, such as one run of a session, whatever
// other goroutines use at the same time, or by a Share that divides a
// session's threads among its runs in flight. The least work worth a
// worker (Grain) is larger while the machine is found oversubscribed.
// (The engine's loops give the same results at any count and any
// split.) During a burst of loops, such as a run of a model, workers
// poll for the next loop rather than park (BeginBurst). The workers of
// a loop also inherit the arena that its goroutine is bound to
// (BindArena), from which the kernels take their work buffers.
package parallel

import (
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onnxkit/onnxkit/native/internal/arena"
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
// goroutine: With's count inside a call of With, the Share's count at
// this moment inside WithShare, SetThreads' outside.
func Threads() int {
	c, _ := current()
	return c.threads()
}

// current returns the calling goroutine's scope, and whether it has one.
func current() (scope, bool) {
	if scoped.Load() == 0 {
		return scope{}, false
	}
	key := goroutineKey()
	perGoroutine.RLock()
	c, ok := perGoroutine.scopes[key]
	perGoroutine.RUnlock()
	return c, ok
}

// scope is what a goroutine's loops run under: their thread count, n or
// share's when share is not nil (SetThreads' when neither is set), and
// the arena their kernels take work buffers from (nil for none).
type scope struct {
	n     int
	share *Share
	arena *arena.Arena
}

func (c scope) threads() int {
	switch {
	case c.share != nil:
		return c.share.Threads()
	case c.n > 0:
		return c.n
	}
	return int(threads.Load())
}

// Scratch returns what a kernel takes its work buffers for: the arena
// that the calling goroutine is bound to (BindArena; nil for none) and
// the goroutine's key as their owner (arena.Arena.Float32), which the
// arena uses to hand a worker the buffers it wrote last. The owner is 0
// where telling goroutines apart costs a traceback (neither amd64 nor
// arm64) and the goroutine has no scope.
func Scratch() (a *arena.Arena, owner uintptr) {
	if scoped.Load() == 0 {
		return nil, ownerKey()
	}
	key := goroutineKey()
	perGoroutine.RLock()
	c := perGoroutine.scopes[key]
	perGoroutine.RUnlock()
	return c.arena, key
}

// Binding is what Unbind needs to undo a BindArena.
type Binding struct {
	key  uintptr
	prev scope
	had  bool
}

// BindArena binds the calling goroutine, and the workers of the loops
// it starts, to a: the kernels they run take their work buffers from it
// (see package arena), until Unbind. The goroutine's thread count is
// unchanged.
func BindArena(a *arena.Arena) Binding {
	c, _ := current()
	c.arena = a
	key, prev, had := enter(c)
	return Binding{key: key, prev: prev, had: had}
}

// Unbind restores the binding that the goroutine had before BindArena.
func (b Binding) Unbind() { leave(b.key, b.prev, b.had) }

// The scopes (thread counts, arenas) that With, WithShare and BindArena
// set, by goroutine. The engine's kernels call For without a thread
// count or an arena (their signatures have none), so these tie them to
// the goroutine that runs the call and to the workers For starts from
// it. scoped counts the goroutines with a scope of their own, so that
// outside any, Threads reads one atomic. (A plain map
// under a lock rather than a sync.Map: storing a key again allocates
// nothing.)
var (
	scoped       atomic.Int32
	perGoroutine = struct {
		sync.RWMutex
		scopes map[uintptr]scope // by goroutineKey()
	}{scopes: map[uintptr]scope{}}
)

// With calls f with For using n goroutines (n < 1: SetThreads' count)
// for every loop that f starts on the calling goroutine, nested loops in
// For's workers included, and returns when f returns. Calls of With on
// different goroutines, each with its own count, may run at once.
func With(n int, f func()) {
	if n < 1 {
		n = int(threads.Load())
	}
	c, _ := current()
	key, prev, had := enter(scope{n: n, arena: c.arena})
	defer leave(key, prev, had)
	f()
}

// Share divides a number of threads among the calls of WithShare that
// run at once: each of their loops uses the total divided by the calls
// then running, at least one thread and at most a given count. A
// session shares its threads so among its concurrent runs: one run
// alone takes all of them, two runs one thread each, rather than two
// threads each on cores that have one for each. (The loops' results do
// not depend on their thread count.) It is safe for concurrent use.
type Share struct {
	total, most int32
	running     atomic.Int32
}

// NewShare returns a Share of total threads, of which a call takes at
// most most (values below 1 count as 1).
func NewShare(total, most int) *Share {
	return &Share{total: int32(max(total, 1)), most: int32(max(most, 1))}
}

// Threads returns the thread count of a loop that starts now under s.
func (s *Share) Threads() int {
	n := s.total / max(s.running.Load(), 1)
	return int(min(max(n, 1), s.most))
}

// WithShare is With with a count that s gives to every loop f starts,
// from the calls of WithShare on s running at the time. The workers of
// a loop take the count of the loop, which their nested loops use.
func WithShare(s *Share, f func()) {
	s.running.Add(1)
	defer s.running.Add(-1)
	c, _ := current()
	key, prev, had := enter(scope{share: s, arena: c.arena})
	defer leave(key, prev, had)
	f()
}

// enter gives the calling goroutine the scope c, and returns what leave
// needs to restore the one it had.
func enter(c scope) (key uintptr, prev scope, had bool) {
	key = goroutineKey()
	perGoroutine.Lock()
	prev, had = perGoroutine.scopes[key]
	perGoroutine.scopes[key] = c
	perGoroutine.Unlock()
	scoped.Add(1)
	return key, prev, had
}

// leave undoes enter.
func leave(key uintptr, prev scope, had bool) {
	perGoroutine.Lock()
	if had {
		perGoroutine.scopes[key] = prev
	} else {
		delete(perGoroutine.scopes, key)
	}
	perGoroutine.Unlock()
	scoped.Add(-1)
}

// GrainFlops is the least estimated work, in floating-point operations
// of a vectorised kernel (a multiply-add counting two), worth handing to
// another goroutine: the engine's loops smaller than that run on the
// calling goroutine. Handing a range to a worker that polls during a
// burst (BeginBurst) costs about a microsecond; waking a parked worker
// costs 15-20 µs of CPU time and up to 100 µs of wall time, which only
// the first loop of a run pays. A million operations are some 10 µs of
// one core's work.
const GrainFlops = 1 << 20

// grain is the grain in use: GrainFlops, unless SetGrain changed it.
var grain atomic.Int64

func init() { grain.Store(GrainFlops) }

// Grain returns the least work, in floating-point operations, that the
// engine's loops hand to another goroutine: GrainFlops unless SetGrain
// changed it, times contendedGrain while the machine is found
// oversubscribed (see preempted), when workers are woken rather than
// polling, and loops whose goroutine would wait for a worker that the
// system holds back took longer split than whole.
func Grain() int {
	g := int(grain.Load())
	if contended(since()) {
		return g * contendedGrain
	}
	return g
}

// contendedGrain is the factor of the grain while the machine is found
// oversubscribed: GrainFlops times it was the grain before workers
// polled.
const contendedGrain = 4

// SetGrain sets Grain to flops (flops < 1: GrainFlops) and returns the
// previous value. Tests of thread independence lower it, so that the
// loops of small inputs split as large ones do.
func SetGrain(flops int) (prev int) {
	if flops < 1 {
		flops = GrainFlops
	}
	return int(grain.Swap(int64(flops)))
}

// Worth reports whether a loop of about flops floating-point operations
// is worth spreading over workers: whether it is at least Grain() and
// Threads() is above 1.
func Worth(flops float64) bool { return flops >= float64(Grain()) && Threads() > 1 }

// For calls body on disjoint ranges [lo, hi) that together cover [0, n),
// using up to Threads() goroutines, and returns when all calls have
// returned. Ranges hold at least grain items (grain < 1 counts as 1), so
// that small loops stay on the calling goroutine; a loop of many grains
// is cut into up to rangesPerWorker ranges per goroutine. Each goroutine
// runs the ranges of its own share of [0, n) in order, then those of
// the others' shares that nobody has begun. The split depends only on
// n, grain and Threads(), never on timing.
func For(n, grain int, body func(lo, hi int)) { Run(n, grain, funcBody(body)) }

// Body is the body of a loop of Run: Range does the items [lo, hi).
type Body interface {
	Range(lo, hi int)
}

// funcBody is a function as a Body.
type funcBody func(lo, hi int)

func (f funcBody) Range(lo, hi int) { f(lo, hi) }

// Run is For with the loop's body as a Body. A closure handed to For
// lives on the heap, as the workers read it; a Body of the caller's own
// (from Tasks, for instance) spares that allocation in loops run often.
func Run(n, grain int, body Body) { run(n, grain, rangesPerWorker, body) }

// run is Run with at most perWorker ranges per goroutine.
func run(n, grain, perWorker int, body Body) {
	if grain < 1 {
		grain = 1
	}
	if n/grain <= 1 {
		if n > 0 {
			body.Range(0, n)
		}
		return
	}
	c, inherit := current()
	threads := c.threads()
	workers := min(threads, n/grain) // each range gets at least grain items
	if workers <= 1 {
		body.Range(0, n)
		return
	}
	// Inside With, WithShare or BindArena, the workers' own loops use
	// the same count, and their kernels the same arena.
	l := loops.Get().(*loop)
	l.body, l.n, l.ranges = body, n, workers*max(1, min(perWorker, n/(grain*workers)))
	l.scope, l.inherit = scope{n: threads, arena: c.arena}, inherit
	if cap(l.next) < workers {
		l.next = make([]shareCursor, workers)
	}
	l.next = l.next[:workers]
	for s := range l.next {
		l.next[s].claimed.Store(0)
	}
	l.joined.Store(0)
	l.left.Store(int32(l.ranges))
	l.refs.Store(int32(workers))
	if reached := dispatch(l, workers-1); reached < workers-1 {
		l.refs.Add(int32(reached - (workers - 1)))
	}
	last := l.claim(0)
	l.retract()
	if !last {
		l.await()
	}
	l.release()
}

// rangesPerWorker is the most ranges per goroutine that Run cuts a loop
// into, each of at least its grain. With one range per goroutine, a
// loop took as long as its slowest range: of the two halves of a
// model's convolutions at a batch of one, the larger took up to 1.3
// times half the loop (a partial band of rows, an edge of the
// padding), and a worker that starts late (a microsecond when it polls,
// far more when the system holds it back) adds that. With several, a goroutine that is done
// with its share takes the ranges of a late or slow one's that have
// not begun, so that the goroutines end within about one range of each
// other. The count is a multiple of the goroutines, so that the shares
// are even when none is late (three ranges on two goroutines would
// leave one idle for a third of the loop).
const rangesPerWorker = 4

// loop is one loop of Run in progress. Its ranges, [i*n/ranges,
// (i+1)*n/ranges) for i below ranges, are fixed by n, the grain and the
// thread count; who runs each is not. Share s of a loop on w goroutines
// is its s-th run of ranges/w consecutive ranges: the part of [0, n)
// that goroutine s ran when a loop had one range per goroutine. (Shares
// of every w-th range, s, s+w, ..., which cost alike when the cost of
// the items varies along the loop, took 1.5-6% more time on two threads
// at a batch of one, perhaps as a goroutine's part of a loop then lay
// in pieces, of which the next loop read more from the other core's
// cache.) The goroutine that runs the loop (share 0)
// and the workers it wakes (shares 1, 2, ... in the order they join)
// each claim the ranges of their own share in order, then those left
// in the other shares, until none is left: when none is late, each
// runs its own share, the same parts of every loop of the same size
// (whose data its core may hold from the last one), and a worker the
// system has not scheduled yet holds nobody up: the loop's goroutine
// runs its ranges too, and waits only for ranges that a worker has
// begun. A worker that wakes after the loop has ended claims nothing.
type loop struct {
	body    Body
	n       int
	ranges  int
	scope   scope // the loop's thread count and arena, for the workers
	inherit bool  // whether the workers run under scope (the loop's goroutine has one)

	next     []shareCursor // by share
	joined   atomic.Int32  // the workers that have joined, which take shares 1, 2, ...
	left     atomic.Int32  // the ranges not yet finished, or finished by a goroutine still claiming
	refs     atomic.Int32  // the loop's goroutine and the workers woken for it, until they let go
	finished chan struct{} // receives when the last range finishes on a worker
	posts    uint64        // the board's slots where the loop is posted, a bit each
}

// shareCursor counts the ranges of a share that have been claimed. It
// fills a cache line: each goroutine claims from its own share, and
// counters that shared a line would move between cores with every
// claim.
type shareCursor struct {
	claimed atomic.Int32
	_       [60]byte
}

// loops holds the loops not in use: a loop goes back when the loop's
// goroutine and every worker woken for it have let go.
var loops = sync.Pool{New: func() any { return &loop{finished: make(chan struct{}, 1)} }}

// claim runs the ranges of share own, then those of the others, until
// none is left to claim, and reports whether the last range to finish
// was one of them. It counts the ranges it ran off left once, when
// none is left to claim (one write to a counter that every goroutine
// of the loop writes, rather than one a range): left reaches zero when
// the last goroutine that ran ranges is done.
func (l *loop) claim(own int) (last bool) {
	shares := len(l.next)
	per := l.ranges / shares
	ran := 0
	for k := range shares {
		s := (own + k) % shares
		for {
			j := int(l.next[s].claimed.Add(1)) - 1
			if j >= per {
				break
			}
			i := s*per + j
			l.body.Range(i*l.n/l.ranges, (i+1)*l.n/l.ranges)
			ran++
		}
	}
	return ran > 0 && l.left.Add(-int32(ran)) == 0
}

// await waits for the ranges that workers have begun: polling for up to
// spinTime, as they usually end within microseconds of the loop
// goroutine's own (a goroutine that parks is woken as slowly as a
// worker, see dispatch), then parked until the worker that finishes
// last tells it.
func (l *loop) await() {
	first := since()
	for i, last := 1, first; l.left.Load() != 0 && !contended(last); i++ {
		if i%pollsPerCheck != 0 {
			continue
		}
		now := since()
		if preempted(last, now) || now-first > spinTime {
			break
		}
		runtime.Gosched()
		last = since() // what ran in the yield was ours, not a preemption
	}
	<-l.finished
}

// release lets go of l, and frees it if nobody else holds it.
func (l *loop) release() {
	if l.refs.Add(-1) == 0 {
		l.body, l.scope = nil, scope{}
		loops.Put(l)
	}
}

// help is a worker's part of l: the ranges it claims, under the loop's
// scope. The worker that finishes the last range tells the loop's
// goroutine, which is waiting for it.
func (w *worker) help(l *loop) {
	w.adopt(l)
	if l.claim(int(l.joined.Add(1))) {
		l.finished <- struct{}{}
	}
	l.release()
}

// worker is what a worker goroutine knows of its own scope. It keeps
// the scope of the loop it helped with from one loop to the next
// while it polls, and gives it up before it parks: the loops of a run
// share one scope, and a worker that entered it and left it at each
// loop took the lock of the goroutines' scopes twice a loop, on which
// the loop's goroutine, looking up its own scope (Scratch, Threads),
// blocked and parked when the two met. In the scheduler's trace of 300
// batch-1 runs of SqueezeNet 1.1 on two threads, goroutines woken from
// that lock waited 120-140 ms in all to run again, 0.4 ms a run of 3.7.
// (So a polling worker holds on to the arena of its last loop until
// its next loop or until it parks.)
type worker struct {
	key    uintptr // goroutineKey(), while the goroutine has a scope
	scoped bool    // whether the goroutine has a scope, scope
	scope  scope
}

// adopt gives the worker the scope l's ranges run under: the loop's,
// or none when its goroutine has none.
func (w *worker) adopt(l *loop) {
	switch {
	case !l.inherit:
		w.drop()
	case !w.scoped:
		// A worker's goroutine has no scope of its own to restore.
		w.key, _, _ = enter(l.scope)
		w.scoped, w.scope = true, l.scope
	case w.scope != l.scope:
		perGoroutine.Lock()
		perGoroutine.scopes[w.key] = l.scope
		perGoroutine.Unlock()
		w.scope = l.scope
	}
}

// drop gives up the worker's scope, if it has one.
func (w *worker) drop() {
	if w.scoped {
		leave(w.key, scope{}, false)
		w.scoped, w.scope = false, scope{}
	}
}

// Tasks is a free list of values of T, such as the Bodies of a loop of
// Run or a worker's scratch: a caller takes one, fills it, uses it and
// hands it back, and so allocates none in steady state. It is safe for
// concurrent use.
//
// A T lies alone on its cache lines (arena.LineAlone): the workers of a
// loop each take one and write it on their own cores.
type Tasks[T any] struct {
	pool sync.Pool
}

// Get returns a T to fill, zero or as Put left it.
func (l *Tasks[T]) Get() *T {
	if t, ok := l.pool.Get().(*T); ok {
		return t
	}
	return &new(arena.LineAlone[T]).V
}

// Put hands t back; it is cleared, so that it holds on to no memory.
func (l *Tasks[T]) Put(t *T) {
	var zero T
	*t = zero
	l.pool.Put(t)
}

// idle hands loops to the workers waiting for one. Workers outlive their
// loops, so that a loop starts no goroutine (and allocates nothing for
// one) once as many workers exist as loops ever ran at once; a loop that
// finds no worker polling or waiting starts one.
var idle = make(chan *loop)

// A worker parked on a channel is readied, by the goroutine that hands
// it a loop, onto that goroutine's own processor (the runtime's
// runnext): it reaches another core only once that core's thread has
// woken and stolen it, which on the virtual machines measured took 50 to
// 100 µs, and waking that thread costs the loop's goroutine a system
// call. A model's run starts loops one after another, microseconds
// apart, most of them shorter than that at a batch of one, and their
// goroutine ran every range itself while its worker was on the way
// (MobileNet V3 Small at batch 1 took as long on two threads as on one).
// So while a burst of loops goes on (BeginBurst to EndBurst), and for
// spinTime after, a worker that has done its part polls the board
// rather than parking, and a loop posts itself there, where a polling
// worker takes it within a microsecond.
//
// The board has a slot for each worker that may poll. A loop posts
// itself in free slots, at most one for each polling worker, and once
// its goroutine has claimed every range it takes back the posts that no
// worker took: a post that comes too late for its loop, as every
// polling worker was busy, costs two atomic swaps and never outlives
// the loop. A loop wakes or starts a worker only when none polls (at a
// burst's first loops, outside bursts, or while polling is paused): a
// polling worker that is busy with the loop before is back within
// microseconds, while one woken from parking came when most loops of a
// batch-1 run had ended. (When loops handed themselves to the polling
// workers only while one was free, and otherwise woke a parked one or
// started one, 70% of MobileNet V3 Small's loops at batch 1 did so,
// while the polling worker finished the loop before.)
//
// pollers counts the workers polling, or helping with a loop taken from
// the board, to which they go back; bursts counts the bursts going on.
var (
	board   [maxPollers]boardSlot
	pollers atomic.Int32
	bursts  atomic.Int32
)

// boardSlot holds a loop posted for a polling worker, or nil. It fills
// a cache line, so that a post to one slot does not slow the polling of
// another.
type boardSlot struct {
	loop atomic.Pointer[loop]
	_    [56]byte
}

// maxPollers bounds the workers polling at once, whatever GOMAXPROCS:
// the slots of the board, one bit each in loop.posts.
const maxPollers = 64

// boardSlots is the slots of the board in use, which dispatch posts on
// and the polling workers read: mostPollers() as the last worker that
// could poll found it (runtime.GOMAXPROCS takes the scheduler's lock,
// which a loop's dispatch should not). Both sides read it, so that they
// agree when GOMAXPROCS changes: with the workers reading GOMAXPROCS
// themselves, a worker that found it at 1 (which leaves no slot) set
// the board's size to none while another still polled, and loops ran
// on their goroutine alone until that worker stopped polling.
var boardSlots atomic.Int32

// mostPollers returns how many workers may poll at once: GOMAXPROCS-1,
// leaving a processor to the goroutines that start loops.
func mostPollers() int { return min(runtime.GOMAXPROCS(0)-1, maxPollers) }

// spinTime is how long a worker polls the board once no burst goes on,
// and how long a loop's goroutine polls for its workers' ranges to end
// before it parks.
const spinTime = 100 * time.Microsecond

// pollsPerCheck is how many polls a spinning goroutine makes between
// looks at the clock, each followed by a yield of its processor to any
// goroutine that is ready to run: some hundreds of nanoseconds.
const pollsPerCheck = 64

// Polling pays only while every polling thread has a core. On a machine
// with more threads ready to run than cores, the system takes the core
// of a polling thread, or of a worker in the middle of its range, for
// milliseconds at a time, and its loop waits: with the load average at 6
// to 12, batch-1 runs on two threads took 2 to 5 times as long as on
// one. A goroutine that finds that it has been off its core for
// preemptedGap between two looks at the clock (with no yield to the
// process's other goroutines between them) takes the machine for
// oversubscribed: for a pause nobody polls, and the grain is
// contendedGrain times larger, so that only loops long enough to
// outweigh a worker held back are split. The pause is firstPause,
// doubled up to lastPause at each such finding made less than
// calmAfter after the last pause ended: polling stays off while the
// machine stays busy, and comes back soon after a burst of other work
// (such as another engine's threads spinning after their run).
// (Loops on their goroutine alone did worse: a process's threads share
// a busy machine's cores, and one thread gets one share.)
const (
	preemptedGap = 500 * time.Microsecond
	firstPause   = 50 * time.Millisecond
	lastPause    = time.Second
	calmAfter    = 200 * time.Millisecond
)

// The state of the pause in polling, in nanoseconds since start:
// contendedUntil is its end (or the last one's) and pause its length.
var (
	start          = time.Now()
	contendedUntil atomic.Int64
	pause          atomic.Int64
)

// since returns the time elapsed since start.
func since() time.Duration { return time.Since(start) }

// contended reports whether polling is paused at now.
func contended(now time.Duration) bool {
	return sensing.Load() && int64(now) < contendedUntil.Load()
}

// sensing is whether preemption pauses polling (preempted, contended):
// tests that check the grain, or which goroutine takes a loop's range,
// turn it off, as whether the machine is busy is not theirs to choose.
// (With only contended off, a polling worker that the system held back
// still stopped polling, and a loop it was about to take from the board
// waited on its goroutine, which a test holding that goroutine saw as
// no worker at all.)
var sensing atomic.Bool

func init() { sensing.Store(true) }

// preempted reports whether a goroutine that last looked at the clock at
// last, and now at now, was off its core long enough to take the machine
// for oversubscribed, and if so pauses polling.
func preempted(last, now time.Duration) bool {
	if now-last < preemptedGap || !sensing.Load() {
		return false
	}
	ended := time.Duration(contendedUntil.Load())
	if now < ended {
		return true // found during the pause it started: no second finding
	}
	p := time.Duration(pause.Load())
	if p == 0 || now-ended > calmAfter {
		p = firstPause
	} else {
		p = min(2*p, lastPause)
	}
	pause.Store(int64(p))
	contendedUntil.Store(int64(now + p))
	return true
}

// BeginBurst starts a burst of loops, such as a run of a model: until
// the matching EndBurst, the workers that finish their part of a loop
// stay awake, polling for the next one, rather than parking. A burst
// costs the CPU time of the polling workers (at most GOMAXPROCS-1), so
// only a burst of loops that use more than one thread is worth one.
// Bursts may overlap, from any goroutines.
func BeginBurst() { bursts.Add(1) }

// EndBurst ends a burst that BeginBurst started.
func EndBurst() { bursts.Add(-1) }

// dispatch finds workers for l: it posts l on the board for up to
// wanted polling workers, and when none polls, hands it to wanted parked
// workers or starts them. It returns how many workers it reached; l
// holds a reference for each, which whoever takes a post from the board
// (the worker, or the loop's goroutine in retract) lets go of.
func dispatch(l *loop, wanted int) (reached int) {
	if n := int(pollers.Load()); n > 0 {
		slots := int(boardSlots.Load())
		for i := 0; i < slots && reached < min(wanted, n); i++ {
			if board[i].loop.CompareAndSwap(nil, l) {
				l.posts |= 1 << i
				reached++
			}
		}
		return reached
	}
	for ; reached < wanted; reached++ {
		select {
		case idle <- l:
		default:
			go work(l)
		}
	}
	return reached
}

// retract takes back the posts of l that no worker has taken, and lets
// go of their references.
func (l *loop) retract() {
	for posts := l.posts; posts != 0; posts &= posts - 1 {
		if board[bits.TrailingZeros64(posts)].loop.CompareAndSwap(l, nil) {
			l.refs.Add(-1)
		}
	}
	l.posts = 0
}

// work helps with l, then with the loops that reach it as a worker:
// taken from the board while it polls (during a burst, and for spinTime
// after), or handed to it once it has parked.
func work(l *loop) {
	var w worker
	polling := false
	for {
		w.help(l)
		if !polling {
			polling = startPolling()
		}
		if polling {
			if l = poll(); l != nil {
				continue
			}
			pollers.Add(-1)
			polling = false
		}
		w.drop()
		l = <-idle
	}
}

// poll returns a loop taken from the board, or nil once the worker
// should stop polling: when no burst has gone on for spinTime, or the
// machine is found oversubscribed. At most GOMAXPROCS-1 workers poll,
// leaving a processor to the goroutines that start loops, and a polling
// worker yields its processor to any goroutine ready to run.
func poll() *loop {
	idleSince := time.Duration(-1) // when the worker first saw no burst going on
	for i, last := 1, since(); !contended(last); i++ {
		for s := range int(boardSlots.Load()) {
			if l := board[s].loop.Load(); l != nil && board[s].loop.CompareAndSwap(l, nil) {
				return l
			}
		}
		if i%pollsPerCheck != 0 {
			continue
		}
		now := since()
		if preempted(last, now) {
			return nil
		}
		switch {
		case bursts.Load() > 0:
			idleSince = -1
		case idleSince < 0:
			idleSince = now
		case now-idleSince > spinTime:
			return nil
		}
		runtime.Gosched()
		last = since() // what ran in the yield was ours, not a preemption
	}
	return nil
}

// startPolling counts the calling worker among the pollers, unless
// enough poll already.
func startPolling() bool {
	most := int32(mostPollers())
	if most > 0 {
		boardSlots.Store(most)
	}
	for n := pollers.Load(); n < most; n = pollers.Load() {
		if pollers.CompareAndSwap(n, n+1) {
			return true
		}
	}
	return false
}
