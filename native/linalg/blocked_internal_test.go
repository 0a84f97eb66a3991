package linalg

import (
	"slices"
	"testing"
	"unsafe"
)

func TestEvenBlock(t *testing.T) {
	cases := []struct{ extent, max, unit, want int }{
		{100, 256, 4, 100},     // fits in one block
		{4096, 4080, 16, 2048}, // two blocks: ceil(4096/2) = 2048
		{363, 256, 4, 184},     // two blocks: ceil(363/2) = 182, rounded up to 184
		{1000, 256, 4, 252},    // four blocks: ceil(1000/4) = 250 -> 252
		{257, 256, 16, 144},    // two blocks: ceil(257/2) = 129 -> 144
	}
	for _, c := range cases {
		if got := evenBlock(c.extent, c.max, c.unit); got != c.want {
			t.Errorf("evenBlock(%d, %d, %d) = %d, want %d", c.extent, c.max, c.unit, got, c.want)
		}
	}
}

func TestSplitRows(t *testing.T) {
	kern := &kernel{mr: 6, nr: 16, mc: 144, runRows: func(int, []float32, int, []float32, []float32, int, float32, float32, bool, *tileEpilogue) {}}
	cases := []struct {
		p       gemmArgs
		want    bool
		working string
	}{
		// 190 column tiles split 95/95 (1520 of 3025 columns, 0.502);
		// 16 row tiles split 8/8 (48 of 96 rows, 0.5). Per n·k: rows
		// 0.5·96 + 8 (all of B packed) = 56, columns 0.502·(96 + 8) = 52.2.
		{gemmArgs{m: 96, n: 3025, k: 363}, false, "rows 56 > cols 52.2"},
		// 7 column tiles split 4/3 (64 of 100 columns, 0.64); 64 row
		// tiles split 32/32 (192 of 384, 0.5): 200 against 251.
		{gemmArgs{m: 384, n: 100, k: 2304}, true, "rows 200 < cols 251"},
		// 2 column tiles (16 of 17 columns, 0.94); 11 row tiles split 6/5
		// (36 of 64 rows, 0.56): 44 against 67.8.
		{gemmArgs{m: 64, n: 17, k: 4096}, true, "rows 44 < cols 67.8"},
		// 256 column tiles split 128/128 (0.5); 11 row tiles (0.56): 44
		// against 36.
		{gemmArgs{m: 64, n: 4096, k: 17}, false, "cols 36 < rows 44"},
		// conv1's weight gradient: 23 column tiles split 12/11 (192 of
		// 363, 0.529), 16 row tiles 8/8 (0.5): rows 0.5·96 + 8 = 56,
		// columns 0.529·(96 + 8) = 55: within 3%, and n > m. (Split by
		// rows, each worker would pack all of B.)
		{gemmArgs{transB: true, m: 96, n: 363, k: 3025}, false, "rows 56 ~ cols 55, n > m"},
		// The same with B packed in advance: 48 against 50.8.
		{gemmArgs{m: 96, n: 363, k: 3025, packedB: true}, true, "rows 48 < cols 50.8"},
		// fc7's weight gradient, A packed: 683 row tiles split 342/341
		// (2052 of 4096 rows), 256 column tiles 128/128. Per n·k: rows
		// 0.501·4096 + 8 + 0.501·8 = 2064, columns 2048 + 4 + 8 = 2060:
		// within 3%, and k = 64 is shallow, so rows.
		{gemmArgs{transA: true, m: 4096, n: 4096, k: 64}, true, "rows 2064 ~ cols 2060, k <= shallowK"},
		// The same deeper: m = n, so columns.
		{gemmArgs{transA: true, m: 4096, n: 4096, k: 256}, false, "rows ~ cols, k > shallowK, m = n"},
	}
	for _, c := range cases {
		mt, nt := (c.p.m+5)/6, (c.p.n+15)/16
		if got := kern.splitRows(&c.p, mt, nt, 2); got != c.want {
			t.Errorf("splitRows(%+v) = %v, want %v (%s)", c.p, got, c.want, c.working)
		}
	}
}

