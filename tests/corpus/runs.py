"""The output corpus: a fixed list of lossctl runs whose every byte of output is kept in ``tests/corpus/expected/``.

Each run is one command line over inputs this module builds (deterministically, from fixed seeds) in a scratch
folder, plus ``sample_data/`` linked into it. What a run produced, its exit code, standard output, standard error
and the files it wrote, is one text file per run. ``tests/test_corpus.py`` replays every run and compares byte for
byte; a change that alters output on purpose regenerates the files in the same commit::

    .venv/bin/python tests/corpus/runs.py            # rewrite tests/corpus/expected/
    .venv/bin/python tests/corpus/runs.py NAME ...   # only these runs (their inputs are built all the same)

Runs happen in this process through ``lossctl.cli.main`` (as ``lossctl`` would run in a pipe: no terminal, width
100), in order: a later run may read what an earlier one wrote (a baseline, shards).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = Path(__file__).resolve().parent / "expected"
#: Environment variables that would change what the CLI prints; cleared for every run.
CLEARED_ENV = ("LOSSCTL_FORMAT", "LOSSCTL_OUTPUT", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS",
               "LINES", "GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "NO_COLOR")
SEG_CONVENTIONS = ("lossctl", "torch", "keras", "sklearn", "smp", "monai", "nnunet", "medpy", "deepmind")
CLS_CONVENTIONS = ("lossctl", "torch", "keras", "sklearn", "smp", "monai")
FORMATS = ("table", "json", "ndjson", "csv", "markdown", "junit", "github", "openmetrics")
CLASSES = "background,road,building,vegetation"


@dataclass(frozen=True)
class Run:
    name: str
    args: tuple[str, ...]
    stdin: bytes | None = None
    #: files the run writes (relative to the scratch folder), kept with its output
    files: tuple[str, ...] = ()


def _runs() -> list[Run]:
    runs: list[Run] = []

    def add(name: str, *args: str, stdin: bytes | None = None, files: tuple[str, ...] = ()) -> None:
        runs.append(Run(name, tuple(args), stdin, files))

    # -- help and the catalogue ------------------------------------------------------------------------------
    add("help", "--help")
    for command in ("seg", "cls", "merge", "compare", "losses"):
        add(f"help_{command}", command, "--help")
    add("losses", "losses")
    for name in ("dice", "focal", "lovasz", "hd95", "bce", "accuracy", "cldice", "boundary_iou"):
        add(f"losses_{name}", "losses", name)
    add("losses_unknown", "losses", "dicee")

    # -- seg: formats, kinds, conventions --------------------------------------------------------------------
    for fmt in FORMATS:
        add(f"seg_probs_{fmt}", "seg", "s/pred", "s/gt", "-f", fmt)
    add("seg_probs_per_class", "seg", "s/pred", "s/gt", "--per-class")
    add("seg_probs_per_image", "seg", "s/pred", "s/gt", "--per-image", "--per-class", "-f", "table")
    add("seg_labels_table", "seg", "s/labels", "s/gt")
    add("seg_labels_json", "seg", "s/labels", "s/gt", "-f", "json")
    add("seg_logits_json", "seg", "s/logits", "s/gt", "--pred-kind", "logits", "-f", "json")
    for convention in SEG_CONVENTIONS:
        add(f"seg_convention_{convention}", "seg", "s/pred", "s/gt", "--convention", convention, "-f", "json")
        add(f"seg_convention_{convention}_table", "seg", "s/logits", "s/gt", "--pred-kind", "logits",
            "--convention", convention)
    add("seg_convention_monai_loss_only", "seg", "s/pred", "s/gt", "--convention", "monai", "-l", "dice_loss")
    add("seg_binary_masks", "seg", "bin/pred", "bin/gt", "-f", "json")
    add("seg_binary_masks_table", "seg", "bin/pred", "bin/gt", "-m", "dice", "-m", "iou")
    # comma lists and names in any case: -m DICE,iou is -m dice -m iou
    add("seg_comma_lists", "seg", "s/pred", "s/gt", "-m", "DICE,iou", "-l", "Dice_Loss,ce", "--convention", "LossCtl",
        "-g", "Dice>=0.1")
    add("cls_comma_lists", "cls", "c/probs.npy", "c/target.npy", "-m", "accuracy,F1:sklearn", "-l", "CCE")
    # ndjson: rows as pairs finish when the class count is known (config.rows_at_end null), else at the end (why)
    add("seg_ndjson_classes_given", "seg", "s/labels", "s/gt", "--num-classes", "3", "-m", "dice", "-f", "ndjson")
    add("seg_ndjson_classes_inferred", "seg", "s/labels", "s/gt", "-m", "dice", "-f", "ndjson")
    add("seg_binary_probs", "seg", "bin/probs", "bin/gt", "-f", "json")
    add("seg_binary_average_mean", "seg", "bin/pred", "bin/gt", "-m", "dice", "-m", "iou", "--average", "mean")
    add("seg_binary_sklearn", "seg", "bin/pred", "bin/gt", "--convention", "sklearn", "-f", "csv")
    add("seg_binary_monai", "seg", "bin/probs", "bin/gt", "--convention", "monai", "-m", "dice")
    add("seg_sklearn_labels_given", "seg", "s/labels", "s/gt", "--convention", "sklearn", "--num-classes", "5",
        "-m", "iou", "-p", "iou.zero_division=1", "--per-class", "-f", "csv")
    add("seg_params", "seg", "s/pred", "s/gt", "-l", "tversky_loss", "-l", "focal", "--alpha", "0.4", "--beta", "0.6",
        "--gamma", "1.5", "-p", "dice.empty=zero", "-f", "json")
    add("seg_ignore_exclude", "seg", "s/pred", "s/gt", "--ignore-index", "2", "--exclude-background", "--empty",
        "zero", "-f", "json")
    add("seg_label_map", "seg", "s/labels", "s/gt", "--label-map", "0:0,1:2,2:1", "--pred-label-map", "0:0,1:2,2:1",
        "-f", "json")
    add("seg_region", "seg", "s/pred", "s/gt", "--region", "fg=1,2", "--per-class", "-f", "csv")
    add("seg_region_table", "seg", "s/pred", "s/gt", "--region", "fg=1,2", "--per-class", "-m", "dice",
        "-l", "dice_loss")
    add("seg_dataset_json", "seg", "s/labels", "s/gt", "--dataset-json", "dataset.json", "-f", "json")
    add("seg_dataset_json_regions", "seg", "s/labels", "s/gt", "--dataset-json", "dataset_regions.json",
        "--per-class")
    add("seg_class_names_file", "seg", "s/labels", "s/gt", "--class-names", "@names.txt", "-f", "markdown")
    add("seg_pairs_file", "seg", "--pairs", "pairs.csv", "-f", "json")
    add("seg_pairs_stdin", "seg", "--pairs", "-", "-f", "csv", stdin=b"s/labels/a.png,s/gt/a.png\n")
    add("seg_pattern", "seg", "s/labels", "s/gt", "--pred-pattern", "{name}.png", "-f", "json")
    # -- instances and lesions (docs/instances.md) -------------------------------------------------------------
    add("seg_instances_cc_table", "seg", "sample_data/pred_labels", "sample_data/gt", "--instances", "cc", "-m", "pq",
        "-m", "rq", "-m", "sq", "-m", "inst_tp", "-m", "inst_fp", "-m", "inst_fn", "--per-class")
    add("seg_instances_nuclei_hovernet", "seg", "sample_data/nuclei/pred", "sample_data/nuclei/gt", "--instances",
        "labels", "--convention", "hovernet", "-m", "pq", "-m", "aji", "-m", "aji_plus", "-m", "inst_tp", "-f", "csv")
    add("seg_instances_nuclei_json", "seg", "sample_data/nuclei/pred", "sample_data/nuclei/gt", "--instances",
        "labels", "--convention", "panoptica", "--match", "merge", "-m", "pq", "-m", "inst_fp", "-m", "sq_hd95",
        "--size-bins", "50,100", "-f", "json")
    add("seg_instances_brats", "seg", "sample_data/volumes/pred", "sample_data/volumes/gt", "--instances", "cc",
        "--convention", "brats", "-m", "lesion_dice", "-m", "lesion_hd95", "-m", "rq", "--region", "WT=1,2",
        "-p", "lesion_dice.task=MET", "--per-class")
    add("seg_instances_without_instances", "seg", "sample_data/pred_labels", "sample_data/gt", "-m", "pq")
    add("seg_instances_bad_threshold", "seg", "sample_data/pred_labels", "sample_data/gt", "--instances", "cc",
        "-m", "pq", "--match-threshold", "1.5")
    add("losses_pq", "losses", "pq")
    add("seg_sample_make_run", "seg", "sample_data/pred_probs", "sample_data/gt", "--class-names", CLASSES,
        "--per-class")
    add("seg_sample_labels_json", "seg", "sample_data/pred_labels", "sample_data/gt", "--class-names", CLASSES,
        "-f", "json")
    add("seg_sample_all", "seg", "sample_data/pred_probs", "sample_data/gt", "-m", "dice", "-m", "hd95",
        "-m", "nsd", "-l", "lovasz", "-l", "dice_loss", "--worst", "3")
    add("seg_sample_boundary_deepmind", "seg", "sample_data/pred_labels", "sample_data/gt", "-m", "hd95", "-m",
        "assd", "-m", "nsd", "--convention", "deepmind", "--spacing", "0.5,0.8", "-f", "json")
    add("seg_sample_boundary_medpy", "seg", "sample_data/pred_labels", "sample_data/gt", "-m", "hd", "-m", "hd95",
        "-m", "assd", "--convention", "medpy", "-f", "csv")
    add("seg_sample_topology", "seg", "sample_data/pred_probs", "sample_data/gt", "--class-names", CLASSES, "-m",
        "cldice", "-m", "boundary_iou", "--region", "built=2,3", "--per-class", "-g", "cldice[road]>=0.7")
    add("seg_sample_topology_metricsreloaded", "seg", "sample_data/pred_labels", "sample_data/gt", "-m", "cldice",
        "-m", "boundary_iou", "--convention", "metricsreloaded", "-f", "json")
    add("seg_volumes_topology", "seg", "sample_data/volumes/pred", "sample_data/volumes/gt", "-m", "cldice", "-m",
        "boundary_iou:metricsreloaded", "-m", "dice", "--per-class", "-f", "csv")
    add("seg_volumes", "seg", "sample_data/volumes/pred", "sample_data/volumes/gt", "--class-names",
        "background,organ,lesion", "-m", "dice", "-m", "hd95", "-m", "assd", "-m", "nsd", "--region", "all=1,2",
        "-f", "json")
    add("seg_volumes_table", "seg", "sample_data/volumes/pred", "sample_data/volumes/gt", "-m", "dice", "-m",
        "masd", "--nsd-tolerance", "2", "--empty-distance", "374", "--per-class")
    # units (mm from the headers, px without spacing) and n/a (entries left out by rule) in every text format
    add("seg_volumes_markdown", "seg", "sample_data/volumes/pred", "sample_data/volumes/gt", "-m", "dice", "-m",
        "hd95", "--per-class", "-g", "hd95<=20", "-f", "markdown")
    add("seg_region_boundary_github", "seg", "s/pred", "s/gt", "--region", "fg=1,2", "--per-class", "-m", "dice",
        "-m", "hd95", "-g", "max(hd95)<=3", "-f", "github")
    add("seg_exclude_background_per_class", "seg", "s/pred", "s/gt", "--exclude-background", "--per-class", "-m",
        "dice", "-l", "dice_loss", "-l", "ce")

    # -- a region-based dataset.json's region_mean; a convention per value ---------------------------------------
    add("seg_region_mean_json", "seg", "s/labels", "s/gt", "--dataset-json", "dataset_regions.json", "-m", "dice",
        "-g", "dice[region_mean]>=0.5", "-g", "pooled(dice[region_mean])>=0.5", "-g", "min(dice[region_mean])>=0.5",
        "-f", "json")
    add("seg_region_mean_csv", "seg", "s/labels", "s/gt", "--dataset-json", "dataset_regions.json", "-m", "dice",
        "-m", "iou", "-f", "csv")
    add("seg_region_mean_not_region_based", "seg", "s/labels", "s/gt", "--dataset-json", "dataset.json",
        "-g", "dice[region_mean]>=0.5")
    add("seg_mixed_conventions", "seg", "sample_data/volumes/pred", "sample_data/volumes/gt", "-m", "dice:nnunet",
        "-m", "hd95:medpy", "-m", "nsd:deepmind", "-m", "iou", "--class-names", "background,organ,lesion")
    add("seg_mixed_conventions_json", "seg", "s/pred", "s/gt", "-m", "dice:monai", "-l", "dice_loss:smp",
        "-l", "ce", "-p", "dice_loss.smooth=0.5", "-f", "json")
    # a binary run: dice keeps MONAI's own mean of both classes, iou reports the foreground
    add("seg_binary_mixed_conventions", "seg", "bin/pred", "bin/gt", "-m", "dice:monai", "-m", "iou", "-f", "csv")
    add("seg_binary_average_foreground_own_convention", "seg", "bin/pred", "bin/gt", "-m", "dice:monai", "-m", "iou",
        "--average", "foreground")
    add("seg_convention_twice", "seg", "s/pred", "s/gt", "-m", "hd95:medpy", "-m", "hd95")
    add("seg_convention_unknown_for_value", "seg", "s/pred", "s/gt", "-m", "dice:nnunt")
    add("seg_convention_param_of_value", "seg", "s/pred", "s/gt", "-m", "dice:nnunet", "-p", "dice.zero_division=1")
    add("cls_mixed_conventions", "cls", "c/probs.npy", "c/target.npy", "-m", "f1:sklearn", "-m", "accuracy:torch",
        "-l", "cce:keras", "-l", "focal")

    # -- gates, baselines, shards, merge, compare -------------------------------------------------------------
    add("seg_gate_pass", "seg", "s/pred", "s/gt", "-g", "dice>=0.1", "-g", "min(iou)>=0.01", "-f", "json")
    add("seg_gate_fail", "seg", "s/pred", "s/gt", "-g", "dice>=0.99", "-g", "p05(dice)>=0.6",
        "-g", "pooled(iou[1])>0.9")
    add("seg_gate_fail_junit", "seg", "s/pred", "s/gt", "-g", "dice>=0.99", "-f", "junit")
    add("seg_baseline_write", "seg", "s/older", "s/gt", "-o", "base.json", "-f", "json", files=("base.json",))
    add("seg_new_write", "seg", "s/pred", "s/gt", "-o", "new.json", "-f", "json",
        "--write", "csv=new.csv", "--write", "markdown=new.md", "--write", "junit=new.xml",
        files=("new.json", "new.csv", "new.md", "new.xml"))
    add("seg_against_baseline", "seg", "s/pred", "s/gt", "--baseline", "base.json", "-g", "delta(dice)>=-0.5",
        "-g", "worse(dice,0.05)<=1", "-g", "rel(iou)>=-0.5")
    add("seg_against_baseline_json", "seg", "s/pred", "s/gt", "-m", "dice", "--baseline", "base.json",
        "-g", "delta(dice)>=-0.5", "-f", "json")
    # the baseline note names only what differs in the values both reports have
    add("seg_against_baseline_other_params", "seg", "s/pred", "s/gt", "-m", "dice,iou:sklearn", "-p", "dice.empty=zero",
        "-p", "focal.gamma=3", "-l", "focal", "--baseline", "base.json", "-g", "delta(dice)>=-0.5")
    # a folder run's baseline names its images "a"; a --pairs run names them "s/gt/a": no gate passes on nothing
    add("seg_pairs_against_folder_baseline", "seg", "--pairs", "pairs.csv", "--baseline", "base.json",
        "-g", "worse(dice,0.05)<=1", "-g", "delta(dice)>=-0.5", "-f", "json")
    add("seg_pairs_baseline_match_stem", "seg", "--pairs", "pairs.csv", "--baseline", "base.json",
        "--baseline-match", "stem", "-g", "worse(dice,0.05)<=1")
    add("seg_pairs_write", "seg", "--pairs", "pairs.csv", "-f", "json", "-o", "pairs.json", files=("pairs.json",))
    add("seg_gate_vacuous_class", "seg", "bin/pred", "bin/gt", "--num-classes", "3", "-g", "dice[2]>=0.5",
        "-g", "pooled(iou[2])>0", "-g", "dice>=0.5")
    add("seg_shard_1", "seg", "s/pred", "s/gt", "--shard", "1/2", "-f", "json", "-o", "shard1.json",
        files=("shard1.json",))
    add("seg_shard_2", "seg", "s/pred", "s/gt", "--shard", "2/2", "-f", "json", "-o", "shard2.json",
        files=("shard2.json",))
    add("merge_json", "merge", "shard1.json", "shard2.json", "-f", "json")
    add("merge_table_gate", "merge", "shard1.json", "shard2.json", "--expect", "2", "-g", "dice>=0.2", "--per-class")
    add("merge_missing_shard", "merge", "shard1.json", "--expect", "2")
    for fmt in ("table", "json", "csv", "markdown", "junit", "github", "openmetrics"):
        add(f"compare_{fmt}", "compare", "base.json", "new.json", "-f", fmt, "--bootstrap", "200")
    add("compare_gates", "compare", "base.json", "new.json", "-g", "delta(dice)>=0", "-g", "worse(iou,0.01)<=0",
        "--bootstrap", "100", "--per-class")
    add("compare_vacuous_worse", "compare", "base.json", "pairs.json", "-g", "worse(dice,0.05)<=1", "--bootstrap",
        "0", "-f", "github")
    add("compare_baseline_match_stem", "compare", "base.json", "pairs.json", "-g", "worse(dice,0.05)<=1",
        "--bootstrap", "0", "--baseline-match", "stem", "-f", "json")
    add("seg_html_report", "seg", "s/pred", "s/gt", "--report", "html", "-g", "dice>=0.3", files=("html/index.html",))
    add("compare_html_report", "compare", "base.json", "new.json", "--report", "chtml", "--bootstrap", "50",
        files=("chtml/index.html",))
    # the input images under the worst images (c's of another size, d's absent: a note); a volume's three planes;
    # the github summary's per-class table with a region (a header cell per column)
    add("seg_html_report_images", "seg", "s/pred", "s/gt", "--report", "html_images", "--images", "photos",
        "--worst", "4", "-m", "dice", files=("html_images/index.html",))
    add("seg_html_report_volume", "seg", "nn/pred", "nn/gt", "--pred-axes", "reversed", "-m", "dice", "--report",
        "html_volume", files=("html_volume/index.html",))
    # instance panels (matched, missed, false), the detection counts and recall by size; a volume's lesions and a
    # region under the brats convention
    add("seg_html_report_instances", "seg", "sample_data/nuclei/pred", "sample_data/nuclei/gt", "--instances",
        "labels", "-m", "pq", "-m", "inst_tp", "--size-bins", "50,100", "--worst", "2", "--report", "html_instances",
        files=("html_instances/index.html",))
    add("seg_html_report_lesions", "seg", "sample_data/volumes/pred", "sample_data/volumes/gt", "--instances", "cc",
        "--convention", "brats", "-m", "lesion_dice", "-m", "rq", "--region", "WT=1,2", "-p", "lesion_dice.task=MET",
        "--worst", "1", "--report", "html_lesions", files=("html_lesions/index.html",))
    add("seg_region_github", "seg", "s/pred", "s/gt", "--region", "fg=1,2", "-m", "dice", "-f", "github")
    add("seg_binary_baseline_mean", "seg", "bin/pred", "bin/gt", "--average", "mean", "-f", "json", "-o", "bbase.json")
    add("seg_binary_against_mean_baseline", "seg", "bin/pred", "bin/gt", "--baseline", "bbase.json",
        "-g", "delta(dice)>=0")
    add("compare_schema_1", "compare", "schema1.json", "new.json")
    add("merge_schema_1", "merge", "schema1.json")

    # -- seg: bad input -----------------------------------------------------------------------------------------
    add("seg_missing_folder", "seg", "nowhere", "s/gt")
    add("seg_same_folder", "seg", "s/gt", "s/gt")
    add("seg_unknown_metric", "seg", "s/pred", "s/gt", "-m", "dicee")
    add("seg_bad_gate", "seg", "s/pred", "s/gt", "-g", "dice>>1")
    add("seg_bad_param", "seg", "s/pred", "s/gt", "-p", "dice.nope=1")
    add("seg_bad_convention", "seg", "s/pred", "s/gt", "--convention", "pytorch")
    add("seg_value_convention_as_run_convention", "seg", "s/pred", "s/gt", "--convention", "dice:monai")
    add("seg_bad_workers", "seg", "s/pred", "s/gt", "--workers", "two")
    add("seg_bad_threshold", "seg", "s/pred", "s/gt", "--threshold", "1.5")
    add("seg_scheduler_with_workers", "seg", "s/pred", "s/gt", "--scheduler", "local:2", "--workers", "2")
    add("seg_scheduler_not_a_url", "seg", "s/pred", "s/gt", "--scheduler", "10.0.0.5:8786")
    add("seg_scheduler_file_missing", "seg", "s/pred", "s/gt", "--scheduler-file", "scheduler.json")
    add("seg_unknown_metric_in_list", "seg", "s/pred", "s/gt", "-m", "dice,hd59")
    add("cls_bad_target_kind", "cls", "c/probs.npy", "c/target.npy", "--target-kind", "one-hot")
    add("seg_not_available", "seg", "s/pred", "s/gt", "--convention", "smp", "-m", "hd95")
    add("seg_corrupt", "seg", "bad/pred", "bad/gt")
    add("seg_corrupt_skip", "seg", "bad/pred", "bad/gt", "--skip-errors", "-f", "json")
    # the same problem in many pairs: one line with a count and the first names (JSON errors list every one)
    add("seg_errors_grouped", "seg", "rgb/pred", "rgb/gt", "-m", "dice")
    add("seg_errors_grouped_json", "seg", "rgb/pred", "rgb/gt", "-m", "dice", "--skip-errors", "-f", "json")
    add("seg_errors_grouped_pairs", "seg", "--pairs", "absent.csv", "-m", "dice")
    add("seg_missing_pair", "seg", "s/labels", "part/gt")
    add("seg_allow_missing", "seg", "s/labels", "part/gt", "--allow-missing", "-f", "json")
    add("seg_pattern_pairs", "seg", "s/older", "bin/gt", "--pred-pattern", "{name}.png", "--gt-pattern", "{name}.png")
    add("seg_logits_as_probs", "seg", "s/logits", "s/gt", "--pred-kind", "probs")
    add("seg_bad_spacing", "seg", "s/labels", "s/gt", "-m", "hd95", "--spacing", "1,0")
    add("seg_bad_region", "seg", "s/labels", "s/gt", "--region", "x=7")
    add("seg_bad_shard", "seg", "s/labels", "s/gt", "--shard", "3/2")
    add("seg_bad_write", "seg", "s/labels", "s/gt", "--write", "nope")
    # remote files (docs/remote.md): refused before any store is reached
    add("seg_bad_storage_option", "seg", "s/labels", "s/gt", "--storage-option", "endpoint_url")
    add("seg_unknown_protocol", "seg", "nosuch://bucket/pred", "nosuch://bucket/gt")
    add("seg_github_to_object_store", "seg", "s/labels", "s/gt", "--write", "github=s3://bucket/summary.md")
    add("seg_void_255", "seg", "void/pred", "void/gt", "-m", "dice")
    add("seg_void_255_ignored", "seg", "void/pred", "void/gt", "-m", "dice", "--ignore-index", "255")
    add("seg_heatmap_auto", "seg", "heat/pred", "heat/gt", "-m", "dice")
    add("seg_heatmap_probs", "seg", "heat/pred", "heat/gt", "-m", "dice", "-m", "iou", "--pred-kind", "probs",
        "-f", "json")
    add("seg_heatmap_16bit_table", "seg", "heat/pred16", "heat/gt", "--pred-kind", "probs")
    add("seg_prob_scale", "seg", "heat/percent", "heat/gt", "-m", "dice", "--pred-kind", "probs", "--prob-scale",
        "100")
    add("seg_jpeg_labels", "seg", "jpeg/labels", "heat/gt", "-m", "dice")
    add("seg_jpeg_probs", "seg", "jpeg/heat", "heat/gt", "-m", "dice", "--pred-kind", "probs")
    add("seg_batch_axis", "seg", "s/batch", "s/gt", "-m", "dice", "-f", "json")
    add("seg_npz_reversed_refused", "seg", "nn/pred", "nn/gt", "-m", "dice")
    add("seg_npz_pred_axes", "seg", "nn/pred", "nn/gt", "-m", "dice", "-m", "hd95", "--pred-axes", "reversed",
        "-f", "json")
    add("seg_identity_affine_refused", "seg", "nn/identity", "nn/gt", "-m", "dice", "--spacing", "1,1,1")
    add("seg_geometry_gt", "seg", "nn/identity", "nn/gt", "-m", "dice", "--geometry", "gt")
    add("seg_ignore_all", "seg", "s/labels", "s/gt", "--ignore-index", "0", "--ignore-index", "1",
        "--ignore-index", "2")
    add("seg_bad_baseline", "seg", "s/pred", "s/gt", "--baseline", "new.csv", "-g", "delta(dice)>=0")
    add("seg_average_foreground_3_classes", "seg", "s/labels", "s/gt", "--average", "foreground")
    add("seg_baseline_gate_without_baseline", "seg", "s/pred", "s/gt", "-g", "delta(dice)>=0")

    # -- cls ----------------------------------------------------------------------------------------------------
    for fmt in FORMATS:
        add(f"cls_probs_{fmt}", "cls", "c/probs.npy", "c/target.npy", "-f", fmt)
    add("cls_per_sample", "cls", "c/probs.csv", "c/target.csv", "--per-sample", "-f", "json")
    add("cls_logits", "cls", "c/logits.npy", "c/target.npy", "--pred-kind", "logits", "-f", "json")
    for convention in CLS_CONVENTIONS:
        add(f"cls_convention_{convention}", "cls", "c/logits.npy", "c/target.npy", "--pred-kind", "logits",
            "--convention", convention, "-f", "json")
        add(f"cls_convention_{convention}_table", "cls", "c/probs.npy", "c/target.npy", "--convention", convention)
    add("cls_binary", "cls", "c/bin_scores.npy", "c/bin_target.npy", "-f", "json")
    add("cls_binary_weights", "cls", "c/bin_scores.npy", "c/bin_target.npy", "--weights", "c/weights.npy",
        "--pos-weight", "2", "-f", "json")
    add("cls_multilabel", "cls", "c/ml_probs.npy", "c/ml_target.npy", "-f", "json")
    # -- counting and ranking metrics (on request) -------------------------------------------------------------
    counting = "mcc,kappa,weighted_kappa,balanced_accuracy,specificity,npv,fbeta,youden,lr_plus,expected_cost," \
        "net_benefit"
    add("seg_counting", "seg", "s/labels", "s/gt", "-m", f"{counting},avd,rvd", "--per-class", "-g",
        "pooled(mcc)>=0.7")
    add("seg_counting_metricsreloaded", "seg", "bin/pred", "bin/gt", "--convention", "metricsreloaded", "-m",
        "mcc,npv,fbeta,rvd", "-m", "kappa:torch", "-f", "json")
    add("seg_fbeta_negative_beta", "seg", "s/labels", "s/gt", "-m", "fbeta", "-p", "fbeta.beta=-1")
    add("cls_counting_ranking", "cls", "c/probs.npy", "c/target.npy", "-m", f"{counting},auroc,ap", "-g",
        "auroc>=0.5")
    add("cls_ranking_binary_conventions", "cls", "c/bin_scores.npy", "c/bin_target.npy", "-m", "auroc:torch,ap:sklearn",
        "-m", "mcc:metricsreloaded", "-f", "json")
    add("cls_smoothing_hinge", "cls", "c/logits.npy", "c/target.npy", "--pred-kind", "logits", "--label-smoothing",
        "0.1", "--hinge", "weston_watkins", "--class-weights", "1,2,3", "-f", "json")
    add("cls_torch_bce_weights", "cls", "c/bin_scores.npy", "c/bin_target.npy", "--convention", "torch",
        "-l", "bce", "--weights", "c/weights.npy")
    add("cls_cce_class_weights", "cls", "c/probs.npy", "c/target.npy", "-l", "cce", "--class-weights", "1,2,3",
        "-f", "json")
    add("cls_multilabel_torch_bce", "cls", "c/ml_probs.npy", "c/ml_target.npy", "--convention", "torch", "-l", "bce")
    add("cls_gates", "cls", "c/probs.npy", "c/target.npy", "-g", "accuracy>=0.9", "-g", "ce<=5")
    add("cls_stdin", "cls", "-", "c/target3.csv", "-f", "json", stdin=b"0.2,0.3,0.5\n0.6,0.2,0.2\n0.1,0.8,0.1\n")
    add("cls_shape_mismatch", "cls", "c/probs.npy", "c/bin_target.npy")
    add("cls_logits_as_probs", "cls", "c/logits.npy", "c/target.npy")
    add("cls_unknown_loss", "cls", "c/probs.npy", "c/target.npy", "-l", "bcee")
    add("cls_baseline", "cls", "c/probs.npy", "c/target.npy", "-o", "cbase.json", "-f", "json",
        files=("cbase.json",))
    add("cls_against_baseline", "cls", "c/logits.npy", "c/target.npy", "--pred-kind", "logits", "--baseline",
        "cbase.json", "-g", "delta(accuracy)>=0")
    add("cls_seg_baseline", "cls", "c/probs.npy", "c/target.npy", "--baseline", "base.json", "-g", "delta(ce)>=0")

    # -- cls from CSVs as people write them: a header, ids, columns by name, class names ---------------------------
    add("cls_csv_one_file", "cls", "c/scores.csv")
    add("cls_csv_one_file_json", "cls", "c/scores.csv", "--per-sample", "-f", "json")
    add("cls_csv_by_id", "cls", "c/pred_ids.csv", "c/labels_ids.csv", "--id-column", "id", "--pred-columns",
        "p_cat:p_bird", "--per-sample", "-f", "csv")
    add("cls_csv_unpaired_ids", "cls", "c/pred_ids.csv", "c/labels_short.csv", "--id-column", "id",
        "--pred-columns", "p_cat:p_bird")
    add("cls_csv_allow_missing", "cls", "c/pred_ids.csv", "c/labels_short.csv", "--id-column", "id",
        "--pred-columns", "p_cat:p_bird", "--allow-missing", "-f", "ndjson")
    add("cls_csv_duplicate_id", "cls", "c/pred_ids.csv", "c/labels_dup.csv", "--id-column", "id",
        "--pred-columns", "p_cat,p_dog,p_bird")
    add("cls_csv_ids_out_of_order", "cls", "c/pred_ids.csv", "c/labels_ids.csv", "--pred-columns", "p_cat:p_bird")
    add("cls_csv_text_column", "cls", "c/pred_ids.csv", "c/labels_ids.csv", "--id-column", "id")
    add("cls_csv_missing_column", "cls", "c/scores.csv", "--pred-columns", "p_cat:p_brid")
    add("cls_csv_bad_selection", "cls", "c/scores.csv", "--pred-columns", "p_cat:")
    add("cls_csv_no_target_column", "cls", "c/pred_ids.csv")
    add("cls_csv_unknown_class", "cls", "c/scores.csv", "--class-names", "cat,dog,brd")
    add("cls_csv_no_header", "cls", "c/scores_noheader.csv", "--id-column", "1", "--target-column", "2",
        "--pred-columns", "3:5", "--class-names", "cat,dog,bird", "-f", "json")

    # -- calibration values ---------------------------------------------------------------------------------------
    add("seg_calibration", "seg", "s/pred", "s/gt", "-m", "ece,mce,rmsce,cw_ece,brier,nll", "--per-class",
        "-g", "ece<=0.05")
    add("seg_calibration_json", "seg", "s/pred", "s/gt", "-m", "ece,cw_ece,nll", "-f", "json")
    add("seg_calibration_torch", "seg", "s/pred", "s/gt", "-m", "ece,mce,rmsce", "--convention", "torch")
    add("seg_calibration_mass_pooled", "seg", "s/pred", "s/gt", "-m", "ece", "-p", "ece.binning=mass", "-g",
        "pooled(ece)<=0.1")
    add("seg_calibration_mass", "seg", "s/pred", "s/gt", "-m", "ece,mce", "-p", "ece.binning=mass",
        "--per-class")  # equal-mass bins: per image only, the pooled cells n/a
    add("seg_calibration_labels", "seg", "s/labels", "s/gt", "-m", "ece")
    add("seg_calibration_bins_fraction", "seg", "s/pred", "s/gt", "-m", "ece", "-p", "ece.bins=2.5")
    add("cls_calibration", "cls", "c/probs.npy", "c/target.npy", "-m", "ece,mce,rmsce,cw_ece,brier,nll", "-f",
        "json")
    add("cls_calibration_binary_sklearn", "cls", "c/bin_scores.npy", "c/bin_target.npy", "-m", "brier,nll",
        "--convention", "sklearn")
    add("losses_ece", "losses", "ece")
    return runs


RUNS = _runs()


# -------------------------------------------------------------------------------------------------------------
# Inputs
# -------------------------------------------------------------------------------------------------------------


def _png(path: Path, labels: np.ndarray, mode: str = "L") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(np.asarray(labels, dtype=np.uint8), mode=mode)
    if mode == "P":
        image.putpalette([0, 0, 0, 128, 128, 128, 200, 0, 0] + [0, 0, 0] * 253)
    image.save(path)


def _npy(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, array)


def _softmax(logits: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def build_inputs(work: Path) -> None:
    """Write every input the runs read into ``work`` (deterministic: fixed seeds, no clock)."""
    rng = np.random.default_rng(20261206)
    h, w, c = 9, 11, 3
    for i, name in enumerate(("a", "b", "c", "d")):
        gt = rng.integers(0, c, (h, w)).astype(np.uint8)
        gt.flat[:c] = np.arange(c)
        gt[:3, :4] = 0
        logits = rng.normal(size=(c, h, w))
        logits[(gt, *np.indices(gt.shape))] += 1.0 + 0.5 * i
        probs = _softmax(logits, 0).astype(np.float32)
        _png(work / "s/gt" / f"{name}.png", gt, "P")
        _npy(work / "s/pred" / f"{name}.npy", probs)
        _npy(work / "s/logits" / f"{name}.npy", logits.astype(np.float32))
        _png(work / "s/labels" / f"{name}.png", probs.argmax(axis=0))
        older = probs.argmax(axis=0)
        older[rng.uniform(size=older.shape) < 0.2] = i % c  # an earlier, worse model
        _png(work / "s/older" / f"{name}.png", older)
        # binary masks stored as 0/1, and a foreground probability map
        bgt = (gt > 0).astype(np.uint8)
        bprob = _softmax(logits[:2], 0)[1].astype(np.float32)
        _png(work / "bin/gt" / f"{name}.png", bgt)
        _png(work / "bin/pred" / f"{name}.png", (bprob > 0.5).astype(np.uint8))
        _npy(work / "bin/probs" / f"{name}.npy", bprob)
        # a void border (255) around labels 0..2
        vgt = gt.copy()
        vgt[0, :] = 255
        _png(work / "void/gt" / f"{name}.png", vgt)
        if name != "d":
            _png(work / "part/gt" / f"{name}.png", gt, "P")
        _png(work / "void/pred" / f"{name}.png", probs.argmax(axis=0))
    # the input images of s for the HTML report: a in colour, b 16-bit grey, c of another size, d absent
    (work / "photos").mkdir()
    rows, columns = np.indices((h, w))
    Image.fromarray(np.stack([columns * 23, rows * 28, (rows + columns) * 12], -1).astype(np.uint8)).save(
        work / "photos/a.png")
    Image.fromarray((rows * columns * 500).astype(np.uint16)).save(work / "photos/b.png")
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(work / "photos/c.png")
    # a prediction folder with a corrupt file, a wrong shape and a missing pair
    _png(work / "bad/gt/a.png", np.zeros((h, w)))
    _png(work / "bad/gt/b.png", np.zeros((h, w)))
    _png(work / "bad/gt/c.png", np.zeros((h, w)))
    _png(work / "bad/gt/d.png", np.zeros((h, w)))
    (work / "bad/pred").mkdir(parents=True, exist_ok=True)
    (work / "bad/pred/a.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    _png(work / "bad/pred/b.png", np.zeros((h + 1, w)))
    _png(work / "bad/pred/c.png", np.ones((h, w)))
    _png(work / "bad/pred/d.png", np.full((h, w), 9))
    (work / "dataset.json").write_text(json.dumps(
        {"labels": {"background": 0, "road": 1, "building": 2}, "file_ending": ".png"}))
    (work / "dataset_regions.json").write_text(json.dumps(
        {"labels": {"background": 0, "road": 1, "building": 2, "built": [1, 2]}, "file_ending": ".png"}))
    (work / "names.txt").write_text("bg\nroad\nhouse\n")
    (work / "pairs.csv").write_text("pred,gt\ns/labels/a.png,s/gt/a.png\ns/labels/c.png,s/gt/c.png\n")
    # a report written before the schema field (schema 1: binary runs reported the mean of both classes)
    (work / "schema1.json").write_text(json.dumps({"lossctl": "0.1.0", "command": "seg", "config": {"options": {}},
                                                   "summary": {}, "images": [], "errors": []}))
    # classification
    n, k = 12, 3
    y = rng.integers(0, k, n)
    y[:k] = np.arange(k)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += 1.5
    probs = _softmax(logits, 1)
    _npy(work / "c/probs.npy", probs)
    _npy(work / "c/logits.npy", logits)
    _npy(work / "c/target.npy", y.astype(np.int64))
    np.savetxt(work / "c/probs.csv", probs, delimiter=",", header="p0,p1,p2", comments="", fmt="%.17g")
    np.savetxt(work / "c/target.csv", y, fmt="%d", header="label", comments="")
    (work / "c/target3.csv").write_text("2\n0\n1\n")
    by = rng.integers(0, 2, n)
    by[:2] = (0, 1)
    _npy(work / "c/bin_scores.npy", np.clip(by * 0.6 + rng.uniform(0, 0.4, n), 0, 1))
    _npy(work / "c/bin_target.npy", by.astype(np.int64))
    _npy(work / "c/weights.npy", rng.uniform(0.5, 2.0, n))
    ml = (rng.uniform(size=(n, k)) > 0.5).astype(np.int64)
    _npy(work / "c/ml_probs.npy", np.clip(ml * 0.5 + rng.uniform(0, 0.5, (n, k)), 0, 1))
    _npy(work / "c/ml_target.npy", ml)
    _cls_tables(work, probs, y)
    _nnunet_inputs(work, rng)
    _grouped_error_inputs(work)
    (work / "sample_data").symlink_to(ROOT / "sample_data")


def _cls_tables(work: Path, probs: np.ndarray, y: np.ndarray) -> None:
    """Classification CSVs as people write them, from the classification inputs (no random draw, so that the
    inputs built after them stay as they were): predictions and class-name labels in one file; predictions with a
    text column beside labels in another order, one short and one with an id twice; a table without a header."""
    ids = [f"img{i:02d}" for i in range(len(y))]
    scores = [",".join(format(v, ".17g") for v in p) for p in probs]
    names = ("cat", "dog", "bird")
    (work / "c/scores.csv").write_text("id,label,p_cat,p_dog,p_bird\n" + "".join(
        f"{i},{names[t]},{p}\n" for i, t, p in zip(ids, y, scores, strict=True)))
    (work / "c/pred_ids.csv").write_text("id,model,p_cat,p_dog,p_bird\n" + "".join(
        f"{i},resnet50,{p}\n" for i, p in zip(ids, scores, strict=True)))
    order = [(7 * j + 3) % len(y) for j in range(len(y))]  # every row, in another order
    labels = [f"{ids[j]},{y[j]}\n" for j in order]
    (work / "c/labels_ids.csv").write_text("id,label\n" + "".join(labels))
    (work / "c/labels_short.csv").write_text("id,label\n" + "".join(labels[:-2]) + "img99,1\n")
    (work / "c/labels_dup.csv").write_text("id,label\n" + "".join(labels) + labels[4])
    (work / "c/scores_noheader.csv").write_text("".join(
        f"{100 + i},{t},{p}\n" for i, (t, p) in enumerate(zip(y, scores, strict=True))))


def _grouped_error_inputs(work: Path) -> None:
    """Seven pairs whose predictions were saved as RGB images (one problem, seven files), one whose prediction is
    truncated, one good pair; a list of pairs naming five predictions that are not there."""
    gt = np.asarray(Image.open(work / "bin/gt/a.png"))
    (work / "rgb/pred").mkdir(parents=True)
    for i in range(9):
        _png(work / "rgb/gt" / f"img_{i:03d}.png", gt)
        if i < 7:
            Image.fromarray(np.stack([gt * 255] * 3, axis=-1)).save(work / "rgb/pred" / f"img_{i:03d}.png")
        elif i == 7:
            (work / "rgb/pred" / f"img_{i:03d}.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
        else:
            _png(work / "rgb/pred" / f"img_{i:03d}.png", gt)
    lines = [f"missing/img_{i:03d}.png,rgb/gt/img_{i:03d}.png" for i in range(5)]
    lines.append("rgb/pred/img_008.png,rgb/gt/img_008.png")
    (work / "absent.csv").write_text("pred,gt\n" + "\n".join(lines) + "\n")


def _nnunet_inputs(work: Path, rng: np.random.Generator) -> None:
    """Files as people save them: heatmap PNGs (8- and 16-bit, percentages), JPEGs, a batch axis, nnU-Net's
    (C, z, y, x) .npz beside a NIfTI ground truth read (x, y, z), a NIfTI prediction with an identity affine."""
    import nibabel

    for name in ("a", "b"):
        gt = np.asarray(Image.open(work / "bin/gt" / f"{name}.png"))
        _png(work / "heat/gt" / f"{name}.png", gt)
        p = np.clip(0.35 + 0.4 * gt + rng.uniform(-0.3, 0.3, gt.shape), 0.0, 1.0)
        _png(work / "heat/pred" / f"{name}.png", np.round(p * 255))
        (work / "heat/pred16").mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.round(p * 65535).astype(np.uint16)).save(work / "heat/pred16" / f"{name}.png")
        _npy(work / "heat/percent" / f"{name}.npy", np.round(p * 100).astype(np.int32))
        (work / "jpeg/labels").mkdir(parents=True, exist_ok=True)
        (work / "jpeg/heat").mkdir(parents=True, exist_ok=True)
        Image.fromarray(gt.astype(np.uint8), mode="L").save(work / "jpeg/labels" / f"{name}.jpg", quality=90)
        Image.fromarray(np.round(p * 255).astype(np.uint8), mode="L").save(work / "jpeg/heat" / f"{name}.jpg",
                                                                           quality=90)
    for name in ("a", "b", "c", "d"):
        _npy(work / "s/batch" / f"{name}.npy", np.load(work / "s/pred" / f"{name}.npy")[None])
    shape = (6, 5, 4)  # x, y, z as nibabel reads the ground truth
    gt = rng.integers(0, 3, shape).astype(np.uint8)
    logits = rng.normal(size=(3, *shape))
    logits[(gt, *np.indices(shape))] += 1.5
    probs = _softmax(logits, 0).astype(np.float32)
    affine = np.diag([-0.8, -0.8, 2.5, 1.0])
    affine[:3, 3] = (12.0, -4.0, 30.0)
    for folder in ("nn/gt", "nn/pred", "nn/identity"):
        (work / folder).mkdir(parents=True, exist_ok=True)
    nibabel.save(nibabel.Nifti1Image(gt, affine), work / "nn/gt/case_001.nii.gz")
    np.savez_compressed(work / "nn/pred/case_001.npz", probabilities=probs.transpose(0, 3, 2, 1))
    nibabel.save(nibabel.Nifti1Image(probs.argmax(axis=0).astype(np.uint8), np.eye(4)),
                 work / "nn/identity/case_001.nii.gz")


# -------------------------------------------------------------------------------------------------------------
# Running
# -------------------------------------------------------------------------------------------------------------


@contextmanager
def _process_state(work: Path, argv: list[str], stdin: bytes | None,
                   env: dict[str, str] | None = None) -> Iterator[tuple[io.BytesIO, io.BytesIO]]:
    saved = (os.getcwd(), sys.argv, sys.stdin, sys.stdout, sys.stderr, dict(os.environ), sys.modules["__main__"])
    out, err = io.BytesIO(), io.BytesIO()
    try:
        os.chdir(work)
        for name in CLEARED_ENV:
            os.environ.pop(name, None)
        os.environ.update(env or {})
        sys.argv = ["lossctl", *argv]
        sys.modules["__main__"] = types.ModuleType("__main__")  # click names the program after sys.argv[0]
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin or b""), encoding="utf-8")
        sys.stdout = io.TextIOWrapper(out, encoding="utf-8", newline="\n", write_through=True)
        sys.stderr = io.TextIOWrapper(err, encoding="utf-8", newline="\n", write_through=True)
        yield out, err
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os.chdir(saved[0])
        sys.argv, sys.stdin, sys.stdout, sys.stderr = saved[1:5]
        os.environ.clear()
        os.environ.update(saved[5])
        sys.modules["__main__"] = saved[6]


def streams(run: Run, work: Path, env: dict[str, str] | None = None) -> tuple[object, str, str]:
    """Run one corpus entry in ``work`` (with ``env`` over the cleared environment): its exit code, standard
    output and standard error."""
    from lossctl import cli

    with _process_state(work, list(run.args), run.stdin, env) as (out, err):
        try:
            cli.main()
            code: object = "returned without sys.exit"
        except SystemExit as done:
            code = 0 if done.code is None else done.code
        sys.stdout.flush()
        sys.stderr.flush()
        stdout, stderr = out.getvalue(), err.getvalue()
    return code, stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace")


def execute(run: Run, work: Path) -> str:
    """Run one corpus entry in ``work`` and return the text that records all it produced."""
    code, stdout, stderr = streams(run, work)
    parts = [f"$ lossctl {' '.join(run.args)}", f"exit: {code}", "--- stdout", stdout, "--- stderr", stderr]
    for name in run.files:
        path = work / name
        if not path.exists():
            parts += [f"--- file {name}: absent"]
        elif name.endswith(".html"):  # embedded pictures: kept as a digest
            parts += [f"--- file {name}: sha256 {hashlib.sha256(path.read_bytes()).hexdigest()}"]
        else:
            parts += [f"--- file {name}", path.read_text(encoding="utf-8")]
    return "\n".join(parts)


def expected_path(run: Run) -> Path:
    return EXPECTED / f"{run.name}.txt"


def main(names: list[str]) -> int:
    import tempfile

    unknown = set(names) - {run.name for run in RUNS}
    if unknown:
        print(f"unknown runs: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    EXPECTED.mkdir(exist_ok=True)
    if not names:
        for stale in EXPECTED.glob("*.txt"):
            stale.unlink()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        build_inputs(work)
        for run in RUNS:  # every run, in order: later runs read what earlier ones wrote
            text = execute(run, work)
            if not names or run.name in names:
                expected_path(run).write_text(text, encoding="utf-8")
    print(f"wrote {len(names) or len(RUNS)} runs to {EXPECTED.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main(sys.argv[1:]))
