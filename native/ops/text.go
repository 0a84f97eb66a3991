package ops

// Text operators: StringNormalizer (opset 10) and TfIdfVectorizer
// (opset 9).

import (
	"fmt"
	"math"
	"strings"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// textOps is the operator table of text.go (see registry.go).
var textOps = []Entry{
	{OpType: "StringNormalizer", Since: []int64{10}, Build: newStringNormalizer},
	{OpType: "TfIdfVectorizer", Since: []int64{9}, Build: newTfIdfVectorizer},
}

// stringNormalizer is StringNormalizer:
//
//	X string [C] or [1, C]  ->  Y string [C'] or [1, C']
//
// It drops the stopwords (compared exactly with is_case_sensitive, else
// ignoring case), then applies case_change_action (NONE, LOWER or UPPER).
// When every word is dropped, Y holds one empty string. The locale
// attribute is accepted; case mapping follows Unicode.
type stringNormalizer struct {
	caseAction    string
	caseSensitive bool
	stopwords     map[string]bool
}

func newStringNormalizer(n *graph.Node, _ int64) (Op, error) {
	o := &stringNormalizer{stopwords: map[string]bool{}}
	var err error
	if o.caseAction, err = n.Declared().String("case_change_action"); err != nil {
		return nil, err
	}
	switch o.caseAction {
	case "NONE", "LOWER", "UPPER":
	default:
		return nil, attrError(n, "case_change_action", "is %q, want NONE, LOWER or UPPER", o.caseAction)
	}
	cs, err := n.Declared().Int("is_case_sensitive")
	if err != nil {
		return nil, err
	}
	o.caseSensitive = cs != 0
	if _, err := n.Declared().String("locale"); err != nil {
		return nil, err
	}
	words, err := n.Declared().Strings("stopwords")
	if err != nil {
		return nil, err
	}
	for _, w := range words {
		o.stopwords[o.key(w)] = true
	}
	return o, nil
}

// key is the form in which a word is compared with the stopwords.
func (o *stringNormalizer) key(w string) string {
	if o.caseSensitive {
		return w
	}
	return strings.ToLower(w)
}

func (o *stringNormalizer) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, -1); err != nil {
		return nil, err
	}
	x := in[0]
	words, ok := x.Data.([]string)
	if !ok {
		return nil, fmt.Errorf("input X is %v, want string", x.DType)
	}
	if !(x.Rank() == 1 || x.Rank() == 2 && x.Shape[0] == 1) {
		return nil, fmt.Errorf("input X %v: want [C] or [1, C]", x.Shape)
	}
	var out []string
	for _, w := range words {
		if o.stopwords[o.key(w)] {
			continue
		}
		switch o.caseAction {
		case "LOWER":
			w = strings.ToLower(w)
		case "UPPER":
			w = strings.ToUpper(w)
		}
		out = append(out, w)
	}
	if len(out) == 0 {
		out = []string{""}
	}
	shape := []int{len(out)}
	if x.Rank() == 2 {
		shape = []int{1, len(out)}
	}
	return []*tensor.Tensor{{DType: graph.String, Shape: shape, Data: out}}, nil
}

// tfIdfVectorizer is TfIdfVectorizer:
//
//	X int32/int64/string [C] or [N, C]  ->  Y float32 [O] or [N, O], O = max(ngram_indexes)+1
//
// The pool (pool_int64s or pool_strings) lists the n-grams by length:
// ngram_counts[k] is the pool position of the first (k+1)-gram, and the
// i-th pool n-gram counts into Y[ngram_indexes[i]]. Every n-gram of
// length min_gram_length..max_gram_length found in a row is counted,
// where the items of an n-gram (n > 1) may be spaced by skip+1 for skip
// in 0..max_skip_count. mode TF gives counts, IDF gives weights[i] (1
// without weights) where the count is positive, TFIDF gives count*weight.
type tfIdfVectorizer struct {
	minGram, maxGram, maxSkip int
	mode                      string
	grams                     map[string]int // n-gram key -> pool index
	outIndex                  []int          // pool index -> output index
	weights                   []float64
	outSize                   int
	strings                   bool
}

