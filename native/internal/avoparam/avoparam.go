// Package avoparam holds what the avo programs that write the engine's
// assembly (native/linalg/internal/asmgen, native/vec/internal/asmgen)
// share.
package avoparam

import (
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
)

// Addr returns the stack address of the named scalar argument of the
// function being written, for instructions that take it from memory
// (such as a broadcast).
func Addr(name string) operand.Mem {
	p, err := build.Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return p.Addr
}
