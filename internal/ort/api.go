package ort

// Indices of the functions used from OrtApi, the table of function pointers
// that OrtGetApiBase()->GetApi returns. OrtApi only grows at its end, so an
// index keeps its meaning in every later version of ONNX Runtime; these are
// the positions of onnxruntime_c_api.h, counted from 0.
const (
	fnGetErrorCode                   = 1
	fnGetErrorMessage                = 2
	fnCreateEnv                      = 3
	fnCreateSession                  = 7
	fnCreateSessionFromArray         = 8
	fnRun                            = 9
	fnCreateSessionOptions           = 10
	fnEnableProfiling                = 14
	fnSetSessionGraphOptimization    = 23
	fnSetIntraOpNumThreads           = 24
	fnSetInterOpNumThreads           = 25
	fnSessionGetInputCount           = 30
	fnSessionGetOutputCount          = 31
	fnSessionGetInputTypeInfo        = 33
	fnSessionGetOutputTypeInfo       = 34
	fnSessionGetInputName            = 36
	fnSessionGetOutputName           = 37
	fnCreateTensorAsOrtValue         = 48
	fnGetTensorMutableData           = 51
	fnFillStringTensor               = 52
	fnGetStringTensorDataLength      = 53
	fnGetStringTensorContent         = 54
	fnCastTypeInfoToTensorInfo       = 55
	fnGetOnnxTypeFromTypeInfo        = 56
	fnGetTensorElementType           = 60
	fnGetDimensionsCount             = 61
	fnGetDimensions                  = 62
	fnGetTensorTypeAndShape          = 65
	fnGetValueType                   = 67
	fnAllocatorFree                  = 76
	fnGetAllocatorWithDefaultOptions = 78
	fnReleaseEnv                     = 92
	fnReleaseStatus                  = 93
	fnReleaseSession                 = 95
	fnReleaseValue                   = 96
	fnReleaseTypeInfo                = 98
	fnReleaseTensorTypeAndShapeInfo  = 99
	fnReleaseSessionOptions          = 100
	fnSessionEndProfiling            = 110

	// apiLength is the number of entries read from the table.
	apiLength = fnSessionEndProfiling + 1
)

// apiVersion is the version of OrtApi asked for: ONNX Runtime 1.14, which
// has every function above, so that libraries from 1.14 on load.
const apiVersion = 14

// Values of ONNX Runtime's enums that the binding passes or reads.
const (
	loggingLevelError = 3 // ORT_LOGGING_LEVEL_ERROR
	onnxTypeTensor    = 1 // ONNX_TYPE_TENSOR
)

// onnxTypeNames names ONNXType's values, for errors.
var onnxTypeNames = map[int32]string{
	0: "unknown", 1: "tensor", 2: "sequence", 3: "map", 4: "opaque", 5: "sparse tensor", 6: "optional",
}
