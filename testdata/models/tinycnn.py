"""Writes tinycnn.onnx, the small classifier of onnxkit's examples and
Session tests: image [batch, 3, 8, 8] -> Conv 3x3 (4 channels) -> Relu ->
MaxPool 2 -> Flatten -> Gemm (5 classes) -> logits [batch, 5], exported by
PyTorch with a symbolic batch, plus metadata properties.

Run with /usr/bin/python3 (torch 1.13, onnx 1.12) from this folder."""
import onnx
import torch


class TinyCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.pool = torch.nn.MaxPool2d(2)
        self.fc = torch.nn.Linear(4 * 4 * 4, 5)

    def forward(self, image):
        y = self.pool(torch.relu(self.conv(image)))
        return self.fc(torch.flatten(y, 1))


torch.manual_seed(7)
model = TinyCNN().eval()
torch.onnx.export(model, torch.randn(1, 3, 8, 8), "tinycnn.onnx",
                  input_names=["image"], output_names=["logits"],
                  dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
                  opset_version=17)
m = onnx.load("tinycnn.onnx")
for key, value in [("classes", "cat,dog,bird,fish,frog"), ("author", "onnxkit examples")]:
    prop = m.metadata_props.add()
    prop.key, prop.value = key, value
onnx.checker.check_model(m, full_check=True)
onnx.save(m, "tinycnn.onnx")

# A reference run for the tests: a batch of 3 random images and PyTorch's
# logits for them, as TensorProto files.
from onnx import numpy_helper

image = torch.randn(3, 3, 8, 8)
with torch.no_grad():
    logits = model(image)
onnx.save_tensor(numpy_helper.from_array(image.numpy(), "image"), "tinycnn_image.pb")
onnx.save_tensor(numpy_helper.from_array(logits.numpy(), "logits"), "tinycnn_logits.pb")
