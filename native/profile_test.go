package native

import (
	"context"
	"testing"
	"time"

	"github.com/onnxkit/onnxkit/native/tensor"
)

// TestProfileShares runs smallNet with and without a profile: the
// outputs are bitwise the same, every operator type of the model appears
// with its node count (counted here from the model's nodes), the times
// by type and by node add up to the total, and the total lies within the
// runs' wall time. (How much of the wall time it covers depends on the
// machine: on a loaded one the system holds the goroutine back between
// nodes too, and a share of it failed the test once.)
func TestProfileShares(t *testing.T) {
	m := smallNet(t, 3)
	p, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]*tensor.Tensor{"x": randomInput(4, 64, 3, 8, 8)}
	plain, err := p.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	prof := p.NewProfile()
	const runs = 20
	var wall time.Duration
	for range runs {
		start := time.Now()
		got, err := p.RunWith(context.Background(), in, Options{Profile: prof})
		wall += time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range plain {
			identicalTensors(t, "profiled output "+name, got[name], want)
		}
	}
	if prof.Runs() != runs {
		t.Errorf("Runs() = %d, want %d", prof.Runs(), runs)
	}
	wantNodes := map[string]int{}
	for _, n := range m.Graph.Nodes {
		wantNodes[n.OpType]++
	}
	byOp := prof.ByOp()
	var sum time.Duration
	for i, row := range byOp {
		if row.Nodes != wantNodes[row.Op] {
			t.Errorf("%s: %d nodes, want %d", row.Op, row.Nodes, wantNodes[row.Op])
		}
		delete(wantNodes, row.Op)
		if i > 0 && row.Time > byOp[i-1].Time {
			t.Errorf("%s (%v) after %s (%v): not longest first", row.Op, row.Time, byOp[i-1].Op, byOp[i-1].Time)
		}
		sum += row.Time
	}
	if len(wantNodes) > 0 {
		t.Errorf("operator types missing from the table: %v", wantNodes)
	}
	total := prof.Total()
	var nodeSum time.Duration
	for _, row := range prof.ByNode(len(m.Graph.Nodes) + 5) {
		nodeSum += row.Time
	}
	if sum != total || nodeSum != total {
		t.Errorf("by type %v, by node %v, total %v: want equal", sum, nodeSum, total)
	}
	if total <= 0 || total > wall {
		t.Errorf("profiled %v of %v wall time: want some of it, and no more", total, wall)
	}
	if top := prof.ByNode(3); len(top) != 3 || top[0].Time < top[2].Time {
		t.Errorf("ByNode(3) = %v", top)
	}
	// The Relu that the Conv applies takes no time of its own.
	for _, row := range byOp {
		if row.Op == "Relu" && row.Time != 0 {
			t.Errorf("the fused Relu took %v", row.Time)
		}
	}

	other, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.RunWith(context.Background(), in, Options{Profile: prof}); err == nil {
		t.Error("a profile of another program was accepted")
	}
}
