"""Reference-library loading shared by the golden generators (tools/make_golden_*.py).

Run only in the reference venv (``make refenv`` builds it; ``make golden`` runs the generators in it), which
holds the reference libraries; lossctl never imports this. Files downloaded beside it (torchvision's and
nnU-Net's wheels) are found under ``$REFENV_BUILD`` (default ``.refenv-build`` in the repository). Only the
standard library is imported at module level: torch, monai and keras are imported by the functions that need them, so a generator can still set KERAS_BACKEND before its own keras import.

tools/ is not a package; a generator imports this module with

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import references
"""

from __future__ import annotations

import glob
import importlib
import importlib.metadata
import importlib.util
import inspect
import json
import os
import sys
import tempfile
import textwrap
import types
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLDEN_DIR = ROOT / "tests" / "golden"  # where the fixtures go
REFENV_BUILD = Path(os.environ.get("REFENV_BUILD", str(ROOT / ".refenv-build")))
TV_WHEEL_GLOB = str(REFENV_BUILD / "tv" / "torchvision-*.whl")
NNUNET_WHEEL_GLOB = str(REFENV_BUILD / "nnunet" / "nnunetv2-*.whl")

SMP_LOSS_MODULES = ("constants", "_functional", "dice", "jaccard", "tversky", "focal", "soft_ce", "soft_bce",
                    "lovasz")

# smp losses/lovasz.py::_lovasz_grad: the only two float32 casts the float64 copy changes.
LOVASZ_GRAD_CASTS = ("gts - gt_sorted.float().cumsum(0)", "gts + (1 - gt_sorted).float().cumsum(0)")


