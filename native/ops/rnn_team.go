package ops

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// rnnTeam hands out a run's tasks, the chunks of each phase of each step,
// to its workers: a task of a phase is taken once every task of the
// earlier phases is done. Each worker has a home range of chunks, the
// same in every phase, and takes its own chunks first, so that the rows
// of R they multiply by stay in its core's cache from one step to the
// next (at a batch of one, a step of the zoo's LSTM reads 1 MB of R:
// half of it fits a core's L2, all of it does not). A worker that is
// done with its range takes the chunks of a range whose worker has not
// begun the phase, taking them from the range's end, and after a short
// wait (rnnStealSpins) those left in any range: a worker that the
// machine's other work slows down then does less of the step.
//
// A worker waiting for a phase to end spins a while, since the others
// usually finish within microseconds, then sleeps, so that a team whose
// members are not all running (the machine busy with other work) does
// not burn the cores the others need. Once a wait has had to sleep, the
// helpers (the workers but the first) take no more tasks and the first
// takes every chunk left: on a machine that holds back a thread for
// milliseconds at a time, every phase could wait as long, where one
// worker alone is never held up by another.
//
// The tasks of the phases from redoFrom on may be taken twice: a worker
// waiting for a phase to end takes again, as a second copy, a task that
// another member took and has not finished after four of its own
// tasks' time (rnnRedoMinWait at least; a member times one task in
// rnnTimedTasks), since the machine holds that member back
// (for milliseconds, on a VM whose vCPUs the hypervisor takes away).
// Each copy writes its own buffers; the first to finish wins the task
// (win) and the other's work is dropped, so that a late member stalls
// no step, and the team goes on with both members once it is back. The
// copies compute the same values, so results do not depend on which
// wins.
type rnnTeam struct {
	chunks      int64 // tasks per phase
	phases      int64
	homes       []int           // worker w's home range is chunks [homes[w], homes[w+1])
	ranges      []atomic.Uint64 // per range, rangeWord of its state
	done        atomic.Int64    // tasks done
	sleepers    atomic.Int32
	alone       atomic.Bool            // a wait slept: the helpers take no more tasks
	backward    func(phase int64) bool // see newRNNTeam; nil: never
	helped      atomic.Bool            // a helper took a task
	redoFrom    int64                  // the first phase whose tasks may be taken twice
	won         []atomic.Uint32        // per task from redoFrom's: 0, or 1 + the copy that won it
	redone      []atomic.Bool          // per task from redoFrom's: taken a second time
	mu          sync.Mutex
	phaseIsDone *sync.Cond
}

// rnnTeamSpins is how many times a waiting worker polls before it
// sleeps: of the order of 10-50 µs.
const rnnTeamSpins = 20000

// rnnStealSpins is how many times a worker done with its phase polls for
// another's chunks to be taken before it takes them: of the order of a
// microsecond, a chunk's work at a batch of one.
const rnnStealSpins = 100

// rnnRedoMinWait is the least time a member waits for a task of the
// phase before it takes the task again (rnnTeam).
const rnnRedoMinWait = 50 * time.Microsecond

// newRNNTeam returns a team of the given number of workers for phases of
// chunks tasks each, whose tasks of the phases from redoFrom on may be
// taken twice (redoFrom >= phases: none). Until a helper takes a task, and once the team
// runs alone, the first worker takes a phase's chunks in order, from the
// last for the phases for which backward (if not nil) is true: a
// recurrent cell's steps alternate the order in which they read R's
// panels (rnnStepper.backward), and a worker alone, which reads the
// whole of R at every step, then reads first the chunks it read last,
// while they are in its core's cache. (A helper that begins late finds
// its range taken in such a phase, and takes the first worker's.)
func newRNNTeam(workers, chunks int, phases int64, backward func(phase int64) bool, redoFrom int64) *rnnTeam {
	workers = max(1, min(workers, chunks))
	t := &rnnTeam{chunks: int64(chunks), phases: phases, ranges: make([]atomic.Uint64, workers), backward: backward,
		redoFrom: min(max(0, redoFrom), phases)}
	if workers > 1 && t.redoFrom < phases {
		t.won = make([]atomic.Uint32, (phases-t.redoFrom)*t.chunks)
		t.redone = make([]atomic.Bool, len(t.won))
	} else {
		t.redoFrom = phases
	}
	for w := range workers + 1 {
		t.homes = append(t.homes, w*chunks/workers)
	}
	t.phaseIsDone = sync.NewCond(&t.mu)
	return t
}

// A range's state is one word: the phase it was last opened for (the
// high 32 bits, plus one, so that the zero word is no phase) and the
// chunks of that phase not yet taken, [front, back) (16 bits each).
func rangeWord(phase int64, front, back int) uint64 {
	return uint64(phase+1)<<32 | uint64(front)<<16 | uint64(back)
}

