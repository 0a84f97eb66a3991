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
