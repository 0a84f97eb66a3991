// Hand-written: the AVX-512 kernel of linalg.Blocked.SgemvPackedVecB.

#include "textflag.h"

// func vecPanelDots32AVX512(k int, panels int, x *float32, b *float32, y *float32)
//
// For each panel (k rows of 32 values), the products of row q by x[q]
// go to accumulators Z0-Z1, Z2-Z3, Z4-Z5 or Z6-Z7 (the 32 columns in
// two registers) by q mod 4, the last k mod 4 rows to Z0-Z1, and the
// sums (Z0 + Z2) + (Z4 + Z6), (Z1 + Z3) + (Z5 + Z7) are stored: the
// order of vecPanelsGo. Requires AVX512F.
TEXT ·vecPanelDots32AVX512(SB), NOSPLIT, $0-40
	MOVQ panels+8(FP), R8
	MOVQ b+24(FP), DI
	MOVQ y+32(FP), DX
panel:
	MOVQ k+0(FP), CX
	MOVQ x+16(FP), SI
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
	VXORPS Z6, Z6, Z6
	VXORPS Z7, Z7, Z7
	MOVQ CX, AX
	SHRQ $2, AX
	JZ tail
loop:
	VBROADCASTSS (SI), Z8
	VFMADD231PS (DI), Z8, Z0
	VFMADD231PS 64(DI), Z8, Z1
	VBROADCASTSS 4(SI), Z9
	VFMADD231PS 128(DI), Z9, Z2
	VFMADD231PS 192(DI), Z9, Z3
	VBROADCASTSS 8(SI), Z10
	VFMADD231PS 256(DI), Z10, Z4
	VFMADD231PS 320(DI), Z10, Z5
	VBROADCASTSS 12(SI), Z11
	VFMADD231PS 384(DI), Z11, Z6
	VFMADD231PS 448(DI), Z11, Z7
	ADDQ $16, SI
	ADDQ $512, DI
	DECQ AX
	JNZ loop
tail:
	ANDQ $3, CX
	JZ done
tailloop:
	VBROADCASTSS (SI), Z8
	VFMADD231PS (DI), Z8, Z0
	VFMADD231PS 64(DI), Z8, Z1
	ADDQ $4, SI
	ADDQ $128, DI
	DECQ CX
	JNZ tailloop
done:
	VADDPS Z2, Z0, Z0
	VADDPS Z6, Z4, Z4
	VADDPS Z4, Z0, Z0
	VADDPS Z3, Z1, Z1
	VADDPS Z7, Z5, Z5
	VADDPS Z5, Z1, Z1
	VMOVUPS Z0, (DX)
	VMOVUPS Z1, 64(DX)
	ADDQ $128, DX
	DECQ R8
	JNZ panel
	VZEROUPPER
	RET
