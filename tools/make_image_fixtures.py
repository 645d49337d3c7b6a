#!/usr/bin/python3
"""Writes the image-measure fixtures of tests/fixtures (python3-skimage and python3-pil are
needed only to remake them):
  ssim_pairs.npy, ssim_values.npy   grayscale image pairs and their SSIM by scikit-image with
                                    the paper's settings: gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=False, data_range=1
  resize_input.npy, resize_9x13.npy, resize_50x64.npy
                                    a 30 x 40 image and PIL's BILINEAR resampling of it (mode
                                    F), shrunk and enlarged
  ssim_rgb_pairs.npy, ssim_rgb_values.npy
                                    8-bit RGB image pairs (stored as float32 0..255) and their
                                    SSIM as the HYPER paper's main.py called it:
                                    structural_similarity(a, b, multichannel=True) on uint8
  rgb_nearest_16x20.npy, rgb_nearest_80x96.npy
                                    the second pair's second image resized by PIL's NEAREST (what
                                    Keras' load_img(target_size=...) does before main.py's features)

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

# RGB pairs, scored as main.py scored its 1024 px PNGs (scikit-image's defaults: 7 x 7 uniform
# window, sample covariance, data range 255 from uint8); an own generator keeps the rest as it was.
rgb_rng = np.random.default_rng(1024)
yy, xx = np.mgrid[0:36, 0:44]
face = np.stack([120 + 80 * np.sin(xx / 6.0 + c) * np.cos(yy / 5.0) for c in range(3)], axis=-1)
rgb_pairs = [
    (face, face),
    (face, face + rgb_rng.normal(0, 12, face.shape)),
    (face, face * 0.6 + 40),
    (face, np.roll(face, 2, axis=1)),
    (rgb_rng.uniform(0, 255, face.shape), rgb_rng.uniform(0, 255, face.shape)),
]
rgb_pairs = [(np.clip(a, 0, 255).astype(np.uint8), np.clip(b, 0, 255).astype(np.uint8)) for a, b in rgb_pairs]
rgb_values = [structural_similarity(a, b, multichannel=True) for a, b in rgb_pairs]
np.save(os.path.join(sys.argv[1], "ssim_rgb_pairs.npy"), np.array(rgb_pairs, dtype=np.float32))
np.save(os.path.join(sys.argv[1], "ssim_rgb_values.npy"), np.array(rgb_values, dtype=np.float64))
print(rgb_values)
for h, w in [(16, 20), (80, 96)]:
    resized = np.asarray(Image.fromarray(rgb_pairs[1][1]).resize((w, h), Image.NEAREST), dtype=np.float32)
    np.save(os.path.join(sys.argv[1], f"rgb_nearest_{h}x{w}.npy"), resized)
