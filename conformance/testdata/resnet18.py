"""Writes torchvision's ResNet-18 (random weights, seed 0, eval mode) as
an ONNX model with a symbolic batch, for the Session benchmarks:

    /usr/bin/python3 resnet18.py OUT.onnx

(torch 1.13 and torchvision 0.14, as Debian's /usr/bin/python3 has them)."""
import sys

import torch
import torchvision

torch.manual_seed(0)
model = torchvision.models.resnet18().eval()
torch.onnx.export(model, torch.randn(1, 3, 224, 224), sys.argv[1],
                  input_names=["input"], output_names=["logits"],
                  dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                  opset_version=17)
