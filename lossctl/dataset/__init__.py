"""What a set of files means: which prediction goes with which ground truth (pairing), how stored values map
to classes (label maps), what a dataset description says (dataset.json, class names), and the geometry of a pair
(spacing, orientation).

* :mod:`~lossctl.dataset.pairing`: :class:`~lossctl.dataset.pairing.Pair` and the matching of two folders (or
  two files) by name, or by name patterns, into a :class:`~lossctl.dataset.pairing.Pairing`;
* :mod:`~lossctl.dataset.pair_lists`: a list of pairs (a file or standard input) read into a ``Pairing``;
* :mod:`~lossctl.dataset.label_maps`: stored values to class indices (the built-in maps and ``SPEC`` forms);
* :mod:`~lossctl.dataset.descriptions`: nnU-Net's dataset.json and class-name files;
* :mod:`~lossctl.dataset.geometry`: the spacing a pair is measured in, and whether two volumes share a grid;
* :mod:`~lossctl.dataset.cls_tables`: the columns of classification CSVs (ids, predictions, target), their class
  names, and samples paired by id.

These modules read files only through :mod:`lossctl.io` and know nothing of losses, metrics or reports.
"""
