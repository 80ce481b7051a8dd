"""The one table of every loss and metric lossctl knows, each with its table of conventions.

A :class:`Spec` is a value (name, task, kind, direction, bounds, formula); its ``conventions`` map each
convention that defines it to an :class:`~lossctl.convention.Impl` (function, typed parameters with that
framework's defaults, accepted inputs, one-line definition). The (value, convention) pair is the unit: the
CLI's ``--convention`` choices, ``lossctl losses NAME``, the convention lists of docs/conventions.md and the shared
property tests all iterate these tables; nothing else in the package lists losses, metrics or conventions.

Function families (the ``fn`` of an Impl):

* seg loss: ``fn(x: SegInput, include, **params) -> (value, per_class | None)``;
* seg metric: ``fn(confusion_matrix, include, **params) -> (value, per_class | None)``;
* cls loss: ``fn(x: ClsInput, **params) -> (value, per_sample)``;
* cls metric: ``fn(x: ClsInput, **params) -> (value, None)``;
* calibration value (seg and cls, :attr:`Spec.calibration`): ``fn(tally, include, **params) -> (value, per_class
  | None)`` of the sums ``Impl.tally(samples, **params)`` collects from the probabilities
  (:mod:`lossctl.metrics.calibration`): a seg image's valid pixels or the cls samples. Tallies add up over images,
  so a dataset's pooled value is ``fn`` of their sum, as a seg metric's is of the summed confusion matrix.

Adding a convention to a value is adding one row to its table; adding a value is adding one Spec.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from lossctl.convention import CONVENTIONS, Impl, Param, pick
from lossctl.errors import NotAvailable, UsageError, did_you_mean, setting
from lossctl.losses import cls_conventions, seg_conventions
from lossctl.metrics import boundary, calibration, counting, instances, lesions, overlap, topology
from lossctl.metrics import classification as cls_metrics

INF = math.inf

#: The counting metrics (:mod:`lossctl.metrics.counting`): name, higher is better, bounds, formula. The first
#: twelve are also classification metrics; avd and rvd are segmentation volumes.
COUNTING: tuple[tuple[str, bool, tuple[float, float], str], ...] = (
    ("mcc", True, (-1.0, 1.0), "Gorodkin R_K = (N tr - t.p) / sqrt((N^2 - p.p)(N^2 - t.t)) of the whole matrix"),
    ("kappa", True, (-1.0, 1.0), "1 - sum((1-I) CM) / sum((1-I) E), E = outer(t, p) / N"),
    ("weighted_kappa", True, (-INF, 1.0), "1 - sum(w CM) / sum(w E), w = |i-j| or (i-j)^2"),
    ("balanced_accuracy", True, (0.0, 1.0), "mean_c TP_c/(TP_c+FN_c) over the classes in the truth"),
    ("specificity", True, (0.0, 1.0), "mean_c TN/(TN+FP)"),
    ("npv", True, (0.0, 1.0), "mean_c TN/(TN+FN)"),
    ("fbeta", True, (0.0, 1.0), "mean_c (1+b^2)TP/((1+b^2)TP+b^2 FN+FP)"),
    ("youden", True, (-1.0, 1.0), "mean_c Se + Sp - 1"),
    ("lr_plus", True, (0.0, INF), "mean_c Se/(1-Sp) = TP(TN+FP)/(FP(TP+FN))"),
    ("expected_cost", False, (0.0, 2.0), "(1 - BA) K/(K-1): normalised, costs c_ij = 1/(K pi_j)"),
    ("net_benefit", True, (-INF, 1.0), "mean_c TP/N - ER FP/N"),
    ("avd", False, (0.0, INF), "mean_c |V_P - V_R| (mm^3 with a spacing, else voxels)"),
    ("rvd", False, (-1.0, INF), "mean_c (V_P - V_R)/V_R, signed (0 is best; MetricsReloaded AVDR = |rvd|)"),
)
#: The counting metrics whose perfect prediction is not their bound (:attr:`Spec.perfect`).
PERFECT: dict[str, float | None] = {"lr_plus": None, "net_benefit": None, "rvd": 0.0}

@dataclass(frozen=True)
class Spec:
    """One loss or metric and its conventions."""

    name: str
    task: Literal["seg", "cls"]
    kind: Literal["loss", "metric"]
    higher_is_better: bool
    bounds: tuple[float, float]
    formula: str
    conventions: Mapping[str, Impl] = field(repr=False)
    per_class: bool = False
    #: Computed only when asked for by name: the boundary metrics, which need spacing and distance maps, and the
    #: topology and boundary-overlap metrics (skeletons, bands). Their Impl functions take label maps (see
    #: :mod:`lossctl.metrics.boundary` and :mod:`lossctl.metrics.topology`), not a confusion matrix; the engine
    #: computes every requested boundary metric from the same two distance sets.
    opt_in: bool = False
    #: A length (the boundary distances): in the unit of the images' spacing (mm from the headers or as given,
    #: else pixels or voxels); reports name it in ``summary.units``.
    distance: bool = False
    #: An instance value (opt-in too): computed from the matched instances of each class and region (``--instances``),
    #: its Impl functions take one :class:`~lossctl.metrics.instances.Evaluation` (or, for the lesion values and
    #: under brats, one :class:`~lossctl.metrics.lesions.LesionResult`).
    instance: bool = False
    #: A calibration value (opt-in too): computed from the probabilities' tallies (the calibration family above).
    calibration: bool = False
    #: A confusion-matrix metric computed only when asked for by name (the counting metrics of
    #: :mod:`lossctl.metrics.counting`, and the classification ranking metrics): a run that names no value computes
    #: what it computed before they existed, so that existing reports do not change.
    on_request: bool = False
    #: A volume (avd): mm^3 when every image's spacing is known, else pixels or voxels; ``summary.units`` names it.
    volume: bool = False
    #: The value of a perfect prediction where it is not the bound in the value's direction: a number (rvd: 0), or
    #: None where it has no fixed one (lr_plus: undefined without a false positive; net_benefit: the prevalence).
    perfect: float | None | Literal["bound"] = "bound"

    def __post_init__(self) -> None:
        unknown = set(self.conventions) - set(CONVENTIONS)
        if unknown or "lossctl" not in self.conventions:
            raise ValueError(f"{self.task} {self.name}: conventions {sorted(unknown)} unknown or lossctl missing")

    @property
    def by_default(self) -> bool:
        """Whether a run that names no value computes this one (neither :attr:`opt_in` nor :attr:`on_request`)."""
        return not (self.opt_in or self.on_request)

    @property
    def direction(self) -> str:
        """``"higher"`` or ``"lower"`` is better."""
        return "higher" if self.higher_is_better else "lower"

    @property
    def optimum(self) -> float | None:
        """The value of a perfect prediction (the bound in the value's direction unless :attr:`perfect` says
        otherwise; None: no fixed one)."""
        if self.perfect != "bound":
            return self.perfect  # type: ignore[return-value]
        return self.bounds[1] if self.higher_is_better else self.bounds[0]

    @property
    def needs(self) -> str:
        """``"any"`` when labels suffice (metrics), ``"soft"`` when probabilities or logits are needed."""
        return "any" if "labels" in self.conventions["lossctl"].inputs else "soft"

    @property
    def params(self) -> tuple[Param, ...]:
        """The lossctl convention's parameters."""
        return self.conventions["lossctl"].params

    def impl(self, convention: str = "lossctl") -> Impl:
        """This value under ``convention``; :class:`NotAvailable` when that framework does not define it."""
        return pick(self.conventions, convention, f"{self.task} {self.kind}", self.name)

    def defaults(self, convention: str = "lossctl") -> dict[str, Any]:
        """The parameters' defaults under ``convention`` (its framework's own)."""
        return self.impl(convention).defaults()

    def resolve(self, convention: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters applied under ``convention``: defaults plus ``overrides``, each validated."""
        return self.impl(convention).resolve(overrides, self.name)

    def unavailable(self, convention: str, pred_kind: str) -> str | None:
        """Why this segmentation value cannot be computed under ``convention`` from ``pred_kind`` predictions
        (None: it can; ``auto`` never reads logits, so a logits-only loss is refused for it; ``labels`` only needs
        the value to exist)."""
        try:
            impl = self.impl(convention)
            if self.kind == "loss" and pred_kind in ("auto", "probs", "logits"):
                impl.refuse(self.name, convention, kind="probs" if pred_kind == "auto" else pred_kind)
        except NotAvailable as reason:
            return str(reason)
        return None

    def evaluate(self, x: Any, convention: str = "lossctl", *, include: np.ndarray | None = None,
                 context: Mapping[str, Any] | None = None, **params: Any) -> tuple[float, np.ndarray | None]:
        """This value under ``convention`` on one prepared input, with ``params`` over the convention's defaults:
        ``(value, per-class vector or None)`` of a segmentation image ``x`` (a :class:`~lossctl.inputs.seg.
        SegInput`; ``include`` the classes of the mean, ``context`` the facts of the run a loss may read),
        ``(value, per-sample vector or None)`` of classification samples ``x`` (a :class:`~lossctl.inputs.cls.
        ClsInput`). What the convention does not take (the prediction kind, for cls the target kind and the
        optional inputs given) is refused with :class:`NotAvailable`."""
        impl = self.impl(convention)
        if self.calibration:
            value, per_class, _ = self.measure(x, convention, include=include, **params)
            return value, per_class
        if self.task == "cls":
            return impl.apply_to_samples(x, self.name, convention, params)
        applied = impl.resolve(params, self.name)
        if self.kind == "metric":
            return impl.fn(x.confusion, include, **applied)
        impl.refuse(self.name, convention, kind=x.kind)
        extra = {k: (context or {}).get(k, False) for k in impl.context}
        return impl.fn(x, include, **applied, **extra)

    def measure(self, x: Any, convention: str = "lossctl", *, include: np.ndarray | None = None,
                samples: calibration.Samples | None = None, **params: Any
                ) -> tuple[float, np.ndarray | None, calibration.Tally]:
        """A calibration value of one prepared input (seg or cls): ``(value, per-class vector or None, tally)``,
        the tally being the sums the value is computed from (:mod:`lossctl.metrics.calibration`). ``samples``:
        ``x``'s samples when the caller has them (the values of one input share them, and their tallies)."""
        impl = self.impl(convention)
        applied = impl.resolve(params, self.name)
        if self.task == "cls":
            impl.refuse(self.name, convention, kind=x.kind, target_kind=x.target_kind, given=x.given_options)
        tally = impl.tally(calibration.samples_of(x) if samples is None else samples, **applied)
        value, per_class = impl.fn(tally, include, **applied)
        return value, per_class, tally


def _calibration_specs(task: Literal["seg", "cls"]) -> tuple[Spec, ...]:
    """The calibration values of ``task`` (one table for seg and cls: the samples are pixels or rows)."""
    return tuple(Spec(name, task, "metric", False, bounds, formula, calibration.TABLE[name],
                      per_class=name == "cw_ece", opt_in=True, calibration=True)
                 for name, bounds, formula in (
                     ("ece", (0.0, 1.0), "sum_b n_b/N |acc_b - conf_b| (expected calibration error)"),
                     ("mce", (0.0, 1.0), "max_b |acc_b - conf_b| (maximum calibration error)"),
                     ("rmsce", (0.0, 1.0), "sqrt(sum_b n_b/N (acc_b - conf_b)^2) (l2 calibration error)"),
                     ("cw_ece", (0.0, 1.0), "mean_k ECE of p_k against [y = k] (class-wise)"),
                     ("brier", (0.0, 2.0), "mean_n sum_c (p_nc - [y_n = c])^2"),
                     ("nll", (0.0, INF), "mean_n -log p[n, y_n]")))


SEG_SPECS: tuple[Spec, ...] = (
    Spec("dice", "seg", "metric", True, (0.0, 1.0), "mean_c 2TP/(2TP+FP+FN)", overlap.TABLE["dice"], True),
    Spec("iou", "seg", "metric", True, (0.0, 1.0), "mean_c TP/(TP+FP+FN)", overlap.TABLE["iou"], True),
    Spec("precision", "seg", "metric", True, (0.0, 1.0), "mean_c TP/(TP+FP)", overlap.TABLE["precision"], True),
    Spec("recall", "seg", "metric", True, (0.0, 1.0), "mean_c TP/(TP+FN)", overlap.TABLE["recall"], True),
    Spec("accuracy", "seg", "metric", True, (0.0, 1.0), "sum_c TP_c / N_valid", overlap.TABLE["accuracy"]),
    Spec("ce", "seg", "loss", False, (0.0, INF), "mean_n -log p[n, y_n]", seg_conventions.TABLE["ce"]),
    Spec("focal", "seg", "loss", False, (0.0, INF), "mean_n -a_n (1 - p[n, y_n])^gamma log p[n, y_n]",
         seg_conventions.TABLE["focal"]),
    Spec("dice_loss", "seg", "loss", False, (0.0, 1.0), "mean_c 1 - (2TP + 2s)/max(P + G + 2s, eps)",
         seg_conventions.TABLE["dice_loss"], True),
    Spec("jaccard_loss", "seg", "loss", False, (0.0, 1.0), "mean_c 1 - (TP + s)/max(P + G - TP + s, eps)",
         seg_conventions.TABLE["jaccard_loss"], True),
    Spec("tversky_loss", "seg", "loss", False, (0.0, 1.0),
         "mean_c 1 - (TP + s)/max(TP + alpha FP + beta FN + s, eps)", seg_conventions.TABLE["tversky_loss"], True),
    Spec("focal_tversky_loss", "seg", "loss", False, (0.0, 1.0), "(mean_c 1 - T_c)^gamma, T_c the Tversky index",
         seg_conventions.TABLE["focal_tversky_loss"], True),
    Spec("lovasz", "seg", "loss", False, (0.0, INF), "Lovász extension of the Jaccard loss over sorted errors",
         seg_conventions.TABLE["lovasz"], True),
    Spec("hd", "seg", "metric", False, (0.0, INF), "max(max d(A->B), max d(B->A))", boundary.TABLE["hd"], True,
         opt_in=True, distance=True),
    Spec("hd95", "seg", "metric", False, (0.0, INF), "p-th percentile of the surface distances (by convention)",
         boundary.TABLE["hd95"], True, opt_in=True, distance=True),
    Spec("assd", "seg", "metric", False, (0.0, INF), "(sum d(A->B) + sum d(B->A)) / (|dA| + |dB|)",
         boundary.TABLE["assd"], True, opt_in=True, distance=True),
    Spec("masd", "seg", "metric", False, (0.0, INF), "(mean d(A->B) + mean d(B->A)) / 2", boundary.TABLE["masd"],
         True, opt_in=True, distance=True),
    Spec("nsd", "seg", "metric", True, (0.0, 1.0), "(|d(A->B) <= tau| + |d(B->A) <= tau|) / (|dA| + |dB|)",
         boundary.TABLE["nsd"], True, opt_in=True),
    Spec("cldice", "seg", "metric", True, (0.0, 1.0), "mean_c 2 Tprec Tsens/(Tprec+Tsens), Tprec = |S(P)∩R|/|S(P)|, "
         "Tsens = |S(R)∩P|/|S(R)|, S the skeleton", topology.TABLE["cldice"], True, opt_in=True),
    Spec("boundary_iou", "seg", "metric", True, (0.0, 1.0), "mean_c |B(P)∩B(R)|/|B(P)∪B(R)|, B the inner band of "
         "width d", topology.TABLE["boundary_iou"], True, opt_in=True),
    *(Spec(name, "seg", "metric", higher, bounds, formula, {**counting.TABLE, **counting.VOLUME_TABLE}[name], True,
           on_request=True, volume=name == "avd", perfect=PERFECT.get(name, "bound"))
      for name, higher, bounds, formula in COUNTING),
    *(Spec(name, "seg", "metric", higher, bounds, formula,
           {**instances.TABLE.get(name, {}), **lesions.TABLE.get(name, {})}, True, opt_in=True, instance=True)
      for name, higher, bounds, formula in (
          ("inst_tp", True, (0.0, INF), "matched ground-truth instances, summed over classes"),
          ("inst_fp", False, (0.0, INF), "unmatched predicted instances, summed over classes"),
          ("inst_fn", False, (0.0, INF), "unmatched ground-truth instances, summed over classes"),
          ("inst_precision", True, (0.0, 1.0), "mean_c tp/(tp+fp)"),
          ("inst_recall", True, (0.0, 1.0), "mean_c tp/(tp+fn)"),
          ("rq", True, (0.0, 1.0), "mean_c tp/(tp+fp/2+fn/2)"),
          ("sq", True, (0.0, 1.0), "mean_c mean IoU of the matched pairs"),
          ("pq", True, (0.0, 1.0), "mean_c sq x rq"),
          ("sq_dice", True, (0.0, 1.0), "mean_c mean Dice of the matched pairs"),
          ("pq_dice", True, (0.0, 1.0), "mean_c sq_dice x rq"),
          ("sq_hd95", False, (0.0, INF), "mean_c mean HD95 of the matched pairs"),
          ("sq_assd", False, (0.0, INF), "mean_c mean ASSD of the matched pairs"),
          ("sq_nsd", True, (0.0, 1.0), "mean_c mean NSD of the matched pairs"),
          ("aji", True, (0.0, 1.0), "mean_c sum I / (sum U + unused predictions)"),
          ("aji_plus", True, (0.0, 1.0), "mean_c AJI with one-to-one pairing"),
          ("lesion_dice", True, (0.0, 1.0), "mean_c sum Dice_l / (L + F) (BraTS lesion-wise)"),
          ("lesion_hd95", False, (0.0, INF), "mean_c (sum HD95_l + 374 F) / (L + F) (BraTS lesion-wise)"),
      )),
    *_calibration_specs("seg"),
)

CLS_SPECS: tuple[Spec, ...] = (
    Spec("bce", "cls", "loss", False, (0.0, INF), "-[y log p + (1-y) log(1-p)] per element",
         cls_conventions.TABLE["bce"]),
    Spec("weighted_bce", "cls", "loss", False, (0.0, INF), "-[w+ y log p + (1-y) log(1-p)], w+ = pos_weight",
         cls_conventions.TABLE["weighted_bce"]),
    Spec("cce", "cls", "loss", False, (0.0, INF), "-sum_c w_c q_c log p_c (one-hot or soft q)",
         cls_conventions.TABLE["cce"]),
    Spec("sparse_cce", "cls", "loss", False, (0.0, INF), "-w_y log p_y (class-index targets)",
         cls_conventions.TABLE["sparse_cce"]),
    Spec("label_smoothing_ce", "cls", "loss", False, (0.0, INF),
         "(1-eps) w_y (-log p_y) + (eps/C) sum_c w_c (-log p_c)", cls_conventions.TABLE["label_smoothing_ce"]),
    Spec("focal", "cls", "loss", False, (0.0, INF), "-a_t (1-p_t)^gamma log p_t", cls_conventions.TABLE["focal"]),
    Spec("hinge", "cls", "loss", False, (0.0, INF), "max(0, 1 - y f), y in {-1,+1}", cls_conventions.TABLE["hinge"]),
    Spec("squared_hinge", "cls", "loss", False, (0.0, INF), "max(0, 1 - y f)^2", cls_conventions.TABLE["squared_hinge"]),
    Spec("multiclass_hinge", "cls", "loss", False, (0.0, INF),
         "crammer_singer: max(0, 1 - f_y + max_{j!=y} f_j); weston_watkins: sum_{j!=y} max(0, 1 - f_y + f_j)",
         cls_conventions.TABLE["multiclass_hinge"]),
    Spec("accuracy", "cls", "metric", True, (0.0, 1.0), "mean_n [hard_n = y_n]", cls_metrics.TABLE["accuracy"]),
    Spec("precision", "cls", "metric", True, (0.0, 1.0), "TP/(TP+FP)", cls_metrics.TABLE["precision"]),
    Spec("recall", "cls", "metric", True, (0.0, 1.0), "TP/(TP+FN)", cls_metrics.TABLE["recall"]),
    Spec("f1", "cls", "metric", True, (0.0, 1.0), "2TP/(2TP+FP+FN)", cls_metrics.TABLE["f1"]),
    *(Spec(name, "cls", "metric", higher, bounds, formula.replace("mean_c ", "class 1 or mean_c "),
           cls_metrics.TABLE[name], on_request=True, perfect=PERFECT.get(name, "bound"))
      for name, higher, bounds, formula in COUNTING[:11]),
    Spec("auroc", "cls", "metric", True, (0.0, 1.0), "area under the ROC curve; multiclass: mean_c one-vs-rest",
         cls_metrics.TABLE["auroc"], on_request=True),
    Spec("ap", "cls", "metric", True, (0.0, 1.0), "sum_k (R_k - R_k-1) P_k; multiclass: mean_c one-vs-rest",
         cls_metrics.TABLE["ap"], on_request=True),
    *_calibration_specs("cls"),
)

REGISTRY: dict[tuple[str, str], Spec] = {(s.task, s.name): s for s in SEG_SPECS + CLS_SPECS}


def specs(task: str, kind: str | None = None) -> list[Spec]:
    """Entries of one task (``"seg"`` or ``"cls"``), optionally one kind, in catalogue order."""
    return [s for s in REGISTRY.values() if s.task == task and (kind is None or s.kind == kind)]


def names(task: str, kind: str | None = None) -> list[str]:
    """Names of :func:`specs`."""
    return [s.name for s in specs(task, kind)]


def instance_names(task: str = "seg") -> list[str]:
    """The instance values (:attr:`Spec.instance`), in catalogue order."""
    return [s.name for s in specs(task) if s.instance]


def default_metrics(task: str, convention: str) -> tuple[str, ...]:
    """The metrics a run of ``task`` computes by default under ``convention`` (opt-in ones aside): those a loss
    named alone (``-l NAME``) brings along."""
    return tuple(s.name for s in specs(task, "metric")
                 if convention in s.conventions and s.by_default)


def conventions(task: str | None = None) -> list[str]:
    """The conventions that define at least one value of ``task`` (every task: None), in :data:`CONVENTIONS`
    order."""
    used = {c for s in REGISTRY.values() if task is None or s.task == task for c in s.conventions}
    return [c for c in CONVENTIONS if c in used]


def pairs(task: str | None = None, kind: str | None = None) -> list[tuple[Spec, str]]:
    """Every (value, convention) pair, for the shared tests."""
    return [(s, c) for s in REGISTRY.values() if (task is None or s.task == task)
            and (kind is None or s.kind == kind) for c in s.conventions]


def not_computed_note(reasons: Mapping[str, str], convention: str) -> str | None:
    """The one note of a run on the values it selected by default but does not compute (``reasons``: name -> why,
    as :class:`~lossctl.errors.NotAvailable` says it, e.g. ``config.not_available`` without the opt-in values
    nobody asked for), grouped by reason; None when there is none.

    >>> print(not_computed_note({"dice": "convention smp has no seg metric dice; it is defined under lossctl",
    ...                          "ce": "ce under convention smp takes logits predictions, not probs",
    ...                          "lovasz": "lovasz under convention smp takes logits predictions, not probs"},
    ...                         "smp").replace("\x1f", "").replace("\x1e", "="))
    convention='smp' has no dice; ce, lovasz under convention='smp' take logits predictions, not probs; they are not computed (see `lossctl losses NAME`)
    """
    if not reasons:
        return None
    lacking: list[str] = []
    groups: dict[str, list[str]] = {}
    for name, reason in reasons.items():
        if reason.startswith(f"convention {convention} has no "):
            lacking.append(name)
        elif reason.startswith(f"{name} "):
            groups.setdefault(reason[len(name) + 1:].split("; ")[0], []).append(name)
        else:  # a reason of another shape: kept whole, after the value's name
            groups.setdefault(f"\0{reason.split('; ')[0]}", []).append(name)
    clauses = [f"{setting('convention', convention)} has no {', '.join(lacking)}"] if lacking else []
    for tail, names in groups.items():
        if tail.startswith("\0"):
            clauses.append(f"{', '.join(names)}: {tail[1:]}")
            continue
        if len(names) > 1:  # "X takes" -> "X, Y take"
            tail = re.sub(r"\b(takes|needs)\b", lambda m: m.group(1)[:-1], tail, count=1)
        tail = tail.replace(f"under convention {convention}", f"under {setting('convention', convention)}")
        clauses.append(f"{', '.join(names)} {tail}")
    they = "it is" if len(reasons) == 1 else "they are"
    return f"{'; '.join(clauses)}; {they} not computed (see `lossctl losses NAME`)"


def get(task: str, name: str) -> Spec:
    """The entry called ``name`` (case ignored: ``HD95`` is ``hd95``); an unknown name is a usage error that says
    the closest name and lists the valid ones."""
    try:
        return REGISTRY[(task, name.strip().lower())]
    except KeyError:
        raise UsageError(f"unknown {task} loss or metric {name!r}{did_you_mean(name, names(task))}; choose from: "
                         f"{', '.join(names(task))}") from None
