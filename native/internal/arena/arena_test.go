package arena

import (
	"sync"
	"testing"
	"unsafe"
)

// TestWorkBuffersBestFit checks Float32's choice among free buffers:
// the smallest that holds the request within MaxSlack times it, else a
// new one; and that a buffer given back through a shorter slice of it
// comes back whole.
func TestWorkBuffersBestFit(t *testing.T) {
	a := New()
	small, large := a.Float32(100), a.Float32(1000)
	a.Give(large[:10])
	a.Give(small)
	if got := a.Float32(250); unsafe.SliceData(got) != unsafe.SliceData(large) || len(got) != 250 || cap(got) != 1000 {
		t.Fatalf("250 elements: len %d cap %d, want the buffer of 1000", len(got), cap(got))
	}
	if got := a.Float32(20); unsafe.SliceData(got) == unsafe.SliceData(small) {
		t.Fatal("20 elements took the buffer of 100, five times it")
	}
	if got := a.Float32(90); unsafe.SliceData(got) != unsafe.SliceData(small) {
		t.Fatal("90 elements did not take the free buffer of 100")
	}
	if _, work := a.Held(); work != 0 {
		t.Fatalf("%d elements still free", work)
	}
	if a.Float32(0) != nil {
		t.Fatal("a buffer for no element")
	}
	ints := a.Int32(50)
	a.GiveInt32(ints)
	if got := a.Int32(40); unsafe.SliceData(got) != unsafe.SliceData(ints) || len(got) != 40 {
		t.Fatal("40 int32s did not take the free buffer of 50")
	}
}

// TestBlockKeepsHeader checks that a block's Header stays with its
// buffer from one Take to the next, also when the buffer came back
// through Give of a slice of it.
func TestBlockKeepsHeader(t *testing.T) {
	a := New()
	if a.Take(64, 1) != nil {
		t.Fatal("an empty arena had a block")
	}
	b := &Block{Data: make([]float32, 64), Header: "mine"}
	a.Lend(b)
	a.Give(b.Data[:32])
	if again := a.Take(64, 1); again != b || again.Header != "mine" {
		t.Fatalf("Take after Give: block %p header %v, want %p with its header", again, again.Header, b)
	}
}

// TestSettleForgetsLentBuffers checks that Settle drops the blocks lent
// and not given back (a run's outputs, which its caller keeps) and the
// reference counts, and keeps the free ones.
func TestSettleForgetsLentBuffers(t *testing.T) {
	a := New()
	kept := a.Float32(7)
	a.Give(a.Float32(9))
	a.Give(make([]float32, 5))
	a.Retain(unsafe.SliceData(kept))
	a.Settle()
	if len(a.lent) != 0 || len(a.refs) != 0 {
		t.Fatalf("%d buffers lent and %d counted after Settle", len(a.lent), len(a.refs))
	}
	if values, work := a.Held(); values != 5 || work != 9 {
		t.Fatalf("%d and %d elements free after Settle, want the 5 and 9 given back", values, work)
	}
}

// TestRefs checks Retain and Release: a buffer is free to give back when
// its last holder releases it.
func TestRefs(t *testing.T) {
	a := New()
	buf := unsafe.SliceData(a.Float32(4))
	a.Retain(buf)
	a.Retain(buf)
	if a.Release(buf) || a.Refs(buf) != 1 {
		t.Fatalf("one of two holders released: free, or %d holders left", a.Refs(buf))
	}
	if !a.Release(buf) || a.Refs(buf) != 0 {
		t.Fatal("the last holder released, and the buffer is not free")
	}
	if a.Release(buf) {
		t.Fatal("a buffer released more often than retained is free")
	}
}

// TestConcurrentWorkBuffers takes and gives buffers from many goroutines
// at once (under the race detector in the race tier) and checks that no
// buffer is handed to two of them at a time.
func TestConcurrentWorkBuffers(t *testing.T) {
	a := New()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				n := 16 + (g*31+i*7)%64
				buf := a.Float32(n)
				for j := range buf {
					buf[j] = float32(g)
				}
				for j, v := range buf {
					if v != float32(g) {
						t.Errorf("goroutine %d: element %d is %v: the buffer is shared", g, j, v)
						return
					}
				}
				a.Give(buf)
			}
		}()
	}
	wg.Wait()
}

// TestValuesAndWorkApart checks that a value's buffer given back serves
// only values, and a work buffer only work buffers, and that a buffer the
// arena did not lend joins the values.
func TestValuesAndWorkApart(t *testing.T) {
	a := New()
	value := &Block{Data: make([]float32, 100)}
	a.Lend(value)
	a.Give(value.Data)
	if w := a.Float32(100); unsafe.SliceData(w) == unsafe.SliceData(value.Data) {
		t.Fatal("a work buffer took a value's free buffer")
	}
	foreign := make([]float32, 50)
	a.Give(foreign)
	if b := a.Take(50, 1); unsafe.SliceData(b.Data) != unsafe.SliceData(foreign) {
		t.Fatal("a buffer the arena did not lend did not join its values")
	}
}

// TestNilArena checks that the nil Arena allocates and keeps nothing.
func TestNilArena(t *testing.T) {
	var a *Arena
	b := a.Float32(5)
	a.Give(b)
	if values, work := a.Held(); len(b) != 5 || values+work != 0 || len(a.Int32(3)) != 3 || a.Take(1, 1) != nil {
		t.Fatal("the nil Arena")
	}
	a.Settle()
}

// TestLent tells the arena's own buffers, lent and not back, from the
// caller's and from those given back.
func TestLent(t *testing.T) {
	a := New()
	work := a.Float32(8)
	b := &Block{Data: make([]float32, 4)}
	a.Lend(b)
	mine := make([]float32, 4)
	if !a.Lent(unsafe.SliceData(work)) || !a.Lent(unsafe.SliceData(b.Data)) {
		t.Fatal("a lent buffer is not Lent")
	}
	if a.Lent(unsafe.SliceData(mine)) || a.Lent(nil) {
		t.Fatal("a buffer the arena never lent is Lent")
	}
	a.Give(b.Data)
	if a.Lent(unsafe.SliceData(b.Data)) {
		t.Fatal("a buffer given back is still Lent")
	}
	if (*Arena)(nil).Lent(unsafe.SliceData(work)) {
		t.Fatal("the nil Arena lends")
	}
}
