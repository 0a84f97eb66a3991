package ops

import (
	"cmp"
	"slices"
	"strings"
)

// The operator table. Each op family file holds one table of Entries
// (activationOps in activation.go, convOps in nn_conv.go, ...), and the
// init function below registers them all: finding an operator means
// finding its family's table. An operator's shape and type inference
// lives in package graph (graph.InferTypes), so that the IR infers
// without the engine; TestEveryKernelHasAShapeFunction keeps the two in
// step. Its attributes, with their defaults, are declared once, under
// the entry's domain and type, in graph/attrspec_table.go, and both the
// constructors and the shape functions read them from there
// (graph.Node.Declared); TestEveryOpDeclaresItsAttributes keeps that
// table complete. Backward passes are the Backward methods of the Ops
// that implement Differentiable, beside their Forward.

// Entry is one operator's registration.
type Entry struct {
	// Domain is the operator's domain: empty for the default ONNX domain
	// (graph.DefaultDomain, never spelled "ai.onnx" here), or one of
	// graph.MLDomain, graph.TrainingDomain, previewDomain.
	Domain string
	// OpType is the operator's name.
	OpType string
	// Since lists the opset versions from which Build (or Scoped)
	// serves, ascending: the versions where the operator's meaning
	// changed in a way the constructor looks at. A node of opset v is
	// built by the entry with the largest Since at most v.
	Since []int64
	// Build constructs the Op of a node; the Op's Forward is the kernel,
	// and its Backward, when it implements Differentiable, the gradient.
	Build Constructor
	// Scoped is set instead of Build for operators with subgraphs.
	Scoped ScopedConstructor
}

// previewDomain is the domain of ONNX's preview operators.
const previewDomain = "ai.onnx.preview"

// families lists every op family's table.
var families = [][]Entry{
	activationOps,
	activationGluOps,
	activationSmoothOps,
	bitcastOps,
	bitwiseOps,
	castOps,
	compareOps,
	constantOps,
	controlflowOps,
	convtOps,
	elementwiseArithOps,
	elementwisePowmodOps,
	elementwiseSelectOps,
	elementwiseVariadicOps,
	gatherOps,
	gatherSelectOps,
	gradientOps,
	lossOps,
	miscDetOps,
	miscEinsumOps,
	miscSignalOps,
	mlOps,
	mlTreeOps,
	nnAttentionOps,
	nnCausalconvOps,
	nnCol2imOps,
	nnConvOps,
	nnDeformOps,
	nnDropoutOps,
	nnFlexAttentionOps,
	nnGemmOps,
	nnLinearAttentionOps,
	nnLpOps,
	batchNormOps,
	nnPoolOps,
	nnRotaryOps,
	nnSoftmaxOps,
	normGroupOps,
	normOps,
	normRmsOps,
	optionalOps,
	padCropOps,
	padOps,
	quantConvOps,
	quantOps,
	randomOps,
	reduceArgOps,
	reduceOps,
	resizeOps,
	rnnOps,
	scatterOps,
	scatterTensorOps,
	sequenceOps,
	shapeConcatOps,
	shapeExpandOps,
	shapeOps,
	shapeTransposeOps,
	shapeTriluOps,
	sliceOps,
	sliceReverseOps,
	sortOps,
	textOps,
	textStringOps,
	trainOps,
	unaryOps,
	visionAffineOps,
	visionDecodeOps,
	visionGridOps,
	visionOps,
}

func init() {
	for _, family := range families {
		for _, e := range family {
			for _, v := range e.Since {
				register(e.Domain, e.OpType, registration{since: v, build: e.Build, scoped: e.Scoped})
			}
		}
	}
}

// OpID names an operator: its domain (empty for the default domain) and
// type.
type OpID struct {
	Domain, OpType string
}

// Registered returns every operator the engine runs, sorted by domain and
// type, with the default domain spelled "".
func Registered() []OpID {
	ids := make([]OpID, 0, len(registry))
	for k := range registry {
		domain, opType, _ := strings.Cut(k, "\x00")
		ids = append(ids, OpID{Domain: domain, OpType: opType})
	}
	slices.SortFunc(ids, func(a, b OpID) int {
		return cmp.Or(cmp.Compare(a.Domain, b.Domain), cmp.Compare(a.OpType, b.OpType))
	})
	return ids
}

// String writes the operator as domain:type, or type for the default
// domain.
func (id OpID) String() string {
	if id.Domain == "" {
		return id.OpType
	}
	return id.Domain + ":" + id.OpType
}
