r"""Calibration values (ece, mce, rmsce, cw_ece, brier, nll) of probabilities, from sums that pool by addition.

Every value is computed in two steps, so that a dataset's value comes from its images' sums:

1. a **tally** of the samples (cls: the samples; seg: the valid pixels of an image): for the binned values, per bin
   ``b`` the weight ``n_b`` of its samples, the sum of their confidences ``S_b`` and of their accuracies ``A_b``
   (one ``numpy.bincount`` each over the bin index, never a sort for equal-width bins), and ``total``, the weight
   of every sample counted; for brier and nll, the sum of the per-sample scores, ``total`` and the samples where
   the score is undefined. Tallies of images add up to the tally of their union (:func:`add`);
2. the **value** of a tally (the Impl's ``fn``, the registry's calibration family):

   * ``ece = sum_b |A_b - S_b| / N``; ``mce = max_b |A_b - S_b| / n_b`` over the non-empty bins;
     ``rmsce = sqrt(sum_b n_b (A_b/n_b - S_b/n_b)^2 / N)``; ``N = sum_b n_b`` (MetricsReloaded: its samples at
     p = 0 lie outside every bin and out of ``N``);
   * ``cw_ece = mean_k sum_b |A_kb - S_kb| / N`` over the bins of each class's own probability ``p_k`` against
     ``[y = k]`` (the per-class vector: each class's term);
   * ``brier = sum_n w_n s_n / sum_n w_n``, ``nll`` likewise.

What is binned (the **target**) and how (the **edges**) is each convention's:

==================  ============================================  =================================================
convention          target                                        bins
==================  ============================================  =================================================
lossctl             top label (the predicted class's probability  ``bins`` = 15, edges ``k/B`` in float64, [l, u),
                    against [prediction = truth]), every C        the last closed; ``binning=mass``: edges at the
                                                                  k/B quantiles of the confidences (per image)
torch               one foreground column: the positive class     ``linspace(0, 1, B + 1)`` in the input's dtype,
                    (BinaryCalibrationError); C columns: top      ``bucketize(right=True)``: [l, u), p = 1.0 in a
                    label (MulticlassCalibrationError)            bin of its own
netcal              two classes: the positive class; C >= 3:      10 bins, probabilities clipped to [eps, 1 - eps]
                    top label                                     (eps of their dtype), [l, u) last closed; mass:
                                                                  the quantiles of the clipped values
metricsreloaded     ``pred[:, 1]`` (two classes only); cw_ece:    10 bins ``numpy.arange(0, 1.00001, 1/B)``,
                    each class                                    (l, u]: p = 0 lies outside every bin
==================  ============================================  =================================================

brier: lossctl and metricsreloaded ``mean_n sum_c (p_nc - [y_n = c])^2`` (in [0, 2]); sklearn's
``brier_score_loss`` halves it for one or two columns (``scale_by_half='auto'``). nll: lossctl ``-log p_y`` with
``log`` floored at -100 (it equals ``ce``); sklearn's ``log_loss`` clips p to [eps, 1 - eps] (eps of the input's
dtype); MetricsReloaded takes ``log p_y`` as it is: a sample at p_y = 0 makes its value undefined (counted).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np

from lossctl._numeric import floored_log, log_softmax, sigmoid
from lossctl.convention import Impl, Param
from lossctl.errors import NotAvailable

#: A tally as the JSON document holds it (lists of numbers; see the module docstring).
Tally = dict[str, Any]


@dataclass(frozen=True)
class Samples:
    """The probabilities of N samples with their classes, read once for every calibration value.

    ``probs`` (C, N) in their stored precision (logits through the softmax or sigmoid, in float64); ``target``
    and ``labels`` (N,) the true and the predicted class; ``weights`` (N,) or None; ``single``: the input was one
    foreground column (read as the classes ``[1 - p, p]``), ``positive`` that column as stored.
    """

    probs: np.ndarray
    target: np.ndarray
    labels: np.ndarray
    weights: np.ndarray | None = None
    single: bool = False
    positive: np.ndarray | None = None
    #: The tallies made of these samples, by binning and parameters: ece, mce and rmsce under one convention
    #: read the same bins, counted once.
    tallies: dict[tuple[Any, ...], Tally] = field(default_factory=dict, repr=False, compare=False)

    @property
    def classes(self) -> int:
        return int(self.probs.shape[0])

    @property
    def dtype(self) -> np.dtype:
        """The precision the probabilities came in (float32 or float64)."""
        return (self.positive if self.positive is not None else self.probs).dtype

    def positive_class(self) -> np.ndarray:
        """(N,) the probability of class 1."""
        return self.positive if self.positive is not None else self.probs[1]

    def top(self) -> tuple[np.ndarray, np.ndarray]:
        """(confidence, accuracy): the probability of the predicted class and whether it is the true one."""
        if self.single:
            p = self.positive_class()
            confidence = np.where(self.labels == 1, p, 1 - p)
        else:
            confidence = self.probs.max(axis=0)
        return confidence, self.labels == self.target


def seg_samples(x: Any) -> Samples:
    """The :class:`Samples` of a :class:`~lossctl.inputs.seg.SegInput`: its valid pixels."""
    probs = x.probs
    positive = x.foreground if x.single_channel and x.kind == "probs" else None
    if x.single_channel and x.kind == "logits":
        positive = sigmoid(x.binary_logits)
        probs = np.stack([1 - positive, positive])
    return Samples(probs, x.target, x.labels, None, x.single_channel, positive)


def cls_samples(x: Any) -> Samples:
    """The :class:`Samples` of a :class:`~lossctl.inputs.cls.ClsInput` (binary (N,) or categorical (N, C)
    predictions; the ignored samples left out); other targets are refused (:class:`NotAvailable`)."""
    keep = x.valid_samples()
    weights = None if x.weights is None else x.weights[keep]
    if x.pred.ndim == 1:
        p = x.pred[keep]
        p = sigmoid(p) if x.kind == "logits" else p
        target = (x.target[keep] >= 0.5).astype(np.int64)
        return Samples(np.stack([1 - p, p]), target, (p >= 0.5).astype(np.int64), weights, True, p)
    if x.target_kind not in ("index", "onehot"):
        raise NotAvailable(f"calibration values take binary (N,) or categorical (N, C) predictions, not "
                           f"{x.target_kind} targets", option="target_kind")
    pred = x.pred[keep]
    probs = (np.exp(log_softmax(pred, axis=1)) if x.kind == "logits" else pred).T
    target = (x.target if x.target.ndim == 1 else x.target.argmax(axis=1))[keep].astype(np.int64)
    return Samples(probs, target, probs.argmax(axis=0), weights)


def samples_of(x: Any) -> Samples:
    """The :class:`Samples` of a seg or a cls input."""
    return seg_samples(x) if hasattr(x, "soft") else cls_samples(x)


# --- bins ---------------------------------------------------------------------------------------------------

def _sums(index: np.ndarray, nbins: int, confidence: np.ndarray, accuracy: np.ndarray,
          weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(n_b, S_b, A_b) over ``nbins`` bins by ``index`` (-1 or ``nbins``: outside every bin), and the total weight;
    a boolean ``accuracy`` without weights is counted with the samples (one ``bincount`` of ``index + nbins *
    correct``: the same integers)."""
    inside = (index >= 0) & (index < nbins)
    total = float(weights.sum()) if weights is not None else float(index.size)
    if not inside.all():
        index, confidence, accuracy = index[inside], confidence[inside], accuracy[inside]
        weights = None if weights is None else weights[inside]
    conf = np.bincount(index, weights=confidence if weights is None else confidence * weights, minlength=nbins)
    if weights is None and accuracy.dtype == bool:  # one count of (bin, correct): count and correct per bin
        both = np.bincount(index + nbins * accuracy, minlength=2 * nbins)
        correct = both[nbins:]
        return correct + both[:nbins], conf, correct.astype(np.float64), total
    count = np.bincount(index, weights=weights, minlength=nbins)
    acc = np.bincount(index, weights=accuracy if weights is None else accuracy * weights, minlength=nbins)
    return count, conf, acc, total


