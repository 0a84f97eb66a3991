package native

import "testing"

// TestPlannedPeak works the peak of small graphs by hand: in a chain,
// two neighbouring values live at once; a value that a later node reads
// again lives until then; a kept value lives to the end; an unknown size
// counts as 0.
func TestPlannedPeak(t *testing.T) {
	sizes := map[string]int64{"r0": 100, "r1": 10, "r2": 1000, "r3": 1}
	size := func(name string) (int64, bool) { n, ok := sizes[name]; return n, ok }
	chain, err := Compile(reluChain(4)) // x -> r0 -> r1 -> r2 -> r3
	if err != nil {
		t.Fatal(err)
	}
	// r2 is made while r1 lives: 10 + 1000; then r3 while r2 lives.
	if got, want := chain.PlannedPeak(size), int64(1010); got != want {
		t.Errorf("chain: peak %d, want %d", got, want)
	}
	// Keeping r0 adds it to everything after it.
	if got, want := chain.PlannedPeak(size, "r0"), int64(1110); got != want {
		t.Errorf("chain keeping r0: peak %d, want %d", got, want)
	}
	delete(sizes, "r2")
	// r2 unknown: r0 + r1 = 110 is the largest known pair.
	if got, want := chain.PlannedPeak(size), int64(110); got != want {
		t.Errorf("chain with r2 unknown: peak %d, want %d", got, want)
	}
	g := reluChain(2).Graph // x -> r0 -> r1, then Add(r0, r1) reads r0 again
	g.Nodes = append(g.Nodes, sgNode("Add", []string{"r0", "r1"}, "sum"))
	g.Outputs[0].Name = "sum"
	skip, err := Compile(sgModel(g))
	if err != nil {
		t.Fatal(err)
	}
	sizes = map[string]int64{"r0": 100, "r1": 10, "sum": 1}
	if got, want := skip.PlannedPeak(size), int64(111); got != want {
		t.Errorf("skip connection: peak %d, want %d", got, want)
	}
}
