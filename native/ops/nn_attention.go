package ops

// Attention: scaled dot-product attention with multi-head, grouped-query
// and multi-query variants, causal masking, a key/value cache and soft
// capping. Opset history: 23; 24 (nonpad_kv_seqlen input, bottom-right
// causal alignment for an external cache).
//
// Shape legend: B batch, Hq query heads, Hkv key/value heads (Hq a
// multiple of Hkv; query head h reads key/value head h/(Hq/Hkv)), Sq query
// length, Skv new key/value length, P past length, T = P+Skv, D query and
// key head size, Dv value head size.
//
//	Q                 [B, Hq, Sq, D]    or 3-D [B, Sq, Hq*D]   (q_num_heads gives Hq)
//	K                 [B, Hkv, Skv, D]  or 3-D [B, Skv, Hkv*D] (kv_num_heads gives Hkv)
//	V                 [B, Hkv, Skv, Dv] or 3-D [B, Skv, Hkv*Dv]
//	attn_mask         broadcasts to [B, Hq, Sq, L], L <= T: bool (true attends) or float (added);
//	                  columns L..T-1 are masked
//	past_key          [B, Hkv, P, D]
//	past_value        [B, Hkv, P, Dv]
//	nonpad_kv_seqlen  [B] int64 (opset 24): keys j >= nonpad_kv_seqlen[b] are masked
//	Y                 [B, Hq, Sq, Dv]   or 3-D [B, Sq, Hq*Dv]
//	present_key       [B, Hkv, T, D]    past_key then K
//	present_value     [B, Hkv, T, Dv]   past_value then V
//	qk_matmul_output  [B, Hq, Sq, T]    S, C, Z or Pr by qk_matmul_output_mode 0..3
//
// Per head, with scale defaulting to 1/sqrt(D):
//
//	S  = scale * Q K^T
//	C  = softcap > 0 ? softcap * tanh(S/softcap) : S
//	Z  = C + bias
//	Pr = softmax over each row of Z; a row whose bias is -inf throughout is 0
//	Y  = Pr V
//
// bias is the mask (bool: 0 or -inf), plus with is_causal -inf where
// j > i + offset, plus -inf where j >= nonpad_kv_seqlen[b]. offset is P
// with a past_key, nonpad_kv_seqlen[b] - Sq with nonpad_kv_seqlen and no
// past_key, and 0 otherwise.
//
// Backward (recomputing S, C and Pr), with G the gradient flowing into Z:
//
//	dPr = dY V^T (+ dQK in mode 3)
//	G   = Pr ⊙ (dPr - rowsum(Pr ⊙ dPr)) (+ dQK in mode 2)
//	dC  = G (+ dQK in mode 1);  dS = dC ⊙ (1 - (C/softcap)²) with softcap (+ dQK in mode 0)
//	dQ  = scale dS K;  dK_total += scale dS^T Q;  dV_total += Pr^T dY
//	dmask = G summed over the dimensions the float mask broadcasts along
//
// and dK_total, dV_total (plus the gradients of present_key and
// present_value) split into past_key/K and past_value/V. The matrix
// products go through linalg's SGEMM, one serial product per head, the
// heads spread over the cores.

import (
	"fmt"
	"math"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/linalg"
	"github.com/onnxkit/onnxkit/native/parallel"
	"github.com/onnxkit/onnxkit/native/tensor"
	"github.com/onnxkit/onnxkit/native/vec"
)

// nnAttentionOps is the operator table of nn_attention.go (see registry.go).
var nnAttentionOps = []Entry{
	{OpType: "Attention", Since: []int64{23}, Build: newAttention},
}

// The values of qk_matmul_output_mode: which intermediate the fourth
// output holds.
const (
	qkModeScores  = 0 // S
	qkModeSoftcap = 1 // C
	qkModeMasked  = 2 // Z
	qkModeSoftmax = 3 // Pr
)

// attentionOutputs is the number of Attention's outputs.
const attentionOutputs = 4

// attention is the Attention operator with its attributes decoded.
type attention struct {
	opset           int64
	causal          bool
	qHeads, kvHeads int     // 0: not given (4-D inputs carry them)
	scale           float64 // when hasScale; else 1/sqrt(D)
	hasScale        bool
	softcap         float64 // 0: none
	mode            int
	// wanted says which outputs the node names.
	wanted [attentionOutputs]bool
}

