//go:build amd64 || arm64

package parallel

// currentG returns the address of the runtime's descriptor of the calling
// goroutine, which the Go ABI keeps in thread-local storage on amd64 and
// in register R28 (g) on arm64. It is unique among running goroutines; a
// descriptor is reused only after its goroutine has ended.
func currentG() uintptr

// goroutineKey identifies the calling goroutine while it runs.
func goroutineKey() uintptr { return currentG() }

// ownerKey is goroutineKey, which costs a load.
func ownerKey() uintptr { return currentG() }
