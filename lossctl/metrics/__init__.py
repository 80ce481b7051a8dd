"""The metrics: confusion counts (:mod:`.confusion`), the overlap scores read from them (:mod:`.overlap`) and the
boundary distances (:mod:`.boundary`). Arrays in, numbers out."""