func newAttention(n *graph.Node, opset int64) (Op, error) {
	op := &attention{opset: opset}
	causal, err := n.Declared().Int("is_causal")
	if err != nil {
		return nil, err
	}
	op.causal = causal != 0
	ints, err := n.Declared().IntList("q_num_heads", "kv_num_heads")
	if err != nil {
		return nil, err
	}
	qh, kvh := ints[0], ints[1]
	if qh < 0 || kvh < 0 || qh > math.MaxInt32 || kvh > math.MaxInt32 {
		return nil, attrError(n, "q_num_heads", "q_num_heads %d and kv_num_heads %d must be non-negative", qh, kvh)
	}
	op.qHeads, op.kvHeads = int(qh), int(kvh)
	if n.Attr("scale") != nil {
		s, err := n.Declared().Float("scale")
		if err != nil {
			return nil, err
		}
		op.scale, op.hasScale = float64(s), true
	}
	c, err := n.Declared().Float("softcap")
	if err != nil {
		return nil, err
	}
	if c < 0 {
		return nil, attrError(n, "softcap", "is %g, want 0 (none) or more", c)
	}
	op.softcap = float64(c)
	mode, err := n.Declared().Int("qk_matmul_output_mode")
	if err != nil {
		return nil, err
	}
	if mode < 0 || mode > 3 {
		return nil, attrError(n, "qk_matmul_output_mode", "is %d, want 0, 1, 2 or 3", mode)
	}
	op.mode = int(mode)
	if p, err := n.Declared().IntOr("softmax_precision", int64(graph.Float32)); err != nil {
		return nil, err
	} else if !isFloatDType(graph.DType(p)) {
		return nil, attrError(n, "softmax_precision", "is %d, want a float type", p)
	}
	for j := range op.wanted {
		op.wanted[j] = len(n.Outputs) == 0 && j == 0 || j < len(n.Outputs) && n.Outputs[j] != ""
	}
	return op, nil
}

// headView addresses one head's rows of a Q, K, V or Y tensor: head h of
// batch b starts at b*batch + h*head, and its rows are ld apart.
type headView struct{ batch, head, ld int }

func (v headView) at(b, h int) int { return b*v.batch + v.head*h }

// view4 is the head view of a [B, H, S, d] tensor, view3 that of a
// [B, S, H*d] one.
func view4(heads, seq, d int) headView { return headView{heads * seq * d, seq * d, d} }
func view3(heads, seq, d int) headView { return headView{seq * heads * d, d, heads * d} }

// attentionDims are an Attention node's sizes, resolved from its inputs.
type attentionDims struct {
	batch, qHeads, kvHeads, qLen, kvLen, pastLen, total, headDim, vHeadDim int
	threeD                                                                 bool
	q, k, v, y                                                             headView
}

// maskLayout addresses the float bias of a mask broadcast to
// [B, Hq, Sq, L]: element (b, h, i, j) is at b*sb + h*sh + i*si + j*sj.
type maskLayout struct {
	sb, sh, si, sj, cols int
}