@dataclass(frozen=True)
class Binning:
    """How one convention bins confidences (see the module docstring): ``rule`` is ``lossctl``, ``torch``,
    ``netcal`` or ``metricsreloaded``; ``target`` ``top``, ``positive`` (one foreground column: the positive
    class, else the top label), ``binary`` (two classes: the positive class, else the top label), ``pair`` (class
    1; two classes only) or ``classes`` (each class)."""

    rule: str
    target: str

    def edges(self, bins: int, dtype: np.dtype, values: np.ndarray | None = None, mass: bool = False) -> np.ndarray:
        """The bin edges (``values``: the confidences, for equal-mass bins)."""
        if mass:
            edges = np.quantile(values, np.linspace(0.0, 1.0, bins + 1)) if values.size else np.linspace(0, 1, bins + 1)
            edges[0], edges[-1] = 0.0, 1.0
            return np.asarray(edges, dtype=np.float64)
        if self.rule == "torch":
            return torch_linspace(bins + 1, dtype)
        if self.rule == "metricsreloaded":
            return np.arange(0, 1.00001, 1.0 / bins)
        if self.rule == "netcal":
            return np.linspace(0.0, 1.0, bins + 1)
        return np.arange(bins + 1) / bins

    def index(self, values: np.ndarray, edges: np.ndarray, uniform: bool = True) -> np.ndarray:
        """Each value's bin (-1 or len(edges) - 1: none; torch's p = 1.0 lies in the extra bin len(edges) - 1).
        ``uniform`` edges (each within a rounding of k/B) are found without a search: ``floor(v B)``, then one
        exact comparison with each neighbouring edge moves it by one where the rounding put it astray."""
        lower_open = self.rule == "metricsreloaded"  # (l, u]
        if uniform:
            b = edges.size - 1
            index = np.multiply(values, b, dtype=np.float64)
            np.floor(index, out=index)
            index = np.clip(index, 0, b - 1, out=index).astype(np.intp)
            below, above = (np.less_equal, np.greater) if lower_open else (np.less, np.greater_equal)
            index -= below(values, edges[index])
            index += above(values, edges[np.minimum(index + 1, b)]) & (index < b)
        else:
            index = np.searchsorted(edges, values, side="left" if lower_open else "right") - 1
        if self.rule not in ("torch", "metricsreloaded"):  # the last bin closed
            index[values == edges[-1]] = edges.size - 2
        return index

    def tally(self, s: Samples, bins: float, binning: str = "width") -> Tally:
        """The bin sums of ``s`` (see the module docstring); made once per samples, binning and parameters."""
        b, mass = int(bins), binning == "mass"
        key = (self, b, mass)
        if key not in s.tallies:
            s.tallies[key] = self._tally(s, b, mass)
        return s.tallies[key]

    def _tally(self, s: Samples, b: int, mass: bool) -> Tally:
        rows = []
        if self.target == "classes":
            pairs = [(s.probs[k], s.target == k) for k in range(s.classes)]
        elif self.target == "pair" or (self.target in ("positive", "binary") and self._positive(s)):
            pairs = [(s.positive_class(), s.target == 1)]
        else:
            pairs = [s.top()]
        edges_out = []
        for confidence, accuracy in pairs:
            if self.rule == "netcal":
                eps = np.finfo(confidence.dtype).eps
                confidence = np.clip(confidence, eps, 1 - eps)
            edges = self.edges(b, confidence.dtype, confidence, mass)
            nbins = edges.size - 1 + (self.rule == "torch")  # torch: p = 1.0 in a bin of its own
            count, conf, acc, total = _sums(self.index(confidence, edges, uniform=not mass), nbins, confidence,
                                            accuracy if accuracy.dtype == bool else accuracy.astype(np.float64),
                                            s.weights)
            rows.append((count, conf, acc))
            edges_out.append([float(e) for e in edges])
        return {"total": total, "edges": edges_out if mass else edges_out[0],
                "count": [r[0].tolist() for r in rows], "confidence": [r[1].tolist() for r in rows],
                "accuracy": [r[2].tolist() for r in rows]}

    def _positive(self, s: Samples) -> bool:
        return s.single if self.target == "positive" else s.classes == 2


