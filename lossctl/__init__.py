"""lossctl: losses and metrics of model outputs, computed from files on disk with NumPy.

The package is built in layers that know nothing of the layers above them (README.md, "Layout"): readers
(``lossctl.io``, ``lossctl.dataset``), the numeric core (``lossctl.inputs``, ``lossctl.losses``, ``lossctl.metrics``
and ``lossctl.registry``, the one table of every value with its conventions), the engine that orchestrates a run
and builds its report document (``lossctl.engine``), the writers that render it (``lossctl.report``) and the
command line (``lossctl.cli``). The report document's schema and its version are
``lossctl.engine.schema.REPORT_SCHEMA``.

Importing ``lossctl`` (or ``lossctl.losses``) never imports typer or rich.
"""

__version__ = "0.1.0"