func (op *attention) dims(in []*tensor.Tensor) (attentionDims, error) {
	var d attentionDims
	q, k, v := in[0], in[1], in[2]
	if q.Rank() != k.Rank() || q.Rank() != v.Rank() || q.Rank() != 3 && q.Rank() != 4 {
		return d, fmt.Errorf("input Q %v, K %v and V %v must all be 3-D or all 4-D", q.Shape, k.Shape, v.Shape)
	}
	d.batch = q.Shape[0]
	if k.Shape[0] != d.batch || v.Shape[0] != d.batch {
		return d, fmt.Errorf("input Q %v, K %v and V %v differ in batch size", q.Shape, k.Shape, v.Shape)
	}
	if q.Rank() == 3 {
		d.threeD = true
		if op.qHeads == 0 || op.kvHeads == 0 {
			return d, fmt.Errorf("3-D inputs need the q_num_heads and kv_num_heads attributes")
		}
		d.qHeads, d.kvHeads = op.qHeads, op.kvHeads
		if q.Shape[2]%d.qHeads != 0 || k.Shape[2]%d.kvHeads != 0 || v.Shape[2]%d.kvHeads != 0 {
			return d, fmt.Errorf("hidden sizes of Q %v, K %v, V %v are not multiples of q_num_heads %d and kv_num_heads %d", q.Shape, k.Shape, v.Shape, d.qHeads, d.kvHeads)
		}
		d.qLen, d.kvLen = q.Shape[1], k.Shape[1]
		d.headDim, d.vHeadDim = q.Shape[2]/d.qHeads, v.Shape[2]/d.kvHeads
		if k.Shape[2]/d.kvHeads != d.headDim {
			return d, fmt.Errorf("input K %v has head size %d, Q %v has %d", k.Shape, k.Shape[2]/d.kvHeads, q.Shape, d.headDim)
		}
		if v.Shape[1] != d.kvLen {
			return d, fmt.Errorf("input K %v and V %v differ in sequence length", k.Shape, v.Shape)
		}
	} else {
		d.qHeads, d.kvHeads = q.Shape[1], k.Shape[1]
		d.qLen, d.kvLen = q.Shape[2], k.Shape[2]
		d.headDim, d.vHeadDim = q.Shape[3], v.Shape[3]
		if k.Shape[3] != d.headDim {
			return d, fmt.Errorf("input K %v and Q %v differ in head size", k.Shape, q.Shape)
		}
		if v.Shape[1] != d.kvHeads || v.Shape[2] != d.kvLen {
			return d, fmt.Errorf("input K %v and V %v differ in heads or sequence length", k.Shape, v.Shape)
		}
	}
	if d.kvHeads == 0 || d.qHeads%d.kvHeads != 0 {
		return d, fmt.Errorf("%d query heads are not a multiple of %d key/value heads", d.qHeads, d.kvHeads)
	}
	pk, pv := optionalInput(in, 4), optionalInput(in, 5)
	if (pk == nil) != (pv == nil) {
		return d, fmt.Errorf("past_key and past_value must be given together")
	}
	if pk != nil {
		want := []int{d.batch, d.kvHeads, -1, d.headDim}
		wantV := []int{d.batch, d.kvHeads, -1, d.vHeadDim}
		if !shapeLike(pk.Shape, want) || !shapeLike(pv.Shape, wantV) || pk.Shape[2] != pv.Shape[2] {
			return d, fmt.Errorf("past_key %v and past_value %v must be [%d, %d, P, %d] and [%d, %d, P, %d]", pk.Shape, pv.Shape, d.batch, d.kvHeads, d.headDim, d.batch, d.kvHeads, d.vHeadDim)
		}
		d.pastLen = pk.Shape[2]
	}
	d.total = d.pastLen + d.kvLen
	if d.threeD {
		d.q = view3(d.qHeads, d.qLen, d.headDim)
		d.y = view3(d.qHeads, d.qLen, d.vHeadDim)
	} else {
		d.q = view4(d.qHeads, d.qLen, d.headDim)
		d.y = view4(d.qHeads, d.qLen, d.vHeadDim)
	}
	if d.pastLen > 0 || !d.threeD {
		// K and V are read from present_key/value, or as given.
		d.k = view4(d.kvHeads, d.total, d.headDim)
		d.v = view4(d.kvHeads, d.total, d.vHeadDim)
	} else {
		d.k = view3(d.kvHeads, d.kvLen, d.headDim)
		d.v = view3(d.kvHeads, d.kvLen, d.vHeadDim)
	}
	return d, nil
}

// shapeLike reports whether shape matches want, where -1 matches any size.
func shapeLike(shape, want []int) bool {
	if len(shape) != len(want) {
		return false
	}
	for i, w := range want {
		if w >= 0 && shape[i] != w {
			return false
		}
	}
	return true
}

// maskLayoutOf checks that a mask of shape ms broadcasts to
// [B, Hq, Sq, L] with L <= T and returns its layout.
func maskLayoutOf(ms []int, d attentionDims) (maskLayout, error) {
	if len(ms) == 0 || len(ms) > 4 {
		return maskLayout{}, fmt.Errorf("attn_mask %v must have rank 1 to 4", ms)
	}
	full := []int{1, 1, 1, 1}
	copy(full[4-len(ms):], ms)
	target := []int{d.batch, d.qHeads, d.qLen, full[3]}
	if full[3] > d.total {
		return maskLayout{}, fmt.Errorf("attn_mask %v has %d columns, more than the %d keys", ms, full[3], d.total)
	}
	strides := make([]int, 4)
	s := 1
	for i := 3; i >= 0; i-- {
		switch full[i] {
		case target[i]:
			strides[i] = s
		case 1:
		default:
			return maskLayout{}, fmt.Errorf("attn_mask %v does not broadcast to [%d, %d, %d, %d]", ms, d.batch, d.qHeads, d.qLen, full[3])
		}
		if full[i] == 1 {
			strides[i] = 0
		}
		s *= full[i]
	}
	return maskLayout{strides[0], strides[1], strides[2], strides[3], full[3]}, nil
}