@lru_cache(maxsize=64)
def _torch_edges(steps: int, dtype: str) -> tuple[float, ...]:
    t = np.dtype(dtype).type
    step = Fraction(float(t(1) / t(steps - 1)))  # in the dtype, as torch divides
    half = steps // 2
    exact = [step * i if i < half else 1 - step * (steps - 1 - i) for i in range(steps)]
    return tuple(float(t(float(v))) for v in exact)


def torch_linspace(steps: int, dtype: np.dtype) -> np.ndarray:
    """``torch.linspace(0, 1, steps, dtype=dtype)`` on the CPU: ``i * step`` for the first half, ``1 - (steps - 1
    - i) * step`` for the rest, each a fused multiply-add (rounded once, as torch's compiled kernel does) in
    ``dtype``; checked against torch for every ``steps`` below 400 in float32 and float64."""
    return np.array(_torch_edges(steps, np.dtype(dtype).name), dtype=dtype)


# --- values of a tally --------------------------------------------------------------------------------------

def _arrays(t: Tally) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.asarray(t["count"], dtype=np.float64), np.asarray(t["confidence"], dtype=np.float64),
            np.asarray(t["accuracy"], dtype=np.float64))


def _gaps(t: Tally) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(K, B) |A_b/n_b - S_b/n_b| (0 in empty bins), the bin weights n_b and the mask of non-empty bins."""
    count, conf, acc = _arrays(t)
    filled = count > 0
    gap = np.abs(np.divide(acc - conf, count, out=np.zeros_like(count), where=filled))
    return gap, count, filled


def _denominator(t: Tally, binned: bool) -> np.ndarray:
    """(K,) N of each row: the weight in its bins (``binned``) or of every sample counted."""
    count = np.asarray(t["count"], dtype=np.float64)
    return count.sum(axis=1) if binned else np.full(count.shape[0], float(t["total"]))


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)


def expected_error(binned: bool = True) -> Callable[..., tuple[float, None]]:
    """ECE: ``sum_b |A_b - S_b| / N``."""
    def ece(t: Tally, include: np.ndarray | None = None, **_: Any) -> tuple[float, None]:
        gap, count, _ = _gaps(t)
        return float(_ratio((gap * count).sum(axis=1), _denominator(t, binned))[0]), None
    return ece


def maximum_error(t: Tally, include: np.ndarray | None = None, **_: Any) -> tuple[float, None]:
    """MCE: ``max_b |A_b/n_b - S_b/n_b|`` over the non-empty bins (undefined with none)."""
    gap, _, filled = _gaps(t)
    return (float(gap[0][filled[0]].max()) if filled[0].any() else float("nan")), None


def rms_error(t: Tally, include: np.ndarray | None = None, **_: Any) -> tuple[float, None]:
    """RMSCE: ``sqrt(sum_b n_b (A_b/n_b - S_b/n_b)^2 / N)``."""
    gap, count, _ = _gaps(t)
    return float(np.sqrt(_ratio((gap ** 2 * count).sum(axis=1), _denominator(t, True))[0])), None


def classwise_error(binned: bool = True, every_class: bool = False) -> Callable[..., tuple[float, np.ndarray]]:
    """cw_ECE: the mean over the classes (``include``, or every class) of each class's ECE (the per-class
    vector); a class without samples has none (NaN, out of the mean)."""
    def cw_ece(t: Tally, include: np.ndarray | None = None, **_: Any) -> tuple[float, np.ndarray]:
        gap, count, _ = _gaps(t)
        per_class = _ratio((gap * count).sum(axis=1), _denominator(t, binned))
        keep = np.ones(per_class.size, bool) if include is None or every_class else include[:per_class.size]
        kept = per_class[keep]
        if every_class:  # MetricsReloaded divides by the class count
            kept = np.nan_to_num(kept)
        return (float(kept[~np.isnan(kept)].mean()) if (~np.isnan(kept)).any() else float("nan")), per_class
    return cw_ece


def mean_score(t: Tally, include: np.ndarray | None = None, **_: Any) -> tuple[float, None]:
    """``sum / total`` of a per-sample score; undefined when a sample's score is (or there is none)."""
    if t["undefined"] or not t["total"]:
        return float("nan"), None
    return float(t["sum"] / t["total"]), None


