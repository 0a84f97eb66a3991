package ops

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestStepBarrier has teams of 1 to 5 goroutines write their round
// number into their own slot, wait, and check that every member has
// written it, for enough rounds that some waits sleep (GOMAXPROCS is
// often below the team size) and some spin.
func TestStepBarrier(t *testing.T) {
	for members := 1; members <= 5; members++ {
		const rounds = 2000
		bar := newStepBarrier(members)
		slots := make([]atomic.Int64, members)
		var failures atomic.Int64
		var wg sync.WaitGroup
		for m := range members {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := int64(1); r <= rounds; r++ {
					slots[m].Store(r)
					bar.wait()
					for i := range slots {
						if v := slots[i].Load(); v != r {
							failures.Add(1)
						}
					}
					bar.wait() // nobody writes round r+1 before all have read
				}
			}()
		}
		wg.Wait()
		if n := failures.Load(); n > 0 {
			t.Errorf("%d members: %d reads saw another round's value after the barrier", members, n)
		}
	}
}
