package main

import (
	"math"
	"testing"
	"time"
)

func TestSummarizeLatency(t *testing.T) {
	ms := time.Millisecond
	// 10 times, sorted 1..10 ms. Median of an even count: (5+6)/2 = 5.5
	// ms. Nearest rank: p90 is the ceil(0.9*10) = 9th, p99 the
	// ceil(9.9) = 10th. Batch 4 / 5.5 ms = 727.27 images/s.
	times := []time.Duration{7 * ms, 1 * ms, 10 * ms, 3 * ms, 2 * ms, 9 * ms, 4 * ms, 6 * ms, 5 * ms, 8 * ms}
	l := summarizeLatency(times, 4)
	want := latency{Runs: 10, Batch: 4, Median: 5500 * time.Microsecond, P90: 9 * ms, P99: 10 * ms, Min: ms, Max: 10 * ms}
	got := l
	got.ImagesPerSecond = 0
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if math.Abs(l.ImagesPerSecond-4/0.0055) > 1e-9 {
		t.Errorf("images/s %g, want %g", l.ImagesPerSecond, 4/0.0055)
	}
	if times[0] != 7*ms {
		t.Error("summarizeLatency sorted its argument")
	}

	// One run: every statistic is that run.
	one := summarizeLatency([]time.Duration{3 * ms}, 1)
	if one.Median != 3*ms || one.P90 != 3*ms || one.P99 != 3*ms || one.Min != 3*ms || one.Max != 3*ms {
		t.Errorf("one run: %+v", one)
	}
}

// TestLatencySampleIsBounded feeds a million times through the sampler:
// it keeps benchSampleSize of them, the count, minimum and maximum are
// exact, and the sampled percentiles of the uniform times 1..10^6 µs are
// within 1% of the true ones. With fewer times than its capacity the
// summary is summarizeLatency's, exactly.
func TestLatencySampleIsBounded(t *testing.T) {
	const n = 1000000
	s := newLatencySample(benchSampleSize)
	for i := range n {
		// A permutation of 1..n µs: i*7919 mod n visits every residue.
		s.add(time.Duration((i*7919)%n+1) * time.Microsecond)
	}
	if len(s.kept) != benchSampleSize {
		t.Fatalf("kept %d times, want %d", len(s.kept), benchSampleSize)
	}
	l := s.summarize(1)
	if l.Runs != n || l.Min != time.Microsecond || l.Max != n*time.Microsecond {
		t.Errorf("runs %d min %v max %v, want %d, 1µs, 1s", l.Runs, l.Min, l.Max, n)
	}
	for _, c := range []struct {
		name string
		got  time.Duration
		p    float64
	}{{"median", l.Median, 0.5}, {"p90", l.P90, 0.9}, {"p99", l.P99, 0.99}} {
		want := c.p * n * float64(time.Microsecond)
		if math.Abs(float64(c.got)-want) > 0.01*n*float64(time.Microsecond) {
			t.Errorf("%s %v, want %v within 1%% of the range", c.name, c.got, time.Duration(want))
		}
	}

	ms := time.Millisecond
	times := []time.Duration{7 * ms, 1 * ms, 10 * ms, 3 * ms}
	small := newLatencySample(benchSampleSize)
	for _, d := range times {
		small.add(d)
	}
	if got, want := small.summarize(2), summarizeLatency(times, 2); got != want {
		t.Errorf("4 times: %+v, want %+v", got, want)
	}
}

func TestRoundDurationAndThousands(t *testing.T) {
	for _, c := range []struct{ in, want time.Duration }{
		{78026030 * time.Nanosecond, 78030 * time.Microsecond},
		{1234567890 * time.Nanosecond, 1235 * time.Millisecond},
		{999 * time.Nanosecond, 999 * time.Nanosecond},
		{12345 * time.Nanosecond, 12350 * time.Nanosecond},
	} {
		if got := roundDuration(c.in); got != c.want {
			t.Errorf("roundDuration(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 24834833: "24,834,833", -1234567: "-1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