def add(tallies: Sequence[Tally]) -> Tally | None:
    """The tally of the union of the samples of ``tallies`` (the sum of their sums); None when they were binned by
    equal mass (each image has its own edges: no pooled value) or there is none."""
    if not tallies or any(per_image_only(t) for t in tallies):
        return None
    first = tallies[0]
    if "sum" in first:
        return {"total": sum(t["total"] for t in tallies), "sum": float(np.sum([t["sum"] for t in tallies])),
                "undefined": sum(t["undefined"] for t in tallies)}
    width = max(len(t["count"]) for t in tallies)
    out: Tally = {"total": float(sum(t["total"] for t in tallies)), "edges": first["edges"]}
    for key in ("count", "confidence", "accuracy"):
        rows = [np.asarray(t[key], dtype=np.float64) for t in tallies]
        total = np.zeros((width, rows[0].shape[1]))
        for r in rows:
            total[:r.shape[0]] += r
        out[key] = total.tolist()
    return out


def per_image_only(t: Tally) -> bool:
    """Whether the tally was binned by equal mass (its edges are per row): it has no sum with other images'."""
    edges = t.get("edges")
    return bool(edges) and isinstance(edges[0], list)



# --- per-sample scores --------------------------------------------------------------------------------------

def _truth_column(s: Samples) -> np.ndarray:
    """(N,) float64 p_y, the probability of each sample's true class (a copy per class, no index arrays)."""
    out = np.empty(s.target.size)
    for k in range(s.classes):
        np.copyto(out, s.probs[k], where=s.target == k)
    return out


