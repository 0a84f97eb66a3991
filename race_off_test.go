//go:build !race

package onnxkit

// raceEnabled is set in builds with the race detector, which allocates
// on its own and makes sync.Pool drop values at random.
const raceEnabled = false
