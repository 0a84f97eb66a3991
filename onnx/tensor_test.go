package onnx

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand"
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/onnx/onnxpb"
)

// tensorCase is one dtype's seeded random elements as the IR holds them,
// with the raw_data bytes and typed fields that the ONNX specification
// prescribes for them, each computed here without the package's code.
type tensorCase struct {
	dtype graph.DType
	want  any    // the IR's Go slice
	raw   []byte // little endian, through encoding/binary
	typed func(p *onnxpb.TensorProto)
}

// leBytes serializes a slice of fixed-size values with encoding/binary.
func leBytes(t *testing.T, v any) []byte {
	var b bytes.Buffer
	if err := binary.Write(&b, binary.LittleEndian, v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func widen[T int8 | int16 | uint8 | uint16 | int32](s []T) []int32 {
	out := make([]int32, len(s))
	for i, v := range s {
		out[i] = int32(v)
	}
	return out
}

const tensorElems = 7 // odd, so that 4-bit types leave a padding nibble

func tensorCases(t *testing.T, rng *rand.Rand) []tensorCase {
	n := tensorElems
	f32 := make([]float32, n)
	f64 := make([]float64, n)
	i8 := make([]int8, n)
	u8 := make([]uint8, n)
	i16 := make([]int16, n)
	u16 := make([]uint16, n)
	i32 := make([]int32, n)
	u32 := make([]uint32, n)
	i64 := make([]int64, n)
	u64 := make([]uint64, n)
	bools := make([]bool, n)
	c64 := make([]complex64, n)
	c128 := make([]complex128, n)
	strs := make([]string, n)
	i4 := make([]int8, n)
	u4 := make([]uint8, n)
	i2 := make([]int8, n)
	u2 := make([]uint8, n)
	for i := range n {
		f32[i] = rng.Float32()*200 - 100
		f64[i] = rng.NormFloat64() * 1e6
		i8[i] = int8(rng.Intn(256) - 128)
		u8[i] = uint8(rng.Intn(256))
		i16[i] = int16(rng.Intn(65536) - 32768)
		u16[i] = uint16(rng.Intn(65536))
		i32[i] = int32(rng.Uint32())
		u32[i] = rng.Uint32()
		i64[i] = int64(rng.Uint64())
		u64[i] = rng.Uint64()
		bools[i] = rng.Intn(2) == 1
		c64[i] = complex(rng.Float32()-0.5, rng.Float32()-0.5)
		c128[i] = complex(rng.NormFloat64(), rng.NormFloat64())
		strs[i] = string([]byte{byte(rng.Intn(256)), 0, 'x'}) // any bytes, including NUL
		i4[i] = int8(rng.Intn(16) - 8)
		u4[i] = uint8(rng.Intn(16))
		i2[i] = int8(rng.Intn(4) - 2)
		u2[i] = uint8(rng.Intn(4))
	}
	copy(i2, []int8{-2, 1, -1, 0})  // packs to 0x36: 00 11 01 10 from the top bits down
	i4[0], i4[1], i4[2] = -1, 7, -8 // packs to 0x7f (7<<4 | 0xf), then 0x?8
	boolBytes := make([]byte, n)
	for i, b := range bools {
		if b {
			boolBytes[i] = 1
		}
	}
	pack := func(nib func(i int) byte) []byte {
		out := make([]byte, (n+1)/2)
		for i := range n {
			out[i/2] |= (nib(i) & 0xf) << (4 * uint(i%2))
		}
		return out
	}
	i4Packed := pack(func(i int) byte { return byte(i4[i]) })
	u4Packed := pack(func(i int) byte { return u4[i] })
	pack2 := func(elem func(i int) byte) []byte {
		out := make([]byte, (n+3)/4)
		for i := range n {
			out[i/4] |= (elem(i) & 3) << (2 * uint(i%4))
		}
		return out
	}
	i2Packed := pack2(func(i int) byte { return byte(i2[i]) })
	u2Packed := pack2(func(i int) byte { return u2[i] })
	if i2Packed[0] != 0x36 {
		t.Fatalf("int2 packing of -2, 1, -1, 0: got %#x, want 0x36", i2Packed[0])
	}
	if i4Packed[0] != 0x7f {
		t.Fatalf("int4 packing of -1, 7: got %#x, want 0x7f", i4Packed[0])
	}
	c64Parts := make([]float32, 0, 2*n)
	for _, c := range c64 {
		c64Parts = append(c64Parts, real(c), imag(c))
	}
	c128Parts := make([]float64, 0, 2*n)
	for _, c := range c128 {
		c128Parts = append(c128Parts, real(c), imag(c))
	}
	u32Wide := make([]uint64, n)
	for i, v := range u32 {
		u32Wide[i] = uint64(v)
	}
	int32s := func(v []int32) func(p *onnxpb.TensorProto) {
		return func(p *onnxpb.TensorProto) { p.Int32Data = v }
	}
	packedInts := func(b []byte) []int32 {
		out := make([]int32, len(b))
		for i, v := range b {
			out[i] = int32(v)
		}
		return out
	}
	strBytes := make([][]byte, n)
	for i, s := range strs {
		strBytes[i] = []byte(s)
	}
	return []tensorCase{
		{graph.Float32, f32, leBytes(t, f32), func(p *onnxpb.TensorProto) { p.FloatData = f32 }},
		{graph.Float64, f64, leBytes(t, f64), func(p *onnxpb.TensorProto) { p.DoubleData = f64 }},
		{graph.Int8, i8, leBytes(t, i8), int32s(widen(i8))},
		{graph.Uint8, u8, leBytes(t, u8), int32s(widen(u8))},
		{graph.Int16, i16, leBytes(t, i16), int32s(widen(i16))},
		{graph.Uint16, u16, leBytes(t, u16), int32s(widen(u16))},
		{graph.Int32, i32, leBytes(t, i32), int32s(i32)},
		{graph.Uint32, u32, leBytes(t, u32), func(p *onnxpb.TensorProto) { p.Uint64Data = u32Wide }},
		{graph.Int64, i64, leBytes(t, i64), func(p *onnxpb.TensorProto) { p.Int64Data = i64 }},
		{graph.Uint64, u64, leBytes(t, u64), func(p *onnxpb.TensorProto) { p.Uint64Data = u64 }},
		{graph.Bool, bools, boolBytes, int32s(widen(boolBytes))},
		{graph.Float16, u16, leBytes(t, u16), int32s(widen(u16))},
		{graph.BFloat16, u16, leBytes(t, u16), int32s(widen(u16))},
		{graph.Complex64, c64, leBytes(t, c64Parts), func(p *onnxpb.TensorProto) { p.FloatData = c64Parts }},
		{graph.Complex128, c128, leBytes(t, c128Parts), func(p *onnxpb.TensorProto) { p.DoubleData = c128Parts }},
		{graph.Float8E4M3FN, u8, u8, int32s(widen(u8))},
		{graph.Float8E4M3FNUZ, u8, u8, int32s(widen(u8))},
		{graph.Float8E5M2, u8, u8, int32s(widen(u8))},
		{graph.Float8E5M2FNUZ, u8, u8, int32s(widen(u8))},
		{graph.Int4, i4, i4Packed, int32s(packedInts(i4Packed))},
		{graph.Uint4, u4, u4Packed, int32s(packedInts(u4Packed))},
		{graph.Float4E2M1, u4, u4Packed, int32s(packedInts(u4Packed))},
		{graph.Float8E8M0, u8, u8, int32s(widen(u8))},
		{graph.Int2, i2, i2Packed, int32s(packedInts(i2Packed))},
		{graph.Uint2, u2, u2Packed, int32s(packedInts(u2Packed))},
		{graph.String, strs, nil, func(p *onnxpb.TensorProto) { p.StringData = strBytes }},
	}
}

// TestTensorDTypes decodes each dtype from raw_data and from its typed
// field, and round-trips it through MarshalTensor.
func TestTensorDTypes(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	cases := tensorCases(t, rng)
	covered := map[graph.DType]bool{}
	for _, c := range cases {
		covered[c.dtype] = true
		dims := []int64{1, tensorElems}
		base := func() *onnxpb.TensorProto {
			return &onnxpb.TensorProto{Name: proto.String("x"), Dims: dims, DataType: proto.Int32(int32(c.dtype))}
		}
		typed := base()
		c.typed(typed)
		sources := map[string]*onnxpb.TensorProto{"typed": typed}
		if c.raw != nil {
			raw := base()
			raw.RawData = c.raw
			sources["raw"] = raw
		}
		for src, p := range sources {
			data, err := proto.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			got, err := UnmarshalTensor(data)
			if err != nil {
				t.Errorf("%v from %s: %v", c.dtype, src, err)
				continue
			}
			if got.DType != c.dtype || !reflect.DeepEqual(got.Dims, dims) || got.Name != "x" {
				t.Errorf("%v from %s: got %v%v %q", c.dtype, src, got.DType, got.Dims, got.Name)
			}
			checkData(t, c.dtype.String()+" from "+src, got.Data, c.want)
			again, err := MarshalTensor(got)
			if err != nil {
				t.Errorf("%v from %s: MarshalTensor: %v", c.dtype, src, err)
				continue
			}
			back, err := UnmarshalTensor(again)
			if err != nil {
				t.Errorf("%v from %s: reading MarshalTensor's output: %v", c.dtype, src, err)
				continue
			}
			checkData(t, c.dtype.String()+" after a round trip", back.Data, c.want)
		}
	}
	for dt := graph.DType(1); dt.Valid(); dt++ {
		if !covered[dt] {
			t.Errorf("dtype %v has no test case", dt)
		}
	}
}

// checkData compares decoded elements bit for bit (NaN payloads too),
// reporting the first mismatch.
func checkData(t *testing.T, what string, got, want any) {
	t.Helper()
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	if gv.Type() != wv.Type() || gv.Len() != wv.Len() {
		t.Errorf("%s: got %T of %d, want %T of %d", what, got, gv.Len(), want, wv.Len())
		return
	}
	if !reflect.DeepEqual(got, want) {
		for i := range gv.Len() {
			if !reflect.DeepEqual(gv.Index(i).Interface(), wv.Index(i).Interface()) {
				t.Errorf("%s: first mismatch at %d: got %v, want %v", what, i, gv.Index(i), wv.Index(i))
				return
			}
		}
	}
}

// TestTensorNaNBits checks that float NaN payloads and negative zero pass
// through raw_data unchanged.
func TestTensorNaNBits(t *testing.T) {
	want := []float32{math.Float32frombits(0x7fc01234), float32(math.Copysign(0, -1)), float32(math.Inf(-1))}
	p := &onnxpb.TensorProto{Dims: []int64{3}, DataType: proto.Int32(int32(graph.Float32)), RawData: leBytes(t, want)}
	data, _ := proto.Marshal(p)
	got, err := UnmarshalTensor(data)
	if err != nil {
		t.Fatal(err)
	}
	out, err := MarshalTensor(got)
	if err != nil {
		t.Fatal(err)
	}
	var q onnxpb.TensorProto
	if err := proto.Unmarshal(out, &q); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(q.RawData, p.RawData) {
		t.Errorf("raw_data changed: %x, want %x", q.RawData, p.RawData)
	}
}
