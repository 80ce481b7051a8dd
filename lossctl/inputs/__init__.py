"""The arrays the numeric core computes on: a prediction and its target checked and put in one canonical form
(class probabilities, log-probabilities, labels) for segmentation (:mod:`.seg`, and :mod:`.chunked` for a map too
large for the memory budget) and classification (:mod:`.cls`), with their confusion counts (:mod:`.confusion`)."""
