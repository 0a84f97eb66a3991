package kernels

import (
	"fmt"
	"testing"
)

// matVecConvs are convolutions with one output position per image, of
// the zoo's models and of the nets built like them (N unset).
var matVecConvs = []struct {
	name string
	p    ConvParams
	act  Activation
}{
	// MobileNet V3 Small's largest squeeze-and-excitation block.
	{"se-fc1-576x144", conv2D(0, 576, 1, 1, 144, 1, 1, 1, 0, 1, 1), Relu},
	{"se-fc2-144x576", conv2D(0, 144, 1, 1, 576, 1, 1, 1, 0, 1, 1), Activation{Kind: ActHardSigmoid, Alpha: 1.0 / 6, Beta: 0.5}},
	// A classifier on pooled features as a 1x1 convolution.
	{"classifier-1280x1000", conv2D(0, 1280, 1, 1, 1000, 1, 1, 1, 0, 1, 1), Activation{}},
	// A kernel as large as its 7x7 input (VGG's fc6 as a convolution, in small).
	{"whole-7x7-64x256", conv2D(0, 64, 7, 7, 256, 7, 7, 1, 0, 1, 1), Relu},
}

// BenchmarkConvMatVec times the forward pass of matVecConvs, with their
// weights prepared as a session runs them, by the matrix-vector
// products, by im2col (the path they took before) and as chosen.
func BenchmarkConvMatVec(b *testing.B) {
	for _, layer := range matVecConvs {
		for _, batch := range []int{1, 8, 16, 32, 128} {
			for _, alg := range []convAlgorithm{convAuto, convMatVec, convIm2col} {
				p := layer.p
				p.N, p.Act, p.algorithm = batch, layer.act, alg
				if _, err := p.convPlanFor(convForwardPass); err != nil {
					continue
				}
				b.Run(fmt.Sprintf("%s/batch%d/%s", layer.name, batch, alg), func(b *testing.B) {
					benchmarkPreparedConv(b, p)
				})
			}
		}
	}
}
