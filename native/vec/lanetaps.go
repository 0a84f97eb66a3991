package vec

import "fmt"

// TapLanes is how many channels LaneTaps sums side by side: the lanes
// of its vectors.
const TapLanes = 8

// LaneTaps is a direct convolution of TapLanes channels at once, their
// planes interleaved lane by lane (element l of each run of TapLanes
// belongs to channel l): the windows of its output positions and the
// taps of its kernel, checked once for all the planes it sums.
type LaneTaps struct {
	positions, taps []int32
	lo, hi          int64 // the least offset read and the greatest plus one
}

// NewLaneTaps returns the sums of taps at positions in planes
// interleaved lane by lane: positions[p] is where output p's window
// starts in the planes, taps[t] where kernel position t lies in a window.
// Neither may change afterwards; taps must not be empty.
func NewLaneTaps(positions, taps []int32) *LaneTaps {
	if len(taps) == 0 {
		panic("vec: LaneTaps without taps")
	}
	s := &LaneTaps{positions: positions, taps: taps}
	if len(positions) > 0 {
		lo, hi := offsetRange(positions)
		tlo, thi := offsetRange(taps)
		s.lo, s.hi = lo+tlo, hi+thi+TapLanes
	}
	return s
}

// Positions returns the number of output positions.
func (s *LaneTaps) Positions() int { return len(s.positions) }

// Sum stores, for the len(dst)/TapLanes output positions p from first
// on and each lane l < TapLanes,
//
//	dst[(p-first)*TapLanes+l] = a + Σ_t weights[t*TapLanes+l] * src[positions[p]+taps[t]+l]
//
// with a the value in dst under accumulate and bias[l] otherwise. The taps are summed in
// order; the assembly fuses each multiply-add, Go rounds the product
// first. Every tap of every position must lie in src.
func (s *LaneTaps) Sum(dst []float32, first int, src, weights, bias []float32, accumulate bool) {
	const l = TapLanes
	n := len(dst) / l
	if len(dst)%l != 0 {
		panic(fmt.Sprintf("vec: LaneTaps into %d, not whole positions", len(dst)))
	}
	s.check(first, n, src, weights, bias)
	positions := s.positions[first : first+n]
	if n == 0 || laneTapsFast(dst, src, positions, s.taps, weights, bias, accumulate) {
		return
	}
	for p, at := range positions {
		out := dst[p*l : p*l+l]
		if !accumulate {
			copy(out, bias[:l])
		}
		for t, o := range s.taps {
			in := src[int(at)+int(o):][:l]
			w := weights[t*l : t*l+l]
			for j := range out {
				out[j] += w[j] * in[j]
			}
		}
	}
}

// InterleavePlanes stores rows [0, rows) of planes planes of src (1 to
// TapLanes), planeStride apart, each row width elements and the rows
// width apart, lane by lane into rows of dst dstRowStride apart, as
// LaneTaps reads them: element x of row r of plane l at
// dst[r*dstRowStride+x*TapLanes+l], zero added as TransposeBias adds it
// (a -0 becomes a 0), the lanes from planes on zero. What lies between
// the rows of dst is left as it is. With AVX-512 one loop interleaves
// all the rows, the last columns of each through masks (LaneTapsMasked);
// otherwise each row is a TransposeBias.
func InterleavePlanes(dst []float32, dstRowStride int, src []float32, planeStride, planes, width, rows int) {
	const l = TapLanes
	if rows == 0 || width == 0 {
		return
	}
	if rows < 0 || width < 0 || planes < 1 || planes > l || dstRowStride < width*l || planeStride < rows*width ||
		(rows-1)*dstRowStride+width*l > len(dst) || (planes-1)*planeStride+rows*width > len(src) {
		panic(fmt.Sprintf("vec: InterleavePlanes of %d rows of %d of %d planes %d apart in %d, into rows %d apart in %d",
			rows, width, planes, planeStride, len(src), dstRowStride, len(dst)))
	}
	if interleavePlanesFast(dst, dstRowStride, src, planeStride, planes, width, rows) {
		return
	}
	for r := range rows {
		row := dst[r*dstRowStride:][:width*l]
		TransposeBias(row, l, src[r*width:], planeStride, planes, width, nil, false)
		for x := 0; planes < l && x < width; x++ {
			clear(row[x*l+planes : (x+1)*l])
		}
	}
}

// LaneRowSlack is how many floats past the windows of its positions
// SumLaneRow may read from src: its last block of fewer than eight
// positions reads as a whole one does (the loops' strides are 1).
const LaneRowSlack = 7 * TapLanes