def _score_tally(scores: np.ndarray, s: Samples) -> Tally:
    undefined = ~np.isfinite(scores)
    w = s.weights
    kept = np.where(undefined, 0.0, scores)
    return {"total": float(w.sum()) if w is not None else int(scores.size),
            "sum": float(kept.sum() if w is None else (kept * w).sum()),
            "undefined": int(undefined.sum())}


def brier_tally(s: Samples, half: bool = False) -> Tally:
    """``sum_c (p_c - [y = c])^2`` of each sample (halved for one or two columns with ``half``: sklearn)."""
    total = np.zeros(s.target.size)
    for k in range(s.classes):
        total += (np.asarray(s.probs[k], dtype=np.float64) - (s.target == k)) ** 2
    return _score_tally(total * 0.5 if half and s.classes <= 2 else total, s)


def nll_tally(s: Samples, clip: str = "floor") -> Tally:
    """``-log p_y`` of each sample: ``floor`` (log floored at -100), ``sklearn`` (p clipped to [eps, 1 - eps],
    eps of the probabilities' dtype) or ``none`` (p_y = 0: undefined)."""
    p = _truth_column(s)
    if clip == "floor":
        return _score_tally(-floored_log(p), s)
    if clip == "sklearn":
        eps = float(np.finfo(s.dtype).eps)
        return _score_tally(-np.log(np.clip(p, eps, 1 - eps)), s)
    with np.errstate(divide="ignore"):
        return _score_tally(-np.log(p), s)


