#!/usr/bin/python3
"""Builds the model zoo that the engine is measured and cross-checked on.

Every model is exported by PyTorch (Debian's python3-torch 1.13.1 and
python3-torchvision 0.14.1) with random weights from a fixed seed, in eval
mode, at opset 17 with a symbolic batch dimension "N". BatchNorm running
statistics are measured on random inputs and affine parameters drawn away
from their defaults (mean 0, variance 1, weight 1, bias 0), so folding
them into convolutions is not a no-op. No pretrained weights are downloaded: none can be here.

Usage: /usr/bin/python3 conformance/zoo/build.py [--out DIR] [MODEL ...]

It writes DIR/<name>.onnx for each model (default DIR: .cache/zoo beside
the repository's go.mod) and DIR/MANIFEST.txt, one line per model built
(name, then each input's name, shape at batch 1 and dtype), in the order
of MODELS below. A model that fails to build is
reported on stderr and makes the script exit with status 1; the others are
still built. Writing is atomic: a model appears under its name only once
it is complete.
"""

import argparse
import hashlib
import os
import sys
import tempfile
import traceback

import torch
import torch.nn as nn
import torchvision

SEED = 20261206
OPSET = 17


def randomize_batchnorm(model, inputs, gen):
    """Gives every BatchNorm running statistics measured on random inputs
    and affine parameters drawn away from 1 and 0.

    Statistics measured on the data keep the activations at unit scale
    through the network, as a trained model's do; arbitrary statistics
    would let a 50-layer network's outputs grow into the hundreds, where
    float32 differences of summation order alone exceed any fixed
    tolerance."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches below
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(*inputs(8))
    for m in norms:
        if m.affine:
            c = m.num_features
            with torch.no_grad():
                m.weight.copy_(torch.rand(c, generator=gen) * 0.5 + 0.75)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.1)


def vit_b_16():
    m = torchvision.models.vit_b_16()
    # torchvision initialises the classification head to zeros, which
    # would make every output 0 and any comparison meaningless.
    head = m.heads.head
    nn.init.normal_(head.weight, std=0.02)
    nn.init.normal_(head.bias, std=0.02)
    return m


class TextEncoder(nn.Module):
    """A BERT-like encoder: token and position embeddings from int64 ids,
    four post-norm Transformer layers (d_model 256, 4 heads, FFN 1024,
    GELU), and two outputs: the sequence's hidden states and a pooled,
    tanh-activated first-token vector."""

    def __init__(self, vocab=8192, seq=128, d=256, heads=4, ffn=1024, layers=4):
        super().__init__()
        self.tokens = nn.Embedding(vocab, d)
        self.positions = nn.Embedding(seq, d)
        self.norm = nn.LayerNorm(d)
        layer = nn.TransformerEncoderLayer(d, heads, ffn, dropout=0.1, activation="gelu",
                                           batch_first=True, norm_first=False)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.pool = nn.Linear(d, d)
        self.seq = seq

    def forward(self, ids):
        pos = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
        h = self.norm(self.tokens(ids) + self.positions(pos))
        h = self.encoder(h)
        return h, torch.tanh(self.pool(h[:, 0]))


class LSTMClassifier(nn.Module):
    """Two stacked LSTM layers (hidden 256) over 64 frames of 40 features,
    classified from the last frame's state into 12 classes."""

    def __init__(self, features=40, hidden=256, classes=12):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, num_layers=2, batch_first=True)
        self.out = nn.Linear(hidden, classes)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.out(y[:, -1])


def image(name, build):
    return name, build, [("input", (1, 3, 224, 224), torch.float32)], ["output"]


MODELS = [
    image("resnet18", torchvision.models.resnet18),
    image("resnet50", torchvision.models.resnet50),
    image("mobilenet_v2", torchvision.models.mobilenet_v2),
    image("mobilenet_v3_small", torchvision.models.mobilenet_v3_small),
    image("squeezenet1_1", torchvision.models.squeezenet1_1),
    image("shufflenet_v2_x1_0", torchvision.models.shufflenet_v2_x1_0),
    image("densenet121", torchvision.models.densenet121),
    image("googlenet", lambda: torchvision.models.googlenet(aux_logits=False, init_weights=True)),
    image("vgg16", torchvision.models.vgg16),
    image("vit_b_16", vit_b_16),
    ("text_encoder", TextEncoder, [("ids", (1, 128), torch.int64)], ["hidden", "pooled"]),
    ("lstm", LSTMClassifier, [("frames", (1, 64, 40), torch.float32)], ["logits"]),
]


def example(shape, dtype, gen):
    if dtype == torch.int64:
        return torch.randint(0, 8192, shape, generator=gen)
    return torch.randn(shape, generator=gen, dtype=dtype)


def build(name, make, inputs, outputs, out_dir):
    # Each model gets its own seed derived from its name, so that adding or
    # removing a model does not change the others' weights.
    seed = SEED + int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = make()
    randomize_batchnorm(model, lambda n: tuple(example((n,) + shape[1:], dtype, gen) for _, shape, dtype in inputs), gen)
    model.eval()
    args = tuple(example(shape, dtype, gen) for _, shape, dtype in inputs)
    names = [n for n, _, _ in inputs]
    dynamic = {n: {0: "N"} for n in names + outputs}
    fd, tmp = tempfile.mkstemp(prefix="." + name + ".", suffix=".tmp", dir=out_dir)
    os.close(fd)
    try:
        # Autograd stays on: in eval mode without it, PyTorch takes its
        # fused attention and encoder-layer kernels, which have no ONNX
        # export.
        torch.onnx.export(model, args, tmp, opset_version=OPSET, input_names=names,
                          output_names=outputs, dynamic_axes=dynamic, do_constant_folding=True)
        os.chmod(tmp, 0o644)  # mkstemp makes it private
        os.replace(tmp, os.path.join(out_dir, name + ".onnx"))
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return " ".join(f"{n}:{'x'.join(map(str, s))}:{str(d).replace('torch.', '')}" for n, s, d in inputs)


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(root, ".cache", "zoo"), help="folder to write the models into")
    p.add_argument("models", nargs="*", help="models to build (default: all)")
    a = p.parse_args()
    known = {m[0]: m for m in MODELS}
    unknown = [n for n in a.models if n not in known]
    if unknown:
        p.error("unknown models: " + ", ".join(unknown) + " (known: " + ", ".join(known) + ")")
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    manifest = os.path.join(a.out, "MANIFEST.txt")
    lines, failed = {}, []
    if os.path.exists(manifest):  # a partial build keeps the others' lines
        with open(manifest) as f:
            lines = {l.split()[0]: l.rstrip("\n") for l in f if l.strip()}
    for name in a.models or list(known):
        _, make, inputs, outputs = known[name]
        try:
            lines[name] = name + " " + build(name, make, inputs, outputs, a.out)
            print(f"zoo: built {name}", file=sys.stderr)
        except Exception:  # report every failure, build the rest
            traceback.print_exc()
            lines.pop(name, None)
            failed.append(name)
            print(f"zoo: FAILED to build {name}", file=sys.stderr)
    with open(manifest + ".tmp", "w") as f:
        f.write("".join(lines[n] + "\n" for n in known if n in lines))
    os.replace(manifest + ".tmp", manifest)
    if failed:
        print("zoo: failed: " + ", ".join(failed), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
