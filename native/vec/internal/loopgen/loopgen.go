// Package loopgen holds what the avo programs that write package vec's
// loops (internal/asmgen, internal/chantapsgen) share: the tables the
// masks of a last partial vector come from, masked loads and stores,
// and the walk over a row of positions in blocks of vectors, ending
// with the last few positions through masks, which touch nothing past
// the row.
package loopgen

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// TailMasks writes, as the symbol name, the table AVX2 loops take the
// mask of a last partial vector from: eight lanes of all ones, then
// eight of zeros. The mask of the first r lanes is the eight int32 from
// lane 8-r.
func TailMasks(name string) Mem {
	m := GLOBL(name, RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		v := uint32(0)
		if i < 8 {
			v = 0xffffffff
		}
		DATA(4*i, U32(v))
	}
	return m
}

// LaneMasks writes, as the symbol name, the table AVX-512 loops take the
// mask of a last partial vector from: entry r (a uint16) has its r low
// bits set.
func LaneMasks(name string) Mem {
	m := GLOBL(name, RODATA|NOPTR)
	for r := 0; r <= 16; r++ {
		DATA(2*r, U16(uint16(1<<r-1)))
	}
	return m
}

// MaskedLoad loads x from m: the lanes of mask, the others zeroed, through an
// opmask (AVX-512) or a vector of lanes (AVX2), or whole when mask is
// nil.
func MaskedLoad(m Mem, mask reg.Register, x reg.VecVirtual) {
	switch {
	case mask == nil:
		VMOVUPS(m, x)
	case mask.Kind() == reg.KindOpmask:
		VMOVUPS_Z(m, mask, x)
	default:
		VMASKMOVPS(m, mask, x)
	}
}

// MaskedStore stores x at m: the lanes of mask, an opmask or a vector as for
// MaskedLoad, or whole when mask is nil.
func MaskedStore(x reg.VecVirtual, mask reg.Register, m Mem) {
	switch {
	case mask == nil:
		VMOVUPS(x, m)
	case mask.Kind() == reg.KindOpmask:
		VMOVUPS(x, mask, m)
	default:
		VMASKMOVPS(x, mask, m)
	}
}

// Shape is one instruction set's version of a loop over a row of
// float32 positions in the lanes of vectors.
type Shape struct {
	Name   string
	Lanes  int                   // float32 per vector
	Vecs   int                   // vectors of the main block
	NewVec func() reg.VecVirtual // YMM or ZMM
	AVX512 bool                  // masks in opmask registers
}

// Row emits the walk over the n positions at dst and src (registers it
// advances and counts down): Blocks, then, unless n is a whole number
// of vectors (a jump to done), the last few positions as one block of
// one vector, labelled "tail", under TailMask.
func (s Shape) Row(n, dst, src reg.Register, blocks []int, tailMasks, laneMasks Mem, done string, block func(vecs int, label string, mask reg.Register)) {
	s.Blocks("", n, dst, src, blocks, block)
	TESTQ(n, n)
	JZ(LabelRef(done))
	block(1, "tail", s.TailMask(n, tailMasks, laneMasks))
}

// Blocks emits, for each number of vectors of blocks in turn, the loop
// over as many blocks of that many vectors as n has positions left at
// dst and src, each emitted by block with no mask (its labels start with
// label, which starts with prefix) and followed by the step to the next
// block: dst and src advanced, n counted down.
func (s Shape) Blocks(prefix string, n, dst, src reg.Register, blocks []int, block func(vecs int, label string, mask reg.Register)) {
	width := 4 * s.Lanes // bytes per vector
	for _, vecs := range blocks {
		label := fmt.Sprintf("%sby%d", prefix, s.Lanes*vecs)
		Label(label)
		CMPQ(n, U32(s.Lanes*vecs))
		JL(LabelRef(label + "done"))
		block(vecs, label, nil)
		ADDQ(U32(width*vecs), src)
		ADDQ(U32(width*vecs), dst)
		SUBQ(U32(s.Lanes*vecs), n)
		JMP(LabelRef(label))
		Label(label + "done")
	}
}

// TailMask returns the mask of the first n positions of a vector, n
// fewer than its lanes: with AVX-512 an opmask from laneMasks, with
// AVX2 a YMM from tailMasks (n is then left in bytes).
func (s Shape) TailMask(n reg.Register, tailMasks, laneMasks Mem) reg.Register {
	if s.AVX512 {
		k := K()
		table := GP64()
		LEAQ(laneMasks, table)
		KMOVW(Mem{Base: table, Index: n, Scale: 2}, k)
		return k
	}
	at, mask := GP64(), YMM()
	LEAQ(tailMasks.Offset(32), at)
	SHLQ(U8(2), n)
	SUBQ(n, at)
	VMOVUPS(Mem{Base: at}, mask)
	return mask
}
