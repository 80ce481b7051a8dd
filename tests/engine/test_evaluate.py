"""``lossctl.evaluate(pred, gt, ...)``: the Python API of a folder gives the document ``lossctl seg -f json`` gives
with the same settings, refuses bad arguments in Python's words, and reports a bad pair without raising."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support import SAMPLE, make_seg_set

import lossctl
from lossctl.errors import InputError, NotAvailable, UsageError

NAMES = ["background", "road", "building", "vegetation"]

#: (command-line options, the same settings as arguments): each pair must give the same document.
SAME_RUNS = [
    (["sample_data/pred_probs", "sample_data/gt", "--class-names", ",".join(NAMES)],
     dict(pred="sample_data/pred_probs", gt="sample_data/gt", class_names=NAMES)),
    (["sample_data/pred_labels", "sample_data/gt", "-m", "dice", "-m", "hd95:medpy", "-m", "nsd",
      "--nsd-tolerance", "2", "--spacing", "0.5,0.8", "--region", "built=2,3", "-g", "dice[built]>=0.5",
      "-g", "p05(dice)>=0.2"],
     dict(pred="sample_data/pred_labels", gt="sample_data/gt", metrics=["dice", "hd95", "nsd"],
          conventions={"hd95": "medpy"}, nsd_tolerance=2, spacing=[0.5, 0.8], regions={"built": [2, 3]},
          gates=["dice[built]>=0.5", "p05(dice)>=0.2"])),
    (["sample_data/pred_probs", "sample_data/gt", "-l", "focal", "-l", "tversky_loss", "-p", "focal.gamma=3",
      "--alpha", "0.4", "--ignore-index", "2", "--exclude-background", "--empty", "zero", "--workers", "1"],
     dict(pred="sample_data/pred_probs", gt="sample_data/gt", losses=["focal", "tversky_loss"],
          params={"focal": {"gamma": 3}, "tversky_loss": {"alpha": 0.4}},
          ignore_index=2, exclude_background=True, empty="zero", workers=1)),
    (["sample_data/pred_probs", "sample_data/gt", "--convention", "monai", "-m", "dice", "-l", "dice_loss"],
     dict(pred="sample_data/pred_probs", gt="sample_data/gt", convention="monai", metrics=["dice"],
          losses=["dice_loss"])),
    (["sample_data/volumes/pred", "sample_data/volumes/gt", "-m", "dice", "-m", "assd", "--empty-distance", "374"],
     dict(pred="sample_data/volumes/pred", gt="sample_data/volumes/gt", metrics=["dice", "assd"],
          empty_distance=374)),
]


@pytest.mark.parametrize("options, arguments", SAME_RUNS, ids=range(len(SAME_RUNS)))
def test_evaluate_gives_the_document_of_the_command_line(options: list[str], arguments: dict[str, Any], cli,
                                                         monkeypatch):
    monkeypatch.chdir(SAMPLE.parent)
    r = cli("seg", *options, "-f", "json")
    assert r.code in (0, 1), r
    document = json.loads(json.dumps(lossctl.evaluate(**arguments), allow_nan=False))
    expected = r.json()
    # the one text that names settings: the API's names arguments, the command line's flags
    api_why, cli_why = document["config"].pop("rows_at_end"), expected["config"].pop("rows_at_end")
    assert (api_why is None) == (cli_why is None)
    if api_why is not None:
        assert "num_classes" in api_why and "--num-classes" in cli_why and "--" not in api_why
    assert document == expected


def test_the_defaults_are_the_command_lines():
    """Every default of evaluate() is the default of the seg option of the same name (the few argument names
    that differ from the option's are mapped)."""
    import inspect

    import typer.main

    from lossctl.cli import app

    options = {p.name: p.default for p in typer.main.get_command(app).commands["seg"].params}  # type: ignore[attr-defined]
    renamed = {"metrics": "metric", "losses": "loss", "gates": "gate", "regions": "region",
               "exclude_background": "exclude_background", "storage_options": "storage_option"}
    for name, parameter in inspect.signature(lossctl.evaluate).parameters.items():
        if name in ("conventions", "params", "pred", "gt"):  # -m NAME:CONV and -p/--alpha...: other shapes
            continue
        option = renamed.get(name, name)
        default = options[option]
        if hasattr(default, "value"):
            default = default.value
        expected = {"max_memory": None, "ignore_index": (), "gates": (), "nsd_tolerance": 1.0}.get(name, default)
        if name in ("metrics", "losses", "regions", "class_names", "dataset_json", "unmapped", "prob_scale",
                    "pred_axes", "npz_key", "gt_npz_key", "spacing", "pred_pattern", "gt_pattern", "storage_options"):
            assert default is None and parameter.default is None, name
        else:
            assert parameter.default == expected, (name, parameter.default, default)


def test_usage_errors_name_the_arguments():
    with pytest.raises(UsageError) as e:
        lossctl.evaluate(SAMPLE / "pred_probs", SAMPLE / "gt", class_names=NAMES, average="foreground")
    assert "average='foreground'" in str(e.value) and "--" not in str(e.value)
    with pytest.raises(UsageError, match="pred_kind='logit' is not one of auto, labels, probs, logits"):
        lossctl.evaluate(SAMPLE / "pred_probs", SAMPLE / "gt", pred_kind="logit")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="unknown seg loss or metric 'dicee'"):
        lossctl.evaluate(SAMPLE / "pred_probs", SAMPLE / "gt", metrics=["dicee"])
    with pytest.raises(UsageError, match="conventions gives hd95 a convention, but metrics and losses do not name"):
        lossctl.evaluate(SAMPLE / "pred_labels", SAMPLE / "gt", conventions={"hd95": "medpy"})
    with pytest.raises(UsageError, match="dice has no convention 'medpy'"):
        lossctl.evaluate(SAMPLE / "pred_labels", SAMPLE / "gt", metrics=["dice"], conventions={"dice": "medpy"})
    with pytest.raises(UsageError, match="params: focal.gamma = -1 is out of range"):
        lossctl.evaluate(SAMPLE / "pred_probs", SAMPLE / "gt", params={"focal": {"gamma": -1}})
    with pytest.raises(UsageError, match="num_classes=3 but class_names names 4 classes"):
        lossctl.evaluate(SAMPLE / "pred_probs", SAMPLE / "gt", num_classes=3, class_names=NAMES)
    with pytest.raises(UsageError, match="uses 'ce', which this run does not compute"):
        lossctl.evaluate(SAMPLE / "pred_labels", SAMPLE / "gt", metrics=["dice"], gates=["ce<=0.5"])
    with pytest.raises(UsageError, match="spacing"):
        lossctl.evaluate(SAMPLE / "pred_labels", SAMPLE / "gt", spacing=[0, 1])
    with pytest.raises(NotAvailable, match="convention medpy has no seg metric dice"):
        lossctl.evaluate(SAMPLE / "pred_labels", SAMPLE / "gt", convention="medpy", metrics=["dice"])
    with pytest.raises(UsageError, match="empty='zero': dice under convention='monai' has its own rule for 0/0"):
        lossctl.evaluate(SAMPLE / "pred_labels", SAMPLE / "gt", convention="monai", metrics=["dice"], empty="zero")


