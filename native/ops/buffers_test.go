package ops

import (
	"slices"
	"testing"
	"unsafe"

	"github.com/onnxkit/onnxkit/native/tensor"
)

// TestPoolBestFit checks the pool's choice of buffer: an exact size
// first, else the smallest free buffer that holds the request when it is
// at most arena.MaxSlack times the request, else a new one; a buffer handed
// back whole whatever the length it served.
func TestPoolBestFit(t *testing.T) {
	p := NewPool()
	a, b, c := p.Float32(100), p.Float32(300), p.Float32(1000)
	data := func(x []float32) *float32 { return unsafe.SliceData(x) }
	bufA, bufB, bufC := data(a.F32()), data(b.F32()), data(c.F32())
	p.Put(c)
	p.Put(a)
	p.Put(b)

	// 250 fits in 300 (smallest large enough), not in 100.
	x := p.Float32(5, 50)
	if data(x.F32()) != bufB || len(x.F32()) != 250 || x.Shape[0] != 5 || x.Shape[1] != 50 {
		t.Fatalf("250 elements: got a buffer of cap %d, want the one of 300", cap(x.F32()))
	}
	// 200 would fit in 1000, five times it: too wasteful, a new buffer.
	y := p.Float32(200)
	if got := data(y.F32()); got == bufA || got == bufC || len(y.F32()) != 200 {
		t.Fatalf("200 elements took a pooled buffer of cap %d", cap(y.F32()))
	}
	// 250 does fit in 1000 (4 times it).
	z := p.Float32(250)
	if data(z.F32()) != bufC {
		t.Fatalf("250 elements: cap %d, want the buffer of 1000", cap(z.F32()))
	}
	// Handed back, the 1000 serves 1000 again, whole.
	p.Put(z)
	w := p.Float32(1000)
	if data(w.F32()) != bufC || len(w.F32()) != 1000 {
		t.Fatalf("1000 elements after the 250 view came back: len %d", len(w.F32()))
	}
	// The exact size is taken first, and the pool empties.
	if v := p.Float32(100); data(v.F32()) != bufA {
		t.Fatal("100 elements did not get the buffer of 100")
	}
	if p.Held() != 0 {
		t.Fatalf("pool still holds %d elements", p.Held())
	}
	if v := p.Zeros(3, 4); len(v.F32()) != 12 {
		t.Fatal("Zeros")
	} else {
		for _, e := range v.F32() {
			if e != 0 {
				t.Fatal("Zeros returned a non-zero element")
			}
		}
	}
	// Exact, and a Context whose outputs escape, take only exact sizes.
	p.Put(tensorOfCap(400))
	if e := p.Exact(300); cap(e.F32()) != 300 {
		t.Fatalf("Exact(300) got a buffer of %d", cap(e.F32()))
	}
	ctx := &Context{Pool: p, Escapes: true}
	if e := ctx.Float32(10, 30); cap(e.F32()) != 300 {
		t.Fatalf("an escaping Float32 got a buffer of %d", cap(e.F32()))
	}
	if e := (&Context{Pool: p}).Zeros(10, 30); cap(e.F32()) != 400 {
		t.Fatalf("Float32(300) got a buffer of %d, want the free 400", cap(e.F32()))
	}
	// A nil pool allocates; an empty shape is a scalar.
	var none *Pool
	if s := none.Float32(); len(s.F32()) != 1 {
		t.Fatalf("scalar of a nil pool: %d elements", len(s.F32()))
	}
}

// tensorOfCap returns a 1-D float32 tensor of n elements.
func tensorOfCap(n int) *tensor.Tensor { return tensor.FromFloat32(make([]float32, n), n) }

// TestPoolReusesHeadersNotViews checks that a buffer handed back through
// a view's header (as a Reshape's output is) comes out again under the
// pool's own header, with the new shape written into the header's own
// storage and the view's shape untouched; that a foreign tensor's buffer
// is reused under a new header. (That Settle forgets what was handed out
// and kept is the arena's TestSettleForgetsLentBuffers.)
func TestPoolReusesHeadersNotViews(t *testing.T) {
	p := NewPool()
	a := p.Float32(2, 3)
	viewShape := []int{6}
	view := &tensor.Tensor{DType: a.DType, Shape: viewShape, Data: a.Data}
	p.Put(view)
	b := p.Float32(3, 2)
	if b != a {
		t.Fatal("the buffer came back under another header")
	}
	if !slices.Equal(b.Shape, []int{3, 2}) || !slices.Equal(viewShape, []int{6}) {
		t.Fatalf("shapes %v and %v, want [3 2] and the view's [6]", b.Shape, viewShape)
	}

	foreign := tensor.Float32(5)
	p.Put(foreign)
	c := p.Float32(5)
	if c == foreign || &c.F32()[0] != &foreign.F32()[0] {
		t.Fatal("a foreign buffer should come back, under a header of the pool's")
	}

}

// TestPoolLeavesShelteredViews checks that Put ignores the view that
// Shelter names (a part of a buffer that other values hold, lent to an
// op as Context.Into) and takes buffers back once the shelter is lifted.
func TestPoolLeavesShelteredViews(t *testing.T) {
	p := NewPool()
	whole := p.Float32(64)
	view := tensor.FromFloat32(whole.F32()[16:48:48], 32)
	p.Shelter(view)
	p.Put(view)
	if held := p.Held(); held != 0 {
		t.Fatalf("the pool took a sheltered view back: it holds %d elements", held)
	}
	ctx := &Context{Pool: p, Into: view}
	if got := ctx.Float32(32); got != view {
		t.Fatal("Float32 of the Into's shape did not give the Into")
	}
	if got := ctx.Float32(32); got == view {
		t.Fatal("Float32 gave the Into twice")
	}
	p.Shelter(nil)
	p.Put(whole)
	if held := p.Held(); held != 64 {
		t.Fatalf("the pool holds %d elements after the whole buffer came back, want 64", held)
	}
}
