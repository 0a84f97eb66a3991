package tensor

import "fmt"

// Strides returns the row-major strides of shape, in elements.
func Strides(shape []int) []int {
	s := make([]int, len(shape))
	step := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = step
		step *= shape[i]
	}
	return s
}

// BroadcastShape returns the shape that numpy broadcasting gives shapes:
// aligned at the right, each dimension is the one size other than 1 that
// occurs there, or 1. The error names the first output axis where two
// sizes other than 1 differ, or the shape with a negative dimension.
func BroadcastShape(shapes ...[]int) ([]int, error) {
	rank := 0
	for _, s := range shapes {
		rank = max(rank, len(s))
	}
	out := make([]int, rank)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		off := rank - len(s)
		for i, d := range s {
			switch {
			case d < 0:
				return nil, fmt.Errorf("shapes %v do not broadcast: negative dimension in %v", shapes, s)
			case d == out[off+i] || d == 1:
			case out[off+i] == 1:
				out[off+i] = d
			default:
				return nil, fmt.Errorf("shapes %v do not broadcast: they differ at axis %d (%d vs %d) and neither is 1",
					shapes, off+i, out[off+i], d)
			}
		}
	}
	return out, nil
}

// BroadcastStrides returns, for a tensor of shape in broadcast to shape
// out, the stride of each of out's dimensions in the input: 0 where the
// input is broadcast along it.
func BroadcastStrides(in, out []int) []int {
	strides := Strides(in)
	bs := make([]int, len(out))
	off := len(out) - len(in)
	for i, d := range in {
		if d != 1 {
			bs[off+i] = strides[i]
		}
	}
	return bs
}

// BroadcastIndex maps every element of a tensor of shape out to the
// element of an input broadcast to it: index[i] is the input's flat index
// for out's flat index i.
func BroadcastIndex(in, out []int) []int {
	n := NumElements(out)
	index := make([]int, n)
	bs := BroadcastStrides(in, out)
	coord := make([]int, len(out))
	pos := 0
	for i := 0; i < n; i++ {
		index[i] = pos
		for d := len(out) - 1; d >= 0; d-- {
			coord[d]++
			pos += bs[d]
			if coord[d] < out[d] {
				break
			}
			pos -= bs[d] * coord[d]
			coord[d] = 0
		}
	}
	return index
}
