package data

import "math"

// rng is a small, fully specified pseudo-random generator (SplitMix64).
// The pipeline uses it instead of math/rand so that shuffles, splits and
// augmentations are the same on every Go release and platform: a resumed
// run must see exactly the batches the interrupted run would have seen.
type rng struct{ state uint64 }

// Stream tags keep the generators used for different purposes apart even
// when their other keys coincide.
const (
	streamShuffle uint64 = 0x53485546464c45 // "SHUFFLE"
	streamAugment uint64 = 0x4155474d454e54 // "AUGMENT"
	streamSplit   uint64 = 0x53504c4954     // "SPLIT"
)

// mix64 is the SplitMix64 output function, a bijective avalanche on 64 bits.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// newRNG seeds a generator from an ordered list of keys, so that
// (seed, epoch, index) triples that differ in any position give unrelated
// streams.
func newRNG(keys ...uint64) *rng {
	h := uint64(0x6a09e667f3bcc909)
	for _, k := range keys {
		h = mix64(h ^ mix64(k+0x9e3779b97f4a7c15))
	}
	return &rng{state: h}
}

// uint64 returns the next 64 random bits.
func (r *rng) uint64() uint64 {
	r.state += 0x9e3779b97f4a7c15
	return mix64(r.state)
}

// intn returns a uniform integer in [0, n) for n > 0, without modulo bias
// (rejection of the incomplete top range).
func (r *rng) intn(n int) int {
	if n <= 0 {
		panic("data: rng.intn with n <= 0")
	}
	bound := uint64(n)
	limit := math.MaxUint64 - math.MaxUint64%bound
	for {
		v := r.uint64()
		if v < limit {
			return int(v % bound)
		}
	}
}

// float64 returns a uniform number in [0, 1) with 53 random bits.
func (r *rng) float64() float64 {
	return float64(r.uint64()>>11) / (1 << 53)
}

// normal returns a standard normal deviate (Box-Muller, cosine branch).
func (r *rng) normal() float64 {
	u1 := 1 - r.float64() // (0, 1], so the logarithm is finite
	u2 := r.float64()
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// shuffle permutes p in place (Fisher-Yates, from the end).
func (r *rng) shuffle(p []int) {
	for i := len(p) - 1; i > 0; i-- {
		j := r.intn(i + 1)
		p[i], p[j] = p[j], p[i]
	}
}
