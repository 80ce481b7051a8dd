"""The metrics: confusion counts (:mod:`.confusion`), the overlap scores read from them (:mod:`.overlap`), the
classification metrics of samples (:mod:`.classification`) and the boundary distances (:mod:`.boundary`). Arrays
in, numbers out."""
