package graph

import "math"

// attrSpecs declares, by domain and operator, the attributes of every
// operator that the native engine registers, with the opset versions
// that have them (see attrspec.go). The operators of ONNX 1.12 (opsets
// 1 to 17) were taken from the onnx package's schemas, which
// TestDeclaredAttrsMatchONNX compares them with
// (testdata/attr_reference.txt); later versions and operators follow the
// ONNX specification (docs/Changelog.md) and the 1.23 backend tests.
var attrSpecs = map[string]map[string][]AttrSpec{
	"": {
		"Abs": {
			opt("consumed_inputs", AttrInts).until(6),
		},
		"Acos":  {},
		"Acosh": {},
		"Add":   legacyArithAttrs,
		"AffineGrid": {
			aInt("align_corners", 0),
		},
		"And": legacyBroadcastAttrs,
		"ArgMax": {
			aInt("axis", 0),
			aInt("keepdims", 1),
			aInt("select_last_index", 0).from(12),
		},
		"ArgMin": {
			aInt("axis", 0),
			aInt("keepdims", 1),
			aInt("select_last_index", 0).from(12),
		},
		"Asin":  {},
		"Asinh": {},
		"Atan":  {},
		"Atanh": {},
		"Attention": {
			aInt("is_causal", 0),
			opt("kv_num_heads", AttrInt),
			opt("q_num_heads", AttrInt),
			aInt("qk_matmul_output_mode", 0),
			opt("scale", AttrFloat),
			aFloat("softcap", 0),
			opt("softmax_precision", AttrInt),
		},
		"AveragePool": {
			aString("auto_pad", "NOTSET"),
			aInt("ceil_mode", 0).from(10),
			aInt("count_include_pad", 0).from(7),
			opt("dilations", AttrInts).from(19),
			req("kernel_shape", AttrInts),
			opt("pads", AttrInts),
			opt("strides", AttrInts),
		},
		"BatchNormalization": {
			req("consumed_inputs", AttrInts).until(6),
			aFloat("epsilon", 1e-05),
			aInt("is_test", 0).until(7),
			aFloat("momentum", 0.9),
			aInt("spatial", 1).until(9),
			aInt("training_mode", 0).from(14),
		},
		"Bernoulli": {
			opt("dtype", AttrInt),
			opt("seed", AttrFloat),
		},
		"BitCast": {
			req("to", AttrInt),
		},
		"BitShift": {
			req("direction", AttrString),
		},
		"BitwiseAnd":     {},
		"BitwiseNot":     {},
		"BitwiseOr":      {},
		"BitwiseXor":     {},
		"BlackmanWindow": windowAttrs,
		"Cast": {
			aString("round_mode", "up").from(24),
			aInt("saturate", 1).from(19),
			req("to", AttrString).until(6),
			req("to", AttrInt).from(6),
		},
		"CastLike": {
			aString("round_mode", "up").from(24),
			aInt("saturate", 1).from(19),
		},
		"CausalConvWithState": {
			aString("activation", "none"),
		},
		"Ceil": {
			opt("consumed_inputs", AttrInts).until(6),
		},
		"Celu": {
			aFloat("alpha", 1),
		},
		"CenterCropPad": {
			opt("axes", AttrInts),
		},
		"Clip": {
			opt("consumed_inputs", AttrInts).until(6),
			opt("max", AttrFloat).until(6),
			aFloat("max", 3.4028235e+38).from(6).until(11),
			opt("min", AttrFloat).until(6),
			aFloat("min", -3.4028235e+38).from(6).until(11),
		},
		"Col2Im": {
			opt("dilations", AttrInts),
			opt("pads", AttrInts),
			opt("strides", AttrInts),
		},
		"Compress": {
			opt("axis", AttrInt),
		},
		"Concat": {
			opt("axis", AttrInt).until(4),
			req("axis", AttrInt).from(4),
		},
		"ConcatFromSequence": {
			req("axis", AttrInt),
			aInt("new_axis", 0),
		},
		"Constant": {
			opt("sparse_value", AttrSparseTensor).from(11),
			req("value", AttrTensor).until(11),
			opt("value", AttrTensor).from(11),
			opt("value_float", AttrFloat).from(12),
			opt("value_floats", AttrFloats).from(12),
			opt("value_int", AttrInt).from(12),
			opt("value_ints", AttrInts).from(12),
			opt("value_string", AttrString).from(12),
			opt("value_strings", AttrStrings).from(12),
		},
		"ConstantOfShape": {
			opt("value", AttrTensor),
		},
		"Conv":        convAttrs,
		"ConvInteger": convAttrs,
		"ConvTranspose": {
			aString("auto_pad", "NOTSET"),
			opt("dilations", AttrInts),
			aInt("group", 1),
			opt("kernel_shape", AttrInts),
			opt("output_padding", AttrInts),
			opt("output_shape", AttrInts),
			opt("pads", AttrInts),
			opt("strides", AttrInts),
		},
		"Cos":  {},
		"Cosh": {},
		"CumProd": {
			aInt("exclusive", 0),
			aInt("reverse", 0),
		},
		"CumSum": {
			aInt("exclusive", 0),
			aInt("reverse", 0),
		},
		"DFT": {
			aInt("axis", 1).until(20),
			aInt("inverse", 0),
			aInt("onesided", 0),
		},
		"DeformConv": {
			opt("dilations", AttrInts),
			aInt("group", 1),
			opt("kernel_shape", AttrInts),
			aInt("offset_group", 1),
			opt("pads", AttrInts),
			opt("strides", AttrInts),
		},
		"DepthToSpace": {
			req("blocksize", AttrInt),
			aString("mode", "DCR").from(11),
		},
		"DequantizeLinear": {
			aInt("axis", 1).from(13),
			aInt("block_size", 0).from(21),
			aInt("output_dtype", 0).from(23),
		},
		"Det": {},
		"Div": legacyArithAttrs,
		"Dropout": {
			opt("consumed_inputs", AttrInts).until(6),
			aInt("is_test", 0).until(7),
			aFloat("ratio", 0.5).until(12),
			opt("seed", AttrInt).from(12),
		},
		"DynamicQuantizeLinear": {},
		"Einsum": {
			req("equation", AttrString),
		},
		"Elu": {
			aFloat("alpha", 1),
			opt("consumed_inputs", AttrInts).until(6),
		},
		"Equal": legacyBroadcastAttrs,
		"Erf":   {},
		"Exp": {
			opt("consumed_inputs", AttrInts).until(6),
		},
		"Expand": {},
		"EyeLike": {
			opt("dtype", AttrInt),
			aInt("k", 0),
		},
		"Flatten": {
			aInt("axis", 1),
		},
		"Floor": {
			opt("consumed_inputs", AttrInts).until(6),
		},
		"GRU": {
			opt("activation_alpha", AttrFloats),
			opt("activation_beta", AttrFloats),
			opt("activations", AttrStrings),
			opt("clip", AttrFloat),
			aString("direction", "foward").until(3),
			aString("direction", "forward").from(3),
			opt("hidden_size", AttrInt),
			aInt("layout", 0).from(14),
			aInt("linear_before_reset", 0).from(3),
			aInt("output_sequence", 0).until(7),
		},
		"Gather": {
			aInt("axis", 0),
		},
		"GatherElements": {
			aInt("axis", 0),
		},
		"GatherND": {
			aInt("batch_dims", 0).from(12),
		},
		"Gelu": {
			aString("approximate", "none"),
		},
		"Gemm": {
			aFloat("alpha", 1),
			aFloat("beta", 1),
			aInt("broadcast", 0).until(7),
			aInt("transA", 0),
			aInt("transB", 0),
		},
		"GlobalAveragePool": {},
		"GlobalLpPool": {
			aFloat("p", 2).until(2),
			aInt("p", 2).from(2),
		},
		"GlobalMaxPool":  {},
		"Greater":        legacyBroadcastAttrs,
		"GreaterOrEqual": {},
		"GridSample": {
			aInt("align_corners", 0),
			aString("mode", "bilinear").until(20),
			aString("mode", "linear").from(20),
			aString("padding_mode", "zeros"),
		},
		"GroupNormalization": {
			aFloat("epsilon", 1e-05),
			req("num_groups", AttrInt),
			aInt("stash_type", 1).from(21),
		},
		"HammingWindow": windowAttrs,
		"HannWindow":    windowAttrs,
		"HardSigmoid": {
			aFloat("alpha", 0.2),
			aFloat("beta", 0.5),
			opt("consumed_inputs", AttrInts).until(6),
		},
		"HardSwish": {},
		"Hardmax":   softmaxAttrs,
		"Identity":  {},
		"If": {
			req("else_branch", AttrGraph),
			req("then_branch", AttrGraph),
		},
		"ImageDecoder": {
			aString("pixel_format", "RGB"),
		},
		"InstanceNormalization": {
			opt("consumed_inputs", AttrInts).until(6),
			aFloat("epsilon", 1e-05),
		},
		"IsInf": {
			aInt("detect_negative", 1),
			aInt("detect_positive", 1),
		},
		"IsNaN": {},
		"LRN": {
			aFloat("alpha", 1e-04),
			aFloat("beta", 0.75),
			aFloat("bias", 1),
			req("size", AttrInt),
		},
		"LSTM": {
			opt("activation_alpha", AttrFloats),
			opt("activation_beta", AttrFloats),
			opt("activations", AttrStrings),
			opt("clip", AttrFloat),
			aString("direction", "forward"),
			opt("hidden_size", AttrInt),
			aInt("input_forget", 0),
			aInt("layout", 0).from(14),
			aInt("output_sequence", 0).until(7),
		},
		"LayerNormalization": {
			aInt("axis", -1),
			aFloat("epsilon", 1e-05),
			aInt("stash_type", 1),
		},
		"LeakyRelu": {
			aFloat("alpha", 0.01),
			opt("consumed_inputs", AttrInts).until(6),
		},
		"Less":        legacyBroadcastAttrs,
		"LessOrEqual": {},
		"LinearAttention": {
			opt("kv_num_heads", AttrInt),
			opt("q_num_heads", AttrInt),
			opt("scale", AttrFloat),
			aString("update_rule", "gated_delta"),
		},
		"Log": {
			opt("consumed_inputs", AttrInts).until(6),
		},
		"LogSoftmax": softmaxAttrs,
		"Loop": {
			req("body", AttrGraph),
		},
		"LpNormalization": {
			aInt("axis", -1),
			aInt("p", 2),
		},
		"LpPool": {
			aString("auto_pad", "NOTSET"),
			aInt("ceil_mode", 0).from(18),
			opt("dilations", AttrInts).from(18),
			opt("kernel_shape", AttrInts).until(2),
			req("kernel_shape", AttrInts).from(2),
			aFloat("p", 2).until(2),
			aInt("p", 2).from(2),
			opt("pads", AttrInts),
			opt("strides", AttrInts),
		},
		"MatMul":        {},
		"MatMulInteger": {},
		"Max": {
			opt("consumed_inputs", AttrInts).until(6),
		},
		"MaxPool": {
			aString("auto_pad", "NOTSET"),
			aInt("ceil_mode", 0).from(10),
			opt("dilations", AttrInts).from(10),
			req("kernel_shape", AttrInts),
			opt("pads", AttrInts),
			aInt("storage_order", 0).from(8),
			opt("strides", AttrInts),
		},
		"MaxUnpool": {
			req("kernel_shape", AttrInts),
			opt("pads", AttrInts),
			opt("strides", AttrInts),
		},
		"Mean": {
			opt("consumed_inputs", AttrInts).until(6),
		},
		"MeanVarianceNormalization": {
			aInts("axes", 0, 2, 3),
		},
		"MelWeightMatrix": {
			aInt("output_datatype", 1),
		},
		"Min": {
			opt("consumed_inputs", AttrInts).until(6),
		},
		"Mish": {},
		"Mod": {
			aInt("fmod", 0),
		},
		"Mul": legacyArithAttrs,
		"Multinomial": {
			aInt("dtype", 6),
			aInt("sample_size", 1),
			opt("seed", AttrFloat),
		},
		"Neg": {
			opt("consumed_inputs", AttrInts).until(6),
		},
		"NegativeLogLikelihoodLoss": {
			opt("ignore_index", AttrInt),
			aString("reduction", "mean"),
		},
		"NonMaxSuppression": {
			aInt("center_point_box", 0),
		},
		"NonZero": {},
		"Not":     {},
		"OneHot": {
			aInt("axis", -1),
		},
		"Optional": {
			opt("type", AttrType),
		},
		"OptionalGetElement": {},
		"OptionalHasElement": {},
		"Or":                 legacyBroadcastAttrs,
		"PRelu": {
			opt("consumed_inputs", AttrInts).until(6),
		},
		"Pad": {
			aString("mode", "constant"),
			req("paddings", AttrInts).until(2),
			req("pads", AttrInts).from(2).until(11),
			aFloat("value", 0).until(11),
		},
		"Pow":           legacyBroadcastAttrs,
		"QLinearConv":   convAttrs,
		"QLinearMatMul": {},
		"QuantizeLinear": {
			aInt("axis", 1).from(13),
			aInt("block_size", 0).from(21),
			aInt("output_dtype", 0).from(21),
			aInt("precision", 0).from(23),
			aInt("saturate", 1).from(19),
		},
		"RMSNormalization": {
			aInt("axis", -1),
			aFloat("epsilon", 1e-05),
			aInt("stash_type", 1),
		},
		"RNN": {
			opt("activation_alpha", AttrFloats),
			opt("activation_beta", AttrFloats),
			aStrings("activations", "Tanh", "Tanh"),
			opt("clip", AttrFloat),
			aString("direction", "forward"),
			opt("hidden_size", AttrInt),
			aInt("layout", 0).from(14),
			aInt("output_sequence", 0).until(7),
		},
		"RandomNormal": {
			aInt("dtype", 1),
			aFloat("mean", 0),
			aFloat("scale", 1),
			opt("seed", AttrFloat),
			req("shape", AttrInts),
		},
		"RandomNormalLike": {
			opt("dtype", AttrInt),
			aFloat("mean", 0),
			aFloat("scale", 1),
			opt("seed", AttrFloat),
		},
		"RandomUniform": {
			aInt("dtype", 1),
			aFloat("high", 1),
			aFloat("low", 0),
			opt("seed", AttrFloat),
			req("shape", AttrInts),
		},
		"RandomUniformLike": {
			opt("dtype", AttrInt),
			aFloat("high", 1),
			aFloat("low", 0),
			opt("seed", AttrFloat),
		},
		"Range": {},
		"Reciprocal": {
			opt("consumed_inputs", AttrInts).until(6),
		},
		"ReduceL1":        reduceAttrs,
		"ReduceL2":        reduceAttrs,
		"ReduceLogSum":    reduceAttrs,
		"ReduceLogSumExp": reduceAttrs,
		"ReduceMax":       reduceAttrs,
		"ReduceMean":      reduceAttrs,
		"ReduceMin":       reduceAttrs,
		"ReduceProd":      reduceAttrs,
		"ReduceSum": {
			opt("axes", AttrInts).until(13),
			aInt("keepdims", 1),
			aInt("noop_with_empty_axes", 0).from(13),
		},
		"ReduceSumSquare": reduceAttrs,
		"RegexFullMatch": {
			opt("pattern", AttrString),
		},
		"Relu": {
			opt("consumed_inputs", AttrInts).until(6),
		},
		"Reshape": {
			aInt("allowzero", 0).from(14),
			opt("consumed_inputs", AttrInts).until(5),
			opt("shape", AttrInts).until(5),
		},
		"Resize": {
			aInt("antialias", 0).from(18),
			opt("axes", AttrInts).from(18),
			aString("coordinate_transformation_mode", "half_pixel").from(11),
			aFloat("cubic_coeff_a", -0.75).from(11),
			aInt("exclude_outside", 0).from(11),
			aFloat("extrapolation_value", 0).from(11),
			aString("keep_aspect_ratio_policy", "stretch").from(18),
			aString("mode", "nearest"),
			aString("nearest_mode", "round_prefer_floor").from(11),
		},
		"ReverseSequence": {
			aInt("batch_axis", 1),
			aInt("time_axis", 0),
		},
		"RoiAlign": {
			aString("coordinate_transformation_mode", "half_pixel").from(16),
			aString("mode", "avg"),
			aInt("output_height", 1),
			aInt("output_width", 1),
			aInt("sampling_ratio", 0),
			aFloat("spatial_scale", 1),
		},
		"RotaryEmbedding": {
			aInt("interleaved", 0),
			opt("num_heads", AttrInt),
			aInt("rotary_embedding_dim", 0),
		},
		"Round": {},
		"STFT": {
			aInt("onesided", 1),
		},
		"Scan": {
			req("body", AttrGraph),
			opt("directions", AttrInts).until(9),
			req("num_scan_inputs", AttrInt),
			opt("scan_input_axes", AttrInts).from(9),
			opt("scan_input_directions", AttrInts).from(9),
			opt("scan_output_axes", AttrInts).from(9),
			opt("scan_output_directions", AttrInts).from(9),
		},
		"Scatter": {
			aInt("axis", 0),
		},
		"ScatterElements": {
			aInt("axis", 0),
			aString("reduction", "none").from(16),
		},
		"ScatterND": {
			aString("reduction", "none").from(16),
		},
		"Selu": {
			aFloat("alpha", 1.6732).until(6),
			aFloat("alpha", 1.6732632).from(6),
			opt("consumed_inputs", AttrInts).until(6),
			aFloat("gamma", 1.0507).until(6),
			aFloat("gamma", 1.050701).from(6),
		},
		"SequenceAt":        {},
		"SequenceConstruct": {},
		"SequenceEmpty": {
			opt("dtype", AttrInt),
		},
		"SequenceErase":  {},
		"SequenceInsert": {},
		"SequenceLength": {},
		"SequenceMap": {
			req("body", AttrGraph),
		},
		"Shape": {
			opt("end", AttrInt).from(15),
			aInt("start", 0).from(15),
		},
		"Shrink": {
			aFloat("bias", 0),
			aFloat("lambd", 0.5),
		},
		"Sigmoid": {
			opt("consumed_inputs", AttrInts).until(6),
		},
		"Sign": {},
		"Sin":  {},
		"Sinh": {},
		"Size": {},
		"Slice": {
			opt("axes", AttrInts).until(10),
			req("ends", AttrInts).until(10),
			req("starts", AttrInts).until(10),
		},
		"Softmax": softmaxAttrs,
		"SoftmaxCrossEntropyLoss": {
			opt("ignore_index", AttrInt),
			aString("reduction", "mean"),
		},
		"Softplus": {},
		"Softsign": {},
		"SpaceToDepth": {
			req("blocksize", AttrInt),
		},
		"Split": {
			opt("axis", AttrInt).until(2),
			aInt("axis", 0).from(2),
			opt("num_outputs", AttrInt).from(18),
			opt("split", AttrInts).until(13),
		},
		"SplitToSequence": {
			aInt("axis", 0),
			aInt("keepdims", 1),
		},
		"Sqrt": {
			opt("consumed_inputs", AttrInts).until(6),
		},
		"Squeeze": {
			opt("axes", AttrInts).until(13),
		},
		"StringConcat": {},
		"StringNormalizer": {
			aString("case_change_action", "NONE"),
			aInt("is_case_sensitive", 0),
			opt("locale", AttrString),
			opt("stopwords", AttrStrings),
		},
		"StringSplit": {
			opt("delimiter", AttrString),
			opt("maxsplit", AttrInt),
		},
		"Sub": legacyArithAttrs,
		"Sum": {
			opt("consumed_inputs", AttrInts).until(6),
		},
		"SwiGLU": {
			aFloat("alpha", 1),
		},
		"Swish": {
			aFloat("alpha", 1),
		},
		"Tan": {},
		"Tanh": {
			opt("consumed_inputs", AttrInts).until(6),
		},
		"TensorScatter": {
			aInt("axis", -2),
			aString("mode", "linear"),
		},
		"TfIdfVectorizer": {
			req("max_gram_length", AttrInt),
			req("max_skip_count", AttrInt),
			req("min_gram_length", AttrInt),
			req("mode", AttrString),
			req("ngram_counts", AttrInts),
			req("ngram_indexes", AttrInts),
			opt("pool_int64s", AttrInts),
			opt("pool_strings", AttrStrings),
			opt("weights", AttrFloats),
		},
		"ThresholdedRelu": {
			aFloat("alpha", 1),
		},
		"Tile": {},
		"TopK": {
			aInt("axis", -1),
			req("k", AttrInt).until(10),
			aInt("largest", 1).from(11),
			aInt("sorted", 1).from(11),
		},
		"Transpose": {
			opt("perm", AttrInts),
		},
		"Trilu": {
			aInt("upper", 1),
		},
		"Unique": {
			opt("axis", AttrInt),
			aInt("sorted", 1),
		},
		"Unsqueeze": {
			req("axes", AttrInts).until(13),
		},
		"Upsample": {
			req("height_scale", AttrFloat).until(7),
			aString("mode", "nearest"),
			req("scales", AttrFloats).from(7).until(9),
			req("width_scale", AttrFloat).until(7),
		},
		"Where": {},
		"Xor":   legacyBroadcastAttrs,
	},
	"ai.onnx.ml": {
		"ArrayFeatureExtractor": {},
		"Binarizer": {
			aFloat("threshold", 0),
		},
		"LabelEncoder": {
			opt("classes_strings", AttrStrings).until(2),
			aFloat("default_float", negativeZero).from(2),
			aInt("default_int64", -1),
			aString("default_string", "_Unused"),
			opt("default_tensor", AttrTensor).from(4),
			opt("keys_floats", AttrFloats).from(2),
			opt("keys_int64s", AttrInts).from(2),
			opt("keys_strings", AttrStrings).from(2),
			opt("keys_tensor", AttrTensor).from(4),
			opt("values_floats", AttrFloats).from(2),
			opt("values_int64s", AttrInts).from(2),
			opt("values_strings", AttrStrings).from(2),
			opt("values_tensor", AttrTensor).from(4),
		},
		"TreeEnsemble": {
			aInt("aggregate_function", 1),
			opt("leaf_targetids", AttrInts),
			opt("leaf_weights", AttrTensor),
			opt("membership_values", AttrTensor),
			opt("n_targets", AttrInt),
			opt("nodes_falseleafs", AttrInts),
			opt("nodes_falsenodeids", AttrInts),
			opt("nodes_featureids", AttrInts),
			opt("nodes_hitrates", AttrTensor),
			opt("nodes_missing_value_tracks_true", AttrInts),
			opt("nodes_modes", AttrTensor),
			opt("nodes_splits", AttrTensor),
			opt("nodes_trueleafs", AttrInts),
			opt("nodes_truenodeids", AttrInts),
			aInt("post_transform", 0),
			opt("tree_roots", AttrInts),
		},
	},
	"ai.onnx.preview": {
		"FlexAttention": {
			opt("prob_mod", AttrGraph),
			opt("scale", AttrFloat),
			opt("score_mod", AttrGraph),
		},
	},
	"ai.onnx.preview.training": {
		"Adagrad": {
			aFloat("decay_factor", 0),
			aFloat("epsilon", 1e-06),
			aFloat("norm_coefficient", 0),
		},
		"Adam": {
			aFloat("alpha", 0.9),
			aFloat("beta", 0.999),
			aFloat("epsilon", 1e-06),
			aFloat("norm_coefficient", 0),
			aFloat("norm_coefficient_post", 0),
		},
		"Gradient": {
			req("xs", AttrStrings),
			req("y", AttrString),
			opt("zs", AttrStrings),
		},
		"Momentum": {
			req("alpha", AttrFloat),
			req("beta", AttrFloat),
			req("mode", AttrString),
			req("norm_coefficient", AttrFloat),
		},
	},
}

