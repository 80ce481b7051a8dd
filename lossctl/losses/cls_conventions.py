r"""Classification losses under each convention: the rows of the registry's conventions tables (the metrics'
rows are :mod:`lossctl.metrics.classification`'s).

:data:`TABLE` maps every classification loss to ``{convention: Impl}``. Each row names the function, the
parameters with that framework's defaults (so the recorded config is what was applied: torch's focal records
``alpha=0.25``), the prediction kinds, target kinds (see :mod:`lossctl.inputs.cls`) and optional inputs it takes,
and a one-line definition. A pair missing from the table does not exist in that framework.

The shared functions of :mod:`lossctl.losses.classification` take a peer's :class:`~lossctl.losses.
classification.Rules` (its clip, reduction and smoothing: :data:`RULES`, data too); the quirks that are one
framework's own are written here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
import numpy as np

from lossctl._numeric import log_sigmoid, log_softmax, mean_over, weighted_mean
from lossctl.inputs.cls import ClsInput
from lossctl.convention import INF, Impl, Param
from lossctl.errors import InputError
from lossctl.losses import classification as cls

Result = tuple[float, np.ndarray]


# --- one framework's own quirks -----------------------------------------------------------------------------

def sklearn_hinge(x: ClsInput) -> Result:
    """scikit-learn ``hinge_loss`` of a binary task: any two labels, the greater one is +1 (a single label is
    -1 throughout, as its LabelBinarizer gives); ``sum w l / sum w``."""
    labels = np.unique(x.target)
    if labels.size > 2:
        raise InputError(f"hinge needs two labels, got {labels.size} ({labels[:5].tolist()}); give (N, C) "
                         "decision values for multiclass_hinge", subject="target")
    signed = np.where((x.target == labels.max()) & (labels.size == 2), 1.0, -1.0)
    per_sample = np.maximum(0.0, 1.0 - signed * x.pred)
    return weighted_mean(per_sample, x.sample_weights), per_sample


def torch_multi_margin(x: ClsInput, *, hinge: str = "weston_watkins", p: int = 1, margin: float = 1.0) -> Result:
    """torch ``MultiMarginLoss(p, margin, weight)``: ``sum_{j != y} w_y max(0, margin - f_y + f_j)^p / C``, mean
    over samples."""
    labels = cls._int_labels(x, "multiclass_hinge")
    n, c = x.pred.shape
    f_y = x.pred[np.arange(n), labels]
    terms = np.maximum(0.0, margin - f_y[:, None] + x.pred) ** p
    terms[np.arange(n), labels] = 0.0
    w_y = 1.0 if x.class_weights is None else x.class_weights[labels]
    per_sample = w_y * terms.sum(axis=1) / c
    return float(per_sample.mean()), per_sample


def monai_focal(x: ClsInput, *, gamma: float = 2.0, alpha: float | None = None,
                use_softmax: bool = False) -> Result:
    """MONAI ``FocalLoss`` on (N, C) logits (a (N,) binary map is one channel): class indices become one-hot
    rows (``to_onehot_y``); sigmoid focal per element, or with ``use_softmax`` ``-(1 - p_c)^gamma log p_c t_c``
    (scalar alpha: 1 - alpha for channel 0, alpha for the others); class weights multiply each channel; the
    mean over every element, or, with an ignore index, the sum over the valid rows divided by their number
    (not by rows x channels)."""
    logits = x.pred if x.pred.ndim == 2 else x.pred[:, None]
    n, c = logits.shape
    if x.pred.ndim == 2 and x.target.ndim == 1:
        labels = cls._int_labels(x, "focal")
        valid = x.valid()
        targets = np.eye(c)[np.where(valid, labels, 0)] * valid[:, None]
    else:
        cls._binary_shape(x, "focal")
        if x.ignore_index is not None:
            raise InputError("focal under convention monai takes an ignore index with class-index targets only",
                             subject="target", option="ignore_index")
        valid = np.ones(n, bool)
        targets = x.target.astype(np.float64).reshape(n, -1)
    if use_softmax:
        log_p = log_softmax(logits, axis=1)
        elements = -np.power(-np.expm1(log_p), gamma) * log_p * targets
        if alpha is not None:
            elements = elements * np.array([1.0 - alpha] + [alpha] * (c - 1))
    else:
        bce = logits - logits * targets - log_sigmoid(logits)
        elements = np.exp(gamma * log_sigmoid(-logits * (2 * targets - 1))) * bce
        if alpha is not None:
            elements = elements * (targets * alpha + (1 - targets) * (1 - alpha))
    elements = elements * valid[:, None]
    if x.class_weights is not None:
        elements = elements * x.class_weights
    per_sample = elements.mean(axis=1)
    if x.ignore_index is not None:
        return mean_over(elements.sum(), valid.sum()), per_sample
    return mean_over(elements.sum(), elements.size), per_sample


def keras_focal(x: ClsInput, *, gamma: float = 2.0, alpha: float = 0.25, apply_class_balancing: bool = False,
                label_smoothing: float = 0.0) -> Result:
    """Keras ``BinaryFocalCrossentropy`` (alpha applied only with ``apply_class_balancing``) for binary and
    multilabel targets, ``CategoricalFocalCrossentropy`` (alpha always applied) for class indices and one-hot
    rows."""
    balanced = alpha if (apply_class_balancing or x.is_multiclass) else None
    return cls.focal(x, cls.KERAS, gamma=gamma, alpha=balanced, label_smoothing=label_smoothing)


def torch_focal(x: ClsInput, *, gamma: float = 2.0, alpha: float | None = 0.25) -> Result:
    """torchvision ``sigmoid_focal_loss`` (alpha None: torchvision's -1, no weighting)."""
    return cls.focal(x, cls.TORCH, gamma=gamma, alpha=-1.0 if alpha is None else alpha)


#: Each peer's arithmetic rules (clip, reduction, smoothing): data, read by the shared loss functions.
RULES = {"lossctl": cls.LOSSCTL, "torch": cls.TORCH, "keras": cls.KERAS, "sklearn": cls.SKLEARN, "smp": cls.SMP}


def _by(fn: Callable[..., Result], convention: str) -> Callable[..., Result]:
    return partial(fn, rules=RULES[convention])


_ANY = frozenset({"probs", "logits", "scores"})
_NO_SOFT = frozenset({"binary", "index", "onehot", "multilabel"})
_LS = Param("label_smoothing", 0.0, "label smoothing factor eps", bounds=(0.0, 1.0))
_LS01 = Param("label_smoothing", 0.1, "label smoothing factor eps", bounds=(0.0, 1.0))
_GAMMA = Param("gamma", 2.0, "focusing exponent")
_ALPHA_OFF = Param("alpha", None, "weight of class 1 (binary); 1 - alpha for class 0; off when none",
                   bounds=(0.0, 1.0), optional=True)
_POS = Param("pos_weight", None, "weight of the positive term (none: #negatives/#positives of the targets, "
             "per column)", optional=True)
_SOFT_KINDS = frozenset({"probs", "logits"})
_LOGITS = frozenset({"logits"})
_ELEMENTWISE = frozenset({"binary", "multilabel", "onehot", "soft"})
_CATEGORICAL = frozenset({"index", "onehot", "soft"})
_INDEX = frozenset({"index", "onehot"})
_W = frozenset({"weights"})
_CW = frozenset({"class_weights"})
_IGN = frozenset({"ignore_index"})
_ALL = frozenset({"weights", "class_weights", "ignore_index"})
_SMP = "segmentation_models_pytorch 0.6"


#: ``{loss: {convention: Impl}}``: every classification loss under every convention that has it.
TABLE: dict[str, dict[str, Impl]] = {
    "bce": {
        "lossctl": Impl(cls.bce, "sum w l / sum w over valid elements; log p floored at -100; smoothing "
                        "y(1-eps)+eps/2", "torch.nn.BCELoss (weighted mean)", (_LS,), targets=_ELEMENTWISE,
                        options=_W | _IGN),
        "torch": Impl(_by(cls.bce, "torch"), "BCELoss (probs, log >= -100) / BCEWithLogitsLoss: mean of w l over "
                      "ALL elements (not / sum w)", "torch.nn.BCELoss / BCEWithLogitsLoss(weight)",
                      targets=_ELEMENTWISE, options=_W),
        "keras": Impl(_by(cls.bce, "keras"), "BinaryCrossentropy: clip p to [1e-7, 1-1e-7] (float32), smoothing "
                      "y(1-eps)+eps/2, mean over the last axis, then sum w l / N", "keras.losses.BinaryCrossentropy",
                      (_LS,), targets=_ELEMENTWISE, options=_W),
        "sklearn": Impl(_by(cls.bce, "sklearn"), "log_loss: one binary column, clip to [eps, 1-eps] (eps of the "
                        "input's float type), sum w l / sum w; logits through the sigmoid first",
                        "sklearn.metrics.log_loss", targets=frozenset({"binary"}), options=_W),
        "smp": Impl(_by(cls.bce, "smp"), "SoftBCEWithLogitsLoss: smoothing y(1-s)+(1-y)s, ignored elements zeroed "
                    "but counted in the mean", f"{_SMP} SoftBCEWithLogitsLoss(smooth_factor, ignore_index)", (_LS,),
                    inputs=_LOGITS, targets=_ELEMENTWISE, options=_W | _IGN),
    },
    "weighted_bce": {
        "lossctl": Impl(cls.weighted_bce, "as bce with pos_weight on the positive term", "torch.nn.BCELoss, "
                        "weighted", (_POS, _LS), targets=_ELEMENTWISE, options=_W | _IGN),
        "torch": Impl(_by(cls.weighted_bce, "torch"), "BCEWithLogitsLoss(pos_weight): mean over all elements",
                      "torch.nn.BCEWithLogitsLoss(pos_weight)", (_POS,), inputs=_LOGITS, targets=_ELEMENTWISE,
                      options=_W),
        "smp": Impl(_by(cls.weighted_bce, "smp"), "SoftBCEWithLogitsLoss(pos_weight): ignored elements zeroed but "
                    "counted", f"{_SMP} SoftBCEWithLogitsLoss(pos_weight)", (_POS, _LS), inputs=_LOGITS,
                    targets=_ELEMENTWISE, options=_W | _IGN),
    },
    "cce": {
        "lossctl": Impl(cls.cce, "sum w_n l_n / sum w_n; log p floored at -100; smoothing q(1-eps)+eps/C",
                        "torch.nn.CrossEntropyLoss (probability targets), weighted", (_LS,), targets=_CATEGORICAL,
                        options=_W | _CW),
        "torch": Impl(_by(cls.cce, "torch"), "CrossEntropyLoss with probability targets (smoothing q(1-eps)+eps/C): "
                      "mean over N, class weights inside the sum, not renormalised; probabilities enter as log p "
                      "logits", "torch.nn.CrossEntropyLoss(weight, label_smoothing)", (_LS,),
                      targets=_CATEGORICAL, options=_CW),
        "keras": Impl(_by(cls.cce, "keras"), "CategoricalCrossentropy: rows renormalised, clip [1e-7, 1-1e-7], "
                      "sum w l / N; class weights become sample weights", "keras.losses.CategoricalCrossentropy",
                      (_LS,), targets=_CATEGORICAL, options=_W | _CW),
        "sklearn": Impl(_by(cls.cce, "sklearn"), "log_loss with one-hot targets: clip [eps, 1-eps], no "
                        "renormalisation, sum w l / sum w", "sklearn.metrics.log_loss", targets=_INDEX,
                        options=_W),
    },
    "sparse_cce": {
        "lossctl": Impl(cls.sparse_cce, "sum w_n w_y l_n / sum w_n w_y over valid samples",
                        "torch.nn.CrossEntropyLoss(weight, ignore_index), with sample weights", targets=_INDEX,
                        options=_ALL),
        "torch": Impl(_by(cls.sparse_cce, "torch"), "CrossEntropyLoss(weight, ignore_index): / sum of target-class "
                      "weights; probabilities via NLLLoss(log p floored at -100)",
                      "torch.nn.CrossEntropyLoss(weight, ignore_index)", targets=_INDEX, options=_CW | _IGN),
        "keras": Impl(_by(cls.sparse_cce, "keras"), "SparseCategoricalCrossentropy(ignore_class): renormalise + "
                      "clip probabilities, sum w l / number of valid samples",
                      "keras.losses.SparseCategoricalCrossentropy(ignore_class)", targets=_INDEX, options=_ALL),
        "sklearn": Impl(_by(cls.sparse_cce, "sklearn"), "log_loss(labels=range(C)): clip [eps, 1-eps], "
                        "sum w l / sum w", "sklearn.metrics.log_loss(labels)", targets=_INDEX, options=_W),
        "smp": Impl(_by(cls.sparse_cce, "smp"), "SoftCrossEntropyLoss: ignored samples zeroed but counted (mean "
                    "over all N)", f"{_SMP} SoftCrossEntropyLoss(smooth_factor=0.0)", inputs=_LOGITS,
                    targets=_INDEX, options=_IGN),
    },
    "label_smoothing_ce": {
        "lossctl": Impl(cls.label_smoothing_ce, "as torch, plus per-sample weights", "torch.nn.CrossEntropyLoss("
                        "label_smoothing), with sample weights", (_LS01,), targets=_INDEX, options=_ALL),
        "torch": Impl(_by(cls.label_smoothing_ce, "torch"), "CrossEntropyLoss(label_smoothing, weight, "
                      "ignore_index): both terms / sum w_y", "torch.nn.CrossEntropyLoss(label_smoothing)",
                      (_LS01,), targets=_INDEX, options=_CW | _IGN),
        "keras": Impl(_by(cls.label_smoothing_ce, "keras"), "CategoricalCrossentropy(label_smoothing) on one-hot "
                      "targets: q(1-eps)+eps/C, / N", "keras.losses.CategoricalCrossentropy(label_smoothing)",
                      (_LS01,), targets=_INDEX, options=_ALL),
        "smp": Impl(_by(cls.label_smoothing_ce, "smp"), "SoftCrossEntropyLoss(smooth_factor) (fairseq): ignored "
                    "rows zeroed, mean over all N", f"{_SMP} SoftCrossEntropyLoss(smooth_factor)", (_LS01,),
                    inputs=_LOGITS, targets=_INDEX, options=_IGN),
    },
    "focal": {
        "lossctl": Impl(cls.focal, "sigmoid focal for binary/multilabel targets, softmax focal for class indices "
                        "and one-hot rows (class weights as per-class alpha); weighted mean",
                        "Lin et al. 2017; torchvision.ops.sigmoid_focal_loss", (_GAMMA, _ALPHA_OFF, _LS),
                        targets=_NO_SOFT, options=_ALL),
        "torch": Impl(torch_focal, "torchvision sigmoid_focal_loss, reduction mean over all elements; logits",
                      "torchvision.ops.sigmoid_focal_loss(alpha, gamma, reduction='mean')",
                      (_GAMMA, Param("alpha", 0.25, "weight of the positive term; none: off (torchvision's -1)",
                                     bounds=(0.0, 1.0), optional=True)), inputs=_LOGITS,
                      targets=frozenset({"binary", "multilabel"}), options=frozenset()),
        "keras": Impl(keras_focal, "BinaryFocalCrossentropy (alpha only with apply_class_balancing; clip path "
                      "even for logits) for binary/multilabel; CategoricalFocalCrossentropy (alpha always) for "
                      "class indices and one-hot rows", "keras.losses.BinaryFocalCrossentropy / "
                      "CategoricalFocalCrossentropy",
                      (_GAMMA, Param("alpha", 0.25, "class-balancing weight", bounds=(0.0, 1.0)),
                       Param("apply_class_balancing", False, "binary: apply alpha", kind="bool"), _LS),
                      targets=_NO_SOFT, options=_W),
        "smp": Impl(cls.smp_focal, "FocalLoss: binary mean over elements; multiclass mean over classes of "
                    "one-vs-rest sigmoid focal means; probabilities (from_logits=False) clamped to [1e-7, 1-1e-7] "
                    "and read as logit(p) (binary) or log p (multiclass)", f"{_SMP} FocalLoss(mode, from_logits)",
                    (_GAMMA, _ALPHA_OFF), targets=_NO_SOFT, options=_CW | _IGN),
        "monai": Impl(monai_focal, "FocalLoss: sigmoid (or use_softmax) focal per element, mean over N*C; with an "
                      "ignore index: sum / number of valid samples", "monai.losses.FocalLoss(to_onehot_y, "
                      "use_softmax, weight, ignore_index)",
                      (_GAMMA, _ALPHA_OFF, Param("use_softmax", False, "softmax focal instead of sigmoid",
                                                 kind="bool")), inputs=_LOGITS, targets=_NO_SOFT,
                      options=_CW | _IGN),
    },
    "hinge": {
        "lossctl": Impl(cls.hinge, "max(0, 1 - y f), 0/1 targets as -1/+1; sum w l / sum w",
                        "sklearn.metrics.hinge_loss", inputs=_ANY, targets=frozenset({"binary", "multilabel"}),
                        options=_W),
        "keras": Impl(_by(cls.hinge, "keras"), "Hinge: mean over the last axis, sum w l / N", "keras.losses.Hinge",
                      inputs=_ANY, targets=frozenset({"binary", "multilabel", "onehot"}), options=_W),
        "sklearn": Impl(sklearn_hinge, "hinge_loss: any two labels, the greater is +1; sum w l / sum w",
                        "sklearn.metrics.hinge_loss", inputs=_ANY, targets=frozenset({"binary"}), options=_W),
    },
    "squared_hinge": {
        "lossctl": Impl(cls.squared_hinge, "max(0, 1 - y f)^2; sum w l / sum w", "keras.losses.SquaredHinge, "
                        "weighted mean", inputs=_ANY, targets=frozenset({"binary", "multilabel"}), options=_W),
        "keras": Impl(_by(cls.squared_hinge, "keras"), "SquaredHinge: sum w l / N", "keras.losses.SquaredHinge",
                      inputs=_ANY, targets=frozenset({"binary", "multilabel", "onehot"}), options=_W),
    },
    "multiclass_hinge": {
        "lossctl": Impl(cls.multiclass_hinge, "crammer_singer max(0, 1 - f_y + max_{j!=y} f_j), or weston_watkins "
                        "summed over j != y; sum w l / sum w", "sklearn.metrics.hinge_loss",
                        (Param("hinge", "crammer_singer", "flavour", kind="choice",
                               choices=("crammer_singer", "weston_watkins")),
                         Param("squared", False, "square each margin term", kind="bool")),
                        inputs=_ANY, targets=_INDEX, options=_W),
        "sklearn": Impl(_by(cls.multiclass_hinge, "sklearn"), "hinge_loss: crammer_singer, sum w l / sum w",
                        "sklearn.metrics.hinge_loss", (Param("hinge", "crammer_singer", "flavour", kind="choice",
                                                             choices=("crammer_singer",)),),
                        inputs=_ANY, targets=_INDEX, options=_W),
        "torch": Impl(torch_multi_margin, "MultiMarginLoss: sum_{j!=y} w_y max(0, margin - f_y + f_j)^p / C, mean "
                      "over N", "torch.nn.MultiMarginLoss(p, margin, weight)",
                      (Param("hinge", "weston_watkins", "flavour", kind="choice", choices=("weston_watkins",)),
                       Param("p", 1, "exponent of each term", kind="choice", choices=(1, 2)),
                       Param("margin", 1.0, "the margin", bounds=(-INF, INF))),
                      inputs=_ANY, targets=_INDEX, options=_CW),
        "keras": Impl(_by(cls.multiclass_hinge, "keras"), "CategoricalHinge: max(0, 1 + max_j (1-q_j) f_j - f_y), "
                      "/ N", "keras.losses.CategoricalHinge",
                      (Param("hinge", "keras_categorical", "flavour", kind="choice", choices=("keras_categorical",)),),
                      inputs=_ANY, targets=_INDEX, options=_W),
    },
}
