package graph

import (
	"slices"
	"testing"
)

// FuzzAnalysis builds small graphs of the ops with shape functions, with
// arbitrary input shapes and attributes of arbitrary kinds and values, and
// checks that no analysis panics on them.
func FuzzAnalysis(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte("conv pool gemm reshape flatten"))
	f.Add([]byte{7, 7, 7, 0, 0, 0, 255, 254, 3, 1, 4, 1, 5, 9, 2, 6})
	ops := KnownShapeOps()
	attrNames := []string{"strides", "pads", "dilations", "kernel_shape", "group", "axis", "perm",
		"transA", "transB", "auto_pad", "ceil_mode", "size", "allowzero", "value_ints", "keepdims", "axes",
		"blocksize", "to", "num_outputs", "start", "end", "equation", "hidden_size", "direction", "layout",
		"batch_dims", "onesided", "inverse", "noop_with_empty_axes", "k", "split", "num_scan_inputs", "dtype"}
	strs := []string{"NOTSET", "VALID", "SAME_UPPER", "x", "ij,jk->ik", "...ii", "a,b", "bidirectional", "->"}
	dims := []Dim{Fixed(0), Fixed(1), Fixed(2), Fixed(3), Fixed(6), Symbol("N"), UnknownDim()}
	f.Fuzz(func(t *testing.T, data []byte) {
		next := func() int {
			if len(data) == 0 {
				return 0
			}
			b := data[0]
			data = data[1:]
			return int(b)
		}
		small := func() int64 { return int64(next()%9) - 2 } // -2..6
		g := &Graph{Name: "fuzz"}
		var values []string
		for i := range 1 + next()%3 {
			shape := Shape{}
			for range next() % 5 {
				shape = append(shape, dims[next()%len(dims)])
			}
			name := "in" + string(rune('a'+i))
			g.Inputs = append(g.Inputs, &Value{Name: name, Type: TensorType(Float32, shape)})
			values = append(values, name)
		}
		shape := []int64{small(), small()}
		g.Initializers = append(g.Initializers, &Tensor{Name: "k", DType: Int64, Dims: []int64{2}, Data: shape})
		values = append(values, "k")
		g.Initializers = append(g.Initializers, &Tensor{Name: "s", DType: Int64, Data: []int64{small()}},
			&Tensor{Name: "e", DType: Int64, Dims: []int64{0}, Data: []int64{}})
		values = append(values, "s", "e")
		for i := range 1 + next()%4 {
			n := &Node{Name: "n" + string(rune('a'+i)), OpType: ops[next()%len(ops)]}
			for range next() % 4 {
				n.Inputs = append(n.Inputs, values[next()%len(values)])
			}
			for range next() % 3 {
				a := &Attr{Name: attrNames[next()%len(attrNames)]}
				switch next() % 4 {
				case 0:
					a.Kind, a.Int = AttrInt, small()
				case 1:
					a.Kind = AttrInts
					for range next() % 5 {
						a.Ints = append(a.Ints, small())
					}
				case 2:
					a.Kind, a.String = AttrString, strs[next()%len(strs)]
				default:
					a.Kind, a.Float = AttrFloat, float32(small())
				}
				n.Attrs = append(n.Attrs, a)
			}
			out := n.Name + ".out"
			n.Outputs = []string{out, n.Name + ".extra"}
			g.Nodes = append(g.Nodes, n)
			values = append(values, out)
		}
		g.Outputs = []*Value{{Name: values[len(values)-1]}}
		m := &Model{Opsets: []OpsetID{{Version: int64(1 + next()%22)}}, Graph: g}
		_ = Validate(m)
		_, _ = InferTypes(m)
		_, _ = Summarize(m)
		_, _ = TopoSort(g)
	})
}

func TestKnownShapeOps(t *testing.T) {
	ops := KnownShapeOps()
	if !slices.IsSorted(ops) || !slices.Contains(ops, "Conv") || !slices.Contains(ops, "MatMul") {
		t.Errorf("KnownShapeOps = %v", ops)
	}
	// Every op with a shape function exists in the opset table, which
	// ends at opset 22, but for the opset-23 ops the engine runs.
	newer := []string{"Attention", "BitCast", "CausalConvWithState", "CumProd", "LinearAttention", "RMSNormalization",
		"RotaryEmbedding", "SwiGLU", "Swish", "TensorScatter"}
	for _, op := range ops {
		if OpVersions(DefaultDomain, op) == nil && !slices.Contains(newer, op) {
			t.Errorf("shape function for %s, which the opset table lacks", op)
		}
	}
}
