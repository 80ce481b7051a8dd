"""The Lovász loss from one sort of integer keys (lossctl.losses.segmentation) against a straightforward reference:
an argsort of the float64 errors and Berman et al.'s Jaccard increments (:func:`reference`, kept here).

Random inputs with ties, all-foreground and all-background classes, probabilities exactly 0 and 1, tiny ones
(``1 - p`` rounded in float64), float32 maps whose foreground errors ``1 - p`` fall between two float32 values
next to a background error (the keys' rounding), float64 maps, binary maps (one sort for two classes), and small
blocks of the sums.
"""

from __future__ import annotations

import numpy as np
import pytest

from lossctl.inputs.seg import prepare
from lossctl.losses import segmentation as seg


def reference(errors: np.ndarray, fg: np.ndarray, hinge: bool = False) -> float:
    """``sum_k m(e_k) (J_k - J_{k-1})`` along ``argsort(-errors)``, ``J_k = 1 - (G - f_k) / (G + b_k)``."""
    order = np.argsort(-errors, kind="stable")
    g = fg[order].astype(np.float64)
    total = g.sum()
    jaccard = 1.0 - (total - np.cumsum(g)) / (total + np.cumsum(1.0 - g))
    jaccard[1:] = np.diff(jaccard)
    e = errors[order]
    return float((np.maximum(e, 0.0) if hinge else e) @ jaccard)


