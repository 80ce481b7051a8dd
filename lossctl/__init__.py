"""lossctl: losses and metrics of model outputs, computed from files on disk with NumPy.

The package is split in layers that know nothing of the layers above them:

* ``lossctl.losses`` and ``lossctl.metrics.overlap``: the pure NumPy core (arrays in, floats out);
* ``lossctl.registry``: the one table of every loss and metric (name, direction, inputs, parameters, formula,
  reference) that the CLI, the catalogue, the README table and the shared tests read;
* ``lossctl.io`` and ``lossctl.dataset.pairing``: reading files and matching predictions to ground truth;
* ``lossctl.engine.seg`` / ``lossctl.engine.cls``: evaluation engines; ``lossctl.report.flat``: writers; ``lossctl.cli``: the Typer app.

Importing ``lossctl`` (or ``lossctl.losses``) never imports typer or rich.
"""

from lossctl.engine.schema import REPORT_SCHEMA as REPORT_SCHEMA  # the report layout's version, owned by its schema

__version__ = "0.1.0"
