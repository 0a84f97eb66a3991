package ops

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestRNNTeam has teams of 1 to 5 goroutines take the tasks of 300
// phases of 1 to 7 chunks, and checks that every task is taken once and
// only after every task of the earlier phases finished, with enough
// phases that some waits sleep (GOMAXPROCS is often below the team
// size), after which the first member finishes alone.
func TestRNNTeam(t *testing.T) {
	for members := 1; members <= 5; members++ {
		for _, chunks := range []int{1, 3, 7} {
			const phases = 300
			team := newRNNTeam(members, chunks, phases)
			var finished [phases]atomic.Int64 // tasks finished per phase
			taken := make([]atomic.Int32, phases*chunks)
			var early atomic.Int64
			var wg sync.WaitGroup
			for m := range members {
				wg.Add(1)
				go func() {
					defer wg.Done()
					member := team.member(m)
					for {
						task, ok := member.take()
						if !ok {
							return
						}
						phase := int(task) / chunks
						if phase > 0 && finished[phase-1].Load() != int64(chunks) {
							early.Add(1)
						}
						taken[task].Add(1)
						finished[phase].Add(1)
						team.finish()
					}
				}()
			}
			wg.Wait()
			if n := early.Load(); n > 0 {
				t.Errorf("%d members, %d chunks: %d tasks began before the previous phase finished", members, chunks, n)
			}
			for task := range taken {
				if n := taken[task].Load(); n != 1 {
					t.Errorf("%d members, %d chunks: task %d taken %d times", members, chunks, task, n)
					break
				}
			}
		}
	}
}
