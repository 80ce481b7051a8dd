"""The one table of every loss and metric lossctl knows.

Each :class:`Spec` carries what the CLI, the catalogue (``lossctl losses``), the README table and the shared
invariance tests need: name, task, kind, what input it needs, direction, bounds, parameters with defaults, a
one-line formula, the convention in words and the reference it reproduces. Nothing else in the package lists
losses or metrics by name.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from lossctl import boundary, metrics
from lossctl.errors import UsageError
from lossctl.losses import classification as cls
from lossctl.losses import seg_presets
from lossctl.losses import segmentation as seg

INF = math.inf


@dataclass(frozen=True)
class Param:
    """A tunable parameter of a loss: name, default (None = off) and what it does."""

    name: str
    default: float | str | None
    help: str
    choices: tuple[str, ...] = ()  # a text parameter's allowed values (numbers otherwise)
    bounds: tuple[float, float] = (0.0, INF)  # a number's allowed range, inclusive

    def check(self, owner: str, value: Any) -> None:
        """Refuse a value outside :attr:`choices` or :attr:`bounds` (a usage error naming the parameter)."""
        if value is None or self.choices:
            return
        lo, hi = self.bounds
        if not lo <= value <= hi:
            raise UsageError(f"{owner}.{self.name} = {value} is out of range; it must lie in [{lo:g}, {hi:g}]")


@dataclass(frozen=True)
class Spec:
    """One loss or metric."""

    name: str
    task: Literal["seg", "cls"]
    kind: Literal["loss", "metric"]
    needs: Literal["soft", "any"]  # "soft": probabilities or logits; "any": labels suffice
    higher_is_better: bool
    bounds: tuple[float, float]
    formula: str
    convention: str
    reference: str
    params: tuple[Param, ...] = ()
    per_class: bool = False
    compute: Callable[..., tuple[float, np.ndarray | None]] | None = field(default=None, repr=False)
    #: How each ``--convention`` preset defines this value; a preset missing here does not have it.
    presets: dict[str, str] = field(default_factory=dict)
    #: Computed only when asked for by name (the boundary metrics: they need spacing and cost a distance map).
    opt_in: bool = False

    @property
    def direction(self) -> str:
        """``"higher"`` or ``"lower"`` is better."""
        return "higher" if self.higher_is_better else "lower"

    def defaults(self, convention: str = "lossctl") -> dict[str, Any]:
        """The parameters' default values under ``convention``: a segmentation preset uses its framework's
        defaults, and has only the parameters its framework has."""
        base = {p.name: p.default for p in self.params}
        taken = seg_presets.PRESET_PARAMS.get((self.name, convention))
        if taken is not None:
            base = {k: v for k, v in base.items() if k in taken}
        return {**base, **seg_presets.PRESET_DEFAULTS.get((self.name, convention), {})}

    def check_params(self, values: dict[str, Any]) -> None:
        """Refuse parameter values outside their documented ranges."""
        for p in self.params:
            if p.name in values:
                p.check(self.name, values[p.name])

    def unavailable(self, convention: str, pred_kind: str) -> str | None:
        """Why this segmentation loss cannot be computed under ``convention`` (None: it can)."""
        if self.task != "seg" or self.kind != "loss" or convention == "lossctl":
            return None
        try:
            seg_presets.preset(self.name, convention, pred_kind)
        except UsageError as reason:
            return str(reason)
        return None

    def evaluate(self, x: Any, include: np.ndarray | None = None, empty: str = "nan",
                 convention: str = "lossctl", **params: Any) -> tuple[float, np.ndarray | None]:
        """Value (and per-class vector) of this entry on one prepared segmentation input ``x``."""
        if self.compute is None:  # a confusion-matrix metric: the same under every convention
            values, per_class = metrics.summarize(x.confusion, include, empty)  # type: ignore[arg-type]
            return values[self.name], per_class.get(self.name)
        merged = {**self.defaults(convention), **params}
        if convention == "lossctl":
            return self.compute(x, include, **merged)
        return seg_presets.preset(self.name, convention, x.kind)(x, include, **merged)


_SMOOTH = Param("smooth", 0.0, "added to the numerator and the denominator of each class's index")
_EPS = Param("eps", 1e-7, "lower bound of the denominator", bounds=(1e-300, INF))
_REGION_REF = "segmentation_models_pytorch (>= 0.4) {cls}(mode='multiclass', classes=<present>) on one image"
_PRESENT = ("per image, mean over the classes present in the ground truth (absent classes are NaN per class); "
            "soft sums over valid pixels, smp >= 0.4 smoothing placement")


def _region(alpha: float, beta: float, gamma: float = 1.0) -> Callable[..., Any]:
    def compute(x: Any, include: np.ndarray | None, **p: Any) -> tuple[float, np.ndarray | None]:
        return seg.region_loss(x, include, alpha=p.get("alpha", alpha), beta=p.get("beta", beta),
                               smooth=p["smooth"], eps=p["eps"], gamma=p.get("gamma", gamma))
    return compute


SEG_SPECS: tuple[Spec, ...] = (
    Spec("dice", "seg", "metric", "any", True, (0.0, 1.0),
         "mean_c 2TP/(2TP+FP+FN)",
         "hard labels (argmax, or --threshold for a binary map); mean over included classes; 0/0 per --empty",
         "F1/Dice of scikit-learn f1_score(average=None); nnU-Net compute_metrics", per_class=True),
    Spec("iou", "seg", "metric", "any", True, (0.0, 1.0),
         "mean_c TP/(TP+FP+FN)",
         "as dice", "scikit-learn jaccard_score(average=None)", per_class=True),
    Spec("precision", "seg", "metric", "any", True, (0.0, 1.0),
         "mean_c TP/(TP+FP)", "as dice", "scikit-learn precision_score(average=None)", per_class=True),
    Spec("recall", "seg", "metric", "any", True, (0.0, 1.0),
         "mean_c TP/(TP+FN)", "as dice", "scikit-learn recall_score(average=None)", per_class=True),
    Spec("accuracy", "seg", "metric", "any", True, (0.0, 1.0),
         "sum_c TP_c / N_valid", "pixel accuracy over valid pixels", "scikit-learn accuracy_score"),
    Spec("ce", "seg", "loss", "soft", False, (0.0, INF),
         "mean_n -log p[n, y_n]",
         "mean over valid pixels; logits via log-sum-exp; probabilities clamp log p at -100 (PyTorch)",
         "torch.nn.CrossEntropyLoss / BCEWithLogitsLoss (logits); NLLLoss on clamped log / BCELoss (probs)",
         compute=seg.cross_entropy),
    Spec("focal", "seg", "loss", "soft", False, (0.0, INF),
         "mean_n -a_n (1 - p[n, y_n])^gamma log p[n, y_n]",
         "mean over valid pixels; softmax focal for C channels, sigmoid focal for a binary map; "
         "a_n = 1, or alpha/1-alpha for class 1/0 when alpha is set",
         "torchvision.ops.sigmoid_focal_loss (binary); MONAI FocalLoss(use_softmax=True) summed over classes",
         (Param("gamma", 2.0, "focusing exponent"),
          Param("alpha", None, "weight of class 1 (binary); 1 - alpha for class 0; off by default",
                bounds=(0.0, 1.0))),
         compute=lambda x, include, **p: seg.focal(x, include, gamma=p["gamma"], alpha=p["alpha"])),
    Spec("dice_loss", "seg", "loss", "soft", False, (0.0, 1.0),
         "mean_c 1 - (2TP + 2s)/max(P + G + 2s, eps)", _PRESENT, _REGION_REF.format(cls="DiceLoss"),
         (_SMOOTH, _EPS), per_class=True, compute=_region(0.5, 0.5)),
    Spec("jaccard_loss", "seg", "loss", "soft", False, (0.0, 1.0),
         "mean_c 1 - (TP + s)/max(P + G - TP + s, eps)", _PRESENT, _REGION_REF.format(cls="JaccardLoss"),
         (_SMOOTH, _EPS), per_class=True, compute=_region(1.0, 1.0)),
    Spec("tversky_loss", "seg", "loss", "soft", False, (0.0, 1.0),
         "mean_c 1 - (TP + s)/max(TP + alpha FP + beta FN + s, eps)",
         _PRESENT + "; alpha weighs false positives, beta false negatives (Salehi et al. 2017)",
         _REGION_REF.format(cls="TverskyLoss"),
         (Param("alpha", 0.3, "weight of false positives"), Param("beta", 0.7, "weight of false negatives"),
          _SMOOTH, _EPS), per_class=True, compute=_region(0.3, 0.7)),
    Spec("focal_tversky_loss", "seg", "loss", "soft", False, (0.0, 1.0),
         "(mean_c 1 - T_c)^gamma, T_c the Tversky index",
         _PRESENT + "; the exponent is applied after the class mean (smp); Abraham & Khan 2019 use 0.75",
         _REGION_REF.format(cls="TverskyLoss") + " with gamma",
         (Param("alpha", 0.3, "weight of false positives"), Param("beta", 0.7, "weight of false negatives"),
          Param("gamma", 0.75, "exponent of the loss"), _SMOOTH, _EPS), per_class=True,
         compute=_region(0.3, 0.7, 0.75)),
    Spec("lovasz", "seg", "loss", "soft", False, (0.0, INF),
         "Lovász extension of the Jaccard loss over sorted errors",
         "Lovász-Softmax over the classes present in the image (probabilities, or softmax of logits); "
         "Lovász hinge for a single-channel logit map; per image",
         "Berman et al. CVPR 2018, bermanmaxim/LovaszSoftmax lovasz_softmax(classes='present') / lovasz_hinge",
         per_class=True, compute=seg.lovasz),
)



def _boundary(name: str, higher: bool, bounds: tuple[float, float], formula: str,
              params: tuple[Param, ...] = ()) -> Spec:
    return Spec(name, "seg", "metric", "any", higher, bounds, formula,
                CONVENTION_TEXT_BOUNDARY, "MONAI 1.6, MedPy 0.5.2, DeepMind surface-distance 0.1 (--convention)",
                params, per_class=True, opt_in=True,
                presets={c: rule.definitions[name] for c, rule in boundary.CONVENTIONS.items()
                         if rule.has(name)})


CONVENTION_TEXT_BOUNDARY = ("per class 1..C-1 and per region, in physical units (spacing); class 0 is null; "
                            "image value = mean over defined foreground classes; opt-in with -m")

SEG_SPECS = SEG_SPECS + (
    _boundary("hd", False, (0.0, INF), "max(max d(A->B), max d(B->A))"),
    _boundary("hd95", False, (0.0, INF), "p-th percentile of the surface distances (by convention)",
              (Param("percentile", 95.0, "the percentile p", bounds=(1e-9, 100.0)),)),
    _boundary("assd", False, (0.0, INF), "(sum d(A->B) + sum d(B->A)) / (|dA| + |dB|)"),
    _boundary("masd", False, (0.0, INF), "(mean d(A->B) + mean d(B->A)) / 2"),
    _boundary("nsd", True, (0.0, 1.0), "(|d(A->B) <= tau| + |d(B->A) <= tau|) / (|dA| + |dB|)"),
)

_LS = Param("label_smoothing", 0.0, "label smoothing factor eps", bounds=(0.0, 1.0))
_CLS_METRIC = "hard predictions: argmax, or p >= 0.5 (probabilities) / x >= 0 (logits, scores) for one column"

CLS_SPECS: tuple[Spec, ...] = (
    Spec("bce", "cls", "loss", "soft", False, (0.0, INF),
         "-[y log p + (1-y) log(1-p)], mean over elements",
         "weighted mean over samples (sum w l / sum w); logits via log-sigmoid; log p floored at -100; "
         "smoothing y(1-eps)+eps/2",
         "torch.nn.BCELoss / BCEWithLogitsLoss; keras.losses.BinaryCrossentropy; sklearn.metrics.log_loss; "
         "smp SoftBCEWithLogitsLoss", (_LS,), compute=cls.bce,
         presets={
             "lossctl": "sum w l / sum w over valid elements; log floored at -100; smoothing y(1-eps)+eps/2",
             "torch": "BCELoss (probs, log >= -100) / BCEWithLogitsLoss: mean of w*l over ALL elements "
                      "(not / sum w); no smoothing, no ignore",
             "keras": "BinaryCrossentropy: clip p to [1e-7, 1-1e-7] (float32), smoothing y(1-eps)+eps/2, "
                      "mean over the last axis, then sum w l / N",
             "sklearn": "log_loss: one binary column, clip to [eps, 1-eps] with eps = finfo(dtype).eps, "
                        "sum w l / sum w; logits go through the sigmoid first",
             "smp": "SoftBCEWithLogitsLoss (logits): smoothing y(1-s)+(1-y)s, ignored elements zeroed but "
                    "counted in the mean",
         }),
    Spec("weighted_bce", "cls", "loss", "soft", False, (0.0, INF),
         "-[w+ y log p + (1-y) log(1-p)], w+ = pos_weight",
         "as bce with pos_weight on the positive term; pos_weight defaults to #negatives/#positives "
         "(per column); per-sample weights (--weights) multiply every element",
         "torch.nn.BCEWithLogitsLoss(pos_weight); smp SoftBCEWithLogitsLoss(pos_weight)",
         (Param("pos_weight", None, "weight of the positive term (default: #neg/#pos of the targets)"), _LS),
         compute=cls.weighted_bce,
         presets={"lossctl": "as bce, with pos_weight", "torch": "BCEWithLogitsLoss(pos_weight): logits only",
                  "smp": "SoftBCEWithLogitsLoss(pos_weight): logits only"}),
    Spec("cce", "cls", "loss", "soft", False, (0.0, INF),
         "-sum_c w_c q_c log p_c (one-hot or soft q)",
         "sum over classes, weighted mean over samples; class weights inside the sum (torch); "
         "smoothing q(1-eps)+eps/C",
         "torch.nn.CrossEntropyLoss (probability targets); keras.losses.CategoricalCrossentropy; "
         "sklearn.metrics.log_loss", (_LS,), compute=cls.cce,
         presets={
             "lossctl": "sum w_n l_n / sum w_n; log p floored at -100",
             "torch": "CrossEntropyLoss with probability targets: mean over N, class weights not renormalised; "
                      "probabilities enter as log(p) logits",
             "keras": "CategoricalCrossentropy: rows renormalised, clip [1e-7, 1-1e-7], sum w l / N; class "
                      "weights become sample weights",
             "sklearn": "log_loss with one-hot targets: clip [eps, 1-eps], no renormalisation, sum w l / sum w",
         }),
    Spec("sparse_cce", "cls", "loss", "soft", False, (0.0, INF),
         "-w_y log p_y (class-index targets)",
         "weighted mean sum w_n w_y l_n / sum w_n w_y over non-ignored samples (torch's weighted mean)",
         "torch.nn.CrossEntropyLoss / NLLLoss; keras SparseCategoricalCrossentropy; sklearn log_loss; "
         "smp SoftCrossEntropyLoss", compute=cls.sparse_cce,
         presets={
             "lossctl": "sum w_n w_y l_n / sum w_n w_y over valid samples",
             "torch": "CrossEntropyLoss(weight, ignore_index): / sum of target-class weights; probabilities "
                      "via NLLLoss(log p floored at -100)",
             "keras": "SparseCategoricalCrossentropy(ignore_class): renormalise + clip probabilities, "
                      "sum w l / number of valid samples",
             "sklearn": "log_loss(labels=range(C)): clip [eps, 1-eps], sum w l / sum w",
             "smp": "SoftCrossEntropyLoss: logits, ignored samples zeroed but counted (mean over all N)",
         }),
    Spec("label_smoothing_ce", "cls", "loss", "soft", False, (0.0, INF),
         "(1-eps) w_y (-log p_y) + (eps/C) sum_c w_c (-log p_c)",
         "PyTorch's definition: eps/C spread over all classes (the true one included); weighted mean as sparse_cce",
         "torch.nn.CrossEntropyLoss(label_smoothing); keras CategoricalCrossentropy(label_smoothing); "
         "smp SoftCrossEntropyLoss(smooth_factor)",
         (Param("label_smoothing", 0.1, "label smoothing factor eps", bounds=(0.0, 1.0)),),
         compute=cls.label_smoothing_ce,
         presets={
             "lossctl": "as torch, plus per-sample weights",
             "torch": "CrossEntropyLoss(label_smoothing, weight, ignore_index): both terms / sum w_y",
             "keras": "CategoricalCrossentropy(label_smoothing) on one-hot targets: q(1-eps)+eps/C, / N",
             "smp": "SoftCrossEntropyLoss(smooth_factor) (fairseq): ignored rows zeroed, mean over all N",
         }),
    Spec("focal", "cls", "loss", "soft", False, (0.0, INF),
         "-a_t (1-p_t)^gamma log p_t",
         "sigmoid focal when the target has the prediction's shape, softmax focal for class indices; "
         "alpha off by default; weighted mean",
         "Lin et al. 2017; torchvision.ops.sigmoid_focal_loss; keras BinaryFocalCrossentropy / "
         "CategoricalFocalCrossentropy; smp FocalLoss; MONAI FocalLoss",
         (Param("gamma", 2.0, "focusing exponent"),
          Param("alpha", None, "weight of class 1 (binary)", bounds=(0.0, 1.0)), _LS),
         compute=cls.focal,
         presets={
             "lossctl": "binary: mean of -a_t (1-p_t)^g log p_t; multiclass: softmax focal, class weights as "
                        "per-class alpha",
             "torch": "torchvision sigmoid_focal_loss(alpha=0.25, gamma=2), reduction mean; logits; binary only",
             "keras": "BinaryFocalCrossentropy (alpha only with apply_class_balancing, i.e. when alpha is "
                      "given; clip path even for logits) / CategoricalFocalCrossentropy(alpha=0.25)",
             "smp": "FocalLoss: binary mean over elements; multiclass one-vs-rest sigmoid focal summed over "
                    "classes; logits",
             "monai": "FocalLoss(use_softmax=False): sigmoid focal on one-hot targets, mean over N*C",
         }),
    Spec("hinge", "cls", "loss", "soft", False, (0.0, INF),
         "max(0, 1 - y f), y in {-1,+1}",
         "0/1 targets map to -1/+1; weighted mean", "sklearn.metrics.hinge_loss; keras.losses.Hinge",
         compute=cls.hinge,
         presets={"lossctl": "sum w l / sum w", "sklearn": "hinge_loss: sum w l / sum w",
                  "keras": "Hinge: sum w l / N"}),
    Spec("squared_hinge", "cls", "loss", "soft", False, (0.0, INF),
         "max(0, 1 - y f)^2", "as hinge", "keras.losses.SquaredHinge", compute=cls.squared_hinge,
         presets={"lossctl": "sum w l / sum w", "keras": "SquaredHinge: sum w l / N"}),
    Spec("multiclass_hinge", "cls", "loss", "soft", False, (0.0, INF),
         "crammer_singer: max(0, 1 - f_y + max_{j!=y} f_j); weston_watkins: sum_{j!=y} max(0, 1 - f_y + f_j)",
         "--hinge chooses the flavour (default crammer_singer); weighted mean",
         "sklearn.metrics.hinge_loss (Crammer-Singer); torch.nn.MultiMarginLoss (Weston-Watkins / C); "
         "keras.losses.CategoricalHinge",
         (Param("hinge", None, "multiclass hinge flavour (default: the convention's own)",
               ("crammer_singer", "weston_watkins", "keras_categorical")),
          Param("squared", 0.0, "1 squares each margin term", bounds=(0.0, 1.0))),
         compute=lambda x, convention, **p: cls.multiclass_hinge(x, convention, hinge=p["hinge"],
                                                                 squared=bool(p["squared"])),
         presets={"lossctl": "crammer_singer (or weston_watkins summed over j != y)",
                  "sklearn": "hinge_loss: crammer_singer, sum w l / sum w",
                  "torch": "MultiMarginLoss: weston_watkins, class weight w_y outside, / C, mean over N",
                  "keras": "CategoricalHinge: max(0, 1 + max_j (1-q_j) f_j - f_y), / N"}),
    Spec("accuracy", "cls", "metric", "any", True, (0.0, 1.0), "mean_n [hard_n = y_n]",
         _CLS_METRIC + "; weighted by --weights", "sklearn.metrics.accuracy_score"),
    Spec("precision", "cls", "metric", "any", True, (0.0, 1.0), "TP/(TP+FP)",
         _CLS_METRIC + "; binary: class 1; multiclass: macro over classes present (0/0 -> 0)",
         "sklearn.metrics.precision_score"),
    Spec("recall", "cls", "metric", "any", True, (0.0, 1.0), "TP/(TP+FN)", "as precision",
         "sklearn.metrics.recall_score"),
    Spec("f1", "cls", "metric", "any", True, (0.0, 1.0), "2TP/(2TP+FP+FN)", "as precision",
         "sklearn.metrics.f1_score"),
)

REGISTRY: dict[tuple[str, str], Spec] = {(s.task, s.name): s for s in SEG_SPECS + CLS_SPECS}
CONVENTIONS = cls.CONVENTIONS


def specs(task: str, kind: str | None = None) -> list[Spec]:
    """Entries of one task (``"seg"`` or ``"cls"``), optionally one kind, in catalogue order."""
    return [s for s in REGISTRY.values() if s.task == task and (kind is None or s.kind == kind)]


def names(task: str, kind: str | None = None) -> list[str]:
    """Names of :func:`specs`."""
    return [s.name for s in specs(task, kind)]


def get(task: str, name: str) -> Spec:
    """The entry called ``name``; an unknown name is a usage error that lists the valid ones."""
    try:
        return REGISTRY[(task, name)]
    except KeyError:
        raise UsageError(f"unknown {task} loss or metric {name!r}; choose from: "
                         f"{', '.join(names(task))}") from None