// attentionInputs are an Attention node's operands in the compute type T
// (float32 for float32 and the 16-bit floats, float64 for float64).
type attentionInputs[T floatNumber] struct {
	d              attentionDims
	q, k, v        []T // k and v: present_key/value when there is a past
	presentK       []T // nil unless built
	presentV       []T
	maskF          []T    // float mask, or nil
	maskB          []bool // bool mask, or nil
	mask           maskLayout
	nonpad         []int64
	scale, softcap T
	causal         bool
	offsetByNonpad bool // the causal offset is nonpad_kv_seqlen[b] - Sq
}

// prepareAttention converts the inputs to T and builds present_key and
// present_value when there is a past or they are wanted.
func prepareAttention[T floatNumber](ctx *Context, op *attention, in []*tensor.Tensor, d attentionDims) (*attentionInputs[T], error) {
	a := &attentionInputs[T]{d: d, causal: op.causal}
	a.q = computeData(in[0]).([]T)
	k, v := computeData(in[1]).([]T), computeData(in[2]).([]T)
	pk, pv := optionalInput(in, 4), optionalInput(in, 5)
	if d.pastLen > 0 || op.wanted[1] || op.wanted[2] {
		var pastK, pastV []T
		if pk != nil {
			pastK, pastV = computeData(pk).([]T), computeData(pv).([]T)
		}
		a.presentK = concatKV(outputBuffer[T](ctx, d.batch*d.kvHeads*d.total*d.headDim), pastK, k, d, d.headDim)
		a.presentV = concatKV(outputBuffer[T](ctx, d.batch*d.kvHeads*d.total*d.vHeadDim), pastV, v, d, d.vHeadDim)
	}
	if d.pastLen > 0 {
		a.k, a.v = a.presentK, a.presentV
	} else {
		a.k, a.v = k, v
	}
	if m := optionalInput(in, 3); m != nil {
		lay, err := maskLayoutOf(m.Shape, d)
		if err != nil {
			return nil, err
		}
		a.mask = lay
		switch {
		case m.DType == graph.Bool:
			a.maskB = m.Data.([]bool)
		case m.DType == in[0].DType:
			a.maskF = computeData(m).([]T)
		default:
			return nil, fmt.Errorf("attn_mask is %v, want bool or Q's type %v", m.DType, in[0].DType)
		}
	}
	if np := optionalInput(in, 6); np != nil {
		if op.opset < 24 {
			return nil, fmt.Errorf("input nonpad_kv_seqlen needs opset 24, the model has %d", op.opset)
		}
		vals, err := intValues(np, "nonpad_kv_seqlen")
		if err != nil {
			return nil, err
		}
		if len(vals) != d.batch {
			return nil, fmt.Errorf("nonpad_kv_seqlen %v must hold one length per batch (%d)", np.Shape, d.batch)
		}
		a.nonpad = vals
		a.offsetByNonpad = d.pastLen == 0 && pk == nil
	}
	scale := op.scale
	if !op.hasScale {
		scale = 1 / math.Sqrt(float64(d.headDim))
	}
	a.scale, a.softcap = T(scale), T(op.softcap)
	return a, nil
}

// concatKV writes past (nil: none) followed by the new keys or values x
// (3- or 4-D as d says) into out, a [B, Hkv, T, dh] tensor's data, and
// returns it.
func concatKV[T floatNumber](out, past, x []T, d attentionDims, dh int) []T {
	src := view4(d.kvHeads, d.kvLen, dh)
	if d.threeD {
		src = view3(d.kvHeads, d.kvLen, dh)
	}
	for b := range d.batch {
		for h := range d.kvHeads {
			dst := out[(b*d.kvHeads+h)*d.total*dh:]
			if past != nil {
				copy(dst, past[(b*d.kvHeads+h)*d.pastLen*dh:][:d.pastLen*dh])
			}
			dst = dst[d.pastLen*dh:]
			off := src.at(b, h)
			for s := range d.kvLen {
				copy(dst[s*dh:(s+1)*dh], x[off+s*src.ld:])
			}
		}
	}
	return out
}

