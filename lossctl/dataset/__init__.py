"""What a set of files means: which prediction goes with which ground truth (pairing), how stored values map
to classes (label maps), what a dataset description says (dataset.json, class names), and the geometry of a pair
(spacing, orientation)."""