func newTfIdfVectorizer(n *graph.Node, _ int64) (Op, error) {
	o := &tfIdfVectorizer{grams: map[string]int{}}
	for _, a := range []struct {
		name string
		dst  *int
	}{{"min_gram_length", &o.minGram}, {"max_gram_length", &o.maxGram}, {"max_skip_count", &o.maxSkip}} {
		v, err := n.Declared().Int(a.name)
		if err != nil {
			return nil, err
		}
		if v < 0 || v > math.MaxInt32 {
			return nil, attrError(n, a.name, "is %d, want a non-negative count", v)
		}
		*a.dst = int(v)
	}
	if o.minGram < 1 || o.maxGram < o.minGram {
		return nil, attrError(n, "min_gram_length", "%d and max_gram_length %d: want 1 <= min <= max", o.minGram, o.maxGram)
	}
	var err error
	if o.mode, err = n.Declared().String("mode"); err != nil {
		return nil, err
	}
	switch o.mode {
	case "TF", "IDF", "TFIDF":
	default:
		return nil, attrError(n, "mode", "is %q, want TF, IDF or TFIDF", o.mode)
	}
	counts, err := n.Declared().Ints("ngram_counts")
	if err != nil {
		return nil, err
	}
	indexes, err := n.Declared().Ints("ngram_indexes")
	if err != nil {
		return nil, err
	}
	ints, err := n.Declared().Ints("pool_int64s")
	if err != nil {
		return nil, err
	}
	strs, err := n.Declared().Strings("pool_strings")
	if err != nil {
		return nil, err
	}
	if (len(ints) == 0) == (len(strs) == 0) && len(indexes) > 0 {
		return nil, attrError(n, "pool_int64s", "exactly one of pool_int64s and pool_strings must be given")
	}
	o.strings = len(strs) > 0
	poolLen := max(len(ints), len(strs))
	pool := func(i int) string {
		if o.strings {
			return strs[i]
		}
		return fmt.Sprint(ints[i])
	}
	for k, start := range counts {
		end := int64(poolLen)
		if k+1 < len(counts) {
			end = counts[k+1]
		}
		size := int64(k + 1)
		if start < 0 || end < start || end > int64(poolLen) || (end-start)%size != 0 {
			return nil, attrError(n, "ngram_counts", "%v does not split a pool of %d into n-grams", counts, poolLen)
		}
		for p := start; p < end; p += size {
			var parts []string
			for j := p; j < p+size; j++ {
				parts = append(parts, pool(int(j)))
			}
			o.grams[gramKey(parts)] = len(o.outIndex)
			o.outIndex = append(o.outIndex, -1)
		}
	}
	if len(indexes) != len(o.outIndex) {
		return nil, attrError(n, "ngram_indexes", "has %d values for %d pool n-grams", len(indexes), len(o.outIndex))
	}
	for i, v := range indexes {
		if v < 0 || v > math.MaxInt32 {
			return nil, attrError(n, "ngram_indexes", "value %d is out of range", v)
		}
		o.outIndex[i] = int(v)
		o.outSize = max(o.outSize, int(v)+1)
	}
	w, err := n.Declared().Floats("weights")
	if err != nil {
		return nil, err
	}
	if len(w) != 0 && len(w) != len(indexes) {
		return nil, attrError(n, "weights", "has %d values for %d n-grams", len(w), len(indexes))
	}
	for _, v := range w {
		o.weights = append(o.weights, float64(v))
	}
	return o, nil
}

// gramKey joins n-gram items unambiguously.
func gramKey(parts []string) string {
	var b strings.Builder
	for _, p := range parts {
		fmt.Fprintf(&b, "%d:%s;", len(p), p)
	}
	return b.String()
}

func (o *tfIdfVectorizer) Forward(_ *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkArity(in, 1, -1); err != nil {
		return nil, err
	}
	x := in[0]
	var tokens []string
	switch d := x.Data.(type) {
	case []string:
		if !o.strings {
			return nil, fmt.Errorf("input X is string but the pool holds integers")
		}
		tokens = d
	case []int32, []int64:
		if o.strings {
			return nil, fmt.Errorf("input X is %v but the pool holds strings", x.DType)
		}
		ints, _ := intValues(x, "X")
		tokens = make([]string, len(ints))
		for i, v := range ints {
			tokens[i] = fmt.Sprint(v)
		}
	default:
		return nil, fmt.Errorf("input X is %v, want int32, int64 or string", x.DType)
	}
	rows, cols := 1, 0
	switch x.Rank() {
	case 1:
		cols = x.Shape[0]
	case 2:
		rows, cols = x.Shape[0], x.Shape[1]
	default:
		return nil, fmt.Errorf("input X %v: want [C] or [N, C]", x.Shape)
	}
	if err := checkOutputSize(rows, o.outSize); err != nil {
		return nil, err
	}
	y := make([]float64, rows*o.outSize)
	for r := 0; r < rows; r++ {
		row := tokens[r*cols : (r+1)*cols]
		counts := make([]float64, len(o.outIndex))
		for start := range row {
			for n := o.minGram; n <= o.maxGram; n++ {
				skips := o.maxSkip
				if n == 1 {
					skips = 0 // spacing means nothing for one item
				}
				for skip := 0; skip <= skips; skip++ {
					step := skip + 1
					if start+(n-1)*step >= len(row) {
						break
					}
					parts := make([]string, n)
					for j := range parts {
						parts[j] = row[start+j*step]
					}
					if i, ok := o.grams[gramKey(parts)]; ok {
						counts[i]++
					}
				}
			}
		}
		for i, c := range counts {
			w := 1.0
			if o.weights != nil {
				w = o.weights[i]
			}
			v := c
			switch o.mode {
			case "IDF":
				v = 0
				if c > 0 {
					v = w
				}
			case "TFIDF":
				v = c * w
			}
			y[r*o.outSize+o.outIndex[i]] += v
		}
	}
	shape := []int{o.outSize}
	if x.Rank() == 2 {
		shape = []int{rows, o.outSize}
	}
	return []*tensor.Tensor{float64sToDType(y, graph.Float32, shape)}, nil
}
