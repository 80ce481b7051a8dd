"""The Python API: `from lossctl import losses` works on arrays and imports neither typer nor rich."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from lossctl import losses
from lossctl.losses import classification as cls

def test_importing_the_api_does_not_import_the_cli_stack():
    code = ("import sys; from lossctl import losses; import lossctl.losses.classification; "
            "import lossctl.registry; print(sorted(m for m in ('typer', 'rich', 'click') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_run_without_boundary_metrics_does_not_import_scipy():
    """scipy.ndimage costs about 0.2 s of CPU to import: only the boundary metrics need it, on first use."""
    code = ("import sys; import lossctl.cli, lossctl.engine.seg, lossctl.registry; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_functional_api_matches_the_registry(rng):
    logits = rng.normal(size=(3, 8, 9))
    target = rng.integers(0, 3, (8, 9))
    from lossctl import registry
    from lossctl.inputs.seg import prepare

    x = prepare(logits, target, kind="logits")
    for name, fn in [("ce", losses.cross_entropy), ("focal", losses.focal), ("dice_loss", losses.dice_loss),
                     ("jaccard_loss", losses.jaccard_loss), ("tversky_loss", losses.tversky_loss),
                     ("focal_tversky_loss", losses.focal_tversky_loss), ("lovasz", losses.lovasz)]:
        assert fn(logits, target, kind="logits") == pytest.approx(registry.get("seg", name).evaluate(x)[0])


def test_classification_api_by_hand():
    x = cls.ClsInput(np.array([0.9, 0.2]), np.array([1, 0]), "probs")
    value, per_sample = cls.bce(x)
    assert value == pytest.approx(-(np.log(0.9) + np.log(0.8)) / 2)
    assert per_sample.tolist() == pytest.approx([-np.log(0.9), -np.log(0.8)])
    with pytest.raises(cls.NotAvailable, match="monai"):
        losses.classification_loss("bce", [0.9, 0.2], [1, 0], convention="monai")


def test_api_messages_name_python_arguments_not_flags():
    """The core names a setting; a Python caller reads the argument it passes (``kind``, ``channels_last``...)."""
    from lossctl.errors import InputError

    with pytest.raises(InputError) as info:  # channels that do not sum to 1: these are logits
        losses.dice_loss(np.full((2, 2, 2), 0.2), np.zeros((2, 2), int), kind="probs")
    assert "pass kind='logits'" in str(info.value) and "--" not in str(info.value)
    with pytest.raises(InputError) as info:
        losses.dice_loss(np.full((4, 5, 3), 1 / 3), np.zeros((4, 5), int), kind="probs")
    assert "pass channels_last=True" in str(info.value) and "--" not in str(info.value)
    with pytest.raises(InputError) as info:
        losses.cross_entropy(np.zeros((2, 2), int), np.zeros((2, 2), int), kind="logits")
    assert str(info.value).startswith("kind='logits' needs floating-point data") and "use kind='labels'" in str(
        info.value)
    with pytest.raises(InputError) as info:
        losses.lovasz(np.full((2, 3), 0.5), np.array([0, 1, 1]), kind="probs", num_classes=3)
    assert "(num_classes or class_names)" in str(info.value) and "--" not in str(info.value)


def test_classification_loss_refuses_metrics_and_unknown_names():
    """The same messages as the registry's, from the conventions tables (which import no registry: see
    test_the_python_api_does_not_import_the_engines)."""
    from lossctl import registry
    from lossctl.errors import UsageError

    with pytest.raises(UsageError, match="^accuracy is a metric; classification_loss computes losses$"):
        losses.classification_loss("accuracy", [0.9, 0.2], [1, 0])
    with pytest.raises(UsageError) as info:
        losses.classification_loss("bcee", [0.9, 0.2], [1, 0])
    assert str(info.value) == f"unknown cls loss or metric 'bcee'; choose from: {', '.join(registry.names('cls'))}"


def test_classification_loss_api_refuses_metrics_and_bad_weights():
    from lossctl import losses
    from lossctl.errors import UsageError

    with pytest.raises(UsageError, match="metric"):
        losses.classification_loss("accuracy", [0.9, 0.2], [1, 0])
    with pytest.raises(UsageError, match="class weights"):
        losses.classification_loss("cce", [[0.7, 0.3], [0.2, 0.8]], [0, 1], class_weights=[-1, 1])


def test_the_python_api_does_not_import_the_engines():
    """Nor the registry: classification_loss computes from the conventions tables (the registry sits above them)."""
    import subprocess
    import sys

    code = ("import sys, numpy as np; from lossctl import losses; "
            "losses.classification_loss('bce', np.array([0.9, 0.2]), np.array([1, 0])); "
            "print(sorted(m for m in sys.modules if m in ('lossctl.engine.cls', 'lossctl.engine.seg', 'lossctl.cli', "
            "'lossctl.registry', 'typer', 'rich')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
