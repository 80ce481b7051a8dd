"""``lossctl seg``: its options, pairing the files (folders, name patterns, or a list of pairs), the progress
bar, and the checks of a run's settings before any file is read.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from lossctl.cli.app import spelled, stderr_line
from lossctl.cli.options import (Instances, Matcher, MatchMetric, parse_size_bins)
from lossctl.cli.options import (Average, BaselineMatch, BaselineMatchOpt, BaselineOpt, EmptyPolicy, FormatOpt,
                                 GateOpt, Geometry, OutputFormat, OutputOpt, ParamOpt, PerImageOpt, PredKind,
                                 ReportDirOpt, SegConvention, StorageOptionOpt, Unmapped, WorstOpt, WriteOpt,
                                 check_view,
                                 parse_empty_distance, own_spelling, parse_params, positive_numbers, parse_pred_axes,
                                 parse_prob_scale, split_values)
from lossctl.cli.output import (check_output_path, check_report_dir, emit, parse_writes, to_stdout, write_extra,
                                write_report_dir, writer_for)
from lossctl.cli.verdict import apply_baseline, finish, load_baseline, pair_errors
from lossctl.errors import UsageError, prefixed
from lossctl.io import stores
from lossctl.io.formats import read_formats_text

#: The losses a seg shortcut option sets (the same name means different things in focal and Tversky).
SEG_SHORTCUT_TARGETS = {"alpha": ("tversky_loss", "focal_tversky_loss"),
                        "beta": ("tversky_loss", "focal_tversky_loss"), "gamma": ("focal",)}


def seg_command(
    ctx: typer.Context,
    pred: Annotated[Optional[Path], typer.Argument(help=f"Prediction file or folder: {read_formats_text()}.",
                                                   show_default=False, metavar="PRED", path_type=str)] = None,
    gt: Annotated[Optional[Path], typer.Argument(help="Ground-truth file or folder of integer label masks or "
                                                 "volumes (the same formats).", show_default=False, metavar="GT",
                                                 path_type=str)] = None,
    pred_pattern: Annotated[Optional[str], typer.Option(help="Name predictions by this pattern of their path "
                                                        "in PRED, with one {name}, e.g. '{name}_leftImg8bit.png'.")
                            ] = None,
    gt_pattern: Annotated[Optional[str], typer.Option(help="Name ground-truth files by this pattern of their path "
                                                      "in GT, e.g. '{name}_gtFine_labelIds.png'.")] = None,
    pairs: Annotated[Optional[str], typer.Option(help="Read the pairs from this list instead of PRED and GT ('-': "
                                                 "stdin): PRED<TAB>GT or PRED,GT lines, an optional name column.")
                     ] = None,
    pred_kind: Annotated[PredKind, typer.Option(
        help="What the prediction holds. auto: integer data are labels, floating-point data are "
             "probabilities (checked); logits are never guessed.")] = PredKind.auto,
    channels_last: Annotated[bool, typer.Option(help="Probability/logit arrays are (H,W,C), not (C,H,W).")] = False,
    prob_scale: Annotated[Optional[float], typer.Option(
        help="With --pred-kind probs: the stored value that means probability 1 (default: 255 for uint8, 65535 "
             "for uint16 maps).", show_default=False)] = None,
    pred_axes: Annotated[Optional[str], typer.Option(
        help="The prediction's axis order: reversed (its spatial axes reversed: nnU-Net's (C,z,y,x) .npz "
             "against nibabel's (x,y,z)), or a permutation of its axes, e.g. 0,3,2,1.", show_default=False)] = None,
    geometry: Annotated[Geometry, typer.Option(
        help="Volumes: check (the two headers must agree), or gt (a prediction whose header is an identity "
             "affine takes the ground truth's).")] = Geometry.check,
    npz_key: Annotated[Optional[str], typer.Option(help="Array to read from prediction NPZ files holding "
                                                   "several.")] = None,
    gt_npz_key: Annotated[Optional[str], typer.Option(help="Array to read from ground-truth NPZ files holding "
                                                      "several.")] = None,
    num_classes: Annotated[Optional[int], typer.Option(min=1, help="Number of classes (default: the number "
                                                       "of channels, or the largest label + 1).")] = None,
    class_names: Annotated[Optional[str], typer.Option(help="Comma-separated class names, in class order, or "
                                                       "@FILE (one name per line).")] = None,
    dataset_json: Annotated[Optional[Path], typer.Option(help="nnU-Net dataset.json: class names and count, the "
                                                         "ignore label, regions.", parser=stores.as_location,
                                                         metavar="<path>")] = None,
    label_map: Annotated[Optional[str], typer.Option(help="Map ground-truth values before anything is computed: "
                                                     "FROM:TO,... (TO may be ignore), a JSON object, a from,to CSV, "
                                                     "or cityscapes / reduce-zero.")] = None,
    pred_label_map: Annotated[Optional[str], typer.Option(help="Map label predictions too (same SPEC); a value "
                                                          "mapped to ignore predicts no class.")] = None,
    unmapped: Annotated[Optional[Unmapped], typer.Option(help="A value a label map does not name: error "
                                                         "(default), or ignore (void).")] = None,
    ignore_index: Annotated[Optional[list[int]], typer.Option(
        help="Ground-truth label to leave out of every value (repeatable), e.g. 255.")] = None,
    threshold: Annotated[float, typer.Option(min=0.0, max=1.0, help="Foreground threshold for a binary "
                                             "probability/logit map (hard metrics).")] = 0.5,
    loss: Annotated[Optional[list[str]], typer.Option("--loss", "-l", help="Losses to compute (repeatable, or a comma "
                                                      "list), NAME or NAME:CONVENTION (e.g. dice_loss:monai); "
                                                      "default: all when the prediction is soft.")] = None,
    metric: Annotated[Optional[list[str]], typer.Option("--metric", "-m", help="Metrics to compute (repeatable, or a "
                                                        "comma list), NAME or NAME:CONVENTION (e.g. dice,hd95:medpy); "
                                                        "default: dice, iou, precision, recall, accuracy; the others "
                                                        "(hd95, mcc, ece, pq, ...) when named.")] = None,
    alpha: Annotated[Optional[float], typer.Option(help="Tversky's false-positive weight (tversky_loss and "
                                                   "focal_tversky_loss).")] = None,
    beta: Annotated[Optional[float], typer.Option(help="Tversky's false-negative weight (tversky_loss and "
                                                  "focal_tversky_loss).")] = None,
    gamma: Annotated[Optional[float], typer.Option(help="focal's focusing exponent (focal_tversky_loss's "
                                                   "exponent: -p focal_tversky_loss.gamma=...).")] = None,
    smooth: Annotated[Optional[float], typer.Option(help="Set smooth of every region loss.")] = None,
    eps: Annotated[Optional[float], typer.Option(help="Set eps of every region loss.")] = None,
    param: ParamOpt = None,
    empty: Annotated[EmptyPolicy, typer.Option(help="Value of a 0/0 metric (a class absent from both "
                                               "masks): nan is left out of means and counted.")] = EmptyPolicy.nan,
    exclude_background: Annotated[bool, typer.Option(help="Leave class 0 out of class means.")] = False,
    average: Annotated[Average, typer.Option(
        help="dice, iou, precision and recall of the classes: foreground (class 1 of a two-class run), mean (the "
             "class mean), or auto: foreground for two classes under lossctl and sklearn, else the mean.")
    ] = Average.auto,
    convention: Annotated[SegConvention, typer.Option(
        help="Compute each loss and metric as this framework defines it (a value named NAME:CONVENTION takes its "
             "own); see `lossctl losses NAME`.", case_sensitive=False)
    ] = SegConvention.lossctl,
    per_class: Annotated[bool, typer.Option(help="Also show per-class values.")] = False,
    per_image: PerImageOpt = False,
    gate: GateOpt = None,
    allow_missing: Annotated[bool, typer.Option(help="Evaluate the files present on both sides and report "
                                                "the rest, instead of failing.")] = False,
    skip_errors: Annotated[bool, typer.Option(help="Report unreadable or invalid pairs as warnings; the "
                                              "gates alone decide the exit code.")] = False,
    workers: Annotated[Optional[int], typer.Option(min=0, help="Cores to use (0 = all, the default): processes "
                                                   "over the pairs when there are at least 2 per process, else "
                                                   "threads inside one.", show_default=False)] = None,
    scheduler: Annotated[Optional[str], typer.Option(
        help="Run every pair as one task on a Dask cluster: its scheduler's address (tcp://HOST:8786), or local:N "
             "for N worker processes on this machine (needs lossctl[dask]).", metavar="ADDRESS",
        show_default=False)] = None,
    scheduler_file: Annotated[Optional[Path], typer.Option(
        help="Run every pair on the Dask cluster whose scheduler wrote this file (dask scheduler "
             "--scheduler-file FILE).", metavar="FILE", show_default=False)] = None,
    max_memory: Annotated[Optional[str], typer.Option(
        help="Memory one pair may use (bytes; K, M, G suffixes): larger decoded images are refused before "
             "decoding, larger probability volumes evaluated in chunks. Default: half the available memory.",
        show_default=False)] = None,
    max_pixels: Annotated[int, typer.Option(min=1, hidden=True, help="Deprecated: use --max-memory. Refuse "
                                            "images or volumes with more elements.")] = 2**31,
    shard: Annotated[Optional[str], typer.Option(help="Evaluate only the K-th of N deterministic slices of the "
                                                 "pairs (K/N); combine the JSON reports with `lossctl merge`.")] = None,
    spacing: Annotated[Optional[str], typer.Option(help="Voxel spacing S0,S1[,S2] in the arrays' axis order, for "
                                                   "files without one (NPY, PNG, TIFF); overrides headers.")] = None,
    nsd_tolerance: Annotated[Optional[str], typer.Option(help="nsd tolerance in physical units: one value, or one "
                                                         "per foreground class then per region.")] = None,
    empty_distance: Annotated[str, typer.Option(help="hd/hd95/assd/masd of a class present in exactly one mask: "
                                                "diagonal (the image's), nan (undefined) or a number.")] = "diagonal",
    region: Annotated[Optional[list[str]], typer.Option(help="Evaluate a union of labels as one more class: "
                                                        "NAME=L1,L2,... (repeatable), e.g. WT=1,2,3.")] = None,
    instances: Annotated[Optional[Instances], typer.Option(
        help="Instances of the instance values (pq, rq, aji, lesion_dice...): cc (connected components of each "
             "class and region) or labels (maps of instance ids, one foreground class).", show_default=False)
    ] = None,
    connectivity: Annotated[Optional[int], typer.Option(
        help="--instances cc: neighbourhood rank, 1 (faces) to the number of axes (the full neighbourhood: 8 "
             "in 2D, 26 in 3D); default: the convention's.", show_default=False)] = None,
    match: Annotated[Optional[Matcher], typer.Option(
        help="Instance matching: greedy (best score first, one-to-one), hungarian (maximum total score) or merge "
             "(many predictions to one instance while the union improves); default: the convention's.",
        show_default=False)] = None,
    match_metric: Annotated[MatchMetric, typer.Option(help="The score instances are matched on.")] = MatchMetric.iou,
    match_threshold: Annotated[float, typer.Option(
        help="A pair matches when its score passes this threshold (> or >=, by convention).")] = 0.5,
    size_bins: Annotated[Optional[str], typer.Option(
        help="Recall of the ground-truth instances per size bin: edges V1,V2,... in voxels, or V1,V2,...mm3.",
        show_default=False)] = None,
    output_format: FormatOpt = OutputFormat.table,
    output: OutputOpt = None,
    write: WriteOpt = None,
    baseline: BaselineOpt = None,
    baseline_match: BaselineMatchOpt = BaselineMatch.name,
    report: ReportDirOpt = None,
    images: Annotated[Optional[Path], typer.Option(
        help="With --report: the folder of the input images, each shown under its ground truth, prediction and "
             "errors; named as PRED and GT files are (a missing image is a note).", metavar="DIR",
        show_default=False)] = None,
    image_pattern: Annotated[Optional[str], typer.Option(help="Name the --images files by this pattern of their "
                                                         "path, e.g. '{name}_leftImg8bit.png'.")] = None,
    worst: WorstOpt = None,
    storage_option: StorageOptionOpt = None,
) -> None:
    """Evaluate segmentation predictions against ground-truth masks or volumes (files or folders)."""
    from lossctl import registry
    from lossctl.dataset.classes import parse_regions, resolve_classes
    from lossctl.engine.gates import parse_gate, validate_seg_gates
    from lossctl.engine.pool import resolve_workers
    from lossctl.engine.seg import build_report, evaluate, report_head
    from lossctl.engine.seg_config import SegConfig
    from lossctl.engine.shards import parse_shard, select_shard
    from lossctl.io import parse_memory
    from lossctl.report.flat import NdjsonStream

    pred, gt = (None if p is None else stores.as_location(p) for p in (pred, gt))  # a URL keeps its "//"
    storage = stores.parse_storage_options(storage_option or [])
    stores.configure(storage)  # before anything is read: URLs are opened with these options
    names_, own = split_values(loss, metric, "seg", convention.value)
    if loss and not metric:  # with the metrics the convention defines
        names_ = registry.default_metrics("seg", convention.value) + names_
    classes = resolve_classes(num_classes, class_names, dataset_json, label_map, pred_label_map,
                              unmapped.value if unmapped is not None else None, tuple(ignore_index or ()),
                              pred_kind.value)
    dataset_regions = classes.pop("region_items")
    region_items = dataset_regions + list(region or [])  # dataset.json's regions, then --region
    if classes["region_mean"]:
        stderr_line(f"note: {_region_based_note(dataset_json, classes['region_mean'])}")
    config = SegConfig(values=names_, pred_kind=pred_kind.value, **classes, storage_options=storage,
                       threshold=threshold, channels_last=channels_last, npz_key=npz_key, gt_npz_key=gt_npz_key,
                       prob_scale=parse_prob_scale(prob_scale, pred_kind.value), pred_axes=parse_pred_axes(pred_axes),
                       geometry=geometry.value,
                       max_pixels=max_pixels, max_memory=None if max_memory is None else parse_memory(max_memory),
                       empty=empty.value, include_background=not exclude_background, average=average.value,
                       convention=convention.value, conventions=own,
                       spacing=positive_numbers("--spacing", spacing),
                       nsd_tolerance=positive_numbers("--nsd-tolerance", nsd_tolerance, zero=True) or (1.0,),
                       empty_distance=parse_empty_distance(empty_distance),
                       regions=parse_regions(region_items, tuple(classes.get("class_names") or ()),
                                             classes.get("num_classes")),
                       **_instance_options(instances, connectivity, match, match_metric, match_threshold,
                                           size_bins, pred_kind.value, label_map, pred_label_map))
    shortcuts = {"alpha": alpha, "beta": beta, "gamma": gamma, "smooth": smooth, "eps": eps}
    config = replace(config, params=parse_params(param, shortcuts, "seg", config.selected(), convention.value,
                                                  SEG_SHORTCUT_TARGETS, own))
    _check_boundary_options(config)
    config.check_instances()
    try:
        config.check_average()
        config.check_values()
    except UsageError as e:  # a value under its own convention: name it as it was given
        raise type(e)(own_spelling(e.raw, own, "seg")) from None
    note = _not_computed(config, bool(loss and not metric))
    gates = [parse_gate(g) for g in gate or []]
    validate_seg_gates(gates, config, baseline=baseline is not None)
    check_view(per_image, worst)
    _check_scheduler(scheduler, scheduler_file, workers)
    inputs = [stores.as_location(p) for p in (pred, gt, pairs) if p is not None and str(p) != "-"]
    writes = parse_writes(write, [f.value for f in OutputFormat], inputs, output)
    check_report_dir(report, inputs + ([images] if images is not None else []))
    input_images = _input_images(images, image_pattern, report)
    base = load_baseline(baseline, "seg", config.class_names)
    if shard is not None:
        parse_shard(shard)
        if base is not None:
            raise UsageError("--baseline with --shard would compare one shard with the whole baseline; give "
                             "--baseline and the baseline gates to `lossctl merge`, which sees every image")
    # the cluster is reached before the pairs are listed (an unreachable scheduler is refused at once); it is
    # closed when the command ends, however it ends
    cluster = ctx.with_resource(_cluster(scheduler, scheduler_file))
    pairing, sources = _pair_inputs(pred, gt, pairs, pred_pattern, gt_pattern, output)
    if pairs is not None:  # the listed files may live anywhere: the report must not go inside their folders
        check_report_dir(report, sorted({q.parent for pair in pairing.pairs for q in (pair.pred, pair.gt)}, key=str))

    if allow_missing and pairs is not None:
        pairing = pairing.without_absent_files()
    if not allow_missing:
        pairing.require_complete()
    elif pairing.missing_gt or pairing.missing_pred:
        stderr_line(f"warning: skipped {len(pairing.missing_gt)} prediction(s) without ground truth and "
                f"{len(pairing.missing_pred)} ground truth file(s) without prediction")
    selected = select_shard(pairing.pairs, shard)
    absent = _absent_listed_files(selected) if pairs is not None else []
    selected = [pair for pair in selected if pair.name not in {failure.name for failure in absent}]
    if note:
        stderr_line(f"note: {note}")
    own_gates = [g for g in gates if g.against is None]
    # ndjson on stdout streams its rows, unless a baseline's pairing (in the config line) is known only at the end
    stream = (NdjsonStream(sys.stdout) if output_format is OutputFormat.ndjson and output in (None, "-")
              and base is None else None)
    head: dict[str, Any] = {}

    def streamed(facts: Any, row: Any) -> None:  # a finished row: out at once (the config line first)
        if not head:
            head.update(spelled(report_head(config, facts.classes, facts, own_gates, sources, shard)))
        stream.row(head, spelled(row))  # type: ignore[union-attr]

    shown = len(selected) + len(absent) if stream is None or not sys.stdout.isatty() else 0  # no bar among lines
    with progress_bar(shown) as advance, (to_stdout() if stream else nullcontext()):
        for failure in absent if advance else ():  # the total counts every pair
            advance(failure)
        outcomes = evaluate(selected, config, resolve_workers(workers), on_result=advance,
                            on_row=streamed if stream else None, cluster=cluster) + absent
    document = spelled(build_report(outcomes, config, own_gates, sources=sources, shard=shard))
    document["skipped"] = {"missing_gt": pairing.missing_gt, "missing_pred": pairing.missing_pred}
    for note in document["config"]["notes"]:
        stderr_line(f"note: {note}")
    apply_baseline(document, base, baseline, gates, baseline_match.value)
    pair_errors(document, skip_errors)
    emit(document, stream.finish if stream else writer_for(output_format.value, worst, per_image=per_image), output,
         per_class)
    write_extra(document, writes, per_class, worst)
    write_report_dir(document, report, worst, config, images=input_images)
    raise typer.Exit(finish(document, skip_errors))


def _check_scheduler(scheduler: str | None, scheduler_file: Path | None, workers: int | None) -> None:
    """``--scheduler`` (an address or local:N) or ``--scheduler-file``, not both, and without ``--workers``;
    checked before any file is read (the cluster is reached once the pairs are known: :func:`_cluster`)."""
    from lossctl.engine.cluster import parse_scheduler, read_scheduler_file

    given = [flag for flag, value in (("--scheduler", scheduler), ("--scheduler-file", scheduler_file))
             if value is not None]
    if len(given) == 2:
        raise UsageError("--scheduler and --scheduler-file both name a Dask scheduler; give one of them")
    if given and workers is not None:
        raise UsageError(f"--workers {workers} counts this machine's cores, but {given[0]} runs the pairs on the "
                         "Dask cluster's workers; drop --workers (local:N sets the number of local workers)")
    if scheduler is not None:
        parse_scheduler(scheduler)
    if scheduler_file is not None:
        read_scheduler_file(scheduler_file)


@contextmanager
def _cluster(scheduler: str | None, scheduler_file: Path | None) -> Iterator[Any]:
    """The Dask cluster the pairs run on (closed at the end: a local:N cluster ends with lossctl), or None."""
    if scheduler is None and scheduler_file is None:
        yield None
        return
    from lossctl.engine.cluster import connect

    with connect(scheduler, scheduler_file) as cluster:
        yield cluster


def _instance_options(instances: Any, connectivity: int | None, match: Any, match_metric: Any,
                      match_threshold: float, size_bins: str | None, pred_kind: str, label_map: str | None,
                      pred_label_map: str | None) -> dict[str, Any]:
    """The instance settings of a run, checked before any file is read."""
    if connectivity is not None and not 1 <= connectivity <= 3:
        raise UsageError(f"--connectivity {connectivity} is not a rank: give 1 (faces) up to the number of axes (2 "
                         "in 2D: 8 neighbours; 3 in 3D: 26 neighbours)")
    if not 0.0 <= match_threshold <= 1.0:
        raise UsageError(f"--match-threshold {match_threshold:g} is not a score: give a number in [0, 1], e.g. 0.5")
    used = instances.value if instances is not None else None
    if used is None:
        given = [flag for flag, v in (("--connectivity", connectivity), ("--match", match), ("--size-bins", size_bins))
                 if v is not None]
        if given:
            raise UsageError(f"{', '.join(given)} apply to instances; add --instances cc or --instances labels")
    if used == "labels":
        if pred_kind in ("probs", "logits"):
            raise UsageError(f"--instances labels reads maps of instance ids, not {pred_kind}; give label maps, or "
                             "use --instances cc on class predictions")
        if label_map or pred_label_map:
            raise UsageError("--instances labels reads instance ids as they are; drop --label-map and "
                             "--pred-label-map")
    bins, unit = parse_size_bins(size_bins)
    return {"instances": used, "connectivity": connectivity, "match": match.value if match is not None else None,
            "match_metric": match_metric.value, "match_threshold": float(match_threshold), "size_bins": bins,
            "size_unit": unit}


def _input_images(folder: Path | None, pattern: str | None, report: Path | None) -> Any:
    """``--images DIR`` (and ``--image-pattern``): the input images of the HTML report by name, read before any
    pair is evaluated (a folder that cannot be used fails at once)."""
    if folder is None:
        if pattern is not None:
            raise UsageError("--image-pattern names the files of --images DIR; add --images, or drop the pattern")
        return None
    if report is None:
        raise UsageError(f"--images {folder} shows the input images in the HTML report; add --report DIR")
    from lossctl.dataset.pairing import compile_pattern, name_files
    from lossctl.engine.pictures import InputImages  # the pictures' module only for a run that draws them

    compiled = prefixed("--image-pattern", compile_pattern, pattern) if pattern is not None else None
    return InputImages(folder, name_files(folder, "input image", compiled))


def _not_computed(config: Any, implied_metrics: bool) -> str | None:
    """The note on the default values the convention lacks (or takes from logits only), which are not computed:
    every value when none was named, the metrics ``-l`` alone brings along (``implied_metrics``); never the
    opt-in boundary metrics nobody asked for. A run left with nothing to compute is a usage error."""
    from lossctl import registry

    if config.values and not implied_metrics:
        return None
    reasons = {s.name: reason for s in registry.specs("seg") if s.by_default
               and (not config.values or s.kind == "metric") and s.name not in config.values
               and (reason := s.unavailable(config.convention, config.pred_kind))}
    if not config.selected():
        own = [s.name for s in registry.specs("seg") if config.convention in s.conventions]
        raise UsageError(f"--convention {config.convention} defines no value computed by default, only "
                         f"{', '.join(own)}; name them with -m, e.g. -m {own[0]}")
    return registry.not_computed_note(reasons, config.convention)


def _check_boundary_options(config: Any) -> None:
    """Boundary metrics exist under lossctl, monai, medpy and deepmind, each with the metrics it defines."""
    from lossctl.metrics import boundary

    for name in config.surface_names():
        if name in config.conventions:  # its own convention, which defines it (checked with -m NAME:CONV)
            continue
        rule = boundary.CONVENTIONS.get(config.convention)
        if rule is None:
            raise UsageError(f"{name} under --convention {config.convention}: that framework has no boundary "
                             f"metrics; use --convention {', '.join(boundary.CONVENTIONS)}")
        if not rule.has(name):
            others = [c for c, r in boundary.CONVENTIONS.items() if r.has(name)]
            raise UsageError(f"--convention {config.convention} has no {name}; drop -m {name} or use "
                             f"--convention {' or '.join(others)}")


def _absent_listed_files(pairs: list[Any]) -> list[Any]:
    """A failure for each listed pair with a file that does not exist (the other pairs are evaluated)."""
    from lossctl.io import display_path
    from lossctl.dataset.pairing import absent_files
    from lossctl.engine.loading import PairFailure

    fix = ("fix the path (relative paths are read from the list's folder), or pass --allow-missing to leave such "
           "lines out")
    return [PairFailure(str(path), f"{display_path(path)}: no such {side} file ({pair.origin}); {fix}", pair.name,
                        problem=f"no such {side} file; {fix}") for pair, path, side in absent_files(pairs)]


def _pair_inputs(pred: Path | None, gt: Path | None, pairs: str | None, pred_pattern: str | None,
                 gt_pattern: str | None, output: str | None) -> tuple[Any, dict[str, str]]:
    """Pair PRED and GT (by name, or by name patterns), or read the list of pairs; also return the report's
    ``config`` entries that say where the pairs came from."""
    from lossctl.dataset.pair_lists import read_pairs, read_pairs_file
    from lossctl.dataset.pairing import compile_pattern, pair_files
    from lossctl.io import decode_text

    if pairs is not None:
        if pred is not None or gt is not None:
            raise UsageError(f"--pairs {pairs} lists the pairs, so PRED and GT are not given; drop "
                             f"{' and '.join(str(p) for p in (pred, gt) if p is not None)} or --pairs")
        if pred_pattern or gt_pattern:
            raise UsageError("--pred-pattern and --gt-pattern name the files of PRED and GT folders; with --pairs, "
                             "name images in the list's third column")
        check_output_path(output, [stores.as_location(pairs)] if pairs != "-" else [])
        if pairs == "-":
            if sys.stdin is None or sys.stdin.isatty():
                raise UsageError("--pairs -: standard input is a terminal; pipe the list in (e.g. `find ... | "
                                 "lossctl seg --pairs -`) or give the list's file")
            return read_pairs(decode_text(sys.stdin.buffer.read(), "<stdin>", "list of pairs"), base=Path.cwd(),
                              source="<stdin>"), {"pairs": "-"}
        return read_pairs_file(pairs), {"pairs": pairs}
    if pred is None or gt is None:
        missing = "GT" if pred is not None else "PRED and GT"
        raise UsageError(f"Missing argument {missing}: give PRED and GT (two folders or two files), or --pairs FILE "
                         "('-' for stdin)")
    for path in (pred, gt):
        if str(path) == "-":
            raise UsageError("seg reads PRED and GT from files, not from standard input; to pipe a list of "
                             "pairs in, use --pairs -")
    patterns = {}
    for flag, text in (("--pred-pattern", pred_pattern), ("--gt-pattern", gt_pattern)):
        if text is not None:
            patterns[flag] = prefixed(flag, compile_pattern, text)
    check_output_path(output, [pred, gt])
    pairing = pair_files(pred, gt, pred_pattern=patterns.get("--pred-pattern"),
                         gt_pattern=patterns.get("--gt-pattern"))
    sources = {"pred": str(pred), "gt": str(gt)}
    sources.update({key: text for key, text in (("pred_pattern", pred_pattern), ("gt_pattern", gt_pattern))
                    if text is not None})
    return pairing, sources


def _region_based_note(path: Path | None, regions: tuple[str, ...]) -> str:
    """How a region-based dataset.json is reported: its labels are the classes, its list-valued labels the
    regions after them, and nnU-Net's headline, the mean over all of its regions, is ``region_mean``. A note to
    the command line's user (it shows how to gate it with ``-g``)."""
    return (f"{path} is region-based: nnU-Net's headline is the mean over its regions ({', '.join(regions)}), "
            "reported as region_mean (summary.region_mean; its mean is nnU-Net's foreground_mean); the mean values "
            "(dice, iou, ...) are over the classes: gate the regions' mean with -g 'dice[region_mean]>=0.8'")


@contextmanager
def progress_bar(total: int, unit: str = "pairs") -> Iterator[Callable[[Any], None] | None]:
    """A transient progress bar on stderr, only when stderr is a terminal and there is more than one pair: done
    and total, throughput (pairs per second) and the estimated time left."""
    if total < 2 or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
               TextColumn("{task.fields[rate]}"), TextColumn("elapsed"), TimeElapsedColumn(), TextColumn("eta"),
               TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("evaluating", total=total, rate=f"- {unit}/s")

        def advance(_outcome: Any) -> None:
            bar.advance(task)
            speed = bar.tasks[0].speed
            bar.update(task, rate=f"{speed:.1f} {unit}/s" if speed else f"- {unit}/s")

        yield advance