# --- the conventions tables ---------------------------------------------------------------------------------

_BINS = {c: Param("bins", d, "the number of bins", bounds=(1.0, 10000.0), integer=True)
         for c, d in (("lossctl", 15), ("torch", 15), ("netcal", 10), ("metricsreloaded", 10))}
_BINNING = Param("binning", "width", "equal-width bins, or equal-mass (per image: no pooled value)", kind="choice",
                 choices=("width", "mass"))
_INPUTS = frozenset({"probs", "logits"})
_CLS_TARGETS = frozenset({"binary", "index", "onehot"})


def _binned(binning: Binning, fn: Callable[..., Any], definition: str, reference: str, convention: str,
            options: frozenset[str] = frozenset({"weights", "ignore_index"})) -> Impl:
    mass = convention in ("lossctl", "netcal")
    params = (_BINS[convention], _BINNING) if mass else (_BINS[convention],)

    def collect(s: Samples, **params: Any) -> Tally:
        return binning.tally(s, params["bins"], params.get("binning", "width"))
    return Impl(fn, definition, reference, params, inputs=_INPUTS, targets=_CLS_TARGETS, options=options,
                tally=collect)


def _two_classes(tally: Callable[..., Tally]) -> Callable[..., Tally]:
    """MetricsReloaded's ECE and MCE read ``pred[:, 1]``: two classes only."""
    def collect(s: Samples, **params: Any) -> Tally:
        if s.classes != 2:
            raise NotAvailable(f"MetricsReloaded's binary calibration errors read pred[:, 1]: two classes only, not "
                               f"{s.classes}; use cw_ece, or another convention", option="convention")
        return tally(s, **params)
    return collect


_TOP = "the top label's probability against [prediction = truth]"
_LOSSCTL_BINS = "bins equal-width k/B in float64, [l, u), the last closed (binning=mass: at the k/B quantiles)"
_TORCH_BINS = "linspace(0, 1, B + 1) in the input's dtype, bucketize(right=True): [l, u), p = 1.0 in a bin of its own"
_TORCH_TARGET = "one foreground column: the positive class (binary_*); C columns: the top label (multiclass_*)"
_NETCAL = "clipped to [eps, 1 - eps]; two classes: the positive class, C >= 3: the top label; [l, u) last closed"
_MR = "pred[:, 1] of two classes; bins arange(0, 1.00001, 1/B), (l, u]: p = 0 outside every bin and out of N"
_TM = "torchmetrics.functional.classification.binary_calibration_error / multiclass_calibration_error"


def _rows(name: str) -> dict[str, Impl]:
    """The conventions table of one binned value."""
    top, pos = Binning("lossctl", "top"), Binning("torch", "positive")
    fn = {"ece": expected_error(), "mce": maximum_error, "rmsce": rms_error}[name]
    norm = {"ece": "l1", "mce": "max", "rmsce": "l2"}[name]
    formula = {"ece": "sum_b |A_b - S_b| / N", "mce": "max_b |A_b - S_b| / n_b",
               "rmsce": "sqrt(sum_b n_b (A_b/n_b - S_b/n_b)^2 / N)"}[name]
    rows = {
        "lossctl": _binned(top, fn, f"{formula}; {_TOP}, every class count; {_LOSSCTL_BINS}; weighted",
                           "uncertainty-calibration get_ece / get_calibration_error (equal-width bins)", "lossctl"),
        "torch": _binned(pos, fn, f"{formula}, norm='{norm}'; {_TORCH_TARGET}; {_TORCH_BINS}", f"{_TM}(norm='{norm}')",
                         "torch", options=frozenset({"ignore_index"})),
    }
    if name in ("ece", "mce"):
        rows["netcal"] = _binned(Binning("netcal", "binary"), fn, f"{formula}; {_NETCAL}",
                                 f"netcal.metrics.{name.upper()}(bins=10, equal_intervals)", "netcal",
                                 options=frozenset({"ignore_index"}))
        mr = _binned(Binning("metricsreloaded", "pair"), expected_error() if name == "ece" else maximum_error,
                     f"{formula}; {_MR}", "MetricsReloaded CalibrationMeasures."
                     f"{'expectation' if name == 'ece' else 'maximum'}_calibration_error", "metricsreloaded",
                     options=frozenset({"ignore_index"}))
        rows["metricsreloaded"] = Impl(mr.fn, mr.definition, mr.reference, mr.params, mr.inputs,
                                       frozenset({"binary"}), mr.options, tally=_two_classes(mr.tally))
    return rows


