package kernels

// Softmax cross-entropy loss on logits, fused with its gradient.
//
// Shapes: logits, dLogits [N, K]; labels [N], each in [0, K).
//
// loss = -1/N * sum over n of log softmax(logits[n])[labels[n]]
// dLogits[n, k] += (softmax(logits[n])[k] - [k == labels[n]]) / N
//
// The softmax is taken after subtracting the row maximum, so large logits
// neither overflow nor lose the loss to cancellation.

import (
	"math"

	"github.com/onnxkit/onnxkit/native/parallel"
)

// SoftmaxCrossEntropy returns the mean softmax cross-entropy of the N rows
// of logits against labels and, when dLogits is not nil, accumulates its
// gradient into dLogits. A label outside [0, K) is an error (labels come
// from data), reported before anything is written.
func SoftmaxCrossEntropy(logits []float32, labels []int, n, k int, dLogits []float32) (float32, error) {
	const op = "SoftmaxCrossEntropy"
	if err := checkPositive(op, []string{"N", "K"}, n, k); err != nil {
		return 0, err
	}
	need(op, "logits", logits, n*k)
	need(op, "labels", labels, n)
	for i, l := range labels[:n] {
		if l < 0 || l >= k {
			return 0, paramErr(op, "labels", "label %d of row %d outside [0, %d)", l, i, k)
		}
	}
	if dLogits != nil {
		need(op, "dLogits", dLogits, n*k)
	}
	rowLoss := make([]float64, n)
	parallel.For(n, grainFor(3*k), func(lo, hi int) {
		e := make([]float32, k)
		for r := lo; r < hi; r++ {
			row := logits[r*k : (r+1)*k]
			maxV, sum := shiftedExp(row, e)
			rowLoss[r] = math.Log(sum) - float64(row[labels[r]]-maxV)
			if dLogits == nil {
				continue
			}
			d := dLogits[r*k : (r+1)*k]
			for j, v := range e {
				prob := float64(v) / sum
				if j == labels[r] {
					prob--
				}
				d[j] += float32(prob / float64(n))
			}
		}
	})
	var total float64
	for _, l := range rowLoss {
		total += l
	}
	return float32(total / float64(n)), nil
}

// CountCorrect returns how many of the N rows of logits [N, K] have their
// largest value (the first, among equals) at the row's label.
func CountCorrect(logits []float32, labels []int, n, k int) int {
	need("CountCorrect", "logits", logits, n*k)
	need("CountCorrect", "labels", labels, n)
	correct := 0
	for r := 0; r < n; r++ {
		row := logits[r*k : (r+1)*k]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		if best == labels[r] {
			correct++
		}
	}
	return correct
}