def load_module(fullname: str, path: str, source: str | None = None):
    """Load the file ``path`` as module ``fullname`` (registered in sys.modules, so relative imports
    resolve against its stub parents); with ``source``, run that text instead of the file's."""
    spec = importlib.util.spec_from_file_location(fullname, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[fullname] = mod
    if source is None:
        spec.loader.exec_module(mod)
    else:
        exec(compile(source, path, "exec"), mod.__dict__)
    return mod


def stub_package(name: str, path: list[str], replace: bool = True):
    """An empty package ``name`` in sys.modules with the given __path__: its submodules import without
    running the real package's __init__.py."""
    if replace or name not in sys.modules:
        stub = types.ModuleType(name)
        stub.__path__ = path
        sys.modules[name] = stub


def load_smp_losses(names=SMP_LOSS_MODULES):
    """segmentation_models_pytorch's losses modules, loaded by file path.

    smp is installed --no-deps and its package root imports its datasets (PIL) and encoders (torchvision,
    timm), which the side venv lacks, so ``import segmentation_models_pytorch`` fails: the ``losses`` files
    are loaded under stub parent packages instead.

    When ``names`` includes "lovasz", ``mods["lovasz64"]`` is a second copy of losses/lovasz.py in which
    ``_lovasz_grad``'s two ``.float()`` casts (and nothing else) are ``.double()``: the original casts the
    sorted ground truth to float32, so ``torch.dot`` fails on float64 input ("expected both vectors to have
    same dtype").  The unpatched ``mods["lovasz"]`` stays available for float32 cross-checks.

    Returns (smp package directory, {module name: module}).
    """
    spec = importlib.util.find_spec("segmentation_models_pytorch")
    pkg_dir = list(spec.submodule_search_locations)[0]
    losses_dir = os.path.join(pkg_dir, "losses")
    stub_package("segmentation_models_pytorch", [pkg_dir], replace=False)
    stub_package("segmentation_models_pytorch.losses", [losses_dir], replace=False)
    mods = {}
    for name in names:
        mods[name] = load_module(f"segmentation_models_pytorch.losses.{name}", os.path.join(losses_dir, f"{name}.py"))
    if "lovasz" in names:
        path = os.path.join(losses_dir, "lovasz.py")
        src = Path(path).read_text()
        for cast in LOVASZ_GRAD_CASTS:
            assert src.count(cast) == 1, cast
            src = src.replace(cast, cast.replace(".float()", ".double()"))
        mods["lovasz64"] = load_module("segmentation_models_pytorch.losses.lovasz64", path, src)
    return pkg_dir, mods


def load_torchvision_focal(wheel_glob: str = TV_WHEEL_GLOB):
    """torchvision's ops/focal_loss.py, extracted from the downloaded wheel and loaded alone.

    torchvision is not installed in the reference venv (``make refenv`` only downloads the wheel, --no-deps): the
    package's compiled ops would have to match the venv's torch. sigmoid_focal_loss is plain torch code, so only its file is loaded, under stub ``torchvision`` / ``torchvision.ops`` parents
    and a no-op ``torchvision.utils._log_api_usage_once``.  The last wheel matching ``wheel_glob`` is used.

    Returns (wheel path, torchvision version from the wheel's METADATA, the focal_loss module).
    """
    wheels = sorted(glob.glob(wheel_glob))
    assert wheels, f"torchvision wheel not found: {wheel_glob}"
    wheel = wheels[-1]
    with zipfile.ZipFile(wheel) as zf:
        src = zf.read("torchvision/ops/focal_loss.py").decode()
        meta = zf.read([n for n in zf.namelist() if n.endswith(".dist-info/METADATA")][0]).decode()
    version = [ln.split(":", 1)[1].strip() for ln in meta.splitlines() if ln.startswith("Version:")][0]
    stub_package("torchvision", [])
    stub_package("torchvision.ops", [])
    utils = types.ModuleType("torchvision.utils")
    utils._log_api_usage_once = lambda obj: None
    sys.modules["torchvision.utils"] = utils
    path = os.path.join(tempfile.mkdtemp(prefix="tvfocal_"), "focal_loss.py")
    Path(path).write_text(src)
    return wheel, version, load_module("torchvision.ops.focal_loss", path)


def make_monai_focal64():
    """A subclass of monai.losses.FocalLoss that computes in the input's dtype (float64).

    MONAI's ``FocalLoss.forward`` starts with ``input = input.float()`` / ``target = target.float()``
    (float32).  The subclass's forward is MONAI's own source with exactly those two lines replaced by
    ``pass``, compiled in the focal_loss module's namespace; the unpatched class is the float32 cross-check.
    """
    import monai.losses.focal_loss as monai_focal_mod

    cls = monai_focal_mod.FocalLoss
    src = textwrap.dedent(inspect.getsource(cls.forward))
    for cast in ("input = input.float()", "target = target.float()"):
        assert src.count(cast) == 1, cast
        src = src.replace(cast, "pass  # float32 cast removed")
    ns = dict(monai_focal_mod.__dict__)
    exec(compile(src, "<monai FocalLoss.forward without float32 casts>", "exec"), ns)
    return type("FocalLoss64", (cls,), {"forward": ns["forward"]})


class _SerialPool:
    """Stands in for ``multiprocessing.Pool``: nnU-Net's evaluator maps ``compute_metrics`` over the cases in
    spawned processes, which could not import the module loaded by path; the same calls run in order here."""

    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def starmap(self, fn, iterable):
        return [fn(*args) for args in iterable]


class NnunetEvaluation:
    """nnU-Net v2's ``evaluation/evaluate_predictions.py``, run on label arrays: ``run(pred, gt, labels, ignore)``
    writes each (B, ...) image pair as .npy files and calls its ``compute_metrics_on_folder`` with a reader
    that loads them."""

    def __init__(self, module):
        self.module = module

    def run(self, pred, gt, labels, ignore_label=None):
        import numpy as np

        folder = Path(tempfile.mkdtemp(prefix="nnunet_eval_"))
        for side, arrays in (("ref", gt), ("pred", pred)):
            (folder / side).mkdir()
            for i, a in enumerate(arrays):
                np.save(folder / side / f"case_{i:03d}.npy", np.asarray(a)[None])  # (1, *spatial), as nnU-Net

        class NpyReader:
            def read_seg(self, path):
                return np.load(path), {}

        return self.module.compute_metrics_on_folder(str(folder / "ref"), str(folder / "pred"), None, NpyReader(),
                                                     ".npy", list(labels), ignore_label, 1)


def load_nnunet_evaluation(wheel_glob: str = NNUNET_WHEEL_GLOB):
    """nnU-Net v2's evaluator, loaded from its downloaded wheel (``pip download --no-deps nnunetv2``).

    Its module imports nnU-Net's image readers, plans handling and batchgenerators' file helpers, none of which
    the metrics use: they are stubbed (the file helpers by five-line equivalents), ``json_export`` is nnU-Net's
    own file, and the multiprocessing pool runs serially (:class:`_SerialPool`). The metric code runs as shipped.

    Returns (wheel path, nnunetv2 version, :class:`NnunetEvaluation`).
    """
    wheels = sorted(glob.glob(wheel_glob))
    assert wheels, f"nnunetv2 wheel not found: {wheel_glob} (make refenv downloads it)"
    wheel = wheels[-1]
    root = Path(tempfile.mkdtemp(prefix="nnunetv2_"))
    with zipfile.ZipFile(wheel) as zf:
        for name in ("nnunetv2/evaluation/evaluate_predictions.py", "nnunetv2/utilities/json_export.py"):
            zf.extract(name, root)
        meta = zf.read([n for n in zf.namelist() if n.endswith(".dist-info/METADATA")][0]).decode()
    version = [ln.split(":", 1)[1].strip() for ln in meta.splitlines() if ln.startswith("Version:")][0]
    for name in ("batchgenerators", "batchgenerators.utilities", "nnunetv2", "nnunetv2.imageio",
                 "nnunetv2.utilities", "nnunetv2.utilities.plans_handling", "nnunetv2.evaluation"):
        stub_package(name, [])
    files = types.ModuleType("batchgenerators.utilities.file_and_folder_operations")
    files.join = os.path.join
    files.isfile = os.path.isfile
    files.subfiles = lambda folder, join=True, prefix=None, suffix=None, sort=True: sorted(
        (os.path.join(folder, f) if join else f) for f in os.listdir(folder)
        if os.path.isfile(os.path.join(folder, f)) and (suffix is None or f.endswith(suffix))
        and (prefix is None or f.startswith(prefix)))
    files.save_json = lambda obj, path, **kw: Path(path).write_text(json.dumps(obj))
    files.load_json = lambda path: json.loads(Path(path).read_text())
    sys.modules[files.__name__] = files
    stubs = {"nnunetv2.configuration": {"default_num_processes": 1},
             "nnunetv2.imageio.base_reader_writer": {"BaseReaderWriter": object},
             "nnunetv2.imageio.reader_writer_registry": {"determine_reader_writer_from_dataset_json": None,
                                                         "determine_reader_writer_from_file_ending": None},
             "nnunetv2.imageio.simpleitk_reader_writer": {"SimpleITKIO": None},
             "nnunetv2.utilities.plans_handling.plans_handler": {"PlansManager": None}}
    for name, attrs in stubs.items():
        mod = types.ModuleType(name)
        mod.__dict__.update(attrs)
        sys.modules[name] = mod
    load_module("nnunetv2.utilities.json_export", str(root / "nnunetv2/utilities/json_export.py"))
    module = load_module("nnunetv2.evaluation.evaluate_predictions",
                         str(root / "nnunetv2/evaluation/evaluate_predictions.py"))
    module.multiprocessing = types.SimpleNamespace(get_context=lambda method: types.SimpleNamespace(Pool=_SerialPool))
    return wheel, version, NnunetEvaluation(module)


def dist_version(*names):
    """Installed version of the first distribution name found (smp is registered under either spelling)."""
    for n in names:
        try:
            return importlib.metadata.version(n)
        except importlib.metadata.PackageNotFoundError:
            pass
    return None


_VERSION_OF = {
    "torch": lambda: importlib.import_module("torch").__version__,
    "segmentation_models_pytorch": lambda: dist_version("segmentation_models_pytorch",
                                                        "segmentation-models-pytorch"),
    "monai": lambda: importlib.import_module("monai").__version__,
    "keras": lambda: importlib.import_module("keras").__version__,
    "keras_backend": lambda: importlib.import_module("keras").backend.backend(),
    "keras_floatx": lambda: importlib.import_module("keras").config.floatx(),
    "scikit-learn": lambda: importlib.import_module("sklearn").__version__,
    "numpy": lambda: importlib.import_module("numpy").__version__,
    "scipy": lambda: importlib.import_module("scipy").__version__,
}


def versions(names, torchvision: str):
    """The "versions" block of a golden JSON: {name: version} in the order of ``names`` (the order is part
    of the file's bytes).  torchvision is not importable, so its version (from the wheel) is passed in."""
    return {n: torchvision if n == "torchvision" else _VERSION_OF[n]() for n in names}


def write_golden(out_dir: Path, npz_name: str, arrays: dict, json_name: str, doc: dict):
    """Write the inputs ``arrays`` to ``out_dir/npz_name`` (savez_compressed) and ``doc`` to
    ``out_dir/json_name`` (indent 1, no NaN, trailing newline), then read the npz back and check every
    array round-trips with its dtype."""
    import numpy as np

    out_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out_dir / npz_name, **arrays)
    with open(out_dir / json_name, "w") as fh:
        json.dump(doc, fh, indent=1, allow_nan=False)
        fh.write("\n")
    with np.load(out_dir / npz_name) as z:
        assert set(z.files) == set(arrays)
        for k, v in arrays.items():
            assert z[k].dtype == v.dtype and np.array_equal(z[k], v), k
