package kernels

import (
	"math"
	"strings"
	"testing"
)

// Tolerances for the softmax cross-entropy loss.
var (
	// Loss against float64: per-row log-sum-exp in float64, mean rounded once.
	tolLoss = tolerance{Abs: 1e-6, Rel: 1e-6}
	// dLogits against central differences of the loss (eps = 1e-2, smooth,
	// second derivatives <= 1/4N): truncation and float32 rounding of the
	// scalar loss divided by 2*eps.
	tolLossGrad = tolerance{Abs: 5e-5, Rel: 2e-3}
)

// crossEntropyRef is the loss in float64 from the definition.
func crossEntropyRef(logits []float32, labels []int, n, k int) float64 {
	var total float64
	for r := 0; r < n; r++ {
		var sum float64
		for j := 0; j < k; j++ {
			sum += math.Exp(float64(logits[r*k+j]))
		}
		total += -math.Log(math.Exp(float64(logits[r*k+labels[r]])) / sum)
	}
	return total / float64(n)
}

func TestSoftmaxCrossEntropy(t *testing.T) {
	rng := newRNG(101)
	const n, k = 6, 10
	logits := uniform(rng, n*k, -3, 3)
	labels := make([]int, n)
	for i := range labels {
		labels[i] = rng.IntN(k)
	}
	loss, err := SoftmaxCrossEntropy(logits, labels, n, k, nil)
	if err != nil {
		t.Fatal(err)
	}
	compare(t, "loss", tolLoss, []float32{loss}, []float64{crossEntropyRef(logits, labels, n, k)})

	dLogits := make([]float32, n*k)
	if _, err := SoftmaxCrossEntropy(logits, labels, n, k, dLogits); err != nil {
		t.Fatal(err)
	}
	checkGradients(t, "SoftmaxCrossEntropy", tolLossGrad, 1e-2, rng, []float32{1},
		func() []float32 {
			l, _ := SoftmaxCrossEntropy(logits, labels, n, k, nil)
			return []float32{l}
		}, gradInput{"logits", logits, dLogits})

	// Shifting a row by a constant leaves the loss unchanged; with a shift
	// of 1e4 a naive exp would overflow.
	shifted := append([]float32(nil), logits...)
	for j := range shifted[:k] {
		shifted[j] += 1e4
	}
	got, _ := SoftmaxCrossEntropy(shifted, labels, n, k, nil)
	// The shifted row loses the low bits of its logits (ulp of 1e4 ~ 1e-3).
	compare(t, "loss with shifted row", tolerance{Abs: 2e-3 / n}, []float32{got}, []float64{float64(loss)})
}

func TestSoftmaxCrossEntropyErrors(t *testing.T) {
	logits := make([]float32, 6)
	for _, tc := range []struct {
		labels []int
		n, k   int
		want   string
	}{
		{[]int{0, 3}, 2, 3, "label 3 of row 1 outside [0, 3)"},
		{[]int{-1, 0}, 2, 3, "label -1 of row 0"},
		{[]int{0, 0}, 2, 0, "K: must be at least 1"},
	} {
		d := make([]float32, 6)
		_, err := SoftmaxCrossEntropy(logits, tc.labels, tc.n, tc.k, d)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("labels %v: error %v, want %q", tc.labels, err, tc.want)
		}
		for _, v := range d {
			if v != 0 {
				t.Errorf("labels %v: dLogits written despite the error", tc.labels)
				break
			}
		}
	}
}

func TestCountCorrect(t *testing.T) {
	// Row 0: max at 2 (label 2, right). Row 1: tie between 0 and 1, the
	// first wins (label 1, wrong). Row 2: max at 0 (label 0, right).
	logits := []float32{
		0.1, 0.2, 0.9,
		0.5, 0.5, 0.1,
		3, -1, 2,
	}
	if got := CountCorrect(logits, []int{2, 1, 0}, 3, 3); got != 2 {
		t.Errorf("CountCorrect = %d, want 2", got)
	}
}
