package model

import (
	"testing"

	"github.com/onnxkit/onnxkit/graph"
)

// TestKerasMatchesTheNotebook checks the reference notebook's published
// totals: 24,834,833 parameters (BatchNorm's four vectors counted) and
// 743,251,072 multiply-accumulates per image. Worked out by layer:
// conv1 54*54*96*363, conv2 26*26*256*2400, conv3 10*10*384*2304,
// conv4 8*8*384*3456, conv5 6*6*256*3456, dense 1024*4096 + 4096*4096 +
// 4096*17 multiply-accumulates.
func TestKerasMatchesTheNotebook(t *testing.T) {
	m, err := Build(Config{Arch: "keras", Classes: 17, Opset: 17, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := graph.Summarize(m)
	if err != nil {
		t.Fatal(err)
	}
	wantMACs := int64(54*54*96*363 + 26*26*256*2400 + 10*10*384*2304 + 8*8*384*3456 +
		6*6*256*3456 + 1024*4096 + 4096*4096 + 4096*17)
	// The notebook counts the convolutions' and dense layers' MACs; the
	// summary's total also counts one per output of each normalisation.
	var layerMACs int64
	for _, n := range s.Nodes {
		if n.Op == "Conv" || n.Op == "Gemm" {
			layerMACs += n.MACs
		}
	}
	if s.Params != 24834833 || layerMACs != 743251072 || layerMACs != wantMACs || s.MACs <= layerMACs {
		t.Fatalf("keras: %d parameters and %d MACs in Conv and Gemm (%d in all), want 24834833 and 743251072 (and more in all)",
			s.Params, layerMACs, s.MACs)
	}
}

// TestPaperShapes checks the 2012 network's shapes at 227x227: its
// classifier reads 256*6*6 features, and its parameter count follows from
// the layer sizes with the grouped convolutions halving conv2, conv4 and
// conv5's input channels.
func TestPaperShapes(t *testing.T) {
	m, err := Build(Config{Arch: "paper", Classes: 17, Opset: 13, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := graph.Summarize(m)
	if err != nil {
		t.Fatal(err)
	}
	want := int64(96*3*11*11+96) + (256*48*5*5 + 256) + (384*256*3*3 + 384) +
		(384*192*3*3 + 384) + (256*192*3*3 + 256) + (9216*4096 + 4096) +
		(4096*4096 + 4096) + (4096*17 + 17)
	if s.Params != want {
		t.Fatalf("paper: %d parameters, want %d", s.Params, want)
	}
	last := s.Nodes[len(s.Nodes)-1]
	if got := last.Outputs[0].String(); got != "float32[N,17]" {
		t.Fatalf("output type %s, want float32[N,17]", got)
	}
}

func TestBuildIsDeterministicPerSeed(t *testing.T) {
	a, _ := Build(Config{Arch: "keras", Classes: 17, Opset: 17, Seed: 7})
	b, _ := Build(Config{Arch: "keras", Classes: 17, Opset: 17, Seed: 7})
	c, _ := Build(Config{Arch: "keras", Classes: 17, Opset: 17, Seed: 8})
	wa := a.Graph.Initializer("conv1.weight").Data.([]float32)
	wb := b.Graph.Initializer("conv1.weight").Data.([]float32)
	wc := c.Graph.Initializer("conv1.weight").Data.([]float32)
	for i := range wa {
		if wa[i] != wb[i] {
			t.Fatalf("same seed, weight %d differs", i)
		}
	}
	same := 0
	for i := range wa {
		if wa[i] == wc[i] {
			same++
		}
	}
	if same > len(wa)/100 {
		t.Fatalf("different seeds share %d of %d weights", same, len(wa))
	}
}

func TestBuildRejectsBadConfigs(t *testing.T) {
	for _, cfg := range []Config{
		{Arch: "vgg", Classes: 17, Opset: 17},
		{Arch: "keras", Classes: 1, Opset: 17},
		{Arch: "keras", Classes: 17, Opset: 12},
		{Arch: "keras", Classes: 17, Opset: 22},
	} {
		if _, err := Build(cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}