// biasRow writes the bias of row i of head h of batch b into bias (T
// values) and reports whether any key is left unmasked.
func (a *attentionInputs[T]) biasRow(bias []T, b, h, i int) bool {
	negInf := T(math.Inf(-1))
	d := a.d
	m := a.mask
	base := b*m.sb + h*m.sh + i*m.si
	switch {
	case a.maskB != nil:
		for j := range bias {
			bias[j] = negInf
			if j < m.cols && a.maskB[base+j*m.sj] {
				bias[j] = 0
			}
		}
	case a.maskF != nil:
		for j := range bias {
			bias[j] = negInf
			if j < m.cols {
				bias[j] = a.maskF[base+j*m.sj]
			}
		}
	default:
		clear(bias)
	}
	if a.causal {
		offset := d.pastLen
		if a.offsetByNonpad {
			offset = int(a.nonpad[b]) - d.qLen
		}
		for j := max(i+offset+1, 0); j < len(bias); j++ {
			bias[j] = negInf
		}
	}
	if a.nonpad != nil {
		for j := max(int(a.nonpad[b]), 0); j < len(bias); j++ {
			bias[j] = negInf
		}
	}
	for _, v := range bias {
		if v != negInf {
			return true
		}
	}
	return false
}

// gemmT is C = alpha*op(A)*op(B) + beta*C (see linalg.Gemm) in T: g's
// SGEMM for float32, a plain loop accumulating in float64 for float64.
func gemmT[T floatNumber](g linalg.Gemm, transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if a32, ok := any(a).([]float32); ok {
		g.Sgemm(transA, transB, m, n, k, float32(alpha), a32, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
		return
	}
	for i := range m {
		for j := range n {
			sum := 0.0
			for p := range k {
				var x, y T
				if transA {
					x = a[p*lda+i]
				} else {
					x = a[i*lda+p]
				}
				if transB {
					y = b[j*ldb+p]
				} else {
					y = b[p*ldb+j]
				}
				sum += float64(x) * float64(y)
			}
			r := float64(alpha) * sum
			if beta != 0 {
				r += float64(beta) * float64(c[i*ldc+j])
			}
			c[i*ldc+j] = T(r)
		}
	}
}

// serialGemm returns the current Gemm computing on the calling goroutine,
// for products run one per head over the cores.
func serialGemm() linalg.Gemm {
	g := linalg.Current()
	if b, ok := g.(linalg.Blocked); ok {
		return b.Serial()
	}
	return g
}

// scoresRows computes head h of batch b's S, C and Z rows into z
// ([Sq, T]), copying the one mode selects into qk (when not nil), then
// turns z into Pr in place. capped receives C when not nil. bias is
// scratch of T values.
func (a *attentionInputs[T]) scoresRows(g linalg.Gemm, b, h int, z, capped, qk, bias []T, mode int) {
	d := a.d
	kh := h / (d.qHeads / d.kvHeads)
	gemmT(g, false, true, d.qLen, d.total, d.headDim, a.scale, a.q[d.q.at(b, h):], d.q.ld, a.k[d.k.at(b, kh):], d.k.ld, 0, z, d.total)
	if qk != nil && mode == qkModeScores {
		copy(qk, z)
	}
	if a.softcap > 0 {
		softcapInPlace(z, a.softcap)
	}
	if capped != nil {
		copy(capped, z)
	}
	if qk != nil && mode == qkModeSoftcap {
		copy(qk, z)
	}
	masked := a.maskB != nil || a.maskF != nil || a.causal || a.nonpad != nil
	for i := range d.qLen {
		row := z[i*d.total : (i+1)*d.total]
		live := true
		if masked {
			live = a.biasRow(bias, b, h, i)
			for j := range row {
				row[j] += bias[j]
			}
		}
		if qk != nil && mode == qkModeMasked {
			copy(qk[i*d.total:], row)
		}
		softmaxRow(row, live)
	}
	if qk != nil && mode == qkModeSoftmax {
		copy(qk, z)
	}
}

// softmaxRow replaces row by its softmax, subtracting the maximum first;
// a row with no live key (or no finite value) becomes 0. A float32 row
// is vec.Softmax's (vec's float32 exponentials, their sum in float64).
func softmaxRow[T floatNumber](row []T, live bool) {
	if !live || len(row) == 0 {
		clear(row)
		return
	}
	if r32, ok := any(row).([]float32); ok {
		if m := vec.Max(r32); math.IsInf(float64(m), -1) || m != m {
			clear(row)
			return
		}
		vec.Softmax(r32, r32)
		return
	}
	m := T(math.Inf(-1))
	for _, v := range row {
		m = max(m, v)
	}
	if math.IsInf(float64(m), -1) || math.IsNaN(float64(m)) {
		clear(row)
		return
	}
	sum := 0.0
	for j, v := range row {
		e := math.Exp(float64(v - m))
		row[j] = T(e)
		sum += e
	}
	inv := 1 / sum
	for j, v := range row {
		row[j] = T(float64(v) * inv)
	}
}

// softcapInPlace replaces z by c·tanh(z/c), through vec's float32 tanh
// for float32.
func softcapInPlace[T floatNumber](z []T, c T) {
	if z32, ok := any(z).([]float32); ok {
		c32 := float32(c)
		for i := range z32 {
			z32[i] /= c32
		}
		vec.Tanh(z32, z32)
		for i := range z32 {
			z32[i] *= c32
		}
		return
	}
	for i, v := range z {
		z[i] = c * T(math.Tanh(float64(v/c)))
	}
}

// Forward computes Y and the wanted present_key, present_value and
// qk_matmul_output.
func (op *attention) Forward(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 3, 7); err != nil {
		return nil, err
	}
	dt := in[0].DType
	if !isFloatDType(dt) {
		return nil, fmt.Errorf("input Q is %v, want a float type", dt)
	}
	for i := 1; i < 6; i++ {
		if t := optionalInput(in, i); t != nil && i != 3 && t.DType != dt {
			return nil, fmt.Errorf("input %d is %v, Q is %v", i, t.DType, dt)
		}
	}
	d, err := op.dims(in)
	if err != nil {
		return nil, err
	}
	if dt == graph.Float64 {
		return attentionForward[float64](op, ctx, in, d)
	}
	return attentionForward[float32](op, ctx, in, d)
}