func rangeState(word uint64) (phase int64, front, back int) {
	return int64(word>>32) - 1, int(word >> 16 & 0xffff), int(word & 0xffff)
}

// rnnMember is a worker's view of its team: worker w, at phase phase.
type rnnMember struct {
	team  *rnnTeam
	w     int
	phase int64
	// began is when the member's last timed task began (zero: none
	// since took was measured), took how long it took, as take sees
	// them, and tasks counts its tasks: one in rnnTimedTasks is timed.
	began time.Time
	took  time.Duration
	tasks int
}

// rnnTimedTasks is how often a member times its tasks, in tasks: the
// clock costs some 25 ns a reading, a team's barrier 50.
const rnnTimedTasks = 16

// member returns worker w's view of the team (w = 0 is the first worker,
// the others are helpers).
func (t *rnnTeam) member(w int) *rnnMember { return &rnnMember{team: t, w: w} }

// claim takes a chunk of range r in phase p, from its front if fromFront,
// else from its back, opening the range for p first if needed. A thief
// (not fromFront) takes only from a range not yet begun in p, unless
// it is impatient or the team runs alone.
func (t *rnnTeam) claim(r int, p int64, fromFront, impatient bool) (int, bool) {
	start, end := t.homes[r], t.homes[r+1]
	for {
		word := t.ranges[r].Load()
		phase, front, back := rangeState(word)
		switch {
		case phase > p: // every chunk of p was taken
			return 0, false
		case phase < p:
			phase, front, back = p, start, end
		}
		if front >= back || !fromFront && front > start && !impatient && !t.alone.Load() {
			return 0, false
		}
		chunk := front
		if fromFront {
			front++
		} else {
			back--
			chunk = back
		}
		if t.ranges[r].CompareAndSwap(word, rangeWord(phase, front, back)) {
			return chunk, true
		}
	}
}

// take returns the member's next task, phase*chunks+chunk, once the
// earlier phases are done, and the copy of it that the member computes
// (1 for a task taken a second time, else 0), or false when none is
// left for it: a helper gets none once the team runs alone. A member
// moves to the next phase once every chunk of its phase is taken, and
// waits there for them to be done, or takes one again (see rnnTeam),
// which it does past the last phase too in such a team.
func (m *rnnMember) take() (task int64, copy int, ok bool) {
	t := m.team
	if !m.began.IsZero() {
		m.took, m.began = time.Since(m.began), time.Time{}
	}
	if t.done.Load() == t.phases*t.chunks {
		return 0, 0, false // a member that begins after the others finished every task
	}
	spins := 0
	var waiting time.Time
	// Past the last phase, a member of a team whose tasks may be taken
	// twice waits for the last to be done, as at a phase.
	last := t.phases
	if t.redoFrom < t.phases {
		last++
	}
	for m.phase < last {
		if m.w > 0 && t.alone.Load() {
			return 0, 0, false
		}
		ready := m.phase * t.chunks // the tasks of the earlier phases
		if t.done.Load() >= ready {
			if m.phase == t.phases {
				return 0, 0, false
			}
			if chunk, ok := m.claimAny(spins >= rnnStealSpins); ok {
				if m.w > 0 && !t.helped.Load() {
					t.helped.Store(true)
				}
				m.start()
				return m.phase*t.chunks + int64(chunk), 0, true
			}
			if !t.untaken(m.phase) {
				m.phase, spins = m.phase+1, 0
				continue
			}
			// Chunks of a range whose worker is at work: it takes them,
			// unless it is held back (see claimAny).
		} else if m.phase > t.redoFrom && spins%64 == 63 {
			// Every task of the phase before is taken: one held back
			// for long is taken again.
			if waiting.IsZero() {
				waiting = time.Now()
			} else if time.Since(waiting) >= max(rnnRedoMinWait, 4*m.took) {
				if task, ok := t.retake(m.phase - 1); ok {
					m.start()
					return task, 1, true
				}
			}
		}
		if spins++; spins < rnnTeamSpins {
			if spins%256 == 0 {
				runtime.Gosched() // let a member waiting for this P run
			}
			continue
		}
		if m.phase > t.redoFrom && t.done.Load() < ready {
			if task, ok := t.retake(m.phase - 1); ok {
				m.start()
				return task, 1, true
			}
		}
		t.alone.Store(true)
		if t.done.Load() < ready {
			// Every task of the earlier phases is taken, hence done in
			// time.
			t.sleepUntil(ready)
		}
	}
	return 0, 0, false
}

