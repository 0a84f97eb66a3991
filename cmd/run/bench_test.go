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
