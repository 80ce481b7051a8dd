"""lossctl: losses and metrics of model outputs, computed from files on disk with NumPy.

The package is built in layers that know nothing of the layers above them (docs/development.md, "Layout"):
readers (``lossctl.io``, ``lossctl.dataset``), the numeric core (``lossctl.inputs``, ``lossctl.losses``,
``lossctl.metrics`` and ``lossctl.registry``, the one table of every value with its conventions), the engine that
orchestrates a run and builds its report document (``lossctl.engine``), the writers that render it
(``lossctl.report``) and the command line (``lossctl.cli``). The report document's schema and its version are
``lossctl.engine.schema.REPORT_SCHEMA``.

The Python API (docs/python.md): ``lossctl.evaluate(pred, gt, ...)`` evaluates a folder as ``lossctl seg`` does
and returns its report document (:func:`lossctl.engine.api.evaluate`, imported on first use);
``from lossctl import losses`` gives every loss as a function of arrays. Importing ``lossctl`` (or
``lossctl.losses``) never imports typer or rich.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from lossctl.engine.api import evaluate

__all__ = ["evaluate", "__version__"]


def __getattr__(name: str) -> Any:
    """``lossctl.evaluate``, imported when first used, so that ``import lossctl`` stays light."""
    if name == "evaluate":
        from lossctl.engine.api import evaluate

        return evaluate
    raise AttributeError(f"module 'lossctl' has no attribute {name!r}")