// SumLaneRow stores what LaneTaps.SumPlanes stores, for n positions
// along one output row of a convolution with unit dilation: the window
// of position p at src[p*stride*TapLanes:], the kernel's kh rows of kw
// taps rowStride floats apart (tap (r, c) at r*rowStride+c*TapLanes in
// a window, weights [kh*kw][TapLanes]), into the first planes of the
// lanes' planes planeStride apart, lane l of position p at
// dst[l*planeStride+p], with bias, zero added and act (with lo and hi,
// Clip's bounds). src must hold LaneRowSlack floats past the last
// window. With AVX-512 and the strides and widths of LaneRowFits, a
// loop loads each input vector of a kernel row once for the eight
// positions of a block that read it, and the kernel row's weights once,
// rather than every tap of every position; otherwise it is SumPlanes.
// The taps are summed in SumPlanes' order, fused alike: the same bits.
func SumLaneRow(dst []float32, planeStride, planes, n int, src []float32, stride, rowStride, kh, kw int, weights, bias []float32, act StoreActivation, lo, hi float32) {
	const l = TapLanes
	if n == 0 {
		return
	}
	if n < 0 || stride < 1 || kh < 1 || kw < 1 || rowStride < 0 || planes < 1 || planes > l || planeStride < n ||
		(planes-1)*planeStride+n > len(dst) || len(weights) != kh*kw*l || len(bias) < l ||
		(kh-1)*rowStride+((n-1)*stride+kw)*l+LaneRowSlack > len(src) {
		panic(fmt.Sprintf("vec: SumLaneRow of %d positions at stride %d into %d planes %d apart in %d, a %dx%d kernel, rows %d apart in %d, %d weights, %d biases",
			n, stride, planes, planeStride, len(dst), kh, kw, rowStride, len(src), len(weights), len(bias)))
	}
	if sumLaneRowFast(dst, planeStride, planes, n, src, stride, rowStride, kh, kw, weights, bias, act, lo, hi) {
		return
	}
	positions, taps := make([]int32, n), make([]int32, 0, kh*kw)
	for p := range positions {
		positions[p] = int32(p * stride * l)
	}
	for r := range kh {
		for c := range kw {
			taps = append(taps, int32(r*rowStride+c*l))
		}
	}
	NewLaneTaps(positions, taps).SumPlanes(dst, planeStride, planes, 0, n, src, weights, bias, act, lo, hi)
}

// StoreActivation is the activation LaneTaps.SumPlanes and ChannelTaps
// apply to each value as they store it, with the bits of the vec
// function of the same name.
type StoreActivation uint8

// The activations SumPlanes and ChannelTaps apply.
const (
	StoreIdentity  StoreActivation = iota // v
	StoreRelu                             // max(v, 0), Go's max
	StoreClip                             // v clamped to [lo, hi], as Clip
	StoreHardSwish                        // as HardSwish (lo and hi unused)
)

// SumPlanes stores the sums of Sum (started from bias) for the n
// positions p from first on into the first planes (1 to TapLanes) of
// the lanes' planes, planeStride apart, lane l < planes of position p
// at dst[l*planeStride+p-first], as Sum then TransposeBias without a
// bias would: zero added (a -0 becomes a 0), then act (with lo and hi,
// Clip's bounds). The assembly transposes each block of eight positions
// in registers, sparing the buffer in between, and applies act there,
// sparing a pass over the planes; with AVX-512 (LaneTapsMasked) it
// stores the last positions of n, fewer than eight, under a mask, and
// fewer planes than the lanes, which otherwise Go stores.
func (s *LaneTaps) SumPlanes(dst []float32, planeStride, planes, first, n int, src, weights, bias []float32, act StoreActivation, lo, hi float32) {
	const l = TapLanes
	if n < 0 || planeStride < n || planes < 1 || planes > l || (n > 0 && (planes-1)*planeStride+n > len(dst)) {
		panic(fmt.Sprintf("vec: LaneTaps of %d positions into %d planes %d apart in %d", n, planes, planeStride, len(dst)))
	}
	s.check(first, n, src, weights, bias)
	if n == 0 {
		return
	}
	done := laneTapsPlanesFast(dst, planeStride, planes, src, s.positions[first:first+n], s.taps, weights, bias, act, lo, hi)
	var buf [l * l]float32
	for i := done; i < n; i += l {
		cnt := min(l, n-i)
		s.Sum(buf[:cnt*l], first+i, src, weights, bias, false)
		for p := range cnt {
			for j := range planes {
				dst[j*planeStride+i+p] = act.apply(buf[p*l+j]+0, lo, hi)
			}
		}
	}
}

// apply returns a(v) as the assembly computes it.
func (a StoreActivation) apply(v, lo, hi float32) float32 {
	switch a {
	case StoreIdentity:
		return v
	case StoreRelu:
		return max(v, 0)
	case StoreClip:
		return clip32(v, lo, hi)
	case StoreHardSwish:
		return v * hardSigmoid32(v, HardSwishAlpha, HardSwishBeta)
	}
	panic(fmt.Sprintf("vec: unknown store activation %d", a))
}

// check panics unless positions [first, first+n) are s's and their
// taps lie in src, and weights and bias are those of s's taps and lanes.
func (s *LaneTaps) check(first, n int, src, weights, bias []float32) {
	if first < 0 || first+n > len(s.positions) || len(weights) != TapLanes*len(s.taps) || len(bias) < TapLanes ||
		s.lo < 0 || s.hi > int64(len(src)) {
		panic(fmt.Sprintf("vec: LaneTaps of positions [%d, %d) of %d, reading [%d, %d) of %d, %d taps, %d weights, %d biases",
			first, first+n, len(s.positions), s.lo, s.hi, len(src), len(s.taps), len(weights), len(bias)))
	}
}

// offsetRange returns the least and the greatest of offsets, which is
// not empty.
func offsetRange(offsets []int32) (lo, hi int64) {
	lo, hi = int64(offsets[0]), int64(offsets[0])
	for _, o := range offsets[1:] {
		lo, hi = min(lo, int64(o)), max(hi, int64(o))
	}
	return lo, hi
}
