package vec

import "fmt"

// Interleave stores the elements of even and odd alternately into dst,
// dst[2j] from even[j] and dst[2j+1] from odd[j] for the indices below
// len(dst) (which may be odd): with accumulate, adding them to dst;
// else storing them plus bias, and with relu max(v, 0). The outputs of
// Winograd's 2x2 tiles reach a row of the output plane this way.
func Interleave(dst, even, odd []float32, bias float32, relu, accumulate bool) {
	n := len(dst)
	if len(even) < (n+1)/2 || len(odd) < n/2 {
		panic(fmt.Sprintf("vec: Interleave of %d and %d values into %d", len(even), len(odd), n))
	}
	done := 0
	if hasAVX2() && n >= 16 {
		// Whole vectors of 8 pairs; without accumulate, the last few
		// pairs again as the last 8 (storing twice changes nothing).
		pairs := n / 2 / 8 * 8
		interleaveAVX2(pairs/8, &dst[0], &even[0], &odd[0], bias, relu, accumulate)
		done = 2 * pairs
		if !accumulate && done < n-1 {
			at := n/2 - 8
			interleaveAVX2(1, &dst[2*at], &even[at], &odd[at], bias, relu, false)
			done = n / 2 * 2
		}
	}
	for i := done; i < n; i++ {
		v := even[i/2]
		if i%2 == 1 {
			v = odd[i/2]
		}
		switch {
		case accumulate:
			dst[i] += v
		case relu:
			dst[i] = max(v+bias, 0)
		default:
			dst[i] = v + bias
		}
	}
}

// Interleave4 stores the elements of a, b, c and d in turn into dst,
// dst[4j+k] from the k-th of them at j, for the indices below len(dst)
// (any length): with accumulate, adding them to dst; else storing them
// plus bias, and with relu max(v, 0), as Interleave does. The outputs of
// Winograd's 4x4 tiles reach a row of the output plane this way, in one
// pass where two rounds of Interleave took three. Sources that hold
// (len(dst)+3)/4 elements each let a last partial quadruple go through
// the vector loop too.
func Interleave4(dst, a, b, c, d []float32, bias float32, relu, accumulate bool) {
	n := len(dst)
	if len(a) < (n+3)/4 || len(b) < (n+2)/4 || len(c) < (n+1)/4 || len(d) < n/4 {
		panic(fmt.Sprintf("vec: Interleave4 of %d, %d, %d and %d values into %d", len(a), len(b), len(c), len(d), n))
	}
	done := 0
	if hasAVX2() && n >= 32 {
		// Whole vectors of 8 quadruples; without accumulate, the last
		// whole quadruples again as the last 8 (storing twice changes
		// nothing).
		quads := n / 4 / 8 * 8
		interleave4AVX2(quads/8, &dst[0], &a[0], &b[0], &c[0], &d[0], bias, relu, accumulate)
		done = 4 * quads
		if !accumulate && done <= n-4 {
			at := n/4 - 8
			interleave4AVX2(1, &dst[4*at], &a[at], &b[at], &c[at], &d[at], bias, relu, false)
			done = n / 4 * 4
		}
	}
	if done == n {
		return
	}
	if q := (n + 3) / 4; !accumulate && hasAVX2() && n >= 32 && min(len(b), len(c), len(d)) >= q {
		// A last partial quadruple, with sources long enough for it:
		// the last 8 quadruples into a buffer, whose part inside dst is
		// copied.
		var last [32]float32
		interleave4AVX2(1, &last[0], &a[q-8], &b[q-8], &c[q-8], &d[q-8], bias, relu, false)
		copy(dst[done:], last[done-4*(q-8):])
		return
	}
	interleave4Go(dst[done:], a[done/4:], b[done/4:], c[done/4:], d[done/4:], bias, relu, accumulate)
}

// interleave4Go is Interleave4 in Go, from an index a multiple of 4.
func interleave4Go(dst, a, b, c, d []float32, bias float32, relu, accumulate bool) {
	for i := range dst {
		var v float32
		switch i % 4 {
		case 0:
			v = a[i/4]
		case 1:
			v = b[i/4]
		case 2:
			v = c[i/4]
		default:
			v = d[i/4]
		}
		if accumulate {
			dst[i] += v
			continue
		}
		v += bias
		if relu && v < 0 { // a NaN stays, as with the assembly's VMAXPS
			v = 0
		}
		dst[i] = v
	}
}

// Deinterleave stores the elements of src alternately into even and
// odd, src[2j] in even[j] and src[2j+1] in odd[j]: even must hold
// (len(src)+1)/2 elements and odd len(src)/2. A direct convolution
// with a stride of 2 splits the columns of its input this way.
func Deinterleave(even, odd, src []float32) {
	n := len(src)
	if len(even) < (n+1)/2 || len(odd) < n/2 {
		panic(fmt.Sprintf("vec: Deinterleave of %d values into %d and %d", n, len(even), len(odd)))
	}
	done := 0
	if hasAVX2() && n >= 16 {
		blocks := n / 16
		deinterleaveAVX2(blocks, &even[0], &odd[0], &src[0])
		done = 16 * blocks
	}
	for i := done; i+1 < n; i += 2 {
		even[i/2], odd[i/2] = src[i], src[i+1]
	}
	if n%2 == 1 {
		even[n/2] = src[n-1]
	}
}

// Deinterleave4 stores the elements of src in turn into a, b, c and d,
// src[4j+k] in the k-th of them at j: a must hold (len(src)+3)/4
// elements, b (len(src)+2)/4, c (len(src)+1)/4 and d len(src)/4.
// Winograd's F(4x4, 3x3) splits the rows of its input planes into their
// four phases of columns this way, in one pass where two rounds of
// Deinterleave took three.
func Deinterleave4(a, b, c, d, src []float32) {
	n := len(src)
	if len(a) < (n+3)/4 || len(b) < (n+2)/4 || len(c) < (n+1)/4 || len(d) < n/4 {
		panic(fmt.Sprintf("vec: Deinterleave4 of %d values into %d, %d, %d and %d", n, len(a), len(b), len(c), len(d)))
	}
	done := 0
	if hasAVX2() && n >= 32 {
		blocks := n / 32
		deinterleave4AVX2(blocks, &a[0], &b[0], &c[0], &d[0], &src[0])
		done = 32 * blocks
		if at := (n - 32) / 4; 4*at+32 > done {
			// The last 8 whole quadruples again (copying twice
			// changes nothing).
			deinterleave4AVX2(1, &a[at], &b[at], &c[at], &d[at], &src[4*at])
			done = 4*at + 32
		}
	}
	for i := done; i < n; i++ {
		switch v := src[i]; i % 4 {
		case 0:
			a[i/4] = v
		case 1:
			b[i/4] = v
		case 2:
			c[i/4] = v
		default:
			d[i/4] = v
		}
	}
}