// start records that the member begins a task, and when if the task is
// one it times, in a team whose tasks may be taken twice.
func (m *rnnMember) start() {
	if m.team.redoFrom < m.team.phases {
		if m.tasks%rnnTimedTasks == 0 {
			m.began = time.Now()
		}
		m.tasks++
	}
}

// retake takes a second time a task of phase p, from redoFrom on, that
// is not finished nor taken twice yet, and returns it.
func (t *rnnTeam) retake(p int64) (int64, bool) {
	for c := range t.chunks {
		task := p*t.chunks + c
		i := task - t.redoFrom*t.chunks
		if t.won[i].Load() == 0 && !t.redone[i].Load() && t.redone[i].CompareAndSwap(false, true) {
			return task, true
		}
	}
	return 0, false
}

// win reports whether copy (see take) of task is the first to finish
// it, and records it so: the member that wins a task then completes it
// (outputs that only one copy may write) and calls finish; the other
// drops it. Every copy of a phase before redoFrom wins.
func (t *rnnTeam) win(task int64, copy int) bool {
	i := task - t.redoFrom*t.chunks
	return i < 0 || t.won[i].CompareAndSwap(0, uint32(copy)+1)
}

// winner returns the copy that won task, once finished.
func (t *rnnTeam) winner(task int64) int {
	if i := task - t.redoFrom*t.chunks; i >= 0 {
		return int(t.won[i].Load()) - 1
	}
	return 0
}

// claimAny takes a chunk of the member's phase: one of its own range, or
// else one of a range whose worker has not begun the phase, or any once
// the team runs alone or the member has waited long (impatient) for the
// others to take theirs, which a worker held back by the machine's other
// work would leave for a while. The first worker of a team alone, or
// that no helper has joined yet, takes the chunks in the order that
// newRNNTeam describes.
func (m *rnnMember) claimAny(impatient bool) (int, bool) {
	t := m.team
	if m.w == 0 && (t.alone.Load() || !t.helped.Load()) {
		backward := t.backward != nil && t.backward(m.phase)
		for i := range t.ranges {
			r := i
			if backward {
				r = len(t.ranges) - 1 - i
			}
			if chunk, ok := t.claim(r, m.phase, !backward, true); ok {
				return chunk, true
			}
		}
		return 0, false
	}
	if m.w < len(t.ranges) {
		if chunk, ok := t.claim(m.w, m.phase, true, false); ok {
			return chunk, true
		}
	}
	for i := 1; i < len(t.ranges)+1; i++ {
		r := (m.w + i) % len(t.ranges)
		if r == m.w {
			continue
		}
		if chunk, ok := t.claim(r, m.phase, false, impatient); ok {
			return chunk, true
		}
	}
	return 0, false
}

// untaken reports whether a chunk of phase p is not yet taken.
func (t *rnnTeam) untaken(p int64) bool {
	for r := range t.ranges {
		phase, front, back := rangeState(t.ranges[r].Load())
		if phase < p || phase == p && front < back {
			return true
		}
	}
	return false
}

// sleepUntil blocks until ready tasks are done.
func (t *rnnTeam) sleepUntil(ready int64) {
	t.mu.Lock()
	t.sleepers.Add(1)
	for t.done.Load() < ready {
		t.phaseIsDone.Wait()
	}
	t.sleepers.Add(-1)
	t.mu.Unlock()
}

// finish records a task as done, waking the sleeping workers when it
// completes a phase.
func (t *rnnTeam) finish() {
	if t.done.Add(1)%t.chunks == 0 && t.sleepers.Load() > 0 {
		t.mu.Lock()
		t.phaseIsDone.Broadcast()
		t.mu.Unlock()
	}
}

// rnnChains hands out the tasks of independent chains to workers. A
// chain's first tasks are free: they run in any order, at once (a run's
// input projections); its other tasks run one after another, the first
// once every free task is done, task i once task i-1 is done, on
// whichever worker takes it. Worker w takes first the free tasks of
// chain w, from the first, then those of the other chains, from their
// last, then the next task of chain w when it is ready, else that of the
// least advanced chain whose next task is ready: workers keep to chains
// of their own, one that the machine runs faster than another takes
// the other's free tasks (a chain's sequential tasks cannot be shared,
// so that its worker would otherwise finish last by as much as it is
// slower), and one alone (the others late to start, or held back by the
// system) runs every chain in turn rather than waiting. A worker that
// the system holds back in the middle of a task holds up no other chain.
// As in a team (rnnTeam), once a worker has waited rnnTeamSpins polls
// for a task in progress, the helpers (the workers but the first) take
// no more tasks: on a machine that holds back a thread for milliseconds
// at a time, a helper that takes a task could hold up the others as
// long again, every time. The first worker then sleeps while it waits,
// rather than take a share of the cores from the worker it waits for.
type rnnChains struct {
	chains     []rnnChain
	alone      atomic.Bool
	sleepers   atomic.Int32
	mu         sync.Mutex
	taskIsDone *sync.Cond
}

