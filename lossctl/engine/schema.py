"""The report document's schema: its version and the typed layout of every block (docs/output.md, "The JSON document").

Every command builds one document (a JSON-shaped dict) and every writer renders it: ``lossctl seg`` and
``lossctl merge`` a :class:`Report` of command ``"seg"``, ``lossctl cls`` one of command ``"cls"``, and
``lossctl compare`` a :class:`CompareReport`. The classes below are :class:`~typing.TypedDict` declarations of
that layout (no behaviour: documents stay plain dicts, so they are written and read back as JSON unchanged).

Conventions that hold in every block: values are numbers or ``None`` (undefined; NaN never appears; or, for the
per-class entries a seg run's ``summary.not_applicable`` names, not applicable), per-class lists are indexed by
class and then by region (``config.per_class_names`` names every entry), names of values are registry names
(``dice``, ``ce``...); ``summary.units`` gives the unit of the values that have one (the boundary distances).
"""

from __future__ import annotations

from typing import Any, TypedDict

#: Version of the report documents' layout (the ``schema`` field of every JSON report); bumped on incompatible
#: changes, so that a baseline written by another layout is refused instead of misread. Schema 2: a two-class
#: seg run reports class 1's dice, iou, precision and recall (``config.average``); schema 1 reported the mean of
#: both classes.
REPORT_SCHEMA = 2
#: What each earlier schema lacks, for the message that refuses a report written by it.
SCHEMA_CHANGES = {1: "before binary runs report the foreground"}

#: A report document as code passes it around: the plain dict that JSON holds (see :class:`Report` and
#: :class:`CompareReport` for its layout).
Document = dict[str, Any]

def row_noun(command: str) -> str:
    """What one row of a report of ``command`` is: ``sample`` for ``cls``, else ``image``."""
    return "sample" if command == "cls" else "image"


#: One value per name (``None``: undefined).
Values = dict[str, "float | None"]
#: One list per name, indexed by class then region.
PerClass = dict[str, "list[float | None]"]


class ImageRow(TypedDict, total=False):
    """One entry of ``images``: an evaluated pair (seg) or, with ``--per-sample``, a sample (cls: ``name``,
    ``values`` and an empty ``per_class`` only)."""

    name: str
    pred: str
    gt: str
    pred_kind: str  # "labels", "probs" or "logits", as the prediction was read
    values: Values
    per_class: PerClass
    region_mean: Values  # seg, a region-based dataset.json: each value's mean over the dataset's regions
    confusion_matrix: list[list[int]]  # rows: ground truth, columns: prediction (plus "predicted no class")
    notes: list[str]
    spacing: list[float]  # volumes and boundary metrics: per axis, in the array's axis order
    spacing_source: str  # where the spacing came from: "header", the given spacing, or "default"
    #: calibration values asked for: value -> its tally (bin table, or score sums; lossctl.metrics.calibration)
    calibration: dict[str, Any]


class PerClassSummary(TypedDict):
    """``summary.per_class``: means over images and values of the summed confusion matrix, per class."""

    mean: PerClass
    pooled: PerClass


class Summary(TypedDict, total=False):
    """``summary``: statistics of each value over the images (samples) where it is defined, and pooled values.

    ``mean``, ``std``, ``min``, ``median`` and ``max`` are over the defined values (``undefined`` counts the
    others); a convention may form ``mean`` its own way (nnU-Net's class means, cls losses as the convention
    reduces them). ``pooled`` holds the metrics of the summed confusion matrix (cls: the metric's one value).
    """

    count: int
    undefined: dict[str, int]
    mean: Values
    std: Values
    min: Values
    median: Values
    max: Values
    pooled: Values
    per_class: PerClassSummary
    #: seg, a region-based dataset.json: statistic -> value -> the mean over the dataset's regions (``mean`` is
    #: nnU-Net's ``foreground_mean``: the mean of the regions' means; see lossctl.engine.statistics)
    region_mean: dict[str, Any]
    confusion_matrix: list[list[int]]  # seg only: the sum over images
    #: seg: each boundary distance's unit (``mm``, ``px``, ``voxels`` or ``mixed``)
    units: dict[str, str]
    #: seg: value -> the class names whose per-class entry is null by rule (not applicable), not 0/0
    not_applicable: dict[str, list[str]]
    #: calibration values asked for: value -> the tally of every image (seg: their sum; null for equal-mass bins)
    calibration: dict[str, Any]


class GateResult(TypedDict, total=False):
    """One entry of ``gates``: the gate as given, what it read and whether it passed (an undefined value
    fails). Baseline gates add ``base`` and ``new`` (``delta``, ``rel``) or ``margin`` and ``paired``
    (``worse``). A gate whose value is undefined has a ``reason`` (one line); one evaluated over no image at
    all (no image with the value defined, or none paired with the baseline) also ``vacuous``: true."""

    gate: str
    statistic: str
    value: float | None
    passed: bool
    base: float | None
    new: float | None
    margin: float
    paired: int
    reason: str
    vacuous: bool


class PairError(TypedDict):
    """One entry of ``errors``: a pair that could not be evaluated
    (:class:`~lossctl.engine.loading.PairFailure`)."""

    name: str
    file: str
    error: str
    #: the message without the file it is about: the same text in every pair that failed for the same problem
    problem: str


class Skipped(TypedDict):
    """``skipped``: the files left unpaired (seg with missing files allowed)."""

    missing_gt: list[str]
    missing_pred: list[str]


class Report(TypedDict, total=False):
    """The document of ``lossctl seg``, ``merge`` and ``cls``.

    ``config`` records everything that decides the numbers (for seg, ``config.options`` holds every option as
    run, so that ``merge`` can rebuild the run's report; ``config.gates`` the gate texts; ``config.shard`` the
    shard), its keys differ by command (docs/output.md, "The JSON document").
    """

    lossctl: str  # the version that wrote it
    schema: int  # REPORT_SCHEMA
    command: str  # "seg" or "cls"
    config: dict[str, Any]
    images: list[ImageRow]
    summary: Summary
    gates: list[GateResult]
    errors: list[PairError]
    skipped: Skipped


class Change(TypedDict, total=False):
    """A value of a compare document: each report's own mean (or pooled value), ``delta = new - base``,
    ``rel = delta / |base|``, and the paired bootstrap interval of the mean per-image delta."""

    base: float | None
    new: float | None
    delta: float | None
    rel: float | None
    ci: list[float] | None


class WorseRow(TypedDict):
    """One of the images of ``worst``: its two values and the change."""

    name: str
    base: float
    new: float
    delta: float


class CompareReport(TypedDict):
    """The document of ``lossctl compare`` (docs/ci.md, "lossctl compare and baseline gates")."""

    lossctl: str
    schema: int
    command: str  # "compare"
    config: dict[str, Any]  # "of" (the reports' command), class names, bootstrap, seed, notes, gates...
    values: dict[str, Change]  # NAME and NAME[class]
    pooled: dict[str, Change]
    only_in_base: list[str]
    only_in_new: list[str]
    worst: dict[str, list[WorseRow]]
    gates: list[GateResult]


__all__ = ["REPORT_SCHEMA", "SCHEMA_CHANGES", "Document", "Report", "CompareReport", "ImageRow", "Summary",
           "PerClassSummary", "GateResult", "PairError", "Skipped", "Change", "WorseRow", "Values", "PerClass"]
