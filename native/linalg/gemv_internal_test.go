package linalg

import (
	"testing"

	"github.com/onnxkit/onnxkit/native/parallel"
)

// TestVecSplit checks the chunks that the one-row products deal to the
// workers: none below minParallelFlops, then chunks of at least a
// quarter of it, up to chunksPerWorker per worker, covering every unit.
func TestVecSplit(t *testing.T) {
	const grain = parallel.GrainFlops // not Grain(): a busy machine multiplies it
	const panel = VecPanelWidth * 4   // the bytes of a panel's row, weighed as flops
	cases := []struct {
		threads, units, cost int
		per, workers         int
		working              string
	}{
		{2, 32, 576 * panel, 4, 2, "MobileNet V3's classifier.0 (576x1024, 2.4M): eight chunks, not two"},
		{2, 32, 1024 * panel, 4, 2, "its classifier.3 (1024x1000, 4.2M): eight chunks"},
		{2, 16, 512 * panel, 16, 1, "ResNet-18's fc at half the width (1M): one worker"},
		{2, 5, 144 * panel, 5, 1, "a squeeze-and-excitation product: on the caller"},
		{1, 32, 1024 * panel, 32, 1, "one thread"},
		{3, 128, 4096 * panel, 11, 3, "VGG-16's fc7 on three threads: four chunks each"},
		{2, 3, 1 << 20, 1, 2, "three units of a grain each: one per chunk"},
		{2, 9, 1 << 18, 2, 2, "chunks no smaller than a quarter of the grain"},
	}
	for _, c := range cases {
		per, workers := vecSplitFor(c.units, c.cost, c.threads, grain)
		if per != c.per || workers != c.workers {
			t.Errorf("vecSplit(%d, %d) on %d threads = %d per chunk, %d workers; want %d, %d (%s)",
				c.units, c.cost, c.threads, per, workers, c.per, c.workers, c.working)
		}
		if chunks := (c.units + per - 1) / per; workers > 1 && (per*c.cost < grain/leastChunkShare || chunks > workers*chunksPerWorker) {
			t.Errorf("vecSplit(%d, %d): %d chunks of %d units of %d flops for %d workers", c.units, c.cost, chunks, per, c.cost, workers)
		}
	}
}
