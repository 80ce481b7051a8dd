#!/usr/bin/env python
"""Create the synthetic sample sets in ``sample_data/``: 4-class segmentation images, 3D volumes, classification.

Run from the repository root::

    .venv/bin/python tools/make_sample_data.py

The output is fully deterministic: every random number comes from a NumPy
``Generator`` seeded with ``(SEED, scene_number, stream)``, nothing depends on
the clock, and Pillow/NumPy write no timestamps, so re-running the script
reproduces byte-identical files.

What is written (and only this; other files in ``sample_data/`` are left alone)::

    sample_data/gt/scene_XX.png          ground truth, palette PNG (mode "P"), values 0..3
    sample_data/pred_probs/scene_XX.npy  float32 (4, 256, 256) softmax probabilities
    sample_data/pred_labels/scene_XX.png argmax of the probabilities, grayscale PNG (mode "L")
    sample_data/volumes/gt/case_XX.nii.gz    3D ground truth, uint8 NIfTI labels 0..2, spacing 0.8 x 0.8 x 2.5 mm
    sample_data/volumes/pred/case_XX.nii.gz  3D predicted labels on the same grid
    sample_data/cls/scores.csv           classification: 200 rows of class probabilities (cat, dog, bird)
    sample_data/cls/logits.npy           the logits those probabilities are the softmax of, float32 (200, 3)
    sample_data/cls/labels.csv           the true class index of each row
    sample_data/README.md                provenance, layout and the per-scene table

The scenes are aerial-map-like: vegetation from thresholded smooth noise,
rotated rectangular buildings and wavy road bands, all built with vectorised
NumPy (loops run over scenes and over a handful of shapes, never over pixels).
The "model" output is ``softmax(k * blur(one_hot(corrupted gt)) + smooth noise + bias)``
where the corruption (boundary displacement, region-wise class confusion) and
``k`` set the per-scene quality.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

SEED = 20240611
N_SCENES = 12
H = W = 256
CLASS_NAMES = ("background", "road", "building", "vegetation")
N_CLASSES = len(CLASS_NAMES)
# Visible palette for the ground-truth PNGs: black, grey, red, green.
PALETTE_RGB = ((0, 0, 0), (128, 128, 128), (200, 30, 30), (40, 160, 40))
# Which class a confused region of each class turns into (generic model errors):
# background->vegetation, road->background, building->road, vegetation->background.
CONFUSE_WITH = (3, 0, 1, 0)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "sample_data"


# --------------------------------------------------------------------------- helpers


def gaussian_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of a 2-D float array (FFT, edge padding so borders do not wrap)."""
    if sigma <= 0:
        return img.astype(np.float64, copy=True)
    pad = int(np.ceil(4 * sigma))
    padded = np.pad(img.astype(np.float64), pad, mode="edge")
    ph, pw = padded.shape
    ky = np.fft.fftfreq(ph)[:, None]
    kx = np.fft.rfftfreq(pw)[None, :]
    transfer = np.exp(-2.0 * np.pi**2 * sigma**2 * (kx**2 + ky**2))
    out = np.fft.irfft2(np.fft.rfft2(padded) * transfer, s=padded.shape)
    return out[pad : pad + img.shape[0], pad : pad + img.shape[1]]


def smooth_noise(rng: np.random.Generator, sigma: float, shape=(H, W)) -> np.ndarray:
    """Zero-mean, unit-std Gaussian-smoothed white noise."""
    field_ = gaussian_blur(rng.standard_normal(shape), sigma)
    return (field_ - field_.mean()) / field_.std()


def coords() -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:H, 0:W]
    return yy.astype(np.float64), xx.astype(np.float64)


# --------------------------------------------------------------------------- scenes


@dataclass(frozen=True)
class SceneSpec:
    """Per-scene knobs of the ground-truth generator and of the synthetic model."""

    veg_fraction: float = 0.25  # target share of vegetation before buildings/roads are drawn
    n_buildings: tuple[int, int] = (4, 9)
    n_roads: tuple[int, int] = (1, 3)
    # model quality
    displacement: float = 2.0  # amplitude (px) of the smooth boundary displacement field
    shift: tuple[int, int] = (0, 0)  # global (dy, dx) shift of predicted boundaries
    confuse_fraction: float = 0.06  # share of the image where the model confuses classes
    confuse_with: tuple[int, int, int, int] = CONFUSE_WITH  # class -> class it is confused with there
    k: float = 4.0  # logit margin of the (blurred) one-hot
    noise: float = 1.0  # amplitude of the smooth per-channel logit noise
    extra_confusion: dict[int, tuple[int, float]] = field(default_factory=dict)  # cls -> (into, fraction)
    bias: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # per-channel logit offset
    note: str = "typical"


