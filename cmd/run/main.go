// Command run runs an ONNX model with the native engine or ONNX Runtime,
// compares the two engines, finds the first node where they diverge,
// summarises a model and measures its latency:
//
//	run alexnet.onnx flower.jpg             # top-5 classes of an image
//	run --out results alexnet.onnx x.npy    # outputs as results/output_<i>.pb
//	run --compare --batch 4 alexnet.onnx    # native against ONNX Runtime, random inputs
//	run --bisect alexnet.onnx input_0.pb    # first node whose output differs
//	run --summary --json alexnet.onnx       # parameters, MACs, memory, unsupported ops
//	run --bench 50 --threads 2 alexnet.onnx # latency percentiles and images/s
//
// The logic lives in run (run.go), which takes the arguments and the
// output streams and returns the exit status: 0 success, 1 failure, 2 bad
// usage. See `run --help` for every flag.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
