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
	small, large := a.Float32(100, 0), a.Float32(1000, 0)
	a.Give(large[:10])
	a.Give(small)
	if got := a.Float32(252, 0); unsafe.SliceData(got) != unsafe.SliceData(large) || len(got) != 252 || cap(got) != cap(large) {
		t.Fatalf("252 elements: len %d cap %d, want the buffer of 1000 (1008)", len(got), cap(got))
	}
	if got := a.Float32(20, 0); unsafe.SliceData(got) == unsafe.SliceData(small) {
		t.Fatal("20 elements took the buffer of 100, five times it")
	}
	if got := a.Float32(90, 0); unsafe.SliceData(got) != unsafe.SliceData(small) {
		t.Fatal("90 elements did not take the free buffer of 100")
	}
	if _, work := a.Held(); work != 0 {
		t.Fatalf("%d elements still free", work)
	}
	if a.Float32(0, 0) != nil {
		t.Fatal("a buffer for no element")
	}
	ints := a.Int32(50, 0)
	a.GiveInt32(ints, 0)
	if got := a.Int32(40, 0); unsafe.SliceData(got) != unsafe.SliceData(ints) || len(got) != 40 {
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
	kept := a.Float32(7, 0)
	a.Give(a.Float32(9, 0))
	a.Give(make([]float32, 5))
	a.Retain(unsafe.SliceData(kept))
	a.Settle()
	if len(a.lent) != 0 || len(a.refs) != 0 {
		t.Fatalf("%d buffers lent and %d counted after Settle", len(a.lent), len(a.refs))
	}
	if values, work := a.Held(); values != 5 || work != 16 {
		t.Fatalf("%d and %d elements free after Settle, want the 5 given back and the line of 16 of the 9", values, work)
	}
}

// TestRefs checks Retain and Release: a buffer is free to give back when
// its last holder releases it.
func TestRefs(t *testing.T) {
	a := New()
	buf := unsafe.SliceData(a.Float32(4, 0))
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
				buf := a.Float32(n, 0)
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
	if w := a.Float32(100, 0); unsafe.SliceData(w) == unsafe.SliceData(value.Data) {
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
	b := a.Float32(5, 0)
	a.Give(b)
	if values, work := a.Held(); len(b) != 5 || values+work != 0 || len(a.Int32(3, 0)) != 3 || a.Take(1, 1) != nil {
		t.Fatal("the nil Arena")
	}
	a.Settle()
}

// TestLent tells the arena's own buffers, lent and not back, from the
// caller's and from those given back.
func TestLent(t *testing.T) {
	a := New()
	work := a.Float32(8, 0)
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

// TestWorkBuffersOwnTheirCacheLines checks that a new work buffer, of
// float32s or int32s, starts a cache line and that its capacity ends
// one, so that no other buffer shares a line with it.
func TestWorkBuffersOwnTheirCacheLines(t *testing.T) {
	a := New()
	for _, n := range []int{1, 15, 16, 17, 34, 100, 1000, 4097} {
		f, i := a.Float32(n, 0), a.Int32(n, 0)
		for _, b := range []struct {
			kind      string
			at        uintptr
			len, cap_ int
		}{
			{"float32", uintptr(unsafe.Pointer(unsafe.SliceData(f))), len(f), cap(f)},
			{"int32", uintptr(unsafe.Pointer(unsafe.SliceData(i))), len(i), cap(i)},
		} {
			if b.at%64 != 0 || b.len != n || b.cap_%16 != 0 || b.cap_ < n || b.cap_ >= n+16 {
				t.Errorf("%d %s: address %#x, len %d, cap %d: want a line's start, len %d and the lines it touches", n, b.kind, b.at, b.len, b.cap_, n)
			}
		}
	}
}

// TestWorkBuffersGoBackToTheirOwner checks that among the free work
// buffers that fit, Float32 and Int32 hand an owner the one it took
// last, a larger one within MaxSlack included, before the smallest or
// the last given back; and that without an owner, or with none of its
// own free, the choice is the smallest, the last given back of its size.
func TestWorkBuffersGoBackToTheirOwner(t *testing.T) {
	a := New()
	const one, two = 1, 2
	mine, smaller, theirs := a.Float32(160, one), a.Float32(128, two), a.Float32(160, two)
	a.Give(mine)
	a.Give(smaller)
	a.Give(theirs)
	if got := a.Float32(100, one); unsafe.SliceData(got) != unsafe.SliceData(mine) {
		t.Fatal("owner 1 did not get back its own buffer")
	}
	if got := a.Float32(100, 3); unsafe.SliceData(got) != unsafe.SliceData(smaller) {
		t.Fatal("an owner with no free buffer of its own did not get the smallest")
	}
	if got := a.Float32(100, 0); unsafe.SliceData(got) != unsafe.SliceData(theirs) {
		t.Fatal("no owner: did not get the only free buffer")
	}
	ints := [3][]int32{a.Int32(40, 0), a.Int32(40, 0), a.Int32(60, 0)}
	a.GiveInt32(ints[0], one)
	a.GiveInt32(ints[1], two)
	a.GiveInt32(ints[2], one)
	if got := a.Int32(30, two); unsafe.SliceData(got) != unsafe.SliceData(ints[1]) {
		t.Fatal("owner 2 did not get back its own int32 buffer")
	}
	if got := a.Int32(30, 3); unsafe.SliceData(got) != unsafe.SliceData(ints[0]) {
		t.Fatal("an owner with no int32 buffer of its own did not get the smallest")
	}
	if got := a.Int32(50, one); unsafe.SliceData(got) != unsafe.SliceData(ints[2]) {
		t.Fatal("owner 1 did not get the only int32 buffer that holds 50")
	}
}