SPECS: dict[int, SceneSpec] = {
    1: SceneSpec(displacement=1.5, confuse_fraction=0.03, k=5.5),
    2: SceneSpec(veg_fraction=0.35, displacement=1.8, confuse_fraction=0.05, k=5.0),
    3: SceneSpec(displacement=0.0, confuse_fraction=0.0, k=9.0, noise=0.6, note="near-perfect prediction"),
    4: SceneSpec(veg_fraction=0.15, n_buildings=(7, 11), displacement=2.0, confuse_fraction=0.04, k=5.0),
    5: SceneSpec(
        veg_fraction=0.0,
        n_buildings=(6, 10),
        displacement=1.5,
        confuse_fraction=0.03,
        confuse_with=(1, 0, 1, 0),  # no background->vegetation confusion here
        k=5.5,
        bias=(0.0, 0.0, 0.0, -0.5),
        note="vegetation absent from GT (a few false-positive vegetation pixels in the prediction)",
    ),
    6: SceneSpec(veg_fraction=0.30, displacement=1.8, confuse_fraction=0.06, k=4.5),
    7: SceneSpec(
        displacement=5.0,
        shift=(14, -12),
        confuse_fraction=0.20,
        k=4.0,
        noise=1.0,
        extra_confusion={0: (3, 0.15), 2: (1, 0.85), 3: (0, 0.5)},
        note="poor model: boundaries shifted ~18 px, buildings mostly predicted as road, vegetation/background swapped in places",
    ),
    8: SceneSpec(veg_fraction=0.20, displacement=1.0, confuse_fraction=0.02, k=6.0),
    9: SceneSpec(veg_fraction=0.40, n_buildings=(3, 6), displacement=2.0, confuse_fraction=0.05, k=4.5),
    10: SceneSpec(
        veg_fraction=0.35,
        n_buildings=(0, 0),
        n_roads=(2, 3),
        displacement=1.5,
        confuse_fraction=0.04,
        k=5.0,
        bias=(0.0, 0.0, -30.0, 0.0),
        note="building absent from GT and from the argmax prediction (per-class metrics 0/0)",
    ),
    11: SceneSpec(veg_fraction=0.25, n_buildings=(8, 12), displacement=1.8, confuse_fraction=0.04, k=5.0),
    12: SceneSpec(veg_fraction=0.30, displacement=1.5, confuse_fraction=0.04, k=4.8),
}


