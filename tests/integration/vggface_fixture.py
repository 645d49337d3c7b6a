#!/usr/bin/python3
"""For the test of tools/convert_vggface.py:

  vggface_fixture.py make WEIGHTS.h5
      random weights in the layout of keras-vggface's rcmalli_vggface_tf_notop_resnet50.h5:
      Keras' HDF5 weights (root layer_names, per layer weight_names, the '/' in names nested as
      HDF5 groups; weightless layers listed with none), kernels HWIO, batch norm statistics.
  vggface_fixture.py reference WEIGHTS.h5 IMAGES.npy OUT.npy
      the features of IMAGES (N x S x S x 3, uint8 RGB) computed from the file directly as the
      Keras model computes them, written independently of the converter: BGR minus the means on
      0..255 values, explicit TensorFlow 'same' padding, batch norm unfolded (F.batch_norm,
      epsilon 1e-3), the stride in the first 1x1 convolution, 7x7 average pool.
"""
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F


def layer_plan():
    """(name, kernel, in, out) of every convolution, in the model's order."""
    plan = [("conv1/7x7_s2", 7, 3, 64)]
    cin = 64
    for stage, count, (f1, f2, f3) in ((2, 3, (64, 64, 256)), (3, 4, (128, 128, 512)), (4, 6, (256, 256, 1024)),
                                       (5, 3, (512, 512, 2048))):
        for block in range(1, count + 1):
            n = f"conv{stage}_{block}"
            plan += [(n + "_1x1_reduce", 1, cin, f1), (n + "_3x3", 3, f1, f2), (n + "_1x1_increase", 1, f2, f3)]
            if block == 1:
                plan.append((n + "_1x1_proj", 1, cin, f3))
            cin = f3
    return plan


def make(path):
    rng = np.random.default_rng(7)
    with h5py.File(path, "w") as f:
        names = ["input_1"]
        f.create_group("input_1").attrs["weight_names"] = np.array([], dtype="S1")
        for name, k, cin, cout in layer_plan():
            g = f.create_group(name)
            g.attrs["weight_names"] = np.array([f"{name}/kernel:0".encode()])
            g.create_dataset(f"{name}/kernel:0", data=(rng.standard_normal((k, k, cin, cout)) * np.sqrt(2.0 / (k * k * cin))).astype(np.float32))
            bn = name + "/bn"
            gb = f.create_group(bn)
            keys = ("gamma", "beta", "moving_mean", "moving_variance")
            gb.attrs["weight_names"] = np.array([f"{bn}/{key}:0".encode() for key in keys])
            small = 0.3 if name.endswith("increase") or name.endswith("proj") else 1.0  # keeps 16 residual sums in range
            values = {"gamma": small * rng.uniform(0.5, 1.5, cout), "beta": rng.normal(0, 0.1, cout),
                      "moving_mean": rng.normal(0, 0.2, cout), "moving_variance": rng.uniform(0.5, 2.0, cout)}
            for key in keys:
                gb.create_dataset(f"{bn}/{key}:0", data=values[key].astype(np.float32))
            names += [name, bn, f"activation_{len(names)}"]
            f.create_group(names[-1]).attrs["weight_names"] = np.array([], dtype="S1")
        f.attrs["layer_names"] = np.array([n.encode() for n in names])
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.2.4"


def reference(path, images, out):
    f = h5py.File(path, "r")

    def w(layer, key):
        return torch.tensor(np.asarray(f[layer][f"{layer}/{key}:0"]), dtype=torch.float64)

    def conv_bn(x, name, stride, same):
        kernel = w(name, "kernel").permute(3, 2, 0, 1)
        if same:  # TensorFlow: out = ceil(in / stride), the extra pixel of padding after
            k = kernel.shape[2]
            pads = []
            for size in (x.shape[3], x.shape[2]):
                total = max((-(-size // stride) - 1) * stride + k - size, 0)
                pads += [total // 2, total - total // 2]
            x = F.pad(x, pads)
        y = F.conv2d(x, kernel, stride=stride)
        bn = name + "/bn"
        return F.batch_norm(y, w(bn, "moving_mean"), w(bn, "moving_variance"), w(bn, "gamma"), w(bn, "beta"), False, 0.0, 1e-3)

    x = torch.tensor(np.load(images), dtype=torch.float64).permute(0, 3, 1, 2)  # 0..255 RGB
    x = x[:, [2, 1, 0]] - torch.tensor([91.4953, 103.8827, 131.0912], dtype=torch.float64).view(1, 3, 1, 1)
    x = F.relu(conv_bn(x, "conv1/7x7_s2", 2, True))
    x = F.max_pool2d(x, 3, 2)
    for stage, count in ((2, 3), (3, 4), (4, 6), (5, 3)):
        for block in range(1, count + 1):
            n = f"conv{stage}_{block}"
            stride = 2 if block == 1 and stage > 2 else 1
            y = F.relu(conv_bn(x, n + "_1x1_reduce", stride, False))
            y = F.relu(conv_bn(y, n + "_3x3", 1, True))
            y = conv_bn(y, n + "_1x1_increase", 1, False)
            x = F.relu(y + (conv_bn(x, n + "_1x1_proj", stride, False) if block == 1 else x))
    np.save(out, F.avg_pool2d(x, 7).flatten(1).numpy())


if __name__ == "__main__":
    make(sys.argv[2]) if sys.argv[1] == "make" else reference(*sys.argv[2:5])
