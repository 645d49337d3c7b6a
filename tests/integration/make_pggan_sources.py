#!/usr/bin/python3
"""For the converter test: writes a network of ours (hyper-pggan/1) in the two layouts
tools/convert_pggan.py reads: genforce's PyTorch checkpoint, and the official TF variables
by name (an .npz), the latter by inverting the layout changes independently here.

  make_pggan_sources.py W.safetensors OUT_DIR
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../tools"))
from pggan_reference import read_safetensors  # noqa: E402

tensors, meta = read_safetensors(sys.argv[1])
out = sys.argv[2]
levels = len(meta["channels"].split(","))

# genforce: a dict of the two generators and the discriminator; ours is the smoothed one.
state = {k: torch.from_numpy(v) for k, v in tensors.items()}
state["lod"] = torch.tensor(0.0)
torch.save({"generator": {}, "discriminator": {}, "generator_smooth": state}, os.path.join(out, "genforce.pth"))

# TF: dense (latent, 16 c) with output index c * 16 + y * 4 + x; convs (kh, kw, in, out).
w = tensors["layer0.conv.weight"]  # (c, latent, 4, 4), a conv with padding 3 on 1x1
c0, latent = w.shape[0], w.shape[1]
dense = np.zeros((latent, c0 * 16), np.float32)
for c in range(c0):
    for y in range(4):
        for x in range(4):
            dense[:, c * 16 + y * 4 + x] = w[c, :, 3 - y, 3 - x]
tf = {"4x4/Dense/weight": dense, "4x4/Dense/bias": tensors["layer0.wscale.bias"]}
tf_conv = lambda a: np.ascontiguousarray(np.transpose(a, (2, 3, 1, 0)))
tf["4x4/Conv/weight"] = tf_conv(tensors["layer1.conv.weight"])
tf["4x4/Conv/bias"] = tensors["layer1.wscale.bias"]
for i in range(1, levels):
    res = 4 << i
    for j in (0, 1):
        tf[f"{res}x{res}/Conv{j}/weight"] = tf_conv(tensors[f"layer{2*i+j}.conv.weight"])
        tf[f"{res}x{res}/Conv{j}/bias"] = tensors[f"layer{2*i+j}.wscale.bias"]
for i in range(levels):
    tf[f"ToRGB_lod{levels - 1 - i}/weight"] = tf_conv(tensors[f"output{i}.conv.weight"])
    tf[f"ToRGB_lod{levels - 1 - i}/bias"] = tensors[f"output{i}.wscale.bias"]
np.savez(os.path.join(out, "tf_vars.npz"), **tf)
