package data

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
)

// LoaderConfig configures a Loader.
type LoaderConfig struct {
	Transform        // image geometry, normalisation and lighting noise
	BatchSize int    // samples per batch (> 0)
	Seed      uint64 // seeds the shuffle and the augmentation
	Shuffle   bool   // visit the samples in a seeded order that changes every epoch
	Train     bool   // random crop, flip and lighting; otherwise the centre crop
	TenCrop   bool   // evaluation with the ten crops of TenCrops per sample (Train must be false)
	DropLast  bool   // drop a last batch smaller than BatchSize
	Workers   int    // decoding goroutines; 0 means GOMAXPROCS
	Prefetch  int    // batches prepared ahead of the consumer; 0 means 2
	Cache     bool   // keep decoded base images in memory (3*BaseSize^2 bytes per image)
}

// DefaultLoaderConfig is the AlexNet training setup for the prepared
// 17flowers set: DefaultTransform, shuffled, augmented, images cached in
// memory (about 267 MB for all 1,360 images).
func DefaultLoaderConfig(batchSize int, seed uint64) LoaderConfig {
	return LoaderConfig{Transform: DefaultTransform(), BatchSize: batchSize, Seed: seed,
		Shuffle: true, Train: true, Cache: true}
}

// Loader produces batches of one dataset split. The order of an epoch
// depends only on (Seed, epoch) and the augmentation of a sample only on
// (Seed, epoch, sample index), where the sample index is the position of
// the item in the list given to NewLoader. Batches are therefore the same
// for any number of workers, and an epoch can be resumed at any batch.
//
// A Loader may serve several iterators, also concurrently.
type Loader struct {
	items []Item
	cfg   LoaderConfig
	cache []atomic.Pointer[RGB] // decoded base images by sample index, if cfg.Cache
}

