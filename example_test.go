package onnxkit_test

import (
	"context"
	"fmt"
	"log"
	"math"
	"slices"
	"sync"

	"github.com/onnxkit/onnxkit"
	"github.com/onnxkit/onnxkit/native"
	"github.com/onnxkit/onnxkit/native/tensor"
)

// argmax returns the index of the largest of row.
func argmax(row []float32) int {
	return slices.Index(row, slices.Max(row))
}

// image returns a deterministic 3x8x8 test image: channel c holds a ramp
// whose slope depends on c and k.
func image(k int) []float32 {
	pixels := make([]float32, 3*8*8)
	for i := range pixels {
		c, pos := i/64, i%64
		pixels[i] = float32((pos%8)-(pos/8)) * float32(c+k) / 16
	}
	return pixels
}

// Load a model and run it on a batch of two images.
func Example() {
	s, err := onnxkit.Open("testdata/models/tinycnn.onnx", onnxkit.Options{Threads: 2})
	if err != nil {
		log.Fatal(err)
	}
	batch := append(image(1), image(2)...)
	x, err := tensor.From(batch, 2, 3, 8, 8)
	if err != nil {
		log.Fatal(err)
	}
	out, err := s.Run(context.Background(), map[string]*tensor.Tensor{"image": x})
	if err != nil {
		log.Fatal(err)
	}
	logits, err := tensor.Values[float32](out["logits"])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("logits shape:", out["logits"].Shape)
	fmt.Println("classes:", argmax(logits[:5]), argmax(logits[5:]))
	// Output:
	// logits shape: [2 5]
	// classes: 0 1
}

// Run one session from several goroutines at once, each with its own
// batch size: runs share no buffers, and need no lock.
func ExampleSession_Run_concurrent() {
	s, err := onnxkit.Open("testdata/models/tinycnn.onnx", onnxkit.Options{})
	if err != nil {
		log.Fatal(err)
	}
	classes := make([][]int, 4)
	var wg sync.WaitGroup
	for g := range classes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := g + 1 // goroutine g runs a batch of g+1 images
			var batch []float32
			for k := range n {
				batch = append(batch, image(k)...)
			}
			out, err := s.Run(context.Background(), map[string]*tensor.Tensor{"image": tensor.MustFrom(batch, n, 3, 8, 8)})
			if err != nil {
				log.Print(err)
				return
			}
			logits := out["logits"].F32()
			for k := range n {
				classes[g] = append(classes[g], argmax(logits[5*k:5*k+5]))
			}
		}()
	}
	wg.Wait()
	for g, c := range classes {
		fmt.Printf("goroutine %d: %v\n", g, c)
	}
	// Output:
	// goroutine 0: [1]
	// goroutine 1: [1 0]
	// goroutine 2: [1 0 1]
	// goroutine 3: [1 0 1 1]
}

// Run into tensors of the caller's, as a service that answers one
// request after another does: the map keeps the output tensors, and each
// run writes into them, so that steady-state runs allocate nothing. A tensor of the wrong shape is an error that names the
// output.
func ExampleSession_RunInto() {
	s, err := onnxkit.Open("testdata/models/tinycnn.onnx", onnxkit.Options{Threads: 2})
	if err != nil {
		log.Fatal(err)
	}
	logits := tensor.Float32(1, 5) // one image's five class scores
	out := map[string]*tensor.Tensor{"logits": logits}
	for k := range 3 {
		x := tensor.MustFrom(image(k), 1, 3, 8, 8)
		if err := s.RunInto(context.Background(), map[string]*tensor.Tensor{"image": x}, out); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("image %d: class %d, written into the same tensor: %v\n", k, argmax(logits.F32()), out["logits"] == logits)
	}
	two := tensor.MustFrom(append(image(0), image(1)...), 2, 3, 8, 8)
	err = s.RunInto(context.Background(), map[string]*tensor.Tensor{"image": two}, out)
	fmt.Println(err)
	// Output:
	// image 0: class 1, written into the same tensor: true
	// image 1: class 0, written into the same tensor: true
	// image 2: class 1, written into the same tensor: true
	// native: RunInto: output "logits" is float32 of shape [2 5], the tensor given for it float32 of shape [1 5]
}

// Read what a model takes and gives before running it.
func ExampleSession_Inputs() {
	s, err := onnxkit.Open("testdata/models/tinycnn.onnx", onnxkit.Options{})
	if err != nil {
		log.Fatal(err)
	}
	for _, in := range s.Inputs() {
		fmt.Println("input:", in, "symbols:", in.Symbols())
	}
	for _, out := range s.Outputs() {
		fmt.Println("output:", out)
	}
	name, version := s.Producer()
	fmt.Println("producer:", name, version)
	fmt.Println("opset:", s.Opsets()[""])
	fmt.Println("classes:", s.Metadata()["classes"])
	// Output:
	// input: image float32[batch,3,8,8] symbols: [batch]
	// output: logits float32[batch,5]
	// producer: pytorch 1.13.0
	// opset: 17
	// classes: cat,dog,bird,fish,frog
}

// Train an imported model: record a forward run, differentiate a
// softmax cross-entropy loss, and step the weights by gradient descent.
// Training needs OptimizeNone, which keeps the graph as it is.
func ExampleSession_Forward() {
	s, err := onnxkit.Open("testdata/models/tinycnn.onnx", onnxkit.Options{Optimization: onnxkit.OptimizeNone, Threads: 1})
	if err != nil {
		log.Fatal(err)
	}
	const n = 4
	var batch []float32
	labels := []int{0, 1, 3, 4}
	for k := range n {
		batch = append(batch, image(k)...)
	}
	x := tensor.MustFrom(batch, n, 3, 8, 8)
	params := []string{"conv.weight", "conv.bias", "fc.weight", "fc.bias"}
	// step returns the batch's mean loss before the step.
	step := func() float64 {
		tape, err := s.Forward(context.Background(), map[string]*tensor.Tensor{"image": x}, native.Options{Training: true})
		if err != nil {
			log.Fatal(err)
		}
		defer tape.Release()
		logits := tape.Value("logits").F32()
		// d(mean cross-entropy)/d(logits) = (softmax - onehot) / n.
		seed := make([]float32, len(logits))
		var loss float64
		for k := range n {
			row := logits[5*k : 5*k+5]
			top := float64(slices.Max(row))
			var sum float64
			for _, v := range row {
				sum += math.Exp(float64(v) - top)
			}
			for c, v := range row {
				p := math.Exp(float64(v)-top) / sum
				if c == labels[k] {
					loss -= math.Log(p) / n
					p--
				}
				seed[5*k+c] = float32(p / n)
			}
		}
		grads, err := s.Backward(tape, map[string]*tensor.Tensor{"logits": tensor.MustFrom(seed, n, 5)}, params)
		if err != nil {
			log.Fatal(err)
		}
		for _, name := range params {
			w, g := s.Program().Initializer(name).F32(), grads[name].F32()
			for i := range w {
				w[i] -= 0.1 * g[i]
			}
		}
		return loss
	}
	first := step()
	var last float64
	for range 80 {
		last = step()
	}
	fmt.Printf("loss %.2f at first, below half of it after 80 steps: %v\n", first, last < first/2)
	// Output:
	// loss 1.62 at first, below half of it after 80 steps: true
}
