#!/usr/bin/python3
"""Converts the face feature network of the HYPER paper into a feature network for
`hyper eval --features` (README, "The paper's own files").

The paper's main.py takes 2048 features per face from keras-vggface's ResNet-50
(VGGFace(include_top=False, model='resnet50'), VGGFace2 weights), after
utils.preprocess_input(x, version=2). Its weights file, which a user may have, is
rcmalli_vggface_tf_notop_resnet50.h5 (Keras HDF5; with the top, rcmalli_vggface_tf_resnet50.h5,
works too: the classifier is not read). This script rebuilds that network in PyTorch with
those weights and saves it as TorchScript keeping hyper eval's contract:

  forward(images [N, 3, S, S] float32, RGB in [0, 1]) -> [N, 2048] (S = 224 as the paper)

What it reproduces of the Keras model, layer for layer:
  - input x 255, RGB -> BGR, minus the VGGFace2 means (B 91.4953, G 103.8827, R 131.0912);
  - conv1/7x7_s2 with TensorFlow's 'same' padding (2 before, 3 after at 224: asymmetric, unlike
    PyTorch's), batch norm, ReLU, 3x3 max pool stride 2 without padding (55 x 55 at 224);
  - 16 bottleneck blocks (3, 4, 6, 3), the stride in the first 1x1 convolution and in the
    projection, as keras-vggface has it; batch norm with Keras' epsilon 1e-3, folded into the
    convolutions (inference only);
  - the 7x7 average pool 'avg_pool', flattened.

  convert_vggface.py WEIGHTS.h5 OUT.pt

Needs Debian's python3-h5py and python3-torch (tools/setup installs both). Exit status 0, or 1
with one line naming the file and what is wrong.
"""
import sys
from typing import List

import numpy as np
import torch
import torch.nn.functional as F

BGR_MEAN = (91.4953, 103.8827, 131.0912)
BN_EPS = 1e-3  # keras-vggface's RESNET50 leaves BatchNormalization's default
STAGES = ((2, 3, (64, 64, 256), 1), (3, 4, (128, 128, 512), 2), (4, 6, (256, 256, 1024), 2), (5, 3, (512, 512, 2048), 2))


class Refused(Exception):
    pass


class Weights:
    """Layer weights of a Keras HDF5 file, found as Keras finds them: the root's layer_names,
    each layer group's weight_names (names may hold '/', which HDF5 nests as groups)."""

    def __init__(self, path):
        import h5py
        try:
            self.f = h5py.File(path, "r")
        except OSError as e:
            raise Refused(f"not an HDF5 file ({e}); expected keras-vggface's rcmalli_vggface_tf_notop_resnet50.h5")
        root = self.f
        if "layer_names" not in root.attrs and "model_weights" in root:  # a whole model saved, not its weights
            root = root["model_weights"]
        if "layer_names" not in root.attrs:
            raise Refused("no 'layer_names' attribute: not Keras weights")
        self.root = root
        self.layers = [n.decode() if isinstance(n, bytes) else str(n) for n in root.attrs["layer_names"]]

    def arrays(self, layer):
        if layer not in self.layers:
            raise Refused(f"no layer '{layer}' (expected keras-vggface's RESNET50 weights; the file's first layers: "
                          f"{', '.join(self.layers[:6])})")
        g = self.root[layer]
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in g.attrs["weight_names"]]
        return {n.split("/")[-1].split(":")[0]: np.asarray(g[n], dtype=np.float64) for n in names}

    def conv_bn(self, name, cin, cout, k):
        """The convolution `name` with its batch norm `name/bn` folded in: weight OIHW, bias."""
        kernel = self.arrays(name).get("kernel")
        if kernel is None or kernel.shape != (k, k, cin, cout):
            raise Refused(f"layer '{name}': kernel of shape {None if kernel is None else kernel.shape}, "
                          f"expected {(k, k, cin, cout)} (height, width, in, out)")
        bn = self.arrays(name + "/bn")
        for key in ("gamma", "beta", "moving_mean", "moving_variance"):
            if key not in bn or bn[key].shape != (cout,):
                raise Refused(f"layer '{name}/bn': no {key} of {cout} values")
        scale = bn["gamma"] / np.sqrt(bn["moving_variance"] + BN_EPS)
        w = kernel.transpose(3, 2, 0, 1) * scale[:, None, None, None]
        b = bn["beta"] - bn["moving_mean"] * scale
        return torch.tensor(w, dtype=torch.float32), torch.tensor(b, dtype=torch.float32)