// NewLoader returns a loader over items (usually one split's Items),
// checking cfg. Labels are passed through unchecked.
func NewLoader(items []Item, cfg LoaderConfig) (*Loader, error) {
	if len(items) == 0 {
		return nil, errors.New("data: loader: no items")
	}
	if err := cfg.Transform.Validate(); err != nil {
		return nil, err
	}
	if cfg.BatchSize <= 0 {
		return nil, fmt.Errorf("data: loader: batch size %d must be positive", cfg.BatchSize)
	}
	if cfg.TenCrop && cfg.Train {
		return nil, errors.New("data: loader: TenCrop is an evaluation mode and excludes Train")
	}
	if cfg.Workers < 0 || cfg.Prefetch < 0 {
		return nil, fmt.Errorf("data: loader: workers %d and prefetch %d must not be negative", cfg.Workers, cfg.Prefetch)
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Prefetch == 0 {
		cfg.Prefetch = 2
	}
	l := &Loader{items: append([]Item(nil), items...), cfg: cfg}
	if cfg.Cache {
		l.cache = make([]atomic.Pointer[RGB], len(items))
	}
	return l, nil
}

// NumBatches returns the number of batches in an epoch.
func (l *Loader) NumBatches() int {
	n := len(l.items) / l.cfg.BatchSize
	if !l.cfg.DropLast && len(l.items)%l.cfg.BatchSize != 0 {
		n++
	}
	return n
}

// Order returns the sample indices of an epoch in visiting order: a
// Fisher-Yates shuffle seeded by (Seed, epoch) if Shuffle is set, the
// identity otherwise.
func (l *Loader) Order(epoch int) []int {
	p := make([]int, len(l.items))
	for i := range p {
		p[i] = i
	}
	if l.cfg.Shuffle {
		newRNG(streamShuffle, l.cfg.Seed, uint64(epoch)).shuffle(p)
	}
	return p
}

// Batch is one batch of samples.
//
// Images has shape [N, 3, S, S] (S = CropSize, channels R, G, B), where
// N = len(Labels) normally and N = 10*len(Labels) with TenCrop, the ten
// crops of sample b being images 10b..10b+9 in TenCrops order.
type Batch struct {
	Epoch, Index int       // epoch and batch number within it
	Images       []float32 // [N, 3, S, S]
	Labels       []int     // label per sample
	Samples      []int     // sample index (into the loader's items) per sample
	Crops        int       // crops per sample: 1, or 10 with TenCrop
	Size         int       // S
}

// Iterator yields the batches of one epoch; see Loader.Epoch.
type Iterator struct {
	futures chan *pending
	done    chan struct{}
	workers sync.WaitGroup
	closed  bool
	err     error
}

// pending is a batch under construction; ready is Done once per sample.
type pending struct {
	batch Batch
	ready sync.WaitGroup
	errs  []error // per sample
}

// job asks a worker to fill sample slot of batch p.
type job struct {
	p    *pending
	slot int
}

// Epoch starts iterating over the batches of epoch from batch number
// start (0 for a whole epoch; k to resume after k batches), decoding and
// augmenting ahead on Workers goroutines. Call Close when done.
func (l *Loader) Epoch(epoch, start int) (*Iterator, error) {
	nb := l.NumBatches()
	if epoch < 0 || start < 0 || start > nb {
		return nil, fmt.Errorf("data: loader: epoch %d, start batch %d: want epoch >= 0 and start in 0..%d", epoch, start, nb)
	}
	order := l.Order(epoch)
	it := &Iterator{futures: make(chan *pending, l.cfg.Prefetch), done: make(chan struct{})}
	jobs := make(chan job, 4*l.cfg.Workers)
	for w := 0; w < l.cfg.Workers; w++ {
		it.workers.Add(1)
		go func() {
			defer it.workers.Done()
			for j := range jobs {
				j.p.errs[j.slot] = l.fill(&j.p.batch, j.slot)
				j.p.ready.Done()
			}
		}()
	}
	go func() {
		defer close(jobs)
		defer close(it.futures)
		for b := start; b < nb; b++ {
			p := l.newPending(epoch, b, order)
			p.ready.Add(len(p.batch.Samples))
			select {
			case it.futures <- p:
			case <-it.done:
				return
			}
			for slot := range p.batch.Samples {
				select {
				case jobs <- job{p, slot}:
				case <-it.done:
					return
				}
			}
		}
	}()
	return it, nil
}

// newPending allocates batch b of an epoch with the given order.
func (l *Loader) newPending(epoch, b int, order []int) *pending {
	lo := b * l.cfg.BatchSize
	hi := min(lo+l.cfg.BatchSize, len(order))
	crops := 1
	if l.cfg.TenCrop {
		crops = 10
	}
	s := l.cfg.CropSize
	n := hi - lo
	p := &pending{
		batch: Batch{Epoch: epoch, Index: b, Images: make([]float32, n*crops*3*s*s),
			Labels: make([]int, n), Samples: append([]int(nil), order[lo:hi]...), Crops: crops, Size: s},
		errs: make([]error, n),
	}
	for i, idx := range p.batch.Samples {
		p.batch.Labels[i] = l.items[idx].Label
	}
	return p
}

// fill decodes and transforms sample slot of batch.
func (l *Loader) fill(batch *Batch, slot int) error {
	idx := batch.Samples[slot]
	img, err := l.base(idx)
	if err != nil {
		return err
	}
	t := &l.cfg.Transform
	per := 3 * t.CropSize * t.CropSize
	out := batch.Images[slot*batch.Crops*per : (slot+1)*batch.Crops*per]
	switch {
	case l.cfg.Train:
		t.Apply(out, img, t.Random(l.cfg.Seed, batch.Epoch, idx))
	case l.cfg.TenCrop:
		for k, c := range t.TenCrops() {
			t.Apply(out[k*per:(k+1)*per], img, c)
		}
	default:
		t.Apply(out, img, t.Center())
	}
	return nil
}

// base returns the decoded base image of sample idx, from the cache if enabled.
func (l *Loader) base(idx int) (*RGB, error) {
	if l.cache != nil {
		if img := l.cache[idx].Load(); img != nil {
			return img, nil
		}
	}
	img, err := LoadBase(l.items[idx].Path, l.cfg.BaseSize)
	if err != nil {
		return nil, err
	}
	if l.cache != nil {
		l.cache[idx].Store(img)
	}
	return img, nil
}

// Next returns the next batch, or io.EOF after the last one. An error
// decoding a sample (naming its file) ends the iteration and is returned
// again by later calls.
func (it *Iterator) Next() (*Batch, error) {
	if it.err != nil {
		return nil, it.err
	}
	if it.closed {
		return nil, errors.New("data: Next on a closed iterator")
	}
	p, ok := <-it.futures
	if !ok {
		it.err = io.EOF
		return nil, io.EOF
	}
	p.ready.Wait()
	if err := firstError(p.errs); err != nil {
		it.err = err
		return nil, err
	}
	return &p.batch, nil
}

// Close stops the workers and waits for them to exit. It may be called
// at any time, also more than once.
func (it *Iterator) Close() {
	if it.closed {
		return
	}
	it.closed = true
	close(it.done)
	it.workers.Wait()
}