def _scores(tally: Callable[[Samples], Tally], definition: str, reference: str,
            options: frozenset[str] = frozenset({"weights", "ignore_index"})) -> Impl:
    return Impl(mean_score, definition, reference, inputs=_INPUTS, targets=_CLS_TARGETS, options=options,
                tally=lambda s, **_: tally(s))


#: ``{value: {convention: Impl}}``; each Impl's ``tally`` collects the sums of :class:`Samples`, its ``fn`` is the
#: value of a tally (:func:`add` pools them).
TABLE: dict[str, dict[str, Impl]] = {
    **{name: _rows(name) for name in ("ece", "mce", "rmsce")},
    "cw_ece": {
        "lossctl": _binned(Binning("lossctl", "classes"), classwise_error(),
                           f"mean_k sum_b |A_kb - S_kb| / N over the included classes (a class without samples "
                           f"left out), bins of each p_k against [y = k]; {_LOSSCTL_BINS}; weighted",
                           "uncertainty-calibration get_ece(mode='marginal')", "lossctl"),
        "metricsreloaded": _binned(Binning("metricsreloaded", "classes"), classwise_error(False, True),
                                   "(1/K) sum_k sum_b |A_kb - S_kb| / N over every class, N every sample (p_k = 0 "
                                   "in no bin but in N); bins arange(0, 1.00001, 1/B), (l, u]",
                                   "MetricsReloaded CalibrationMeasures.class_wise_expectation_calibration_error",
                                   "metricsreloaded", options=frozenset({"ignore_index"})),
    },
    "brier": {
        "lossctl": _scores(brier_tally, "mean_n sum_c (p_nc - [y_n = c])^2 (Brier 1950; in [0, 2]); weighted",
                           "sklearn.metrics.brier_score_loss(scale_by_half=False)"),
        "sklearn": _scores(lambda s: brier_tally(s, half=True), "brier_score_loss: mean_n sum_c (p_nc - "
                           "[y_n = c])^2, halved for one or two columns (scale_by_half='auto'); sample_weight",
                           "sklearn.metrics.brier_score_loss"),
        "metricsreloaded": _scores(brier_tally, "mean_n sum_c (p_nc - [y_n = c])^2 (its BS, in [0, 2])",
                                   "MetricsReloaded CalibrationMeasures.brier_score",
                                   options=frozenset({"ignore_index"})),
    },
    "nll": {
        "lossctl": _scores(nll_tally, "mean_n -log p[n, y_n], log floored at -100 (equals ce); weighted",
                           "torch.nn.functional.nll_loss(log p)"),
        "sklearn": _scores(lambda s: nll_tally(s, "sklearn"), "log_loss: mean_n -log clip(p[n, y_n], eps, 1 - eps), "
                           "eps of the input's dtype; sample_weight", "sklearn.metrics.log_loss"),
        "metricsreloaded": _scores(lambda s: nll_tally(s, "none"), "-1/N sum_n log p[n, y_n], no epsilon: p_y = 0 "
                                   "gives inf, reported undefined and counted",
                                   "MetricsReloaded CalibrationMeasures.negative_log_likelihood",
                                   options=frozenset({"ignore_index"})),
    },
}


__all__ = ["Samples", "Tally", "Binning", "TABLE", "seg_samples", "cls_samples", "samples_of", "add", "per_image_only",
           "torch_linspace", "brier_tally", "nll_tally"]
