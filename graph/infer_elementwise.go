package graph

// Shape functions of the element-wise operators: the output has the
// broadcast shape of the inputs. The arithmetic ops also compute on
// followed integer values (infer_data.go).

// inferArith: C = A op B with numpy broadcasting, of A's type; on
// followed values the result is computed with op.
func inferArith(op func(a, b symInt) symInt) shapeFunc {
	return func(c *inferCtx) ([]*Type, error) {
		out, err := inferBroadcast(c)
		if err == nil {
			c.setData(broadcastData(c.data(0), c.data(1), op))
		}
		return out, err
	}
}

// inferCompare: C = A cmp B, bool with the broadcast shape; on followed
// values the comparison is made where it can be known.
func inferCompare(pred func(cmp int) bool) shapeFunc {
	return func(c *inferCtx) ([]*Type, error) {
		out, err := inferBroadcast(c)
		if err != nil || len(out) == 0 || out[0] == nil {
			return out, err
		}
		if pred != nil {
			c.setData(broadcastData(c.data(0), c.data(1), func(a, b symInt) symInt {
				if r, ok := intCompare(a, b); ok {
					return knownInt(boolInt(pred(r)))
				}
				return symInt{}
			}))
		}
		return []*Type{TensorType(Bool, out[0].Shape)}, nil
	}
}

// inferPRelu: Y = X or slope*X, shaped like X. (The slope broadcasts to
// X; before opset 7 a slope [C] applied along axis 1.)
var inferPRelu = sameAsInput

// inferVariadic: Max, Min, Sum, Mean: the broadcast of all inputs, of the
// first known input's type.
func inferVariadic(c *inferCtx) ([]*Type, error) {
	var out *Type
	for i := range c.node.Inputs {
		t, err := c.tensor(i)
		if err != nil {
			return nil, err
		}
		if t == nil {
			return nil, nil
		}
		if out == nil {
			out = t
			continue
		}
		if err := c.sameDType(out, t, 0, i); err != nil {
			return nil, err
		}
		if out.Shape == nil || t.Shape == nil {
			out = TensorType(out.DType, nil)
			continue
		}
		s, ok := broadcastShapes(out.Shape, t.Shape)
		if !ok {
			return nil, c.errorf("shapes %s and %s do not broadcast", out.Shape, t.Shape)
		}
		out = TensorType(out.DType, s)
	}
	return []*Type{out}, nil
}

// inferPow: Z = X^Y with broadcasting, of X's type (Y may differ).
func inferPow(c *inferCtx) ([]*Type, error) {
	x, err := c.tensor(0)
	if err != nil || x == nil {
		return nil, err
	}
	y, err := c.tensor(1)
	if err != nil || y == nil {
		return nil, err
	}
	if x.Shape == nil || y.Shape == nil {
		return []*Type{TensorType(x.DType, nil)}, nil
	}
	s, ok := broadcastShapes(x.Shape, y.Shape)
	if !ok {
		return nil, c.errorf("shapes %s and %s do not broadcast", x.Shape, y.Shape)
	}
	return []*Type{TensorType(x.DType, s)}, nil
}

// inferWhere: output = condition ? X : Y, broadcast over the three, of
// X's type; on followed values the choice is made where the condition is
// known.
func inferWhere(c *inferCtx) ([]*Type, error) {
	var ts [3]*Type
	for i := range ts {
		t, err := c.tensor(i)
		if err != nil || t == nil {
			return nil, err
		}
		ts[i] = t
	}
	if err := c.sameDType(ts[1], ts[2], 1, 2); err != nil {
		return nil, err
	}
	dtype := ts[1].DType
	var shapes []Shape
	for _, t := range ts {
		if t.Shape == nil {
			return []*Type{TensorType(dtype, nil)}, nil
		}
		shapes = append(shapes, t.Shape)
	}
	s, ok := broadcastShapes(shapes[0], shapes[1])
	if ok {
		s, ok = broadcastShapes(s, shapes[2])
	}
	if !ok {
		return nil, c.errorf("shapes %s, %s and %s do not broadcast", shapes[0], shapes[1], shapes[2])
	}
	cond, x, y := c.data(0), c.data(1), c.data(2)
	n := max(len(cond), len(x), len(y))
	fits := func(v symInts) bool { return v != nil && (len(v) == n || len(v) == 1) }
	if len(s) <= 1 && fits(cond) && fits(x) && fits(y) {
		at := func(v symInts, i int) symInt { return v[min(i, len(v)-1)] }
		v := make(symInts, n)
		for i := range v {
			if k := at(cond, i); k.Known && k.N != 0 {
				v[i] = at(x, i)
			} else if k.Known {
				v[i] = at(y, i)
			}
		}
		c.setData(v)
	}
	return []*Type{TensorType(dtype, s)}, nil
}

// inferClip: like the input; min and max, when given, are scalars.
var inferClip = sameAsInput

// inferLogical: And, Or, Xor: bool with the broadcast shape.
var inferLogical = inferCompare(nil)

// unaryTo: the input's shape with element type d (IsNaN, IsInf: bool).
func unaryTo(d DType) shapeFunc {
	return func(c *inferCtx) ([]*Type, error) {
		x, err := c.tensor(0)
		if err != nil || x == nil {
			return nil, err
		}
		return []*Type{TensorType(d, x.Shape)}, nil
	}
}

// inferCast: the input's shape with the element type of attribute to; on
// followed values, a cast to an integer type keeps them.
func inferCast(c *inferCtx) ([]*Type, error) {
	to, err := c.node.Declared().Int("to")
	if err != nil {
		return nil, err
	}
	d := DType(to)
	if !d.Valid() {
		return nil, c.attrErrorf("to", "%d is not a data type", to)
	}
	x, err := c.tensor(0)
	if err != nil || x == nil {
		return nil, err
	}
	if isIntType(d) {
		c.setData(c.data(0))
	}
	return []*Type{TensorType(d, x.Shape)}, nil
}

// inferCastLike: the input's shape with target_type's element type.
func inferCastLike(c *inferCtx) ([]*Type, error) {
	x, err := c.tensor(0)
	if err != nil || x == nil {
		return nil, err
	}
	like, err := c.tensor(1)
	if err != nil || like == nil {
		return nil, err
	}
	if isIntType(like.DType) {
		c.setData(c.data(0))
	}
	return []*Type{TensorType(like.DType, x.Shape)}, nil
}

func isIntType(d DType) bool {
	switch d {
	case Int8, Int16, Int32, Int64, Uint8, Uint16, Uint32, Uint64:
		return true
	}
	return false
}

// inferIdentity: like the input, with its followed value.
func inferIdentity(c *inferCtx) ([]*Type, error) {
	c.setData(c.data(0))
	return []*Type{c.input(0)}, nil
}

// inferNeg: like the input; on followed values, negated.
func inferNeg(c *inferCtx) ([]*Type, error) {
	if v := c.data(0); v != nil {
		c.setData(broadcastData(v, symInts{knownInt(-1)}, intMul))
	}
	return []*Type{c.input(0)}, nil
}