func attentionForward[T floatNumber](op *attention, ctx *Context, in []*tensor.Tensor, d attentionDims) ([]*tensor.Tensor, error) {
	a, err := prepareAttention[T](ctx, op, in, d)
	if err != nil {
		return nil, err
	}
	dt := in[0].DType
	yShape := []int{d.batch, d.qHeads, d.qLen, d.vHeadDim}
	if d.threeD {
		yShape = []int{d.batch, d.qLen, d.qHeads * d.vHeadDim}
	}
	y := outputBuffer[T](ctx, tensor.NumElements(yShape))
	plane := d.qLen * d.total
	probsT := attentionScratch[T](ctx, d.batch*d.qHeads*plane)
	probs := tensorData[T](probsT)
	var qk []T
	if op.wanted[3] {
		qk = outputBuffer[T](ctx, d.batch*d.qHeads*plane)
	}
	heads := d.batch * d.qHeads
	g := serialGemm()
	parallel.For(heads, 1, func(lo, hi int) {
		bias := make([]T, d.total)
		for bh := lo; bh < hi; bh++ {
			b, h := bh/d.qHeads, bh%d.qHeads
			z := probs[bh*plane : (bh+1)*plane]
			var qkHead []T
			if qk != nil {
				qkHead = qk[bh*plane : (bh+1)*plane]
			}
			a.scoresRows(g, b, h, z, nil, qkHead, bias, op.mode)
			kh := h / (d.qHeads / d.kvHeads)
			gemmT(g, false, false, d.qLen, d.vHeadDim, d.total, 1, z, d.total, a.v[d.v.at(b, kh):], d.v.ld, 0, y[d.y.at(b, h):], d.y.ld)
		}
	})
	ctx.Pool.Put(probsT)
	out := make([]*tensor.Tensor, attentionOutputs)
	out[0] = storeData(dt, yShape, y)
	if op.wanted[1] {
		out[1] = storeData(dt, []int{d.batch, d.kvHeads, d.total, d.headDim}, a.presentK)
	}
	if op.wanted[2] {
		out[2] = storeData(dt, []int{d.batch, d.kvHeads, d.total, d.vHeadDim}, a.presentV)
	}
	if op.wanted[3] {
		out[3] = storeData(dt, []int{d.batch, d.qHeads, d.qLen, d.total}, qk)
	}
	return out, nil
}