// negativeZero is LabelEncoder's default_float, -0.0, which a Go
// constant cannot spell.
var negativeZero = float32(math.Copysign(0, -1))

// legacyArithAttrs are the attributes of the arithmetic operators before
// opset 7.
var legacyArithAttrs = []AttrSpec{
	opt("axis", AttrInt).until(7),
	aInt("broadcast", 0).until(7),
	opt("consumed_inputs", AttrInts).until(6),
}

// legacyBroadcastAttrs are the attributes of the binary operators whose
// broadcast was explicit before opset 7.
var legacyBroadcastAttrs = []AttrSpec{
	opt("axis", AttrInt).until(7),
	aInt("broadcast", 0).until(7),
}

// windowAttrs are the attributes of the window functions.
var windowAttrs = []AttrSpec{
	aInt("output_datatype", 1),
	aInt("periodic", 1),
}

// convAttrs are the attributes of the convolutions.
var convAttrs = []AttrSpec{
	aString("auto_pad", "NOTSET"),
	opt("dilations", AttrInts),
	aInt("group", 1),
	opt("kernel_shape", AttrInts),
	opt("pads", AttrInts),
	opt("strides", AttrInts),
}

// reduceAttrs are the attributes of the reductions but ReduceSum, whose
// axes became an input at opset 18.
var reduceAttrs = []AttrSpec{
	opt("axes", AttrInts).until(18),
	aInt("keepdims", 1),
	aInt("noop_with_empty_axes", 0).from(18),
}

// softmaxAttrs are the attributes of Softmax, LogSoftmax and Hardmax: axis
// -1 from opset 13, 1 before.
var softmaxAttrs = []AttrSpec{
	aInt("axis", 1).until(13),
	aInt("axis", -1).from(13),
}