// TestLeastChunk checks the chunks that run deals to two workers (see
// leastChunk and blockTask.deal) for products whose operands stay in
// cache or not, split by rows and by columns.
func TestLeastChunk(t *testing.T) {
	kern := &kernel{mr: 6, nr: 16, mc: 144, runRows: func(int, []float32, int, []float32, []float32, int, float32, float32, bool, *tileEpilogue) {}}
	cases := []struct {
		p       gemmArgs
		byRows  bool
		tiles   int
		want    []int // tiles of each chunk
		working string
	}{
		// fc8 dX, 64x4096x17: shallow, its C (1 MiB) fits the L2
		// caches of two workers: one chunk per worker.
		{gemmArgs{m: 64, n: 4096, k: 17}, false, 256, []int{128, 128}, "shallow, C in cache: one chunk per worker"},
		{gemmArgs{transA: true, m: 64, n: 4096, k: 17}, false, 256, []int{128, 128}, "shallow, C in cache: one chunk per worker"},
		// Ten times the rows (C 10 MiB): 256 column tiles in chunks of
		// at least 8 (128 columns) first, down to 2 at the end.
		{gemmArgs{m: 640, n: 4096, k: 17}, false, 256, []int{64, 64, 32, 32, 16, 16, 8, 8, 4, 4, 2, 2, 2, 2}, "wide: chunks of at least 128 columns first"},
		// Packed in advance (a convolution's B): the same.
		{gemmArgs{m: 64, n: 4096, k: 17, packedB: true}, false, 256, []int{64, 64, 32, 32, 16, 16, 8, 8, 4, 4, 2, 2, 2, 2}, "packed B: chunks of at least 128 columns first"},
		// fc7 dX, 64x4096x4096: each chunk packs B (64 MiB, from
		// memory) from runs of its rows as wide as the chunk, at least
		// minPackedRun = 2048 columns (128 tiles): one chunk per worker.
		{gemmArgs{m: 64, n: 4096, k: 4096}, false, 256, []int{128, 128}, "B packed from memory: runs of 2048"},
		// conv1, 96x3025x363: B (4.4 MB) is read from L3 and A (139
		// KB) from L2, so chunks of 128 columns do, and 32 at the end.
		{gemmArgs{m: 96, n: 3025, k: 363}, false, 190, []int{48, 48, 24, 24, 12, 12, 6, 6, 3, 3, 2, 2}, "operands in cache: chunks of at least 128 columns first"},
		// conv2, 256x676x2400: A (2.4 MB) is beyond L2: runs of 2048,
		// one chunk per worker.
		{gemmArgs{m: 256, n: 676, k: 2400}, false, 43, []int{21, 22}, "A beyond L2: one chunk per worker"},
		// conv1 dW, 96x363x3025 split by columns: 23 tiles, fewer than
		// 4 chunks of 8: one chunk per worker.
		{gemmArgs{transB: true, m: 96, n: 363, k: 3025}, false, 23, []int{11, 12}, "narrow: one chunk per worker"},
		// conv3 at batch 1, 384x100x2304, B packed in advance: 64 row
		// tiles in chunks of at least 16 (96 rows) first, 4 at the end.
		{gemmArgs{m: 384, n: 100, k: 2304, packedB: true}, true, 64, []int{16, 16, 8, 8, 4, 4, 4, 4}, "B packed once: chunks of 96 rows first"},
		// The same with B packed by every chunk: chunks of at least mc =
		// 144 rows (24 tiles): one chunk per worker.
		{gemmArgs{m: 384, n: 100, k: 2304}, true, 64, []int{32, 32}, "B repacked: one chunk per worker"},
		// 2400 rows (400 tiles): chunks of at least 24 tiles first, 6
		// at the end.
		{gemmArgs{transA: true, m: 2400, n: 676, k: 256}, true, 400, []int{100, 100, 50, 50, 25, 25, 13, 13, 6, 6, 6, 6}, "tall: chunks of at least 24 tiles first"},
		// One tile: one chunk.
		{gemmArgs{m: 6, n: 16, k: 4096}, true, 1, []int{1}, "one tile"},
	}
	for _, c := range cases {
		task := blockTask{tiles: c.tiles, unit: 1}
		task.deal(2, kern.leastChunk(&c.p, c.byRows, 2))
		var got []int
		for i := range task.count() {
			lo, hi := task.span(i)
			got = append(got, hi-lo)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("m=%d n=%d k=%d transA=%v transB=%v packedB=%v, byRows=%v, %d tiles: chunks of %v tiles, want %v (%s)",
				c.p.m, c.p.n, c.p.k, c.p.transA, c.p.transB, c.p.packedB, c.byRows, c.tiles, got, c.want, c.working)
		}
	}
}