// attentionScratch returns a scratch tensor of n values of T, a float32
// one from the pool.
func attentionScratch[T floatNumber](ctx *Context, n int) *tensor.Tensor {
	var zero T
	if _, ok := any(zero).(float32); ok {
		return ctx.Float32(n)
	}
	return tensor.New(graph.Float64, n)
}

// outputBuffer returns n values of T that the caller overwrites
// entirely, float32 ones from the pool.
func outputBuffer[T floatNumber](ctx *Context, n int) []T {
	return tensorData[T](attentionScratch[T](ctx, n))
}

// tensorData returns t's data as []T.
func tensorData[T floatNumber](t *tensor.Tensor) []T { return t.Data.([]T) }

// Backward returns the gradients of Q, K, V, a float attn_mask,
// past_key and past_value, for float32 and float64 inputs.
func (op *attention) Backward(ctx *Context, in, out, gradOut []*tensor.Tensor) ([]*tensor.Tensor, error) {
	d, err := op.dims(in)
	if err != nil {
		return nil, err
	}
	switch in[0].DType {
	case graph.Float32:
		return attentionBackward[float32](op, ctx, in, gradOut, d)
	case graph.Float64:
		return attentionBackward[float64](op, ctx, in, gradOut, d)
	}
	return nil, fmt.Errorf("backward of Attention on %v is not supported", in[0].DType)
}

func attentionBackward[T floatNumber](op *attention, ctx *Context, in, gradOut []*tensor.Tensor, d attentionDims) ([]*tensor.Tensor, error) {
	a, err := prepareAttention[T](ctx, op, in, d)
	if err != nil {
		return nil, err
	}
	gradOf := func(j int) []T {
		if j < len(gradOut) && gradOut[j] != nil {
			return tensorData[T](gradOut[j])
		}
		return nil
	}
	dY, dPK, dPV, dQK := gradOf(0), gradOf(1), gradOf(2), gradOf(3)
	plane := d.qLen * d.total
	rep := d.qHeads / d.kvHeads
	dQ := make([]T, len(a.q))
	dKT := make([]T, d.batch*d.kvHeads*d.total*d.headDim) // [B, Hkv, T, D]
	dVT := make([]T, d.batch*d.kvHeads*d.total*d.vHeadDim)
	if dPK != nil {
		copy(dKT, dPK)
	}
	if dPV != nil {
		copy(dVT, dPV)
	}
	wantMask := a.maskF != nil && ctx.Wants(3)
	var dZAll []T
	if wantMask {
		dZAll = make([]T, d.batch*d.qHeads*plane)
	}
	kView, vView := view4(d.kvHeads, d.total, d.headDim), view4(d.kvHeads, d.total, d.vHeadDim)
	g := serialGemm()
	parallel.For(d.batch*d.kvHeads, 1, func(lo, hi int) {
		probs, capped, dP := make([]T, plane), make([]T, plane), make([]T, plane)
		bias := make([]T, d.total)
		for bk := lo; bk < hi; bk++ {
			b, kh := bk/d.kvHeads, bk%d.kvHeads
			dK, dV := dKT[kView.at(b, kh):], dVT[vView.at(b, kh):]
			for h := kh * rep; h < (kh+1)*rep; h++ {
				bh := b*d.qHeads + h
				var gQK []T
				if dQK != nil {
					gQK = dQK[bh*plane : (bh+1)*plane]
				}
				a.scoresRows(g, b, h, probs, capped, nil, bias, op.mode)
				// dPr = dY V^T; dV += Pr^T dY
				clear(dP)
				if dY != nil {
					gemmT(g, false, true, d.qLen, d.total, d.vHeadDim, 1, dY[d.y.at(b, h):], d.y.ld, a.v[d.v.at(b, kh):], d.v.ld, 0, dP, d.total)
					gemmT(g, true, false, d.total, d.vHeadDim, d.qLen, 1, probs, d.total, dY[d.y.at(b, h):], d.y.ld, 1, dV, vView.ld)
				}
				attentionScoreGrad(dP, probs, gQK, d, op.mode)
				if dZAll != nil {
					copy(dZAll[bh*plane:(bh+1)*plane], dP)
				}
				attentionSoftcapGrad(dP, capped, gQK, op.mode, a.softcap)
				// dQ = scale dS K; dK += scale dS^T Q
				gemmT(g, false, false, d.qLen, d.headDim, d.total, a.scale, dP, d.total, a.k[d.k.at(b, kh):], d.k.ld, 0, dQ[d.q.at(b, h):], d.q.ld)
				gemmT(g, true, false, d.total, d.headDim, d.qLen, a.scale, dP, d.total, a.q[d.q.at(b, h):], d.q.ld, 1, dK, kView.ld)
			}
		}
	})
	grads := make([]*tensor.Tensor, len(in))
	dt := in[0].DType
	grads[0] = storeData(dt, in[0].Shape, dQ)
	dK, dPast := splitKV(dKT, d, d.headDim)
	dV, dPastV := splitKV(dVT, d, d.vHeadDim)
	grads[1] = storeData(dt, in[1].Shape, dK)
	grads[2] = storeData(dt, in[2].Shape, dV)
	if d.pastLen > 0 {
		grads[4] = storeData(dt, in[4].Shape, dPast)
		grads[5] = storeData(dt, in[5].Shape, dPastV)
	}
	if wantMask {
		grads[3] = storeData(dt, in[3].Shape, reduceMaskGrad(dZAll, a.mask, d, in[3].Len()))
	}
	return grads, nil
}

