"""Sharding a ``lossctl seg`` run and merging the reports of its shards (``--shard K/N``, ``lossctl merge``).

Shard K of N is every N-th pair of the name-sorted pairs, starting at the K-th (:func:`select_shard`). Merging
the JSON reports of the N shards gives exactly the report of the unsharded run (:func:`merge_reports`): each
shard's ``config.options`` rebuilds the run's :class:`~lossctl.engine.seg_config.SegConfig`, per-image metrics are
recomputed from each image's confusion matrix (the class count may grow), losses and boundary metrics are taken as
reported, and the summary, pooled values and gates are computed again over the union.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lossctl import registry
from lossctl.dataset.pairing import Pair
from lossctl.engine.gates import Gate, parse_gate, unique_gates, validate_gates
from lossctl.engine.loading import PairFailure
from lossctl.engine.schema import Document, Report
from lossctl.engine.seg import ImageOutcome, Outcome, build_report
from lossctl.engine.seg_config import SegConfig
from lossctl.engine.statistics import to_nan
from lossctl.errors import InputError, UsageError, setting
from lossctl.io import stores

#: The report's ``config`` entries that say where the pairs came from (folders and name patterns, or a list).
SOURCE_KEYS = ("pred", "gt", "pred_pattern", "gt_pattern", "pairs")


def select_shard(pairs: Sequence[Pair], shard: str | None) -> list[Pair]:
    """The K-th of N deterministic slices of the (name-sorted) pairs: every N-th pair, starting at K-1."""
    if shard is None:
        return list(pairs)
    k, n = parse_shard(shard)
    return list(pairs)[k - 1::n]


def parse_shard(shard: str) -> tuple[int, int]:
    """``"K/N"`` with 1 <= K <= N; anything else is a usage error."""
    try:
        k_text, n_text = shard.split("/")
        k, n = int(k_text), int(n_text)
    except ValueError:
        raise UsageError(f"malformed {setting('shard')} {shard!r}; expected K/N, e.g. 2/8") from None
    if not 1 <= k <= n:
        raise UsageError(f"{setting('shard', shard)}: K must be between 1 and N")
    return k, n


def merge_reports(documents: Sequence[Document], extra_gates: Sequence[Gate] = (),
                  expect: int | None = None) -> Report:
    """Combine the JSON reports of the shards of one run into the report the unsharded run would produce.

    Per-image metrics are recomputed from each image's confusion matrix (the class count may grow), losses are
    taken as reported, and the summary, pooled values and gates are computed again from the union. A gate given
    to the shards and again to the merge is checked once. ``expect`` (N) names the missing and repeated shards.
    """
    if not documents:
        raise UsageError("lossctl merge needs at least one JSON report")
    first = documents[0]
    for doc in documents:
        if not (isinstance(doc, dict) and doc.get("command") == "seg" and isinstance(doc.get("config"), dict)
                and "options" in doc["config"] and {"images", "errors"} <= set(doc)):
            raise InputError("merge takes JSON reports of `lossctl seg -f json` (this one is not)")
        if _run_identity(doc) != _run_identity(first):
            raise InputError("these reports come from different runs (options, inputs or versions differ); "
                             "merge only the shards of one run")
    check_shards([doc["config"].get("shard") or "1/1" for doc in documents], expect)
    options = dict(first["config"]["options"])
    config = SegConfig.from_options(options)
    outcomes: list[Outcome] = []
    losses = {s.name for s in registry.specs("seg", "loss")}
    opt_in = set(config.boundary_names())
    instance_names = set(config.instance_names())
    r = len(config.regions)
    for doc in documents:
        class_names = doc["config"]["class_names"]
        for row in doc["images"]:
            cm = np.asarray(row["confusion_matrix"], dtype=np.int64)
            outcome = ImageOutcome(
                Pair(row["name"], stores.as_location(row["pred"]), stores.as_location(row["gt"])), row["pred_kind"],
                {k: to_nan(v) for k, v in row["values"].items() if k in losses},
                {k: v[:len(v) - r] for k, v in row["per_class"].items() if k in losses}, cm, list(row["notes"]),
                spacing=row.get("spacing"), spacing_source=row.get("spacing_source"))
            for k, v in row["per_class"].items():
                if k in opt_in:
                    outcome.boundary[k], outcome.boundary_regions[k] = v[:len(v) - r], v[len(v) - r:]
                elif k in instance_names:
                    outcome.instances[k], outcome.instance_regions[k] = v[:len(v) - r], v[len(v) - r:]
                elif k in losses and r:
                    outcome.loss_regions[k] = v[len(v) - r:]
            outcome.calibration = dict(row.get("calibration", {}))
            outcome.instance_rows = {k if k in config.region_names() else class_names.index(k): v
                                     for k, v in row.get("instances", {}).items()}
            outcomes.append(outcome)
        outcomes += [PairFailure(e["file"], e["error"], e["name"], e.get("problem")) for e in doc["errors"]]
    values = {name for doc in documents for name in doc["config"]["values"]}
    computed = {s.name: s for s in config.selected() if s.name in values}
    validate_gates(extra_gates, computed, class_names=config.class_names,
                   class_count=max(doc["config"]["num_classes"] for doc in documents),
                   region_mean=bool(config.region_mean))
    gates = unique_gates([parse_gate(t) for t in first["config"]["gates"]] + list(extra_gates))
    sources = {k: first["config"][k] for k in SOURCE_KEYS if k in first["config"]}
    document = build_report(outcomes, config, gates, sources)
    if "skipped" in first:
        document["skipped"] = first["skipped"]
    return document


def check_shards(shards: Sequence[str], expect: int | None = None) -> None:
    """Each of the shards ``1/N .. N/N`` exactly once (N: ``expect``, else the shards' own N); otherwise an
    :class:`InputError` naming the missing and repeated shard indexes."""
    parsed = [parse_shard(s) for s in shards]
    totals = sorted({n for _, n in parsed})
    if len(totals) > 1 or (expect is not None and totals != [expect]):
        want = setting("expect", expect) if expect is not None else f"{totals[0]} shards"
        raise InputError(f"the reports were split into different numbers of shards ({', '.join(sorted(set(shards)))}),"
                         f" but merge wants {want}; give the shards of one run")
    n = totals[0]
    counts = {k: 0 for k in range(1, n + 1)}
    for k, _ in parsed:
        counts[k] += 1
    missing = [k for k, c in counts.items() if c == 0]
    repeated = [k for k, c in counts.items() if c > 1]
    if missing or repeated:
        parts = []
        if missing:
            parts.append(f"missing shard(s) {', '.join(map(str, missing))}")
        if repeated:
            parts.append(f"repeated shard(s) {', '.join(map(str, repeated))}")
        raise InputError(f"{' and '.join(parts)} of {n}; merge needs each of 1/{n} .. {n}/{n} exactly once "
                         "(rerun the missing ones, drop the repeats)")


def _run_identity(doc: Document) -> Any:
    cfg = doc["config"]
    return (doc["lossctl"], *(cfg.get(k) for k in SOURCE_KEYS), cfg["options"], cfg["gates"], doc.get("skipped"))


__all__ = ["SOURCE_KEYS", "select_shard", "parse_shard", "merge_reports", "check_shards"]