def test_unpaired_files_raise_and_a_bad_pair_is_reported(tmp_path: Path):
    s = make_seg_set(tmp_path / "data")
    np.save(s.pred / "extra.npy", np.zeros((3, 6, 7), dtype=np.float32))
    with pytest.raises(InputError, match="1 prediction has no ground truth"):
        lossctl.evaluate(s.pred, s.gt)
    allowed = lossctl.evaluate(s.pred, s.gt, allow_missing=True)
    assert allowed["skipped"] == {"missing_gt": ["extra"], "missing_pred": []}
    (s.pred / "extra.npy").unlink()
    np.save(s.pred / "a.npy", np.full((3, 6, 7), 2.0, dtype=np.float32))  # not probabilities
    report = lossctl.evaluate(s.pred, s.gt)
    assert [e["name"] for e in report["errors"]] == ["a"] and report["summary"]["count"] == 2
    assert "pred_kind='logits'" in report["errors"][0]["error"]  # the fix, in Python's words


def test_a_region_beyond_the_data_is_refused():
    with pytest.raises(UsageError, match="regions: the region far's label 5 is beyond the data's 4 classes"):
        lossctl.evaluate(SAMPLE / "pred_labels", SAMPLE / "gt", metrics=["dice"], regions={"far": [4, 5]})


def test_importing_lossctl_imports_no_engine_until_evaluate_is_used():
    code = ("import sys, lossctl; before = 'lossctl.engine' in sys.modules; lossctl.evaluate; "
            "print(before, 'lossctl.engine.api' in sys.modules, 'typer' in sys.modules, 'rich' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=SAMPLE.parent).stdout
    assert out.split() == ["False", "True", "False", "False"]
