#!/usr/bin/python3
"""An independent Python reference of the PGGAN generator (Karras et al. 2018), written
the way the official TensorFlow code reads (dense 4x4 block as a matrix product, pixel norm
after every activation), on Debian's python3-torch and numpy. It reads and writes our
weights format (hyper-pggan/1: safetensors with genforce's tensor names; README,
"Generators"). Used by the tests and the generator benchmark.

  pggan_reference.py random   [--channels 8,8,4,4 | --max-resolution 1024] --out W.safetensors [--seed 1]
  pggan_reference.py generate --weights W.safetensors --latents Z.npy --out IMG.npy [--resolution R]
  pggan_reference.py params   --max-resolution 1024
  pggan_reference.py time     --weights W.safetensors --resolution R [--threads T] [--repeats N]
                              [--device cpu|cuda] [--dtype float32|float16|bfloat16]
"""
import argparse
import json
import math
import struct
import sys
import time
import zlib

import numpy as np
import torch
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    tensors = {}
    for name, t in header.items():
        assert t["dtype"] == "F32", name
        a, b = t["data_offsets"]
        tensors[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(t["shape"]).copy()
    return tensors, meta


def write_safetensors(path, tensors, meta):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        blobs.append(a.tobytes())
        offset += a.nbytes
    data = b"".join(blobs)
    meta = dict(meta)
    meta["hyper.crc32"] = str(zlib.crc32(data))
    header["__metadata__"] = meta
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def official_channels(max_res):
    return [min(16384 // r, 512) for r in (4 << i for i in range(int(math.log2(max_res)) - 1))]


def genforce_shapes(channels, latent=512):
    """Every tensor of the genforce layout (what our files hold)."""
    s = {}
    for i, c in enumerate(channels):
        cin = latent if i == 0 else channels[i - 1]
        k = 4 if i == 0 else 3
        s[f"layer{2*i}.conv.weight"] = (c, cin, k, k)
        s[f"layer{2*i}.wscale.bias"] = (c,)
        s[f"layer{2*i+1}.conv.weight"] = (c, c, 3, 3)
        s[f"layer{2*i+1}.wscale.bias"] = (c,)
        s[f"output{i}.conv.weight"] = (3, c, 1, 1)
        s[f"output{i}.wscale.bias"] = (3,)
    return s


def official_parameter_count(max_res):
    """Counted from the official network's description: dense 512 -> 4x4x512 with bias
    per channel, two 3x3 convs per level after the first, toRGB per level."""
    ch = official_channels(max_res)
    total = 512 * 16 * ch[0] + ch[0] + 9 * ch[0] * ch[0] + ch[0]
    for prev, c in zip(ch, ch[1:]):
        total += 9 * prev * c + c + 9 * c * c + c
    total += sum(3 * c + 3 for c in ch)
    return total


def pixel_norm(x):
    return x / torch.sqrt((x * x).mean(dim=1, keepdim=True) + 1e-8)


class Reference:
    """The official forward pass: z -> pixel norm -> dense -> lrelu -> pixel norm -> conv ->
    lrelu -> pixel norm -> [upsample, conv, lrelu, pixel norm, conv, lrelu, pixel norm]* -> toRGB."""

    def __init__(self, tensors, channels, dtype=torch.float64, device="cpu"):
        self.channels = channels
        self.dtype = dtype
        t = {k: torch.from_numpy(v).to(device, dtype) for k, v in tensors.items()}
        c0 = channels[0]
        w = t["layer0.conv.weight"]  # (c0, 512, 4, 4) as a conv on the 1x1 latent with padding 3
        # The same map as a dense layer: output (c, y, x) = sum_i w[c, i, 3 - y, 3 - x] z_i.
        self.dense = w.flip(2, 3).permute(1, 0, 2, 3).reshape(512, c0 * 16) * (math.sqrt(2) / 4 / math.sqrt(512))
        self.dense_bias = t["layer0.wscale.bias"]
        # Each conv's equalised-learning-rate scale folded in once, as a lab's eager code would
        # (the toRGB layers have gain 1, the others sqrt(2)).
        self.w = {k[:-len(".conv.weight")]: w * ((1.0 if k.startswith("output") else math.sqrt(2)) / math.sqrt(w[0].numel()))
                  for k, w in t.items() if k.endswith(".conv.weight")}
        self.t = t

    def conv(self, x, name, pad):
        return F.conv2d(x, self.w[name], self.t[name + ".wscale.bias"], padding=pad)

    def __call__(self, z, resolution):
        levels = int(math.log2(resolution)) - 1
        x = pixel_norm(z.to(self.dtype))
        x = (x @ self.dense).view(-1, self.channels[0], 4, 4) + self.dense_bias.view(1, -1, 1, 1)
        x = pixel_norm(F.leaky_relu(x, 0.2))
        x = pixel_norm(F.leaky_relu(self.conv(x, "layer1", 1), 0.2))
        for i in range(1, levels):
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = pixel_norm(F.leaky_relu(self.conv(x, f"layer{2*i}", 1), 0.2))
            x = pixel_norm(F.leaky_relu(self.conv(x, f"layer{2*i+1}", 1), 0.2))
        return self.conv(x, f"output{levels-1}", 0)


def load(path):
    tensors, meta = read_safetensors(path)
    assert meta.get("format") == "hyper-pggan/1", path
    channels = [int(c) for c in meta["channels"].split(",")]
    return tensors, channels


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["random", "generate", "params", "time"])
    p.add_argument("--channels")
    p.add_argument("--out")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--weights")
    p.add_argument("--latents")
    p.add_argument("--resolution", type=int, default=0)
    p.add_argument("--max-resolution", type=int, default=1024)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    a = p.parse_args()
    if a.command == "params":
        print(official_parameter_count(a.max_resolution))
    elif a.command == "random":
        channels = [int(c) for c in a.channels.split(",")] if a.channels else official_channels(a.max_resolution)
        rng = np.random.default_rng(a.seed)
        tensors = {}
        for name, shape in genforce_shapes(channels).items():
            scale = 1.0 if name.endswith("weight") else 0.1
            tensors[name] = (rng.standard_normal(shape) * scale).astype(np.float32)
        write_safetensors(a.out, tensors, {"format": "hyper-pggan/1", "channels": ",".join(map(str, channels)),
                                           "latent_dim": "512", "source": f"random (pggan_reference.py, seed {a.seed})"})
    elif a.command == "generate":
        tensors, channels = load(a.weights)
        res = a.resolution or (4 << (len(channels) - 1))
        z = torch.from_numpy(np.load(a.latents).astype(np.float32))
        with torch.no_grad():
            img = Reference(tensors, channels)(z, res)
        np.save(a.out, img.float().numpy())
    elif a.command == "time":
        # The same network in eager PyTorch (F.conv2d), for the C++ benchmarks' ratios: per image,
        # latent in host memory to float32 image in host memory (what the C++ generators time),
        # after warm-up calls (5 on a GPU: cuDNN's algorithm choice; 1 on the CPU). Prints the
        # median and p99 in ms.
        torch.set_num_threads(a.threads)
        tensors, channels = load(a.weights)
        ref = Reference(tensors, channels, getattr(torch, a.dtype), a.device)
        z = np.random.default_rng(3).standard_normal((1, 512)).astype(np.float32)
        times, warm = [], 5 if a.device.startswith("cuda") else 1
        with torch.inference_mode():
            for r in range(a.repeats + warm):
                t0 = time.perf_counter()
                ref(torch.from_numpy(z).to(a.device, ref.dtype), a.resolution).float().cpu().numpy()
                if r >= warm:
                    times.append(1000 * (time.perf_counter() - t0))
        times.sort()
        print(f"{times[len(times) // 2]:.3f} {times[math.ceil(0.99 * len(times)) - 1]:.3f}")

if __name__ == "__main__":
    sys.exit(main())
