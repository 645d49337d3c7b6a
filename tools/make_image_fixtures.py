#!/usr/bin/python3
"""Writes the image-measure fixtures of tests/fixtures (python3-skimage and python3-pil are
needed only to remake them):
  ssim_pairs.npy, ssim_values.npy   grayscale image pairs and their SSIM by scikit-image with
                                    the paper's settings: gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=False, data_range=1
  resize_input.npy, resize_9x13.npy, resize_50x64.npy
                                    a 30 x 40 image and PIL's BILINEAR resampling of it (mode
                                    F), shrunk and enlarged

  tools/make_image_fixtures.py OUT_DIR
"""
import os
import sys

import numpy as np
from PIL import Image
from skimage.metrics import structural_similarity

rng = np.random.default_rng(2022)
y, x = np.mgrid[0:48, 0:40] / 40.0
base = 0.5 + 0.3 * np.sin(6 * x) * np.cos(4 * y)
pairs = [
    (base, base),                                                  # identical: 1
    (base, np.clip(base + rng.normal(0, 0.05, base.shape), 0, 1)),  # noise
    (base, np.clip(base * 0.7 + 0.1, 0, 1)),                       # contrast and brightness
    (base, np.roll(base, 3, axis=1)),                              # shifted
    (rng.uniform(0, 1, base.shape), rng.uniform(0, 1, base.shape)),  # unrelated
]
# Stored as float32: the reference values are of exactly the stored images.
pairs = [(a.astype(np.float32).astype(np.float64), b.astype(np.float32).astype(np.float64)) for a, b in pairs]
values = [structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)
          for a, b in pairs]
np.save(os.path.join(sys.argv[1], "ssim_pairs.npy"), np.array(pairs, dtype=np.float32))
np.save(os.path.join(sys.argv[1], "ssim_values.npy"), np.array(values, dtype=np.float64))
print(values)

image = rng.uniform(0, 1, (30, 40)).astype(np.float32)
np.save(os.path.join(sys.argv[1], "resize_input.npy"), image)
for h, w in [(9, 13), (50, 64)]:
    resized = np.asarray(Image.fromarray(image, mode="F").resize((w, h), Image.BILINEAR), dtype=np.float32)
    np.save(os.path.join(sys.argv[1], f"resize_{h}x{w}.npy"), resized)
