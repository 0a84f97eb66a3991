package conformance

import (
	"fmt"
	"math"
	"reflect"
	"slices"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// Tolerance is a named level of agreement for floating-point outputs:
// |got - want| <= ATol + RTol*|want| element by element. Integer, bool
// and string outputs are always compared exactly.
type Tolerance struct {
	Name       string
	RTol, ATol float64
	// Reason says why a case needs this level rather than the default.
	Reason string
}

// The named levels. A case uses DefaultTolerance unless the manifest
// names another level for it, with the reason.
var (
	// DefaultTolerance is float32 arithmetic done in a different order
	// than the reference (another summation order, fused multiply-add).
	DefaultTolerance = Tolerance{Name: "default", RTol: 1e-3, ATol: 1e-4}
	// LooseTolerance is for ops whose reference was computed through a
	// longer chain of float32 roundings than ours, or in float16.
	LooseTolerance = Tolerance{Name: "loose", RTol: 1e-2, ATol: 1e-3}
)

// tolerances lists the levels the manifest may name.
var tolerances = map[string]*Tolerance{
	DefaultTolerance.Name: &DefaultTolerance,
	LooseTolerance.Name:   &LooseTolerance,
}

// Compare checks got against want: same element type and shape, and the
// same values within the tolerance for floating-point types (NaN matching
// NaN, infinities matching exactly), exactly otherwise. The error gives
// the largest difference and the first element out of tolerance.
//
// Sequences and optionals compare element by element: same kind, same
// number of elements, same element type (unless want leaves it
// undefined), and each element within the tolerance.
func (tol *Tolerance) Compare(got, want *tensor.Tensor) error {
	if got == nil {
		return fmt.Errorf("no value")
	}
	if got.Kind != want.Kind {
		return fmt.Errorf("got a %v, want a %v", got.Kind, want.Kind)
	}
	if want.Kind != tensor.Dense {
		return tol.compareElems(got, want)
	}
	if got.DType != want.DType {
		return fmt.Errorf("dtype %v, want %v", got.DType, want.DType)
	}
	if !slices.Equal(got.Shape, want.Shape) {
		return fmt.Errorf("shape %v, want %v", got.Shape, want.Shape)
	}
	if !want.DType.IsFloat() && want.DType != graph.Complex64 && want.DType != graph.Complex128 {
		if !reflect.DeepEqual(got.Data, want.Data) {
			return fmt.Errorf("values differ (exact comparison for %v): %s", want.DType, firstDifference(got, want))
		}
		return nil
	}
	g, err := got.Float64s()
	if err != nil {
		return err
	}
	w, err := want.Float64s()
	if err != nil {
		return err
	}
	worst, worstAt, first := 0.0, -1, -1
	for i := range w {
		if math.IsNaN(w[i]) || math.IsInf(w[i], 0) {
			if !(math.IsNaN(w[i]) && math.IsNaN(g[i])) && g[i] != w[i] {
				return fmt.Errorf("element %d is %v, want %v", i, g[i], w[i])
			}
			continue
		}
		diff := math.Abs(g[i] - w[i])
		if math.IsNaN(diff) {
			diff = math.Inf(1)
		}
		if diff > worst {
			worst, worstAt = diff, i
		}
		if diff > tol.ATol+tol.RTol*math.Abs(w[i]) && first < 0 {
			first = i
		}
	}
	if first >= 0 {
		return fmt.Errorf("beyond %s tolerance (rtol %g, atol %g): max |diff| %.3g at element %d; first mismatch at element %d: got %v, want %v",
			tol.Name, tol.RTol, tol.ATol, worst, worstAt, first, g[first], w[first])
	}
	return nil
}

// compareElems compares two sequences or two optionals.
func (tol *Tolerance) compareElems(got, want *tensor.Tensor) error {
	if want.DType != graph.Undefined && got.DType != want.DType {
		return fmt.Errorf("%v of %v, want %v", got.Kind, got.DType, want.DType)
	}
	if len(got.Elems) != len(want.Elems) {
		return fmt.Errorf("%v of %d elements, want %d", got.Kind, len(got.Elems), len(want.Elems))
	}
	for i := range want.Elems {
		if err := tol.Compare(got.Elems[i], want.Elems[i]); err != nil {
			return fmt.Errorf("%v element %d: %w", want.Kind, i, err)
		}
	}
	return nil
}

func firstDifference(got, want *tensor.Tensor) string {
	g, w := reflect.ValueOf(got.Data), reflect.ValueOf(want.Data)
	for i := 0; i < w.Len() && i < g.Len(); i++ {
		if !reflect.DeepEqual(g.Index(i).Interface(), w.Index(i).Interface()) {
			return fmt.Sprintf("first at element %d: got %v, want %v", i, g.Index(i), w.Index(i))
		}
	}
	return "lengths differ"
}
