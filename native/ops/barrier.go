package ops

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// stepBarrier makes a fixed team of goroutines wait for each other
// between the steps of a computation too short for parallel.For's
// goroutine per call, such as a recurrent cell's steps. A waiter spins
// a while, since the others usually arrive within microseconds, then
// sleeps, so that a team whose members are not all running (the machine
// busy with other work) does not burn the cores the others need.
type stepBarrier struct {
	n        int32
	arrived  atomic.Int32
	gen      atomic.Uint32 // bumped as each wait ends
	sleepers atomic.Int32
	mu       sync.Mutex
	wake     *sync.Cond
}

// barrierSpins is how many times a waiter polls before it sleeps: of the
// order of 10-50 µs.
const barrierSpins = 20000

func newStepBarrier(n int) *stepBarrier {
	b := &stepBarrier{n: int32(n)}
	b.wake = sync.NewCond(&b.mu)
	return b
}

// wait returns once all n members have called it, the same number of
// times each.
func (b *stepBarrier) wait() {
	if b.n == 1 {
		return
	}
	gen := b.gen.Load()
	if b.arrived.Add(1) == b.n {
		b.arrived.Store(0)
		b.gen.Add(1)
		if b.sleepers.Load() > 0 {
			b.mu.Lock()
			b.wake.Broadcast()
			b.mu.Unlock()
		}
		return
	}
	for i := 0; i < barrierSpins; i++ {
		if b.gen.Load() != gen {
			return
		}
		if i%256 == 255 {
			runtime.Gosched() // let a member waiting for this P run
		}
	}
	b.mu.Lock()
	b.sleepers.Add(1)
	for b.gen.Load() == gen {
		b.wake.Wait()
	}
	b.sleepers.Add(-1)
	b.mu.Unlock()
}
