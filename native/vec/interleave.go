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
	if done == n {
		return
	}
	interleaveGo(dst[done:], even[done/2:], odd[done/2:], bias, relu, accumulate)
}

// interleaveGo is Interleave in Go, from an even index.
func interleaveGo(dst, even, odd []float32, bias float32, relu, accumulate bool) {
	pairs := len(dst) / 2
	even, odd = even[:(len(dst)+1)/2], odd[:pairs]
	for j := range pairs {
		out := dst[2*j : 2*j+2 : 2*j+2]
		out[0], out[1] = interleaved(out[0], even[j], bias, relu, accumulate), interleaved(out[1], odd[j], bias, relu, accumulate)
	}
	if len(dst)%2 == 1 {
		dst[2*pairs] = interleaved(dst[2*pairs], even[pairs], bias, relu, accumulate)
	}
}

// interleaved is what Interleave and Interleave4 store for a source
// value v where dst held old.
func interleaved(old, v, bias float32, relu, accumulate bool) float32 {
	if accumulate {
		return old + v
	}
	v += bias
	if relu {
		// Without a branch on the sign, which random data mispredicts
		// half the time: rows of 28 took 184 ns rather than 37. (A NaN
		// stays, as with the assembly's VMAXPS.)
		v = max(v, 0)
	}
	return v
}

// Interleave4 stores the elements of a, b, c and d in turn into dst,
// dst[4j+k] from the k-th of them at j, for the indices below len(dst)
// (any length): with accumulate, adding them to dst; else storing them
// plus bias, and with relu max(v, 0), as Interleave does. The outputs of
// Winograd's 4x4 tiles reach a row of the output plane this way, in one
// pass where two rounds of Interleave took three.
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
	if rest := dst[done:]; hasAVX2() && len(rest) >= 16 {
		// 16 to 31 left (F(4x4, 3x3)'s rows of 28 on 28x28 planes): one
		// vector of 8 quadruples through buffers on the stack, 26 ns a
		// random row of 28 against 37-57 in interleave4Go (which is
		// faster below 16: 13 against 20 ns for 7).
		var srcs [4][8]float32
		var out [32]float32
		m := len(rest)
		copy(srcs[0][:], a[done/4:][:(m+3)/4])
		copy(srcs[1][:], b[done/4:][:(m+2)/4])
		copy(srcs[2][:], c[done/4:][:(m+1)/4])
		copy(srcs[3][:], d[done/4:][:m/4])
		if accumulate {
			copy(out[:], rest)
		}
		interleave4AVX2(1, &out[0], &srcs[0][0], &srcs[1][0], &srcs[2][0], &srcs[3][0], bias, relu, accumulate)
		copy(rest, out[:])
		return
	}
	interleave4Go(dst[done:], a[done/4:], b[done/4:], c[done/4:], d[done/4:], bias, relu, accumulate)
}

// interleave4Go is Interleave4 in Go, from an index a multiple of 4.
func interleave4Go(dst, a, b, c, d []float32, bias float32, relu, accumulate bool) {
	quads := len(dst) / 4
	for j, v := range a[:quads] {
		out := dst[4*j : 4*j+4 : 4*j+4]
		out[0] = interleaved(out[0], v, bias, relu, accumulate)
		out[1] = interleaved(out[1], b[j], bias, relu, accumulate)
		out[2] = interleaved(out[2], c[j], bias, relu, accumulate)
		out[3] = interleaved(out[3], d[j], bias, relu, accumulate)
	}
	srcs := [3][]float32{a, b, c} // of a last partial quadruple
	for i := 4 * quads; i < len(dst); i++ {
		dst[i] = interleaved(dst[i], srcs[i%4][quads], bias, relu, accumulate)
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
	// The rest quadruple by quadruple: rows shorter than 32 (30, the
	// padded 28x28 planes of F(4x4, 3x3)) took twice as long element by
	// element.
	quads := (n - done) / 4
	for j := range quads {
		in := src[done+4*j : done+4*j+4 : done+4*j+4]
		at := done/4 + j
		a[at], b[at], c[at], d[at] = in[0], in[1], in[2], in[3]
	}
	for i := done + 4*quads; i < n; i++ {
		[3][]float32{a, b, c}[i%4][i/4] = src[i]
	}
}
