package ops

import (
	"slices"
	"testing"

	"github.com/onnxkit/onnxkit/graph"
	"github.com/onnxkit/onnxkit/native/tensor"
)

func trStrings(shape []int, v ...string) *tensor.Tensor {
	return &tensor.Tensor{DType: graph.String, Shape: shape, Data: v}
}

func TestStringNormalizer(t *testing.T) {
	x := trStrings([]int{1, 4}, "The", "cat", "THE", "Dog")
	for _, c := range []struct {
		attrs []*graph.Attr
		want  []string
	}{
		// Case-insensitive: both "The" and "THE" match stopword "the".
		{[]*graph.Attr{graph.StringsAttr("stopwords", "the")}, []string{"cat", "Dog"}},
		// Case-sensitive: only "THE" matches.
		{[]*graph.Attr{graph.StringsAttr("stopwords", "THE"), graph.IntAttr("is_case_sensitive", 1), graph.StringAttr("case_change_action", "LOWER")},
			[]string{"the", "cat", "dog"}},
		{[]*graph.Attr{graph.StringAttr("case_change_action", "UPPER")}, []string{"THE", "CAT", "THE", "DOG"}},
		// Everything dropped: one empty string.
		{[]*graph.Attr{graph.StringsAttr("stopwords", "the", "cat", "dog")}, []string{""}},
	} {
		got := runNode(t, testNode("StringNormalizer", c.attrs...), 10, x)[0]
		if !slices.Equal(got.Shape, []int{1, len(c.want)}) || !slices.Equal(got.Data.([]string), c.want) {
			t.Errorf("%v: got %v %q, want %q", c.attrs[0].Strings, got.Shape, got.Data, c.want)
		}
	}
	wantErr(t, "two rows", runNodeErr(t, testNode("StringNormalizer"), 10, trStrings([]int{2, 1}, "a", "b")), "[1, C]")
	wantErr(t, "numbers", runNodeErr(t, testNode("StringNormalizer"), 10, float32s([]int{1}, 1)), "string")
}

func TestTfIdfVectorizer(t *testing.T) {
	// Pool: unigrams "a" "b", bigrams (a b) (b a); output indexes 3 2 1 0.
	// Row "a b a c b": unigrams a×2, b×2; bigrams without skip: (a b) at
	// 0, (b a) at 1; with skip 1 (items two apart): (a a), (b c), (a b)
	// at 2 -> (a b)×2, (b a)×1.
	attrs := []*graph.Attr{
		graph.IntAttr("min_gram_length", 1), graph.IntAttr("max_gram_length", 2), graph.IntAttr("max_skip_count", 1),
		graph.StringAttr("mode", "TF"), graph.IntsAttr("ngram_counts", 0, 2), graph.IntsAttr("ngram_indexes", 3, 2, 1, 0),
		graph.StringsAttr("pool_strings", "a", "b", "a", "b", "b", "a"),
	}
	x := trStrings([]int{2, 5}, "a", "b", "a", "c", "b", "c", "c", "c", "c", "c")
	got := runNode(t, testNode("TfIdfVectorizer", attrs...), 9, x)[0]
	checkTensor(t, "TF", got, []int{2, 4}, []float64{1, 2, 2, 2, 0, 0, 0, 0}, tolExact)
	// TFIDF with weights 0.5 1 2 4 (pool order): a 2*0.5, b 2*1, ab 2*2, ba 1*4.
	w := append(slices.Clone(attrs[:3]), graph.StringAttr("mode", "TFIDF"), graph.FloatsAttr("weights", 0.5, 1, 2, 4))
	w = append(w, attrs[4:]...)
	got = runNode(t, testNode("TfIdfVectorizer", w...), 9, x)[0]
	checkTensor(t, "TFIDF", got, []int{2, 4}, []float64{4, 4, 2, 1, 0, 0, 0, 0}, tolExact)
	w[3] = graph.StringAttr("mode", "IDF")
	got = runNode(t, testNode("TfIdfVectorizer", w...), 9, x)[0]
	checkTensor(t, "IDF", got, []int{2, 4}, []float64{4, 2, 1, 0.5, 0, 0, 0, 0}, tolExact)

	ints := []*graph.Attr{
		graph.IntAttr("min_gram_length", 2), graph.IntAttr("max_gram_length", 2), graph.IntAttr("max_skip_count", 0),
		graph.StringAttr("mode", "TF"), graph.IntsAttr("ngram_counts", 0, 0), graph.IntsAttr("ngram_indexes", 0),
		graph.IntsAttr("pool_int64s", 7, 8),
	}
	got = runNode(t, testNode("TfIdfVectorizer", ints...), 9, &tensor.Tensor{DType: graph.Int32, Shape: []int{4}, Data: []int32{7, 8, 7, 8}})[0]
	checkTensor(t, "int bigrams", got, []int{1}, []float64{2}, tolExact)
	wantErr(t, "pool type", runNodeErr(t, testNode("TfIdfVectorizer", ints...), 9, x), "pool")
	_, err := Build(testNode("TfIdfVectorizer", append(slices.Clone(ints[:6]), graph.IntsAttr("pool_int64s", 7, 8, 9))...), 9)
	wantErr(t, "odd pool", err, "ngram_counts")
}
