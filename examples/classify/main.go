// Command classify prints the five most likely classes of an image for a
// model exported by onnxkit's export command, preprocessed as the model's
// metadata says.
//
//	go run ./examples/classify alexnet.onnx flower.jpg
package main

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/onnxkit/onnxkit"
	"github.com/onnxkit/onnxkit/native/preprocess"
	"github.com/onnxkit/onnxkit/native/tensor"
)

func main() {
	if len(os.Args) != 3 {
		log.Fatal("usage: classify MODEL.onnx IMAGE.jpg")
	}
	top, err := classify(os.Args[1], os.Args[2], 5)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range top {
		fmt.Printf("%-12s %.4f\n", p.Class, p.Score)
	}
}

// classify runs the model at modelPath on the image at imagePath and
// returns its k most likely classes.
func classify(modelPath, imagePath string, k int) ([]preprocess.Prediction, error) {
	s, err := onnxkit.Open(modelPath, onnxkit.Options{}) // every unsupported op is listed at once
	if err != nil {
		return nil, err
	}
	m := s.Model()
	spec, err := preprocess.ForModel(m) // resize, crop, mean and std from the metadata
	if err != nil {
		return nil, err
	}
	x, err := spec.Load(imagePath) // float32 [1, 3, 224, 224]
	if err != nil {
		return nil, err
	}
	out, err := s.Run(context.Background(), map[string]*tensor.Tensor{spec.InputName: x})
	if err != nil {
		return nil, err
	}
	classes, err := preprocess.Classes(m) // the class names, in output order
	if err != nil {
		return nil, err
	}
	probs := out[s.Outputs()[0].Name].F32() // [1, 17] softmax probabilities
	return preprocess.TopK(probs, classes, k), nil
}
