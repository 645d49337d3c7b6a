#!/usr/bin/python3
"""Converts PGGAN generator weights to HYPER-RT's format (hyper-pggan/1: safetensors with
genforce's tensor names, unscaled; README, "Generators"). Three sources:

  convert_pggan.py genforce MODEL.pth --out W.safetensors
      a PyTorch checkpoint in genforce's layout (what genforce's pggan_converter.py writes:
      a dict with 'generator_smooth', the official Gs); needs python3-torch.
  convert_pggan.py tf KARRAS.pkl --repo PATH --out W.safetensors
      the official TensorFlow-1 pickle (karras2018iclr-celebahq-1024x1024.pkl); needs TF1
      and a checkout of tkarras/progressive_growing_of_gans at PATH (its tfutil unpickles).
  convert_pggan.py npz VARS.npz --out W.safetensors
      the official generator's variables by their TF names ('4x4/Dense/weight', ...,
      'ToRGB_lod0/bias'), e.g. dumped where TF1 runs with
      numpy.savez('vars.npz', **{k: v.eval() for k, v in Gs.vars.items()}).

Every tensor's name and shape is checked; the first problem is named.
"""
import argparse
import sys

import numpy as np

sys.path.insert(0, __import__("os").path.dirname(__file__))
from pggan_reference import genforce_shapes, write_safetensors  # noqa: E402


def levels_in(names, pattern):
    n = 0
    while pattern.format(n) in names:
        n += 1
    return n


def check_and_write(tensors, out, source):
    """tensors: genforce names -> arrays (unscaled)."""
    levels = levels_in(tensors, "output{}.conv.weight")
    if levels == 0:
        sys.exit(f"{source}: no 'output0.conv.weight': not a PGGAN generator in genforce's layout")
    channels = [int(tensors[f"layer{2*i}.conv.weight"].shape[0]) for i in range(levels)]
    expected = genforce_shapes(channels, latent=int(tensors["layer0.conv.weight"].shape[1]))
    for name, shape in expected.items():
        if name not in tensors:
            sys.exit(f"{source}: tensor '{name}' is missing")
        if tuple(tensors[name].shape) != shape:
            sys.exit(f"{source}: tensor '{name}' has shape {tuple(tensors[name].shape)}, expected {shape}")
    ignored = sorted(set(tensors) - set(expected))
    if ignored:
        print(f"ignoring {len(ignored)} tensors not in the generator: {', '.join(ignored[:5])}{' ...' if len(ignored) > 5 else ''}")
    write_safetensors(out, {k: np.asarray(tensors[k], dtype=np.float32) for k in expected},
                      {"format": "hyper-pggan/1", "channels": ",".join(map(str, channels)),
                       "latent_dim": str(expected["layer0.conv.weight"][1]), "source": source})
    print(f"wrote {out}: {levels} levels (4x4 to {4 << (levels - 1)}x{4 << (levels - 1)}), channels {channels}, "
          f"{sum(int(np.prod(s)) for s in expected.values()):,} parameters")


def from_genforce(path):
    import torch
    d = torch.load(path, map_location="cpu")
    for key in ("generator_smooth", "generator"):
        if isinstance(d, dict) and key in d:
            print(f"using '{key}'")
            d = d[key]
            break
    return {k.removeprefix("module."): v.numpy() for k, v in d.items() if hasattr(v, "numpy") and v.dim() > 0}


class Variables(dict):
    def __missing__(self, name):
        sys.exit(f"TF variable '{name}' is missing: not the official PGGAN generator (Gs)")


def from_tf_names(v):
    """Official TF variable names -> genforce names, with the layout changes of
    genforce's pggan_converter.py (design/pggan.md)."""
    v = Variables(v)
    t = {}
    dense = v["4x4/Dense/weight"]  # (latent, 16 * c0): output index c * 16 + y * 4 + x
    latent, c0 = dense.shape[0], dense.shape[1] // 16
    t["layer0.conv.weight"] = dense.reshape(latent, c0, 4, 4).transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]
    t["layer0.wscale.bias"] = v["4x4/Dense/bias"]
    conv = lambda w: w.transpose(3, 2, 0, 1)  # (kh, kw, in, out) -> (out, in, kh, kw)
    t["layer1.conv.weight"] = conv(v["4x4/Conv/weight"])
    t["layer1.wscale.bias"] = v["4x4/Conv/bias"]
    levels = sum(1 for k in v if k.startswith("ToRGB_lod") and k.endswith("/weight"))
    for i in range(levels):
        res = 4 << i
        if i > 0:
            for j in (0, 1):
                t[f"layer{2*i+j}.conv.weight"] = conv(v[f"{res}x{res}/Conv{j}/weight"])
                t[f"layer{2*i+j}.wscale.bias"] = v[f"{res}x{res}/Conv{j}/bias"]
        t[f"output{i}.conv.weight"] = conv(v[f"ToRGB_lod{levels - 1 - i}/weight"])
        t[f"output{i}.wscale.bias"] = v[f"ToRGB_lod{levels - 1 - i}/bias"]
    return {k: np.ascontiguousarray(a) for k, a in t.items()}


def from_tf_pickle(path, repo):
    sys.path.insert(0, repo)
    import pickle
    import tfutil  # noqa: F401  (the official repository's; unpickling needs it)
    tfutil.init_tf()
    with open(path, "rb") as f:
        _, _, gs = pickle.load(f)
    names = list(gs.vars.keys())
    values = tfutil.run(list(gs.vars.values()))
    return dict(zip(names, values))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", choices=["genforce", "tf", "npz"])
    p.add_argument("input")
    p.add_argument("--out", required=True)
    p.add_argument("--repo", help="tf: checkout of tkarras/progressive_growing_of_gans")
    a = p.parse_args()
    if a.source == "genforce":
        tensors = from_genforce(a.input)
    elif a.source == "npz":
        with np.load(a.input) as z:
            tensors = from_tf_names({k: z[k] for k in z.files})
    else:
        if not a.repo:
            sys.exit("tf: give --repo PATH, a checkout of tkarras/progressive_growing_of_gans")
        tensors = from_tf_names(from_tf_pickle(a.input, a.repo))
    check_and_write(tensors, a.out, f"{a.source}:{a.input}")


if __name__ == "__main__":
    main()