// TestBlockTaskSpans checks that the chunks of a split cover the tiles
// once each, in order, on tile boundaries; that they shrink from batch
// to batch, each batch of one chunk per worker, all chunks but the last
// batch's holding at least least tiles (the floor that deal sets) and
// the last batch's differing by one tile at most; and the chunks of
// some splits.
func TestBlockTaskSpans(t *testing.T) {
	for _, c := range []struct {
		tiles, workers, least int
		want                  []int // the tiles of each chunk, if given
	}{
		{95, 2, 4, []int{24, 24, 12, 12, 6, 6, 5, 6}},
		{95, 2, 0, []int{47, 48}},
		{95, 2, 1, []int{24, 24, 12, 12, 6, 6, 3, 3, 2, 2, 1}},
		{256, 2, 8, []int{64, 64, 32, 32, 16, 16, 8, 8, 8, 8}},
		{95, 4, 4, []int{12, 12, 12, 12, 6, 6, 6, 6, 5, 6, 6, 6}},
		{16, 2, 4, []int{4, 4, 4, 4}},
		{15, 2, 4, []int{7, 8}},
		{1, 2, 4, []int{1}},
		{1, 2, 0, []int{1}},
		{3, 4, 0, []int{1, 1, 1}},
		{22, 8, 1, nil}, {400, 2, 24, nil}, {43, 2, 8, nil}, {1000, 3, 5, nil}, {7, 2, 1, nil},
	} {
		task := blockTask{tiles: c.tiles, unit: 32, workers: c.workers, least: c.least}
		chunks := task.count()
		next := 0
		var sizes []int
		for i := range chunks {
			lo, hi := task.span(i)
			if lo != next || lo%32 != 0 || hi%32 != 0 || hi <= lo {
				t.Fatalf("%+v: chunk %d is [%d, %d), after %d", c, i, lo, hi, next)
			}
			sizes = append(sizes, (hi-lo)/32)
			next = hi
		}
		if lo, _ := task.span(chunks); lo != -1 {
			t.Errorf("%+v: chunk %d past the last starts at %d", c, chunks, lo)
		}
		if next != 32*c.tiles {
			t.Errorf("%+v: chunks %v end at tile %d, want %d", c, sizes, next/32, c.tiles)
		}
		last := (len(sizes)-1)%c.workers + 1 // chunks in the last batch
		for i, s := range sizes[:len(sizes)-last] {
			if s < c.least || s != sizes[i-i%c.workers] || i >= c.workers && s > sizes[i-c.workers] {
				t.Errorf("%+v: chunks %v do not shrink by batches of at least %d", c, sizes, c.least)
			}
		}
		tail := sizes[len(sizes)-last:]
		if slices.Max(tail)-slices.Min(tail) > 1 {
			t.Errorf("%+v: last chunks %v differ by more than a tile", c, tail)
		}
		if c.want != nil && !slices.Equal(sizes, c.want) {
			t.Errorf("%+v: chunks of %v tiles, want %v", c, sizes, c.want)
		}
	}
}

func TestCrowdsL1Set(t *testing.T) {
	cases := []struct {
		lda, mr int
		want    bool
		working string
	}{
		{4096, 12, true, "16 KiB apart: all 12 rows in one set of 8 ways"},
		{4096, 6, false, "6 rows in one set: within its 8 ways"},
		{1024, 12, true, "4 KiB apart: one set"},
		{1025, 12, true, "4 KiB and 4 bytes apart: still one set"},
		{512, 12, false, "2 KiB apart: two sets of 6"},
		{363, 12, false, "1452 bytes apart: 12 sets"},
		{3456, 12, false, "216 lines apart: 8 sets"},
	}
	for _, c := range cases {
		if got := crowdsL1Set(c.lda, c.mr); got != c.want {
			t.Errorf("crowdsL1Set(%d, %d) = %v, want %v (%s)", c.lda, c.mr, got, c.want, c.working)
		}
	}
}

// TestWorkspacesOwnTheirCacheLines checks that the parts of a workspace
// that a worker writes at every tile (the workspace itself, its edge
// tile and its rows) share no cache line with another workspace's: the
// workspaces of a loop's workers are written on different cores.
func TestWorkspacesOwnTheirCacheLines(t *testing.T) {
	kern := &kernel{mr: 6, nr: 16, mc: 144}
	var taken []*workspace
	for range 8 {
		taken = append(taken, kern.takeWorkspace(6, 8, 16))
	}
	owner := map[uintptr]int{}
	claim := func(i int, at unsafe.Pointer, size uintptr) {
		for l := uintptr(at) / 64; l <= (uintptr(at)+size-1)/64; l++ {
			if j, ok := owner[l]; ok && j != i {
				t.Fatalf("workspaces %d and %d share the cache line at %#x", j, i, l*64)
			}
			owner[l] = i
		}
	}
	for i, ws := range taken {
		claim(i, unsafe.Pointer(ws), unsafe.Sizeof(*ws))
		claim(i, unsafe.Pointer(unsafe.SliceData(ws.tile)), uintptr(len(ws.tile))*4)
		claim(i, unsafe.Pointer(unsafe.SliceData(ws.rows)), uintptr(len(ws.rows))*4)
	}
	for _, ws := range taken {
		kern.giveWorkspace(ws)
	}
}
