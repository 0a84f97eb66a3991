package ops

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// TestRNNTeam has teams of 1 to 5 goroutines take the tasks of 300
// phases of 1 to 7 chunks, and checks that every task is taken once and
// only after every task of the earlier phases finished, with enough
// phases that some waits sleep (GOMAXPROCS is often below the team
// size), after which the first member finishes alone, taking the
// chunks of every other phase from the last. With the tasks of the
// phases from 100 on open to a second copy (whose members a busy
// machine holds back as it does the helpers), each of those is taken
// at most twice and won by one copy, once.
func TestRNNTeam(t *testing.T) {
	for members := 1; members <= 5; members++ {
		for _, chunks := range []int{1, 3, 7} {
			for _, redoFrom := range []int64{300, 100} {
				const phases = 300
				team := newRNNTeam(members, chunks, phases, func(p int64) bool { return p%2 == 1 }, redoFrom)
				var finished [phases]atomic.Int64 // tasks finished per phase
				taken := make([]atomic.Int32, phases*chunks)
				won := make([]atomic.Int32, phases*chunks)
				var early atomic.Int64
				var wg sync.WaitGroup
				for m := range members {
					wg.Add(1)
					go func() {
						defer wg.Done()
						member := team.member(m)
						for {
							task, copy, ok := member.take()
							if !ok {
								return
							}
							phase := int(task) / chunks
							if phase > 0 && finished[phase-1].Load() != int64(chunks) {
								early.Add(1)
							}
							taken[task].Add(1)
							if !team.win(task, copy) {
								continue
							}
							won[task].Add(1)
							if team.winner(task) != copy {
								t.Errorf("task %d won by copy %d, winner says %d", task, copy, team.winner(task))
							}
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
					most := int32(1)
					if int64(task/chunks) >= redoFrom && members > 1 {
						most = 2
					}
					if n, w := taken[task].Load(), won[task].Load(); n < 1 || n > most || w != 1 {
						t.Errorf("%d members, %d chunks, second copies from phase %d: task %d taken %d times, won %d",
							members, chunks, redoFrom, task, n, w)
						break
					}
				}
			}
		}
	}
}

// TestRNNTeamAloneOrder checks the order in which the first member of a
// team that runs alone, or that no helper has joined, takes a phase's
// chunks: from the first range's first to the last range's last, or the
// reverse in the phases for which the team's backward is true,
// whichever member's range they are in; the helpers of a team alone take
// none.
func TestRNNTeamAloneOrder(t *testing.T) {
	for _, c := range []struct{ members, chunks int }{{2, 2}, {2, 7}, {3, 8}} {
		for _, alone := range []bool{true, false} {
			const phases = 5
			team := newRNNTeam(c.members, c.chunks, phases, func(p int64) bool { return p%2 == 1 }, phases)
			team.alone.Store(alone)
			if alone {
				if task, _, ok := team.member(1).take(); ok {
					t.Fatalf("%d members, %d chunks: a helper took task %d of a team alone", c.members, c.chunks, task)
				}
			}
			first := team.member(0)
			for p := range int64(phases) {
				for i := range c.chunks {
					want := int64(i)
					if p%2 == 1 {
						want = int64(c.chunks - 1 - i)
					}
					task, _, ok := first.take()
					if !ok || task != p*int64(c.chunks)+want {
						t.Fatalf("%d members, %d chunks, alone %v: phase %d's task %d is %d (%v), want chunk %d",
							c.members, c.chunks, alone, p, i, task%int64(c.chunks), ok, want)
					}
					team.finish()
				}
			}
			if task, _, ok := first.take(); ok {
				t.Fatalf("%d members, %d chunks, alone %v: task %d after the last phase", c.members, c.chunks, alone, task)
			}
		}
	}
}

// BenchmarkRNNTeam measures a team's cost per phase, the barrier between
// a recurrent cell's steps: 1 or 2 members taking 2 chunks of no work
// per phase, as the zoo's LSTM splits its 256 units at a batch of one
// on 2 threads, with tasks that may be taken twice (redo, as a run's
// steps) or not.
func BenchmarkRNNTeam(b *testing.B) {
	for _, members := range []int{1, 2} {
		for _, redo := range []bool{false, true} {
			b.Run(fmt.Sprintf("members%d/redo=%v", members, redo), func(b *testing.B) {
				const chunks, phases = 2, 1000
				redoFrom := int64(phases)
				if redo {
					redoFrom = 0
				}
				work := func(team *rnnTeam, member *rnnMember) {
					for task, copy, ok := member.take(); ok; task, copy, ok = member.take() {
						if team.win(task, copy) {
							team.finish()
						}
					}
				}
				for b.Loop() {
					team := newRNNTeam(members, chunks, phases, nil, redoFrom)
					var wg sync.WaitGroup
					for m := 1; m < members; m++ {
						wg.Add(1)
						go func() {
							defer wg.Done()
							work(team, team.member(m))
						}()
					}
					work(team, team.member(0))
					wg.Wait()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*phases), "ns/phase")
			})
		}
	}
}

// TestRNNChains has 1 to 4 goroutines take the tasks of 1 to 5 chains of
// 0 to 300 tasks each, some of them free, and checks that every task is
// taken once and the ordered ones only after the chain's task before it
// and every free task of the chain finished, with enough tasks that some
// waits are long (GOMAXPROCS is often below the number of workers),
// after which the first worker finishes alone.
func TestRNNChains(t *testing.T) {
	for workers := 1; workers <= 4; workers++ {
		for chains := 1; chains <= 5; chains++ {
			lengths := func(k int) (int64, int64) {
				return int64([]int{20, 0, 3, 1, 0}[k]), int64([]int{300, 0, 7, 0, 120}[k])
			}
			c := newRNNChains(chains, lengths)
			finished := make([][]atomic.Bool, chains)
			taken := make([][]atomic.Int32, chains)
			for k := range chains {
				free, ordered := lengths(k)
				finished[k] = make([]atomic.Bool, free+ordered)
				taken[k] = make([]atomic.Int32, free+ordered)
			}
			var early atomic.Int64
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c.work(w, func(k int, task int64) {
						free, _ := lengths(k)
						if task > free && !finished[k][task-1].Load() {
							early.Add(1)
						}
						if task >= free {
							for i := range free {
								if !finished[k][i].Load() {
									early.Add(1)
								}
							}
						}
						taken[k][task].Add(1)
						finished[k][task].Store(true)
					})
				}()
			}
			wg.Wait()
			if n := early.Load(); n > 0 {
				t.Errorf("%d workers, %d chains: %d tasks began before those before them finished", workers, chains, n)
			}
			for k := range chains {
				for task := range taken[k] {
					if n := taken[k][task].Load(); n != 1 {
						t.Errorf("%d workers, %d chains: task %d of chain %d taken %d times", workers, chains, task, k, n)
					}
				}
			}
		}
	}
}
