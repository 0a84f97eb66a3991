//go:build !amd64

package parallel

import (
	"runtime"
	"strconv"
)

// goroutineKey identifies the calling goroutine while it runs: its ID,
// which the runtime prints at the head of its stack trace ("goroutine 42
// [running]:"). It costs a traceback; amd64 reads the goroutine's
// descriptor instead.
func goroutineKey() uintptr {
	var buf [32]byte
	b := buf[:runtime.Stack(buf[:], false)]
	const prefix = len("goroutine ")
	end := prefix
	for end < len(b) && b[end] >= '0' && b[end] <= '9' {
		end++
	}
	id, err := strconv.ParseUint(string(b[prefix:end]), 10, 64)
	if err != nil {
		panic("parallel: cannot read the goroutine's ID from " + strconv.Quote(string(b)))
	}
	return uintptr(id)
}