class ConvBN(torch.nn.Module):
    def __init__(self, wb, stride: int, padding: int):
        super().__init__()
        self.weight = torch.nn.Parameter(wb[0], requires_grad=False)
        self.bias = torch.nn.Parameter(wb[1], requires_grad=False)
        self.stride = stride
        self.padding = padding

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)


class Bottleneck(torch.nn.Module):
    """An identity block: the input added back as it is."""

    def __init__(self, w, stage, block, cin, filters, stride):
        super().__init__()
        n = f"conv{stage}_{block}"
        f1, f2, f3 = filters
        self.reduce = ConvBN(w.conv_bn(n + "_1x1_reduce", cin, f1, 1), stride, 0)
        self.mid = ConvBN(w.conv_bn(n + "_3x3", f1, f2, 3), 1, 1)
        self.increase = ConvBN(w.conv_bn(n + "_1x1_increase", f2, f3, 1), 1, 0)

    def residual(self, x):
        return self.increase(F.relu(self.mid(F.relu(self.reduce(x)))))

    def forward(self, x):
        return F.relu(self.residual(x) + x)


class ProjectionBottleneck(Bottleneck):
    """A stage's first block: the input projected (1x1 convolution, the block's stride)."""

    def __init__(self, w, stage, block, cin, filters, stride):
        super().__init__(w, stage, block, cin, filters, stride)
        self.proj = ConvBN(w.conv_bn(f"conv{stage}_{block}_1x1_proj", cin, filters[2], 1), stride, 0)

    def forward(self, x):
        return F.relu(self.residual(x) + self.proj(x))


class VGGFaceResNet50(torch.nn.Module):
    def __init__(self, w):
        super().__init__()
        self.conv1 = ConvBN(w.conv_bn("conv1/7x7_s2", 3, 64, 7), 2, 0)
        blocks = []
        cin = 64
        for stage, count, filters, stride in STAGES:
            for block in range(1, count + 1):
                kind = ProjectionBottleneck if block == 1 else Bottleneck
                blocks.append(kind(w, stage, block, cin, filters, stride if block == 1 else 1))
                cin = filters[2]
        self.blocks = torch.nn.Sequential(*blocks)
        self.register_buffer("mean", torch.tensor(BGR_MEAN, dtype=torch.float32).view(1, 3, 1, 1))

    def forward(self, x):
        x = x * 255.0
        x = x.flip(1) - self.mean  # RGB -> BGR, as preprocess_input(version=2)
        # TensorFlow 'same' for a 7x7 stride-2 convolution: the odd pixel of padding goes after.
        pads: List[int] = []
        for size in (x.shape[3], x.shape[2]):
            total = max((((size + 1) // 2) - 1) * 2 + 7 - size, 0)
            pads += [total // 2, total - total // 2]
        x = F.relu(self.conv1(F.pad(x, pads)))
        x = F.max_pool2d(x, 3, 2)
        x = self.blocks(x)
        return F.avg_pool2d(x, 7).flatten(1)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    src, out = sys.argv[1], sys.argv[2]
    try:
        net = VGGFaceResNet50(Weights(src)).eval()
        with torch.no_grad():
            features = net(torch.rand(1, 3, 224, 224))
        if features.shape != (1, 2048) or not torch.isfinite(features).all():
            raise Refused(f"the converted network gives {tuple(features.shape)} features, not 2048 finite values")
        torch.jit.script(net).save(out)
    except Refused as e:
        print(f"{src}: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # a file of the right kind but damaged: one line, not a traceback
        print(f"{src}: cannot be converted ({type(e).__name__}: {e})", file=sys.stderr)
        return 1
    print(f"wrote {out}: VGGFace ResNet-50 from {src}, 2048 features of 224x224 RGB (hyper eval --features {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
