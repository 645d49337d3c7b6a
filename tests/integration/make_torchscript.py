#!/usr/bin/python3
"""For the torchscript generator test: exports two tiny modules with Debian's python3-torch,
one that keeps the contract (latents [N, 512] -> images [N, 3, 8, 8] in [-1, 1]) and one
that does not, and the first one's images of three latents.

  make_torchscript.py OUT_DIR
"""
import os
import sys

import numpy as np
import torch


class Tiny(torch.nn.Module):
    def __init__(self, side: int):
        super().__init__()
        self.side = side
        self.lin = torch.nn.Linear(512, 3 * side * side)

    def forward(self, z):
        return torch.tanh(self.lin(z)).view(-1, 3, self.side, self.side)


class Flat(torch.nn.Module):
    def forward(self, z):
        return z[:, :10]


out = sys.argv[1]
torch.manual_seed(0)
good = torch.jit.script(Tiny(8))
good.save(os.path.join(out, "tiny.pt"))
torch.jit.script(Flat()).save(os.path.join(out, "flat.pt"))
z = torch.from_numpy(np.random.default_rng(4).standard_normal((3, 512)).astype(np.float32))
np.save(os.path.join(out, "z.npy"), z.numpy())
with torch.no_grad():
    np.save(os.path.join(out, "images.npy"), good(z).numpy())
