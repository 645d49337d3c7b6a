#!/usr/bin/python3
"""For hyper eval's feature-similarity test: exports stand-ins for a feature network (the
paper's VGGFace ResNet-50 cannot be downloaded here) with Debian's python3-torch:
  pool.pt  keeps the contract: images [N, 3, S, S] in [0, 1] -> their 8 x 8 block means,
           flattened (3 * (S/8)^2 features)
  bad.pt   does not: one row whatever N is

  make_feature_net.py OUT_DIR
"""
import os
import sys

import torch


class Pool(torch.nn.Module):
    def forward(self, x):
        return torch.nn.functional.avg_pool2d(x, 8).flatten(1)


class Bad(torch.nn.Module):
    def forward(self, x):
        return x.mean(dim=0, keepdim=True).flatten(1)


torch.jit.script(Pool()).save(os.path.join(sys.argv[1], "pool.pt"))
torch.jit.script(Bad()).save(os.path.join(sys.argv[1], "bad.pt"))
