// Package data is onnxkit's image input pipeline for training AlexNet on
// the Oxford 17 Category Flower Dataset (Nilsback and Zisserman, CVPR
// 2006) or any folder of labelled images.
//
// The stages are:
//
//   - Prepare (command cmd/mkflowers) makes the small 256x256 copy of the
//     dataset in <repo>/.cache/oxflower17-256 once; the images themselves
//     are never committed.
//   - Load17Flowers, LoadClassFolders and LoadDir list the labelled files.
//   - Split makes a seeded, stratified train/validation/test split.
//   - Transform does the augmentation of Krizhevsky et al. (2012): random
//     crop, horizontal flip and PCA colour noise for training, the centre
//     crop or ten crops for evaluation, then per-channel normalisation,
//     giving NCHW float32 in RGB order.
//   - Loader decodes and augments on worker goroutines ahead of the
//     consumer. Batch order depends only on (seed, epoch) and each
//     sample's augmentation only on (seed, epoch, sample index), so the
//     batches do not depend on scheduling and an epoch can be resumed at
//     any batch.
//
// Randomness comes from a SplitMix64 generator defined in this package,
// not from math/rand, so that it does not change between Go releases.
//
// A training loop:
//
//	// root is the repository's folder
//	dir, err := data.EnsurePrepared(data.SourceDir(root), data.PreparedDir(root))
//	ds, err := data.LoadDir(dir)
//	train, val, _, err := data.Split(ds, 1, 0.1, 0.1)
//	loader, err := data.NewLoader(train.Items, data.DefaultLoaderConfig(128, 1))
//	for epoch := 0; epoch < 90; epoch++ {
//		it, err := loader.Epoch(epoch, 0) // resume: Epoch(epoch, batchesDone)
//		for {
//			b, err := it.Next()
//			if err == io.EOF {
//				break
//			}
//			// b.Images is [len(b.Labels), 3, 224, 224]; train on it.
//		}
//		it.Close()
//	}
//
// (error handling omitted; val is evaluated with a second Loader whose
// Train and Shuffle are false.)
package data