// attentionScoreGrad turns dP, the gradient of Pr, into G, the gradient
// of Z, in place, adding dQK's row in the modes that output Pr or Z.
func attentionScoreGrad[T floatNumber](dP, probs, dQK []T, d attentionDims, mode int) {
	if dQK != nil && mode == qkModeSoftmax {
		for i, v := range dQK {
			dP[i] += v
		}
	}
	for i := range d.qLen {
		p, g := probs[i*d.total:(i+1)*d.total], dP[i*d.total:(i+1)*d.total]
		dot := 0.0
		for j, v := range p {
			dot += float64(v) * float64(g[j])
		}
		for j, v := range p {
			g[j] = T(float64(v) * (float64(g[j]) - dot))
		}
	}
	if dQK != nil && mode == qkModeMasked {
		for i, v := range dQK {
			dP[i] += v
		}
	}
}

// attentionSoftcapGrad turns G, the gradient of Z, into dS in place:
// through C's gradient and the soft cap's derivative.
func attentionSoftcapGrad[T floatNumber](g, capped, dQK []T, mode int, softcap T) {
	if dQK != nil && mode == qkModeSoftcap {
		for i, v := range dQK {
			g[i] += v
		}
	}
	if softcap > 0 {
		for i, c := range capped {
			t := c / softcap
			g[i] *= 1 - t*t
		}
	}
	if dQK != nil && mode == qkModeScores {
		for i, v := range dQK {
			g[i] += v
		}
	}
}

// splitKV splits a [B, Hkv, T, dh] gradient into those of the new keys
// or values (in K's or V's layout) and of the past ([B, Hkv, P, dh]).
func splitKV[T floatNumber](total []T, d attentionDims, dh int) (cur, past []T) {
	cur = make([]T, d.batch*d.kvHeads*d.kvLen*dh)
	if d.pastLen > 0 {
		past = make([]T, d.batch*d.kvHeads*d.pastLen*dh)
	}
	dst := view4(d.kvHeads, d.kvLen, dh)
	if d.threeD {
		dst = view3(d.kvHeads, d.kvLen, dh)
	}
	for b := range d.batch {
		for h := range d.kvHeads {
			src := total[(b*d.kvHeads+h)*d.total*dh:]
			if past != nil {
				copy(past[(b*d.kvHeads+h)*d.pastLen*dh:], src[:d.pastLen*dh])
			}
			src = src[d.pastLen*dh:]
			off := dst.at(b, h)
			for s := range d.kvLen {
				copy(cur[off+s*dst.ld:off+s*dst.ld+dh], src[s*dh:])
			}
		}
	}
	return cur, past
}

// reduceMaskGrad sums G ([B, Hq, Sq, T]) into the gradient of a float
// mask of n values laid out as m says.
func reduceMaskGrad[T floatNumber](g []T, m maskLayout, d attentionDims, n int) []T {
	out := make([]T, n)
	for b := range d.batch {
		for h := range d.qHeads {
			for i := range d.qLen {
				row := g[((b*d.qHeads+h)*d.qLen+i)*d.total:]
				base := b*m.sb + h*m.sh + i*m.si
				for j := range m.cols {
					out[base+j*m.sj] += row[j]
				}
			}
		}
	}
	return out
}
