"""The metrics: the overlap scores read from confusion counts (:mod:`.overlap`), the classification metrics of
samples (:mod:`.classification`) and the boundary distances (:mod:`.boundary`). Arrays in, numbers out."""
