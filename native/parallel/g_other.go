//go:build !amd64 && !arm64

package parallel

import (
	"runtime"
	"strconv"
	"sync"
)

// stackBuffers holds the buffers goroutineKey reads a stack's head into:
// runtime.Stack keeps its argument on the heap, and a key is asked for at
// every parallel loop and work buffer.
var stackBuffers = sync.Pool{New: func() any { return new([32]byte) }}

// goroutineKey identifies the calling goroutine while it runs: its ID,
// which the runtime prints at the head of its stack trace ("goroutine 42
// [running]:"). It costs a traceback; amd64 reads the goroutine's
// descriptor instead, and arm64 its register.
func goroutineKey() uintptr {
	buf := stackBuffers.Get().(*[32]byte)
	defer stackBuffers.Put(buf)
	b := buf[:runtime.Stack(buf[:], false)]
	const prefix = len("goroutine ")
	var id uintptr
	end := prefix
	for ; end < len(b) && b[end] >= '0' && b[end] <= '9'; end++ {
		id = 10*id + uintptr(b[end]-'0')
	}
	if end == prefix {
		panic("parallel: cannot read the goroutine's ID from " + strconv.Quote(string(b)))
	}
	return id
}

// ownerKey is 0: telling the goroutine that takes a work buffer costs a
// traceback here, more than the buffer's place in a cache saves.
func ownerKey() uintptr { return 0 }