// rnnChain is the state of a chain of rnnChains, alone on its cache
// lines: its workers update it at every task.
type rnnChain struct {
	// free holds the free tasks not yet taken, [front, back), as
	// front<<32 | back.
	free           atomic.Uint64
	freeDone       atomic.Int64
	next, done     atomic.Int64 // sequential tasks taken, and done
	frees, ordered int64
	_              [80]byte
}

// newRNNChains returns chains chains, chain k of free free tasks and then
// ordered tasks that run in order, as tasks(k) returns them.
func newRNNChains(chains int, tasks func(k int) (free, ordered int64)) *rnnChains {
	c := &rnnChains{chains: make([]rnnChain, chains)}
	c.taskIsDone = sync.NewCond(&c.mu)
	for k := range chains {
		ch := &c.chains[k]
		ch.frees, ch.ordered = tasks(k)
		ch.free.Store(uint64(ch.frees))
	}
	return c
}

// work runs tasks as worker w (0: the first), task t of chain k as
// run(k, t) (the free tasks first, numbered from 0), until every task is
// taken, or for a helper until the chains run alone.
func (c *rnnChains) work(w int, run func(k int, task int64)) {
	spins := 0
	for {
		if w > 0 && c.alone.Load() {
			return
		}
		seen := c.tasksDone()
		k, task, left := c.take(w)
		if !left {
			return
		}
		if k < 0 {
			// Every chain's next task waits for one in progress.
			if spins++; spins%256 == 0 {
				runtime.Gosched()
			}
			if spins >= rnnTeamSpins {
				c.alone.Store(true)
				if w == 0 {
					c.sleepWhile(seen)
				}
			}
			continue
		}
		spins = 0
		run(k, task)
		if ch := &c.chains[k]; task < ch.frees {
			ch.freeDone.Add(1)
		} else {
			ch.done.Add(1)
		}
		if c.sleepers.Load() > 0 {
			c.mu.Lock()
			c.taskIsDone.Broadcast()
			c.mu.Unlock()
		}
	}
}

// tasksDone returns how many tasks are done.
func (c *rnnChains) tasksDone() int64 {
	var n int64
	for k := range c.chains {
		n += c.chains[k].freeDone.Load() + c.chains[k].done.Load()
	}
	return n
}

// sleepWhile blocks while seen tasks are done.
func (c *rnnChains) sleepWhile(seen int64) {
	c.mu.Lock()
	c.sleepers.Add(1)
	for c.tasksDone() == seen {
		c.taskIsDone.Wait()
	}
	c.sleepers.Add(-1)
	c.mu.Unlock()
}

// takeFree takes a free task of the chain, from the front or the back.
func (ch *rnnChain) takeFree(front bool) (int64, bool) {
	for {
		word := ch.free.Load()
		lo, hi := int64(word>>32), int64(word&0xffffffff)
		if lo >= hi {
			return 0, false
		}
		task := lo
		if front {
			lo++
		} else {
			hi--
			task = hi
		}
		if ch.free.CompareAndSwap(word, uint64(lo)<<32|uint64(hi)) {
			return task, true
		}
	}
}

// ready reports whether the chain's ordered task n may begin.
func (ch *rnnChain) ready(n int64) bool {
	return ch.done.Load() == n && ch.freeDone.Load() == ch.frees
}

// take claims for worker w a free task (see rnnChains), or else the next
// ordered task of chain w if it is ready, else of the least advanced
// chain whose next task is ready, and returns it, or k < 0 if none is
// ready; left is false once every task is taken.
func (c *rnnChains) take(w int) (k int, task int64, left bool) {
	n := len(c.chains)
	for i := range n {
		k := (w + i) % n
		if task, ok := c.chains[k].takeFree(i == 0 && w < n); ok {
			return k, task, true
		}
	}
	if w < n {
		ch := &c.chains[w]
		m := ch.next.Load()
		if m < ch.ordered && ch.ready(m) && ch.next.CompareAndSwap(m, m+1) {
			return w, ch.frees + m, true
		}
	}
	for {
		k, task, left = -1, 0, false
		var least int64
		for i := range c.chains {
			ch := &c.chains[i]
			m := ch.next.Load()
			if m >= ch.ordered {
				continue
			}
			left = true
			if ch.ready(m) && (k < 0 || m < least) {
				k, least = i, m
			}
		}
		if k < 0 {
			return k, 0, left
		}
		if ch := &c.chains[k]; ch.next.CompareAndSwap(least, least+1) {
			return k, ch.frees + least, true
		}
	}
}
