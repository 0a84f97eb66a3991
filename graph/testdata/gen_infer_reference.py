#!/usr/bin/python3
"""Writes infer_reference.txt: the types that ONNX's own shape inference
(onnx.shape_inference.infer_shapes with data_prop=True, Debian's
python3-onnx 1.12) gives every value of every model of the ONNX 1.12
backend suite and the ONNX 1.23 node tests. The Go test
onnx/infer_reference_test.go checks graph.InferTypes against it.

Before inference, the declared types of the graph's outputs and its
value_info are removed, so that what ONNX writes back is what it inferred
(the Go test removes them too). Graph inputs and initializers keep their
types: inference starts from them.

Run from the repository's root, after installing libonnx-testdata:

    /usr/bin/python3 graph/testdata/gen_infer_reference.py

Format, one line each:

    model <suite>/<case>               a model whose inference succeeded
    skip <suite>/<case> <reason>       a model ONNX 1.12 cannot infer
    <name> <type>                      a value of the model above

where <suite> is 1.12/<folder> or 1.23/node and a type is written
t<elem>[d,d,...] for a tensor (elem the TensorProto data type number; d a
size, $name for a symbol, ? for unknown), t<elem>* for a tensor of
unknown rank, s(<type>) for a sequence, o(<type>) for an optional and
? for a value with no type. Only values ONNX gave a type are listed.
"""

import glob
import os
import sys

import onnx
from onnx import shape_inference

SUITES = [
    ("1.12", "/usr/share/libonnx-testdata/data"),
    ("1.23", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "onnx-backend-1.23")),
]


def type_str(t):
    kind = t.WhichOneof("value")
    if kind == "tensor_type":
        tt = t.tensor_type
        if not tt.HasField("shape"):
            return "t%d*" % tt.elem_type
        dims = []
        for d in tt.shape.dim:
            if d.HasField("dim_value"):
                dims.append(str(d.dim_value))
            elif d.HasField("dim_param") and d.dim_param:
                dims.append("$" + d.dim_param)
            else:
                dims.append("?")
        return "t%d[%s]" % (tt.elem_type, ",".join(dims))
    if kind == "sequence_type":
        return "s(%s)" % type_str(t.sequence_type.elem_type)
    if kind == "optional_type":
        return "o(%s)" % type_str(t.optional_type.elem_type)
    return "?"


# The newest opset of each domain that ONNX 1.12 has schemas for. It reads
# a model of a newer opset with the schemas it has, so that the definitions
# changed since (ReduceMean-18 takes axes as an input, Split-18 has
# num_outputs) would be inferred wrongly: such models are skipped.
KNOWN_OPSETS = {"": onnx.defs.onnx_opset_version(), "ai.onnx": onnx.defs.onnx_opset_version(),
                "ai.onnx.ml": 3, "ai.onnx.preview.training": 1}


def newer_opset(m):
    for op in m.opset_import:
        known = KNOWN_OPSETS.get(op.domain)
        if known is not None and op.version > known:
            return "opset %d of domain %r is newer than ONNX %s's %d" % (
                op.version, op.domain or "ai.onnx", onnx.__version__, known)
    return None


def main():
    out = []
    for version, root in SUITES:
        root = os.path.normpath(root)
        for path in sorted(glob.glob(os.path.join(root, "*", "*", "model.onnx"))):
            case = os.path.relpath(os.path.dirname(path), root)
            name = version + "/" + case
            try:
                m = onnx.load(path)
                newer = newer_opset(m)
                if newer:
                    out.append("skip %s %s" % (name, newer))
                    continue
                g = m.graph
                for o in g.output:
                    o.ClearField("type")
                del g.value_info[:]
                inferred = shape_inference.infer_shapes(m, check_type=False, strict_mode=True, data_prop=True)
            except Exception as e:  # ONNX 1.12 refuses the model: record why
                reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                out.append("skip %s %s: %s" % (name, type(e).__name__, reason[:200]))
                continue
            out.append("model " + name)
            g = inferred.graph
            for v in list(g.value_info) + list(g.output):
                if v.type.WhichOneof("value") is None:
                    continue
                out.append("%s %s" % (v.name, type_str(v.type)))
    sys.stdout.write("")
    with open(os.path.join(os.path.dirname(__file__), "infer_reference.txt"), "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