def scene_rng(scene: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([SEED, scene, stream])


def make_gt(scene: int, spec: SceneSpec) -> np.ndarray:
    """Ground-truth label map (uint8, H x W, values 0..3)."""
    rng = scene_rng(scene, 0)
    yy, xx = coords()
    gt = np.zeros((H, W), dtype=np.uint8)

    # vegetation: thresholded smooth noise
    if spec.veg_fraction > 0:
        veg = smooth_noise(rng, sigma=rng.uniform(9.0, 16.0))
        gt[veg > np.quantile(veg, 1.0 - spec.veg_fraction)] = 3

    # a dominant orientation so buildings line up with the street grid
    theta0 = rng.uniform(0, np.pi)

    # buildings: rotated rectangles
    n_b = int(rng.integers(spec.n_buildings[0], spec.n_buildings[1] + 1))
    for _ in range(n_b):
        cy, cx = rng.uniform(20, H - 20), rng.uniform(20, W - 20)
        a, b = rng.uniform(7, 24), rng.uniform(6, 18)
        phi = theta0 + rng.choice([0.0, np.pi / 2]) + rng.normal(0, 0.08)
        u = (xx - cx) * np.cos(phi) + (yy - cy) * np.sin(phi)
        v = -(xx - cx) * np.sin(phi) + (yy - cy) * np.cos(phi)
        gt[(np.abs(u) < a) & (np.abs(v) < b)] = 2

    # roads: wavy bands through the central part of the image
    n_r = int(rng.integers(spec.n_roads[0], spec.n_roads[1] + 1))
    wobble = smooth_noise(rng, sigma=30.0)
    for i in range(n_r):
        cy, cx = rng.uniform(0.25 * H, 0.75 * H), rng.uniform(0.25 * W, 0.75 * W)
        theta = theta0 + (np.pi / 2 if i % 2 else 0.0) + rng.normal(0, 0.05)
        dist = -(xx - cx) * np.sin(theta) + (yy - cy) * np.cos(theta) + 4.0 * wobble
        gt[np.abs(dist) < rng.uniform(3.5, 7.5)] = 1
    return gt


def corrupt(gt: np.ndarray, scene: int, spec: SceneSpec) -> np.ndarray:
    """What the synthetic model 'believes': displaced boundaries plus confused regions."""
    rng = scene_rng(scene, 1)
    yy, xx = coords()
    dy = spec.displacement * smooth_noise(rng, sigma=12.0) - spec.shift[0]
    dx = spec.displacement * smooth_noise(rng, sigma=12.0) - spec.shift[1]
    iy = np.clip(np.rint(yy + dy), 0, H - 1).astype(np.intp)
    ix = np.clip(np.rint(xx + dx), 0, W - 1).astype(np.intp)
    noisy = gt[iy, ix]

    if spec.confuse_fraction > 0:
        region = smooth_noise(rng, sigma=6.0)
        confused = region > np.quantile(region, 1.0 - spec.confuse_fraction)
        noisy = np.where(confused, np.asarray(spec.confuse_with, dtype=np.uint8)[noisy], noisy)
    for cls, (into, fraction) in sorted(spec.extra_confusion.items()):
        region = smooth_noise(rng, sigma=10.0)
        mask = (noisy == cls) & (region < np.quantile(region, fraction))
        noisy = np.where(mask, np.uint8(into), noisy)
    return noisy.astype(np.uint8)


def make_probs(gt: np.ndarray, scene: int, spec: SceneSpec) -> np.ndarray:
    """float32 (C, H, W) probabilities, softmax of float64 logits."""
    noisy = corrupt(gt, scene, spec)
    rng = scene_rng(scene, 2)
    logits = np.empty((N_CLASSES, H, W), dtype=np.float64)
    for c in range(N_CLASSES):
        soft_one_hot = gaussian_blur((noisy == c).astype(np.float64), sigma=1.5)
        logits[c] = (
            spec.k * soft_one_hot
            + spec.noise * smooth_noise(rng, sigma=7.0)
            + 0.5 * spec.noise * smooth_noise(rng, sigma=1.0)
            + spec.bias[c]
        )
    logits -= logits.max(axis=0, keepdims=True)
    e = np.exp(logits)
    return (e / e.sum(axis=0, keepdims=True)).astype(np.float32)


# --------------------------------------------------------------------------- writing


def save_palette_png(labels: np.ndarray, path: Path) -> None:
    img = Image.frombytes("P", (labels.shape[1], labels.shape[0]), np.ascontiguousarray(labels, np.uint8).tobytes())
    palette = [v for rgb in PALETTE_RGB for v in rgb]
    img.putpalette(palette + [0] * (768 - len(palette)))  # full 256-entry palette -> standard 8-bit PNG
    img.save(path, format="PNG")


def save_gray_png(labels: np.ndarray, path: Path) -> None:
    Image.frombytes("L", (labels.shape[1], labels.shape[0]), np.ascontiguousarray(labels, np.uint8).tobytes()).save(
        path, format="PNG"
    )


def fmt_fractions(labels: np.ndarray) -> str:
    counts = np.bincount(labels.ravel(), minlength=N_CLASSES)[:N_CLASSES]
    pct = 100.0 * counts / labels.size
    return " / ".join("—" if n == 0 else f"{p:.2f}" if p < 1 else f"{p:.1f}" for n, p in zip(counts, pct, strict=True))


README_TEMPLATE = """\
# sample_data — synthetic 4-class segmentation set

Small, realistic-looking, **synthetic** segmentation set for trying `lossctl seg`.
Nothing here comes from a real sensor or a real model.

## Provenance

Generated by `tools/make_sample_data.py` (NumPy + Pillow only), from the repository root:

```
.venv/bin/python tools/make_sample_data.py
```

Seed `{seed}`: every random stream is `numpy.random.default_rng([{seed}, scene, stream])`,
so re-running the script reproduces byte-identical files. Do not edit these files by hand;
change the script and re-run it (it also rewrites this README and the table below).

* Ground truth: vegetation from thresholded Gaussian-smoothed noise, rotated rectangular
  buildings aligned to a dominant orientation, and 1–3 wavy road bands drawn on top.
* "Model" output: `softmax(k * blur(one_hot(corrupted_gt)) + smooth noise + bias)` computed
  in float64 and stored as float32. The corruption displaces boundaries with a smooth random
  field and confuses classes inside a few smooth regions (background→vegetation,
  road→background, building→road, vegetation→background; scene_05 uses background→road
  instead); `k`, the noise and the
  corruption strength vary per scene.

## Layout

```
sample_data/
  gt/scene_01.png .. scene_12.png          ground truth, 256x256 palette PNG (mode "P"), pixel value = class index 0..3
  pred_probs/scene_01.npy .. scene_12.npy  float32, shape (4, 256, 256), channels first; the 4 channels sum to 1 (|sum-1| < 1e-5)
  pred_labels/scene_01.png .. scene_12.png argmax of pred_probs over the channel axis, 8-bit grayscale PNG (mode "L"), values 0..3
```

Classes (index = pixel value = channel): `0 background` (black), `1 road` (grey),
`2 building` (red), `3 vegetation` (green) — the colours are the GT palette. The label PNGs in
`pred_labels/` are plain grayscale 0..3 and therefore look almost black.

## Hard cases

* **scene_03** — near-perfect prediction (accuracy > 0.99).
* **scene_05** — `vegetation` is absent from the ground truth; the model still predicts it on
  a few pixels (false positives only: vegetation IoU, Dice and precision are 0 there, its
  recall is 0/0).
* **scene_07** — poor model (accuracy ≈ 0.5–0.6): predicted boundaries shifted by ~18 px
  (14 px down, 12 px left, plus a 5 px random warp), most `building` pixels predicted as `road`,
  and `vegetation`/`background` swapped in large regions.
* **scene_10** — `building` is absent from both the ground truth and the argmax prediction,
  so its per-class metrics (IoU, Dice, precision, recall) are 0/0 in that scene.
* Every other scene contains all four classes in the ground truth.

## Evaluate

```
lossctl seg sample_data/pred_probs sample_data/gt --class-names background,road,building,vegetation
lossctl seg sample_data/pred_labels sample_data/gt --class-names background,road,building,vegetation
```

## 3D volumes

`volumes/gt/` and `volumes/pred/` hold {n_volumes} NIfTI label volumes (`.nii.gz`, uint8, {vshape}
voxels in nibabel's array order, spacing {vspacing} mm, the coarse axis last): class `1 organ` (a warped
ellipsoid touching nothing) and `2 lesion` (a small blob inside it). The prediction shifts and warps the organ
and the lesion; case_02 misses the lesion entirely (lesion present in one mask only: its distances are the
image diagonal) and case_03 is nearly perfect.

```
lossctl seg sample_data/volumes/pred sample_data/volumes/gt -m dice -m hd95 -m assd -m nsd --region all=1,2
```

{vtable}

## Classification

`cls/` holds a 3-class classification set (`0 cat`, `1 dog`, `2 bird`) of {n_samples} samples for
`lossctl cls`: `scores.csv` (a header `p_cat,p_dog,p_bird`, then one row of probabilities per sample, summing to
1 within 1e-6), `logits.npy` (float32 (N, 3), whose softmax the scores are) and `labels.csv` (a header `label`,
then the true class index of each row). The classifier is right on about {cls_accuracy:.0%} of the samples and
weakest on birds.

```
lossctl cls sample_data/cls/scores.csv sample_data/cls/labels.csv
lossctl cls sample_data/cls/logits.npy sample_data/cls/labels.csv --pred-kind logits --convention torch
```

## Per-scene summary (computed by the script)

Pixel accuracy of the argmax prediction, and the share (%) of each class
`background / road / building / vegetation`; `—` means the class is absent.

{table}
"""


N_VOLUMES = 4
VOLUME_SHAPE = (96, 96, 64)
VOLUME_SPACING = (0.8, 0.8, 2.5)


def _blob(shape: tuple[int, ...], centre_mm, radii_mm, rng: np.random.Generator, warp: float) -> np.ndarray:
    """A warped ellipsoid (in mm, on the volume's anisotropic grid): inside where the normalised radius,
    perturbed by a few low-frequency sinusoids, is below 1."""
    axes = [np.arange(n) * s for n, s in zip(shape, VOLUME_SPACING, strict=True)]
    x, y, z = np.meshgrid(*axes, indexing="ij", sparse=True)
    r = ((x - centre_mm[0]) / radii_mm[0]) ** 2 + ((y - centre_mm[1]) / radii_mm[1]) ** 2 \
        + ((z - centre_mm[2]) / radii_mm[2]) ** 2
    for _ in range(3):
        k = rng.uniform(0.05, 0.15, size=3)
        phase = rng.uniform(0, 2 * np.pi, size=3)
        r = r + warp * np.sin(k[0] * x + phase[0]) * np.sin(k[1] * y + phase[1]) * np.sin(k[2] * z + phase[2])
    return r < 1.0


def make_volumes(out: Path) -> str:
    """Write the 3D NIfTI sample set; return its Markdown table (voxel counts per class)."""
    import nibabel

    affine = np.diag([*VOLUME_SPACING, 1.0])
    extent = [n * s for n, s in zip(VOLUME_SHAPE, VOLUME_SPACING, strict=True)]
    rows = ["| case | GT voxels (organ / lesion) | predicted voxels (organ / lesion) | case |", "|---|---|---|---|"]
    notes = {1: "organ shifted, lesion partly found", 2: "lesion missed", 3: "near-perfect",
             4: "organ over-segmented, lesion shifted"}
    for side in ("gt", "pred"):
        (out / side).mkdir(parents=True, exist_ok=True)
        for old in (out / side).glob("case_*.nii.gz"):
            old.unlink()
    for case in range(1, N_VOLUMES + 1):
        rng = np.random.default_rng([SEED, 1000 + case, 0])
        centre = [e / 2 + rng.uniform(-8, 8) for e in extent]
        radii = [rng.uniform(22, 28), rng.uniform(18, 24), rng.uniform(30, 45)]
        lesion_c = [c + rng.uniform(-6, 6) for c in centre]
        lesion_r = [rng.uniform(5, 8)] * 2 + [rng.uniform(8, 12)]
        gt = np.zeros(VOLUME_SHAPE, dtype=np.uint8)
        gt[_blob(VOLUME_SHAPE, centre, radii, rng, 0.15)] = 1
        gt[_blob(VOLUME_SHAPE, lesion_c, lesion_r, rng, 0.2) & (gt == 1)] = 2
        prng = np.random.default_rng([SEED, 1000 + case, 1])
        shift = {1: 3.0, 2: 1.5, 3: 0.0, 4: 1.0}[case]
        grow = {1: 1.0, 2: 1.0, 3: 1.0, 4: 1.12}[case]
        p_centre = [c + shift * d for c, d in zip(centre, prng.normal(size=3), strict=True)]
        pred = np.zeros(VOLUME_SHAPE, dtype=np.uint8)
        pred[_blob(VOLUME_SHAPE, p_centre, [r * grow for r in radii], prng, 0.15 if case != 3 else 0.0)] = 1
        if case == 3:
            pred = gt.copy()
            edge = np.argwhere((gt == 1) & (np.roll(gt, 1, axis=0) == 0))[:40]  # peel 40 voxels off the organ
            pred[tuple(edge.T)] = 0
        elif case != 2:
            l_centre = [c + 2 * shift * d for c, d in zip(lesion_c, prng.normal(size=3), strict=True)]
            pred[_blob(VOLUME_SHAPE, l_centre, lesion_r, prng, 0.2) & (pred == 1)] = 2
        name = f"case_{case:02d}.nii.gz"
        for side, labels in (("gt", gt), ("pred", pred)):
            image = nibabel.Nifti1Image(labels, affine)
            image.header.set_xyzt_units("mm")
            nibabel.save(image, out / side / name)
        counts = lambda a: " / ".join(str(int((a == k).sum())) for k in (1, 2))  # noqa: E731
        rows.append(f"| case_{case:02d} | {counts(gt)} | {counts(pred)} | {notes[case]} |")
    return "\n".join(rows)


N_NUCLEI = 3
NUCLEI_SHAPE = (64, 64)


def make_nuclei(out: Path) -> None:
    """Nuclei instance maps (16-bit PNG, 0: background, every other value one nucleus, ids as a tool writes them:
    large and not consecutive): a prediction that shifts the nuclei, splits one, misses one and adds a false one."""
    rng = np.random.default_rng(SEED + 19)
    yy, xx = np.mgrid[:NUCLEI_SHAPE[0], :NUCLEI_SHAPE[1]]
    for d in ("gt", "pred"):
        (out / d).mkdir(parents=True, exist_ok=True)
    for k in range(1, N_NUCLEI + 1):
        gt = np.zeros(NUCLEI_SHAPE, np.uint16)
        pred = np.zeros(NUCLEI_SHAPE, np.uint16)
        centres = [(12 + 20 * (i // 3), 12 + 20 * (i % 3)) for i in range(9)]
        for i, (cy, cx) in enumerate(centres):
            r = float(rng.uniform(4.0, 7.0))
            gt[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = 1000 + 37 * i
            if i == k:  # missed
                continue
            dy, dx = rng.integers(-2, 3, 2)
            disk = (yy - cy - dy) ** 2 + (xx - cx - dx) ** 2 <= r * r
            pred[disk] = 5 + i
            if i == k + 3:  # split in two
                pred[disk & (xx > cx + dx)] = 60000
        pred[(yy - 60) ** 2 + (xx - 60) ** 2 <= 6] = 777  # a false nucleus
        for d, a in (("gt", gt), ("pred", pred)):
            Image.fromarray(a).save(out / d / f"tile_{k:02d}.png")


N_SAMPLES = 200
CLS_NAMES = ("cat", "dog", "bird")


def make_classification(out: Path) -> float:
    """Write the classification set (scores, logits and labels of N_SAMPLES samples); return the accuracy of the
    scores' argmax. Logits: a margin for the true class that is smaller for birds, plus noise."""
    rng = np.random.default_rng([SEED, 2000, 0])
    labels = rng.choice(len(CLS_NAMES), size=N_SAMPLES, p=(0.45, 0.35, 0.2))
    margin = np.array([2.2, 1.8, 0.9])[labels]
    logits = rng.normal(0.0, 1.2, size=(N_SAMPLES, len(CLS_NAMES)))
    logits[np.arange(N_SAMPLES), labels] += margin
    logits = logits.astype(np.float32)
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "logits.npy", logits)
    rows = [",".join(f"p_{name}" for name in CLS_NAMES)] + [",".join(f"{p:.6f}" for p in row) for row in probs]
    (out / "scores.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (out / "labels.csv").write_text("label\n" + "".join(f"{y}\n" for y in labels), encoding="utf-8")
    return float((probs.argmax(axis=1) == labels).mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default: %(default)s)")
    args = parser.parse_args(argv)
    out: Path = args.out

    dirs = {name: out / name for name in ("gt", "pred_probs", "pred_labels")}
    for name, d in dirs.items():
        d.mkdir(parents=True, exist_ok=True)
        for old in d.glob("scene_*.npy" if name == "pred_probs" else "scene_*.png"):
            old.unlink()

    rows = [
        "| scene | pixel acc | GT % (bg / road / bldg / veg) | pred % (bg / road / bldg / veg) | case |",
        "|---|---:|---|---|---|",
    ]
    for scene in range(1, N_SCENES + 1):
        spec = SPECS[scene]
        gt = make_gt(scene, spec)
        probs = make_probs(gt, scene, spec)
        pred = probs.argmax(axis=0).astype(np.uint8)
        name = f"scene_{scene:02d}"
        save_palette_png(gt, dirs["gt"] / f"{name}.png")
        np.save(dirs["pred_probs"] / f"{name}.npy", probs)
        save_gray_png(pred, dirs["pred_labels"] / f"{name}.png")
        acc = float((pred == gt).mean())
        rows.append(f"| {name} | {acc:.4f} | {fmt_fractions(gt)} | {fmt_fractions(pred)} | {spec.note} |")

    table = "\n".join(rows)
    vtable = make_volumes(out / "volumes")
    cls_accuracy = make_classification(out / "cls")
    make_nuclei(out / "nuclei")
    (out / "README.md").write_text(README_TEMPLATE.format(
        seed=SEED, table=table, vtable=vtable, n_volumes=N_VOLUMES, vshape="x".join(map(str, VOLUME_SHAPE)),
        n_samples=N_SAMPLES, cls_accuracy=cls_accuracy,
        vspacing=" x ".join(f"{s:g}" for s in VOLUME_SPACING)), encoding="utf-8")
    print(table)
    print(f"\nwrote {N_SCENES} scenes to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
