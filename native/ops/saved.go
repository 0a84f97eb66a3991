package ops

import "fmt"

// Saved state. A Forward records what its Backward needs with save, as a
// value of a type of its own: BatchNormalization's *batchStats, LRN's
// scale tensor, max pooling's argmax, Dropout's dropoutMask. The
// Backward reads it back with loadSaved, which checks the type, so that
// no op asserts on Context.Saved unchecked.

// save records state in ctx for the node's Backward.
func save[T any](ctx *Context, state T) { ctx.Saved = state }

// loadSaved returns the state of type T that the node's Forward recorded
// in ctx. ok is false when it recorded nothing (a forward pass in
// inference mode); state of another type is an error naming both types.
func loadSaved[T any](ctx *Context) (state T, ok bool, err error) {
	if ctx.Saved == nil {
		return state, false, nil
	}
	if state, ok = ctx.Saved.(T); !ok {
		return state, false, fmt.Errorf("the forward pass saved a %T, the backward pass reads a %T", ctx.Saved, state)
	}
	return state, true, nil
}

// errNoSavedState is the error of a Backward whose Forward did not run in
// training mode and so saved nothing it needs.
var errNoSavedState = fmt.Errorf("backward pass without a training forward pass")
