r"""One value under one convention: the unit the registry, the CLI, the catalogue and the tests are built of.

A registry entry (:class:`lossctl.registry.Spec`) holds a table ``conventions: {name: Impl}``. An
:class:`Impl` says everything about the value as that framework defines it:

* ``fn``: the function computing it (its signature is the entry's family: see :mod:`lossctl.registry`);
* ``params``: its parameters, each typed (number, bool or choice) with the framework's default, so that what
  is recorded in a report is exactly what was applied;
* ``inputs`` / ``targets`` / ``options``: the prediction kinds, target kinds and optional inputs (sample
  weights, class weights, an ignore index) it accepts; anything else is refused with :class:`NotAvailable`
  before ``fn`` runs, so ``fn`` never branches on a convention;
* ``definition``: one line, shown side by side with the other conventions by ``lossctl losses NAME`` and in
  docs/conventions.md; ``reference``: the library call it reproduces.

Messages name parameters as ``value.param``; the command line adds its own option names.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from lossctl.errors import NotAvailable, UsageError

INF = math.inf
ParamKind = Literal["number", "bool", "choice"]
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")

#: Every optional input an implementation may accept.
OPTIONS = ("weights", "class_weights", "ignore_index")

#: Every convention, in the order the CLI, the catalogue and docs/conventions.md show them, with what it reproduces.
CONVENTIONS: dict[str, str] = {
    "lossctl": "lossctl's own definitions (the default)",
    "torch": "PyTorch: torch.nn losses, torchvision's focal loss, torchmetrics",
    "keras": "Keras 3 losses (float32 by default)",
    "sklearn": "scikit-learn metrics and log_loss / hinge_loss",
    "smp": "segmentation_models_pytorch losses",
    "monai": "MONAI losses and metrics",
    "nnunet": "nnU-Net v2's evaluator (Dice and IoU of the foreground classes)",
    "medpy": "MedPy 0.5.2 binary metrics (hd, hd95, assd)",
    "deepmind": "DeepMind surface-distance 0.1 (surfels weighted by their area)",
    "panoptica": "panoptica 2.1.7 instance evaluation (BrainLesion): RQ, SQ, PQ and its matchers",
    "brats": "the BraTS 2023 lesion-wise evaluation (rachitsaluja/BraTS-2023-Metrics)",
    "hovernet": "HoVer-Net's metrics/stats_utils.py: nuclei PQ, AJI and AJI+",
    "metricsreloaded": "MetricsReloaded (Project-MONAI/MetricsReloaded): its metrics' definitions, computed from its "
                       "source",
}
#: The conventions that define at least one value of each task: the CLI's ``--convention`` choices, kept here so
#: that building the command line imports no NumPy (a test checks them against the registry's tables).
TASK_CONVENTIONS: dict[str, tuple[str, ...]] = {
    "seg": ("lossctl", "torch", "keras", "sklearn", "smp", "monai", "nnunet", "medpy", "deepmind", "panoptica",
            "brats", "hovernet", "metricsreloaded"),
    "cls": ("lossctl", "torch", "keras", "sklearn", "smp", "monai", "metricsreloaded"),
}


@dataclass(frozen=True)
class Param:
    """A parameter: name, default, help, and its kind.

    ``number`` lies in ``bounds`` (inclusive); ``optional`` numbers may also be None ("off", or "computed"
    as the help says); ``bool`` is True/False; ``choice`` is one of ``choices``.
    """

    name: str
    default: Any
    help: str
    kind: ParamKind = "number"
    choices: tuple[Any, ...] = ()
    bounds: tuple[float, float] = (0.0, INF)
    optional: bool = False

    def parse(self, raw: str, owner: str = "") -> Any:
        """The typed value of the text ``raw`` (as given on a command line), validated."""
        text = raw.strip()
        where = f"{owner}.{self.name}" if owner else self.name
        if self.optional and text.lower() in ("none", "off"):
            return None
        if self.kind == "bool":
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise UsageError(f"{where} = {raw!r}: give true or false")
        if self.kind == "choice":
            for choice in self.choices:
                if text == str(choice):
                    return self.check(choice, owner)
            raise UsageError(f"{where} = {raw!r}: choose from {', '.join(map(str, self.choices))}")
        if text.lower() in ("none", "off"):
            raise UsageError(f"{where} cannot be turned off; give a number")
        try:
            value = float(text)
        except ValueError:
            raise UsageError(f"{where} = {raw!r} is not a number") from None
        return self.check(value, owner)

    def check(self, value: Any, owner: str = "") -> Any:
        """``value`` if it is valid for this parameter (numbers become float), else a :class:`UsageError`."""
        where = f"{owner}.{self.name}" if owner else self.name
        if value is None:
            if self.optional:
                return None
            raise UsageError(f"{where} cannot be turned off; give a value")
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            raise UsageError(f"{where} = {value!r}: give true or false")
        if self.kind == "choice":
            if value in self.choices and type(value) is type(self.choices[0]):
                return value
            raise UsageError(f"{where} = {value!r}: choose from {', '.join(map(str, self.choices))}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            if not hasattr(value, "shape"):  # a per-column array (weighted_bce's computed pos_weight) passes
                raise UsageError(f"{where} = {value!r} is not a number")
            return value
        value = float(value)
        lo, hi = self.bounds
        if not math.isfinite(value):
            raise UsageError(f"{where} = {value}: a parameter must be a finite number")
        if not lo <= value <= hi:
            raise UsageError(f"{where} = {value:g} is out of range; it must lie in [{lo:g}, {hi:g}]")
        return value

    def text(self) -> str:
        """``name=default`` with the kind, for the catalogue."""
        if self.kind == "choice":
            return f"{self.name}={self.default} ({'|'.join(map(str, self.choices))})"
        return f"{self.name}={self.default}"


@dataclass(frozen=True)
class Impl:
    """A value as one convention defines it (see the module docstring)."""

    fn: Callable[..., Any] = field(repr=False)
    definition: str
    reference: str = ""
    params: tuple[Param, ...] = ()
    inputs: frozenset[str] = frozenset({"probs", "logits"})
    targets: frozenset[str] = frozenset()  # cls target kinds accepted (empty: any); seg: unused
    options: frozenset[str] = frozenset(OPTIONS)
    #: seg metrics: how the value of a dataset is formed from the per-image per-class values (None: the mean
    #: of the images' values, NaN ones left out).
    aggregate: Callable[..., float] | None = field(default=None, repr=False)
    #: Facts of the run the engine passes to ``fn`` by keyword (``"ignoring"``: an ignore index is set; seg
    #: metrics: ``"average"``, how a two-class run averages the classes, see :mod:`lossctl.metrics.overlap`).
    context: tuple[str, ...] = ()

    def param(self, name: str) -> Param | None:
        """The parameter called ``name``, or None."""
        return next((p for p in self.params if p.name == name), None)

    def defaults(self) -> dict[str, Any]:
        """``{name: default}`` of every parameter."""
        return {p.name: p.default for p in self.params}

    def resolve(self, overrides: Mapping[str, Any], owner: str = "") -> dict[str, Any]:
        """The parameters that will be applied: the defaults with ``overrides``, each one checked; a name this
        implementation lacks is a :class:`UsageError` listing the ones it has."""
        for name in overrides:
            if self.param(name) is None:
                raise UsageError(f"{owner} has no parameter {name!r} here; its parameters: "
                                 f"{', '.join(p.name for p in self.params) or '(none)'}")
        return {p.name: p.check(overrides.get(p.name, p.default), owner) for p in self.params}

    def refuse(self, owner: str, convention: str, *, kind: str | None = None, target_kind: str | None = None,
               given: frozenset[str] = frozenset()) -> None:
        """Raise :class:`NotAvailable` when this implementation does not take the prediction ``kind``, the
        ``target_kind`` or one of the optional inputs ``given``."""
        if kind is not None and kind not in self.inputs:
            raise NotAvailable(f"{owner} under convention {convention} takes {' or '.join(sorted(self.inputs))} "
                               f"predictions, not {kind}", option="pred_kind")
        if target_kind is not None and self.targets and target_kind not in self.targets:
            raise NotAvailable(f"{owner} under convention {convention} takes no {target_kind} targets; it takes "
                               f"{', '.join(sorted(self.targets))} targets", option="target_kind")
        for option in sorted(given - self.options):
            raise NotAvailable(f"{owner} under convention {convention} takes no {option.replace('_', ' ')}; "
                               "drop it or choose another convention", option=option)

    def apply_to_samples(self, x: Any, owner: str, convention: str, params: Mapping[str, Any]) -> Any:
        """``fn(x, **params)`` of a classification input ``x`` (:class:`~lossctl.inputs.cls.ClsInput`): the
        parameters resolved (:meth:`resolve`), then whatever this implementation does not take refused
        (:meth:`refuse`: the prediction kind, the target kind, the optional inputs given)."""
        applied = self.resolve(params, owner)
        self.refuse(owner, convention, kind=x.kind, target_kind=x.target_kind, given=x.given_options)
        return self.fn(x, **applied)


def pick(conventions: Mapping[str, Impl], convention: str, value: str, name: str) -> Impl:
    """The implementation of the value ``name`` (``value`` says what it is: ``"cls loss"``...) under
    ``convention``, from its table ``conventions``; :class:`NotAvailable` naming the conventions that define it
    when that framework does not."""
    try:
        return conventions[convention]
    except KeyError:
        raise NotAvailable(f"convention {convention} has no {value} {name}; it is defined under "
                           f"{', '.join(conventions)} (`lossctl losses {name}` shows each definition)",
                           option="convention") from None


__all__ = ["Param", "Impl", "pick", "NotAvailable", "OPTIONS", "CONVENTIONS", "TASK_CONVENTIONS"]