def reference_softmax(probs: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean over the present classes of :func:`reference` of ``|[y=c] - p_c|``: ``1 - p`` formed in float64 for
    the class's pixels, ``p`` as stored (exactly) for the others."""
    per_class = np.full(probs.shape[0], np.nan)
    for c in range(probs.shape[0]):
        fg = target == c
        if fg.any():
            p = probs[c].astype(np.float64)
            per_class[c] = reference(np.where(fg, 1.0 - p, p), fg)
    return float(np.nanmean(per_class)), per_class


def random_probs(rng: np.random.Generator, c: int, n: int, dtype: type, style: str) -> np.ndarray:
    """(c, n) probabilities summing to 1 per pixel (within float32 rounding)."""
    if style == "ties":  # few distinct levels (quarters): ties within and across the classes' error lists
        return (rng.multinomial(4, np.full(c, 1.0 / c), size=n).T / 4).astype(dtype)
    p = rng.dirichlet(np.full(c, 0.5), size=n).T
    if style == "extremes":  # exactly 0 and 1, and tiny probabilities (1 - p rounds in float64)
        p = np.where(rng.random(n) < 0.5, np.eye(c)[rng.integers(0, c, n)].T, p)
        p = np.where(rng.random(p.shape) < 0.2, rng.choice([1e-30, 2.0**-40, 2.0**-29, 1e-8], p.shape), p)
        top = p.argmax(axis=0)
        p[top, np.arange(n)] += 1.0 - p.sum(axis=0)  # the sums back to 1
    return p.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("style", ["plain", "ties", "extremes"])
def test_lovasz_softmax_equals_the_argsort_reference(rng, dtype, style):
    for _ in range(40):
        c, n = int(rng.integers(2, 5)), int(rng.integers(1, 80))
        probs = random_probs(rng, c, n, dtype, style)
        target = rng.integers(0, c, n) if rng.random() < 0.8 else np.full(n, int(rng.integers(0, c)))  # one class
        value, per_class = seg.lovasz_softmax(prepare(probs, target, kind="probs", num_classes=c))
        expected, expected_per_class = reference_softmax(probs, target)
        np.testing.assert_allclose(per_class, expected_per_class, rtol=1e-12, atol=1e-15)
        assert value == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("style", ["plain", "ties", "extremes"])
def test_binary_map_one_sort_for_both_classes_equals_the_reference(rng, dtype, style):
    for _ in range(40):
        n = int(rng.integers(1, 80))
        p = random_probs(rng, 2, n, dtype, style)[1]
        target = rng.integers(0, 2, n) if rng.random() < 0.8 else np.full(n, int(rng.integers(0, 2)))
        value, per_class = seg.lovasz_softmax(prepare(p, target, kind="probs"))
        expected, expected_per_class = reference_softmax(np.stack([1.0 - p.astype(np.float64), p]), target)
        np.testing.assert_allclose(per_class, expected_per_class, rtol=1e-12, atol=1e-15)
        assert value == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_float32_rounding_of_foreground_errors_keeps_the_exact_order(rng):
    """Foreground errors ``1 - p`` that float32 cannot hold, each next to background errors equal to its float32
    roundings down and up and to the float32 neighbours of those: every pair is ordered as the exact values."""
    p_fg = rng.uniform(0.05, 0.45, 600).astype(np.float32)
    p_fg = p_fg[(1.0 - p_fg.astype(np.float64)).astype(np.float32) != 1.0 - p_fg.astype(np.float64)]
    exact = 1.0 - p_fg.astype(np.float64)  # 1 - p needs one bit more than float32 holds
    down = exact.astype(np.float32)
    down = np.where(down > exact, np.nextafter(down, np.float32(0)), down)
    up = np.nextafter(down, np.float32(1))
    assert (down < exact).all() and (up > exact).all()
    p_bg = np.concatenate([down, up, np.nextafter(down, np.float32(0)), np.nextafter(up, np.float32(1))])
    for fg_share in (len(p_fg), 7, 1):
        fg, bg = p_fg[:fg_share], p_bg[rng.permutation(p_bg.size)]
        target = np.r_[np.ones(fg.size, int), np.zeros(bg.size, int)]
        p = np.r_[fg, bg]
        value, per_class = seg.lovasz_softmax(prepare(p, target, kind="probs"))
        expected = reference_softmax(np.stack([1.0 - p.astype(np.float64), p]), target)[1]
        np.testing.assert_allclose(per_class, expected, rtol=1e-12)


@pytest.mark.parametrize("hinge", [False, True])
def test_lovasz_extension_of_float64_errors_with_ties_and_zeros(rng, hinge):
    for _ in range(200):
        n = int(rng.integers(1, 60))
        errors = rng.normal(size=n) if hinge else rng.random(n)
        errors = np.where(rng.random(n) < 0.3, np.round(errors, 1), errors)
        errors[rng.random(n) < 0.1] = 0.0
        errors[rng.random(n) < 0.05] = -0.0
        fg = rng.random(n) < rng.random()
        if not fg.any():
            continue
        got = seg.lovasz_extension(errors[fg], errors[~fg], hinge=hinge)
        assert got == pytest.approx(reference(errors, fg, hinge), rel=1e-12, abs=1e-15)


def test_without_foreground_only_the_largest_error_counts():
    assert seg.lovasz_extension(np.array([]), np.array([0.25, 0.75, 0.5])) == 0.75
    assert seg.lovasz_extension(np.array([]), np.array([-2.0, -1.0]), hinge=True) == 0.0
    assert seg.lovasz_extension(np.array([]), np.array([])) == 0.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_small_blocks_give_the_same_sums(monkeypatch, rng, dtype):
    probs = random_probs(rng, 3, 500, dtype, "ties")
    target = rng.integers(0, 3, 500)
    whole = seg.lovasz_softmax(prepare(probs, target, kind="probs"))[1]
    monkeypatch.setattr(seg, "LOVASZ_BLOCK", 7)
    blocked = seg.lovasz_softmax(prepare(probs, target, kind="probs"))[1]
    np.testing.assert_allclose(blocked, whole, rtol=1e-12)
    np.testing.assert_allclose(blocked, reference_softmax(probs, target)[1], rtol=1e-12)


def test_one_minus_p_rounded_down_in_float32_is_the_float32_at_or_below_the_exact_value(rng):
    """``1 - p`` of float32 ``p``, rounded down by Fast2Sum in float32 arithmetic, checked with exact fractions:
    ``r <= 1 - p < next(r)``, including values whose float64 ``1 - p`` already rounds (``p < 2**-53``)."""
    from fractions import Fraction

    edges = [0.0, 1.0, 0.5, 2.0 ** -25, 2.0 ** -24, 2.0 ** -60, 2.0 ** -149, 1e-30, 0.25, 0.75]
    p = np.concatenate([np.array(edges, dtype=np.float32), np.nextafter(np.float32(0.5), np.float32(0)),
                        np.nextafter(np.float32(1), np.float32(0)), rng.random(3000, dtype=np.float32),
                        (rng.random(3000) ** 12).astype(np.float32)], axis=None)
    rounded = seg._one_minus_rounded_down(p.copy())
    above = np.nextafter(rounded, np.float32(2))
    for v, r, a in zip(p.tolist(), rounded.tolist(), above.tolist(), strict=True):
        exact = 1 - Fraction(v)
        assert Fraction(r) <= exact < Fraction(a), (v, r)
